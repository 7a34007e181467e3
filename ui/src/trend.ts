// The geometry of a lab trend plot: points over time, and the reference range as a band.
import type { LabSeries } from "./bindings/LabSeries";
import { svg } from "./dom";

export interface Plot {
  width: number;
  height: number;
  points: { x: number; y: number; date: string; value: number }[];
  band: { y: number; height: number } | null;
  yMin: number;
  yMax: number;
}

const PAD = { left: 56, right: 16, top: 16, bottom: 32 };

export function layout(series: LabSeries, width = 720, height = 300): Plot {
  const times = series.points.map((p) => Date.parse(p.date));
  const values = series.points.map((p) => p.value);
  const bounds = [...values, ...(series.low != null ? [series.low] : []), ...(series.high != null ? [series.high] : [])];
  let yMin = Math.min(...bounds);
  let yMax = Math.max(...bounds);
  if (yMin === yMax) {
    yMin -= 1;
    yMax += 1;
  }
  const margin = (yMax - yMin) * 0.08;
  yMin -= margin;
  yMax += margin;
  const tMin = Math.min(...times);
  const tMax = Math.max(...times);
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (t: number) => PAD.left + (tMax === tMin ? plotW / 2 : ((t - tMin) / (tMax - tMin)) * plotW);
  const y = (v: number) => PAD.top + (1 - (v - yMin) / (yMax - yMin)) * plotH;
  const points = series.points.map((p, i) => ({ x: x(times[i]), y: y(p.value), date: p.date, value: p.value }));
  let band: Plot["band"] = null;
  if (series.low != null || series.high != null) {
    const top = y(series.high ?? yMax);
    const bottom = y(series.low ?? yMin);
    band = { y: top, height: bottom - top };
  }
  return { width, height, points, band, yMin, yMax };
}

/** The plot as an SVG element (text only through textContent). */
export function render(series: LabSeries): SVGElement {
  const plot = layout(series);
  const root = svg("svg", {
    viewBox: `0 0 ${plot.width} ${plot.height}`,
    role: "img",
    class: "trend",
    "aria-label": `${series.name} over time`,
  });
  if (plot.band) {
    root.appendChild(
      svg("rect", { class: "band", x: PAD.left, y: plot.band.y, width: plot.width - PAD.left - PAD.right, height: plot.band.height }),
    );
  }
  for (const value of [plot.yMin, (plot.yMin + plot.yMax) / 2, plot.yMax]) {
    const label = svg("text", { x: 4, y: yOf(plot, value), class: "axis" });
    label.textContent = formatNumber(value);
    root.appendChild(label);
  }
  if (plot.points.length) {
    const first = plot.points[0];
    const last = plot.points[plot.points.length - 1];
    for (const [p, anchor] of [[first, "start"], [last, "end"]] as const) {
      const label = svg("text", { x: p.x, y: plot.height - 8, class: "axis", "text-anchor": anchor });
      label.textContent = p.date.slice(0, 10);
      root.appendChild(label);
    }
  }
  const path = plot.points.map((p, i) => `${i ? "L" : "M"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
  root.appendChild(svg("path", { d: path, class: "line" }));
  for (const p of plot.points) {
    const dot = svg("circle", { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: 4, class: "dot" });
    const title = svg("title");
    title.textContent = `${p.date.slice(0, 10)}: ${formatNumber(p.value)} ${series.unit ?? ""}`;
    dot.appendChild(title);
    root.appendChild(dot);
  }
  return root;
}

function yOf(plot: Plot, value: number): number {
  const plotH = plot.height - PAD.top - PAD.bottom;
  return PAD.top + (1 - (value - plot.yMin) / (plot.yMax - plot.yMin)) * plotH + 4;
}

export function formatNumber(v: number): string {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(1) : v.toPrecision(2);
}

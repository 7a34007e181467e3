// The chart of one test or vital sign over time (uPlot, on a canvas): dates on the x axis, the
// values in the series' unit on the y axis, the reference range as a band, one marked line per
// source (and per measure: a blood pressure's systolic and diastolic). Every point is reachable
// without a mouse: the plot takes the focus and the arrow keys move a highlighted point, read out
// (value, date, source) in an aria-live line; all results are also a table. Text from a record
// (names, units, sources) only ever goes in through textContent.
import "./language";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { LabSeries } from "./bindings/LabSeries";
import { append, h, svg } from "./dom";

export type Shape = "circle" | "square" | "triangle" | "diamond" | "down" | "cross";

const SHAPES: Shape[] = ["circle", "square", "triangle", "diamond", "down", "cross"];
/** Okabe and Ito's colours, told apart with any colour vision. */
const COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9"];

/** One point as the chart and its readout show it. */
export interface ChartPoint {
  /** Seconds since 1970 (the x axis). */
  t: number;
  date: string;
  value: number;
  unit: string | null;
  source: string;
  alsoFrom: string[];
  /** The measure's name ("Systolic"; the test's name for a test). */
  measure: string;
  /** Its line in `ChartModel.lines` (-1: not drawn, in another unit). */
  line: number;
}

/** One drawn line: one measure from one source. */
export interface ChartLine {
  label: string;
  measure: string;
  source: string;
  colour: string;
  shape: Shape;
  /** Dashed for a second measure (diastolic). */
  dash: number[] | undefined;
  points: ChartPoint[];
}

/** A measure's reference range (either end may be open). */
export interface ChartBand {
  measure: string;
  low: number | null;
  high: number | null;
}

export interface ChartModel {
  title: string;
  unit: string | null;
  lines: ChartLine[];
  /** The drawn points in time order (the keyboard's order). */
  points: ChartPoint[];
  /** Points in another unit than the axis': listed, never drawn. */
  offAxis: ChartPoint[];
  bands: ChartBand[];
  yMin: number;
  yMax: number;
}

/** Seconds of a FHIR date (a year, a month, a day or an instant); NaN when unreadable. */
export function seconds(date: string): number {
  return Date.parse(date) / 1000;
}

/** What a chart draws of a series. */
export function chartModel(series: LabSeries): ChartModel {
  const sources = [...new Set(series.measures.flatMap((m) => m.points.map((p) => p.source)))];
  const several = series.measures.length > 1;
  const lines: ChartLine[] = [];
  const points: ChartPoint[] = [];
  const offAxis: ChartPoint[] = [];
  series.measures.forEach((measure, m) => {
    for (const [s, source] of sources.entries()) {
      const line: ChartLine = {
        label: several ? `${measure.name} · ${source}` : source,
        measure: measure.name,
        source,
        colour: COLOURS[s % COLOURS.length],
        // A second measure keeps its source's colour, in other shapes and dashed.
        shape: SHAPES[(s + m * 3) % SHAPES.length],
        dash: m > 0 ? [6, 4] : undefined,
        points: [],
      };
      for (const p of measure.points) {
        if (p.source !== source) continue;
        const point: ChartPoint = {
          t: seconds(p.date),
          date: p.date,
          value: p.value,
          unit: p.unit,
          source: p.source,
          alsoFrom: p.also_from,
          measure: measure.name,
          line: lines.length,
        };
        if (Number.isNaN(point.t)) continue;
        if (p.unit !== series.unit) offAxis.push({ ...point, line: -1 });
        else line.points.push(point);
      }
      if (line.points.length) {
        lines.push(line);
        points.push(...line.points);
      }
    }
  });
  points.sort((a, b) => a.t - b.t || a.line - b.line);
  const bands = series.measures
    .filter((m) => m.low != null || m.high != null)
    .map((m) => ({ measure: m.name, low: m.low, high: m.high }));
  const bounds = [...points.map((p) => p.value), ...bands.flatMap((b) => [b.low, b.high]).filter((v): v is number => v != null)];
  let yMin = bounds.length ? Math.min(...bounds) : 0;
  let yMax = bounds.length ? Math.max(...bounds) : 1;
  if (yMin === yMax) {
    yMin -= Math.abs(yMin) * 0.1 || 1;
    yMax += Math.abs(yMax) * 0.1 || 1;
  }
  const margin = (yMax - yMin) * 0.08;
  return { title: series.name, unit: series.unit, lines, points, offAxis, bands, yMin: yMin - margin, yMax: yMax + margin };
}

/** A unit as a reader writes it (UCUM's `mm[Hg]` is mmHg). */
export function unitText(unit: string | null): string {
  if (!unit) return "";
  const known: Record<string, string> = { "mm[Hg]": "mmHg", "kg/m2": "kg/m²", Cel: "°C", "[degF]": "°F", "[lb_av]": "lb", "[in_i]": "in", "{score}": "", "1": "" };
  return unit in known ? known[unit] : unit;
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const digits = Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  return String(Number(v.toFixed(digits)));
}

/** A day as text: "1 Mar 2021" (in UTC, the day as received), the year alone for a year. */
export function dayText(date: string): string {
  if (/^\d{4}$/.test(date)) return date;
  const d = new Date(Date.parse(date));
  if (Number.isNaN(d.getTime())) return date;
  const month = d.toLocaleString("en-GB", { month: "short", timeZone: "UTC" });
  return /^\d{4}-\d{2}$/.test(date) ? `${month} ${d.getUTCFullYear()}` : `${d.getUTCDate()} ${month} ${d.getUTCFullYear()}`;
}

export function rangeText(band: Pick<ChartBand, "low" | "high">, unit: string | null): string {
  const u = unitText(unit);
  const suffix = u ? ` ${u}` : "";
  if (band.low != null && band.high != null) return `${formatNumber(band.low)}–${formatNumber(band.high)}${suffix}`;
  if (band.low != null) return `${formatNumber(band.low)}${suffix} or more`;
  if (band.high != null) return `${formatNumber(band.high)}${suffix} or less`;
  return "";
}

/** Where a value stands against its measure's range: "" when there is none. */
function against(model: ChartModel, p: ChartPoint): string {
  const band = model.bands.find((b) => b.measure === p.measure);
  if (!band || p.line < 0) return "";
  const range = rangeText(band, model.unit);
  if (band.low != null && p.value < band.low) return `below the reference range (${range})`;
  if (band.high != null && p.value > band.high) return `above the reference range (${range})`;
  return `within the reference range (${range})`;
}

/** The sentence read out for a point: its value, date, source and place against the range. */
export function pointText(model: ChartModel, p: ChartPoint): string {
  const unit = unitText(p.unit);
  const measure = p.measure !== model.title ? `${p.measure} ` : "";
  const also = p.alsoFrom.length ? ` (also from ${p.alsoFrom.join(", ")})` : "";
  const place = against(model, p);
  return `${dayText(p.date)}: ${measure}${formatNumber(p.value)}${unit ? ` ${unit}` : ""}, from ${p.source}${also}${place ? `, ${place}` : ""}.`;
}

/** The chart's one-line description. */
export function captionText(model: ChartModel): string {
  const unit = unitText(model.unit);
  const sources = new Set(model.lines.map((l) => l.source)).size;
  // A blood pressure's systolic and diastolic are one reading.
  const several = new Set(model.lines.map((l) => l.measure)).size > 1;
  const drawn = several ? new Set(model.points.map((p) => `${p.t}|${p.source}`)).size : model.points.length;
  const noun = several ? ["reading", "readings"] : ["result", "results"];
  const count = `${drawn} ${drawn === 1 ? noun[0] : noun[1]} from ${sources} ${sources === 1 ? "source" : "sources"}`;
  const ranges = model.bands.map((b) => (model.bands.length > 1 ? `${b.measure} ${rangeText(b, model.unit)}` : rangeText(b, model.unit)));
  const range = ranges.length ? `Reference range: ${ranges.join("; ")}.` : "No reference range was sent with these results.";
  return `${model.title}${unit ? ` (${unit})` : ""}: ${count}. ${range}`;
}

function cssColour(name: string, fallback: string): string {
  const value = typeof getComputedStyle === "function" ? getComputedStyle(document.documentElement).getPropertyValue(name).trim() : "";
  return value || fallback;
}

/** Draws a marker of `shape` centred on (x, y), radius r (canvas pixels). */
function marker(ctx: CanvasRenderingContext2D, shape: Shape, x: number, y: number, r: number): void {
  ctx.beginPath();
  switch (shape) {
    case "circle":
      ctx.arc(x, y, r, 0, 2 * Math.PI);
      break;
    case "square":
      ctx.rect(x - r * 0.85, y - r * 0.85, r * 1.7, r * 1.7);
      break;
    case "triangle":
      ctx.moveTo(x, y - r * 1.1);
      ctx.lineTo(x + r, y + r * 0.8);
      ctx.lineTo(x - r, y + r * 0.8);
      ctx.closePath();
      break;
    case "down":
      ctx.moveTo(x, y + r * 1.1);
      ctx.lineTo(x + r, y - r * 0.8);
      ctx.lineTo(x - r, y - r * 0.8);
      ctx.closePath();
      break;
    case "diamond":
      ctx.moveTo(x, y - r * 1.2);
      ctx.lineTo(x + r, y);
      ctx.lineTo(x, y + r * 1.2);
      ctx.lineTo(x - r, y);
      ctx.closePath();
      break;
    case "cross":
      ctx.moveTo(x - r, y - r);
      ctx.lineTo(x + r, y + r);
      ctx.moveTo(x + r, y - r);
      ctx.lineTo(x - r, y + r);
      break;
  }
}

/** The legend's marker: the same shape and colour as on the canvas. */
function legendMarker(line: ChartLine): SVGElement {
  const root = svg("svg", { viewBox: "0 0 28 16", width: 28, height: 16, "aria-hidden": "true", class: "chart-marker" });
  root.appendChild(svg("line", { x1: 0, y1: 8, x2: 28, y2: 8, stroke: line.colour, "stroke-width": 2, ...(line.dash ? { "stroke-dasharray": line.dash.join(" ") } : {}) }));
  const r = 5;
  const [x, y] = [14, 8];
  const paths: Record<Shape, string> = {
    circle: `M${x - r},${y}a${r},${r} 0 1,0 ${2 * r},0a${r},${r} 0 1,0 ${-2 * r},0`,
    square: `M${x - 4},${y - 4}h8v8h-8z`,
    triangle: `M${x},${y - 5.5}L${x + 5},${y + 4}L${x - 5},${y + 4}z`,
    down: `M${x},${y + 5.5}L${x + 5},${y - 4}L${x - 5},${y - 4}z`,
    diamond: `M${x},${y - 6}L${x + 5},${y}L${x},${y + 6}L${x - 5},${y}z`,
    cross: `M${x - 5},${y - 5}L${x + 5},${y + 5}M${x + 5},${y - 5}L${x - 5},${y + 5}`,
  };
  const filled = line.shape !== "cross";
  root.appendChild(svg("path", { d: paths[line.shape], fill: filled ? line.colour : "none", stroke: line.colour, "stroke-width": filled ? 1 : 2.5 }));
  return root;
}

/** The aligned data uPlot draws: one x per distinct time, one y array per line (null elsewhere). */
function aligned(model: ChartModel): uPlot.AlignedData {
  const xs = [...new Set(model.points.map((p) => p.t))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = model.lines.map(() => xs.map(() => null as number | null));
  for (const p of model.points) ys[p.line][at.get(p.t)!] = p.value;
  return [xs, ...ys];
}

const charts = new WeakMap<HTMLElement, uPlot>();

/** The uPlot instance of a rendered chart (for tests). */
export function plotOf(chart: HTMLElement): uPlot | undefined {
  return charts.get(chart);
}

let ids = 0;

/** The chart of `series`: caption, legend, the plot (focusable), its readout and a table. */
export function renderChart(series: LabSeries, size = { width: 640, height: 320 }): HTMLElement {
  const model = chartModel(series);
  const id = `chart-${++ids}`;
  const unit = unitText(model.unit);
  const readout = h("p", { class: "chart-readout", id: `${id}-readout`, "aria-live": "polite" });
  const help = `Use the left and right arrow keys to move between the ${model.points.length} results; Home and End for the first and the newest.`;
  const plot = h("div", {
    class: "chart-plot",
    tabindex: "0",
    role: "slider",
    "aria-label": `${model.title} chart`,
    "aria-describedby": `${id}-help`,
    "aria-valuemin": "1",
    "aria-valuemax": String(Math.max(model.points.length, 1)),
    "aria-valuenow": "1",
    "aria-valuetext": "No result chosen",
  });
  const legend = h(
    "ul",
    { class: "chart-legend", "aria-label": "Sources" },
    ...model.lines.map((line) => h("li", {}, legendMarker(line), line.label)),
  );
  const figure = h(
    "figure",
    { class: "chart", id },
    h("figcaption", { class: "chart-caption" }, captionText(model)),
    legend,
    plot,
    h("p", { class: "muted chart-help", id: `${id}-help` }, help),
    readout,
  );
  if (model.offAxis.length) {
    const units = [...new Set(model.offAxis.map((p) => unitText(p.unit) || "no unit"))].join(", ");
    figure.appendChild(h("p", { class: "muted chart-off-axis" }, `${model.offAxis.length} ${model.offAxis.length === 1 ? "result is" : "results are"} in another unit (${units}) and not drawn; see the table.`));
  }
  figure.appendChild(resultsTable(model));

  const band = cssColour("--ok", "#1b6b35");
  const muted = cssColour("--muted", "#5c606b");
  const grid = cssColour("--line", "#d9dbe2");
  const bg = cssColour("--bg", "#fbfbfd");
  const font = "14px system-ui, sans-serif";
  const data = aligned(model);
  const xs = data[0] as number[];
  const drawBands = (u: uPlot) => {
    const ctx = u.ctx;
    ctx.save();
    for (const b of model.bands) {
      const top = u.valToPos(b.high ?? model.yMax, "y", true);
      const bottom = u.valToPos(b.low ?? model.yMin, "y", true);
      ctx.globalAlpha = 0.16;
      ctx.fillStyle = band;
      ctx.fillRect(u.bbox.left, top, u.bbox.width, bottom - top);
      ctx.globalAlpha = 0.7;
      ctx.strokeStyle = band;
      ctx.lineWidth = uPlot.pxRatio;
      ctx.setLineDash([4 * uPlot.pxRatio, 4 * uPlot.pxRatio]);
      ctx.beginPath();
      for (const v of [b.low, b.high]) {
        if (v == null) continue;
        const y = u.valToPos(v, "y", true);
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
      }
      ctx.stroke();
    }
    ctx.restore();
  };
  const drawMarkers = (u: uPlot) => {
    const ctx = u.ctx;
    const r = 4.5 * uPlot.pxRatio;
    ctx.save();
    ctx.setLineDash([]);
    for (const line of model.lines) {
      for (const p of line.points) {
        const x = u.valToPos(p.t, "x", true);
        const y = u.valToPos(p.value, "y", true);
        marker(ctx, line.shape, x, y, r);
        if (line.shape === "cross") {
          ctx.lineWidth = 2.5 * uPlot.pxRatio;
          ctx.strokeStyle = line.colour;
          ctx.stroke();
        } else {
          ctx.fillStyle = line.colour;
          ctx.fill();
          ctx.lineWidth = uPlot.pxRatio;
          ctx.strokeStyle = bg;
          ctx.stroke();
        }
      }
    }
    ctx.restore();
  };
  const span = xs.length ? xs[xs.length - 1] - xs[0] : 0;
  const opts: uPlot.Options = {
    width: size.width,
    height: size.height,
    // Days as received: FHIR's dates are read in UTC, so a day is never shown as the one before.
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    legend: { show: false },
    cursor: { x: false, y: false, points: { show: false }, drag: { x: false, y: false, setScale: false } },
    scales: {
      x: {
        time: true,
        range: (_u, min, max) => {
          const pad = span ? span * 0.04 : 86400 * 30;
          return [min - pad, max + pad];
        },
      },
      y: { range: () => [model.yMin, model.yMax] },
    },
    axes: [
      { stroke: muted, font, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } },
      {
        stroke: muted,
        font,
        labelFont: font,
        // The unit: the test's name is the caption's (a long one would not fit up the axis).
        label: unit || undefined,
        labelSize: unit ? 24 : 0,
        size: 56,
        grid: { stroke: grid, width: 1 },
        ticks: { stroke: grid, width: 1 },
        values: (_u, splits) => splits.map(formatNumber),
      },
    ],
    series: [
      {},
      ...model.lines.map((line) => ({
        label: line.label,
        stroke: line.colour,
        width: 2,
        dash: line.dash,
        spanGaps: true,
        points: { show: false },
      })),
    ],
    hooks: {
      drawClear: [drawBands],
      draw: [drawMarkers],
      setCursor: [(u) => hover(u)],
    },
  };
  const chart = new uPlot(opts, data, plot);
  charts.set(figure, chart);
  plot.querySelector("canvas")?.setAttribute("aria-hidden", "true");

  // The highlighted point: a ring over the plot and a tooltip beside it (both only visual; the
  // readout says the same in words).
  const ring = h("div", { class: "chart-ring", "aria-hidden": "true", hidden: true });
  const tip = h("div", { class: "chart-tip", "aria-hidden": "true", hidden: true });
  chart.over.append(ring, tip);
  let active = -1;
  const show = (i: number) => {
    const p = model.points[i];
    if (!p) return;
    active = i;
    const text = pointText(model, p);
    const x = chart.valToPos(p.t, "x");
    const y = chart.valToPos(p.value, "y");
    ring.style.left = `${x}px`;
    ring.style.top = `${y}px`;
    ring.style.borderColor = model.lines[p.line].colour;
    ring.hidden = false;
    tip.textContent = text;
    tip.hidden = false;
    const right = x > chart.over.clientWidth / 2;
    tip.style.left = right ? "" : `${x + 12}px`;
    tip.style.right = right ? `${chart.over.clientWidth - x + 12}px` : "";
    // Above the point where there is room, else below it.
    const above = y - tip.offsetHeight - 14;
    tip.style.top = `${above >= 0 ? above : y + 14}px`;
    readout.textContent = text;
    plot.setAttribute("aria-valuenow", String(i + 1));
    plot.setAttribute("aria-valuetext", `Result ${i + 1} of ${model.points.length}`);
  };
  function hover(u: uPlot) {
    const left = u.cursor.left ?? -1;
    const top = u.cursor.top ?? -1;
    if (left < 0 || top < 0) {
      if (document.activeElement !== plot) {
        tip.hidden = true;
        ring.hidden = true;
      }
      return;
    }
    let best = -1;
    let distance = 30 * 30;
    model.points.forEach((p, i) => {
      const dx = u.valToPos(p.t, "x") - left;
      const dy = u.valToPos(p.value, "y") - top;
      if (dx * dx + dy * dy < distance) {
        distance = dx * dx + dy * dy;
        best = i;
      }
    });
    if (best >= 0) show(best);
  }
  plot.addEventListener("focus", () => {
    if (model.points.length) show(active >= 0 ? active : model.points.length - 1);
  });
  plot.addEventListener("blur", () => {
    tip.hidden = true;
    ring.hidden = true;
  });
  plot.addEventListener("keydown", (e) => {
    const last = model.points.length - 1;
    const to: Record<string, number> = {
      ArrowRight: active + 1,
      ArrowDown: active + 1,
      ArrowLeft: active - 1,
      ArrowUp: active - 1,
      Home: 0,
      End: last,
    };
    if (!(e.key in to) || last < 0) return;
    e.preventDefault();
    show(Math.min(last, Math.max(0, to[e.key])));
  });
  // The plot fills its column's width, and follows it.
  if (typeof ResizeObserver === "function") {
    new ResizeObserver(() => {
      const width = Math.floor(plot.clientWidth);
      if (width > 0 && width !== chart.width) chart.setSize({ width, height: size.height });
      if (active >= 0 && !ring.hidden) show(active);
    }).observe(plot);
  }
  return figure;
}

/** Every result as a table: the chart in words, for a screen reader or a closer look. */
function resultsTable(model: ChartModel): HTMLElement {
  const all = [...model.points, ...model.offAxis].sort((a, b) => a.t - b.t || a.line - b.line);
  const measures = new Set(all.map((p) => p.measure)).size > 1;
  const head = ["Date", ...(measures ? ["Measure"] : []), "Value", "Source", "Also from", ...(model.offAxis.length ? ["Note"] : [])];
  const rows = all.map((p) => {
    const unit = unitText(p.unit);
    const place = against(model, p);
    return h(
      "tr",
      {},
      h("td", { class: "date" }, dayText(p.date)),
      measures && h("td", {}, p.measure),
      h("td", {}, `${formatNumber(p.value)}${unit ? ` ${unit}` : ""}`, place && h("span", { class: "muted" }, ` (${place.replace(/ \(.*\)$/, "")})`)),
      h("td", {}, p.source),
      h("td", {}, p.alsoFrom.join(", ")),
      model.offAxis.length > 0 && h("td", {}, p.line < 0 ? "Another unit: not drawn" : ""),
    );
  });
  const table = h(
    "table",
    { class: "chart-table" },
    h("caption", {}, `${model.title}: every result, oldest first`),
    h("thead", {}, h("tr", {}, ...head.map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", {}, ...rows),
  );
  const details = h("details", { class: "chart-results" }, h("summary", {}, `All ${all.length} results as a table`));
  append(details, table);
  return details;
}

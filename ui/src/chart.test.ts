// The chart (uPlot itself, on a recording stand-in for the canvas jsdom lacks): the band, one
// line per source, keyboard focus reading out each point, text from a record kept as text.
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import type { LabSeries } from "./bindings/LabSeries";
import { captionText, chartModel, plotOf, pointText, renderChart } from "./chart";
import { validLanguage } from "./language";

/** Every call made on the 2D contexts, with the fill style in force. */
const drawn: { name: string; args: unknown[]; fillStyle: unknown; alpha: unknown }[] = [];

beforeAll(() => {
  // jsdom has no canvas: a context that records what is drawn (uPlot only draws through it).
  HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement) {
    const state: Record<string | symbol, unknown> = { canvas: this, fillStyle: "#000", globalAlpha: 1 };
    return new Proxy(state, {
      get(target, prop) {
        if (prop in target) return target[prop];
        if (prop === "measureText") return (s: string) => ({ width: s.length * 7 });
        return (...args: unknown[]) => {
          drawn.push({ name: String(prop), args, fillStyle: target.fillStyle, alpha: target.globalAlpha });
        };
      },
      set(target, prop, value) {
        target[prop] = value;
        return true;
      },
    }) as unknown as CanvasRenderingContext2D;
  } as unknown as typeof HTMLCanvasElement.prototype.getContext;
});

afterEach(() => {
  document.body.innerHTML = "";
  drawn.length = 0;
});

const evil = `<img src=x onerror="window.__xss=1">Clinic`;

const glucose: LabSeries = {
  code: "2345-7",
  name: "Glucose",
  unit: "mg/dL",
  measures: [
    {
      code: "2345-7",
      name: "Glucose",
      low: 70,
      high: 99,
      points: [
        { date: "2021-03-01", value: 92, unit: "mg/dL", source: "hospital.json", also_from: [evil] },
        { date: "2022-03-01", value: 130, unit: "mg/dL", source: "hospital.json", also_from: [] },
        { date: "2023-01-10T08:30:00Z", value: 64, unit: "mg/dL", source: evil, also_from: [] },
        { date: "2023-06-01", value: 5.4, unit: "mmol/L", source: evil, also_from: [] },
      ],
    },
  ],
};

const tick = () => new Promise((r) => setTimeout(r, 0));

async function shown(series: LabSeries): Promise<HTMLElement> {
  const chart = renderChart(series);
  document.body.appendChild(chart);
  await tick();
  return chart;
}

function key(el: HTMLElement, name: string) {
  el.dispatchEvent(new KeyboardEvent("keydown", { key: name, bubbles: true, cancelable: true }));
}

describe("chart", () => {
  it("draws the reference range as a band between its values, inside the y axis", async () => {
    const model = chartModel(glucose);
    expect(model.bands).toEqual([{ measure: "Glucose", low: 70, high: 99 }]);
    expect(model.yMin).toBeLessThan(64);
    expect(model.yMax).toBeGreaterThan(130);
    expect(captionText(model)).toBe("Glucose (mg/dL): 3 results from 2 sources. Reference range: 70–99 mg/dL.");

    const chart = await shown(glucose);
    const u = plotOf(chart)!;
    const bands = drawn.filter((c) => c.name === "fillRect" && c.alpha !== 1);
    expect(bands).toHaveLength(1);
    const [x, y, width, height] = bands[0].args as number[];
    expect(x).toBe(u.bbox.left);
    expect(width).toBe(u.bbox.width);
    expect(y).toBeCloseTo(u.valToPos(99, "y", true));
    expect(y + height).toBeCloseTo(u.valToPos(70, "y", true));
    expect(height).toBeGreaterThan(0);
    expect(chart.querySelector(".chart-caption")!.textContent).toContain("Reference range: 70–99 mg/dL");
  });

  it("has no band when no range was sent", () => {
    const none: LabSeries = { ...glucose, measures: [{ ...glucose.measures[0], low: null, high: null }] };
    expect(chartModel(none).bands).toEqual([]);
    expect(captionText(chartModel(none))).toContain("No reference range was sent");
  });

  it("draws one marked line per source, and never a point of another unit on the axis", async () => {
    const model = chartModel(glucose);
    expect(model.lines.map((l) => [l.source, l.points.map((p) => p.value)])).toEqual([
      ["hospital.json", [92, 130]],
      [evil, [64]],
    ]);
    expect(new Set(model.lines.map((l) => l.shape)).size).toBe(2);
    expect(new Set(model.lines.map((l) => l.colour)).size).toBe(2);
    expect(model.offAxis.map((p) => [p.value, p.unit])).toEqual([[5.4, "mmol/L"]]);

    const chart = await shown(glucose);
    const u = plotOf(chart)!;
    expect(u.series.slice(1).map((s) => s.label)).toEqual(["hospital.json", evil]);
    // Each line's values at their dates, null elsewhere.
    expect(u.data[1]).toEqual([92, 130, null]);
    expect(u.data[2]).toEqual([null, null, 64]);
    const legend = [...chart.querySelectorAll(".chart-legend li")].map((li) => li.textContent);
    expect(legend).toEqual(["hospital.json", evil]);
    expect(chart.querySelector(".chart-off-axis")!.textContent).toContain("mmol/L");
  });

  it("gives a blood pressure's systolic and diastolic a line each per source", () => {
    const point = (date: string, value: number, source: string) => ({ date, value, unit: "mm[Hg]", source, also_from: [] });
    const bp: LabSeries = {
      code: "85354-9",
      name: "Blood pressure",
      unit: "mm[Hg]",
      measures: [
        { code: "8480-6", name: "Systolic", low: null, high: 120, points: [point("2021-01-01", 128, "A"), point("2022-01-01", 141, "B")] },
        { code: "8462-4", name: "Diastolic", low: null, high: 80, points: [point("2021-01-01", 82, "A"), point("2022-01-01", 91, "B")] },
      ],
    };
    const model = chartModel(bp);
    expect(model.lines.map((l) => l.label)).toEqual(["Systolic · A", "Systolic · B", "Diastolic · A", "Diastolic · B"]);
    expect(model.bands.map((b) => [b.measure, b.high])).toEqual([["Systolic", 120], ["Diastolic", 80]]);
    expect(pointText(model, model.points[0])).toBe("1 Jan 2021: Systolic 128 mmHg, from A, above the reference range (120 mmHg or less).");
    expect(captionText(model)).toBe("Blood pressure (mmHg): 2 readings from 2 sources. Reference range: Systolic 120 mmHg or less; Diastolic 80 mmHg or less.");
  });

  it("moves a highlighted point by keyboard and reads out its value, date and source", async () => {
    const chart = await shown(glucose);
    const plot = chart.querySelector<HTMLElement>(".chart-plot")!;
    const readout = chart.querySelector(".chart-readout")!;
    expect(plot.tabIndex).toBe(0);
    expect(readout.getAttribute("aria-live")).toBe("polite");
    plot.focus();
    // Focus starts on the newest result.
    expect(readout.textContent).toBe(`10 Jan 2023: 64 mg/dL, from ${evil}, below the reference range (70–99 mg/dL).`);
    expect(plot.getAttribute("aria-valuenow")).toBe("3");
    key(plot, "ArrowLeft");
    expect(readout.textContent).toBe("1 Mar 2022: 130 mg/dL, from hospital.json, above the reference range (70–99 mg/dL).");
    key(plot, "Home");
    expect(readout.textContent).toBe(`1 Mar 2021: 92 mg/dL, from hospital.json (also from ${evil}), within the reference range (70–99 mg/dL).`);
    key(plot, "ArrowLeft");
    expect(plot.getAttribute("aria-valuenow")).toBe("1");
    key(plot, "End");
    expect(plot.getAttribute("aria-valuetext")).toBe("Result 3 of 3");
    // The tooltip and ring sit on the point.
    const u = plotOf(chart)!;
    const ring = chart.querySelector<HTMLElement>(".chart-ring")!;
    expect(ring.hidden).toBe(false);
    expect(parseFloat(ring.style.left)).toBeCloseTo(u.valToPos(Date.parse("2023-01-10T08:30:00Z") / 1000, "x"));
    expect(chart.querySelector(".chart-tip")!.textContent).toBe(readout.textContent);
  });

  it("lists every result in a table, markup in a source name as text", async () => {
    const chart = await shown(glucose);
    const rows = [...chart.querySelectorAll(".chart-table tbody tr")].map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent));
    expect(rows).toEqual([
      ["1 Mar 2021", "92 mg/dL (within the reference range)", "hospital.json", evil, ""],
      ["1 Mar 2022", "130 mg/dL (above the reference range)", "hospital.json", "", ""],
      ["10 Jan 2023", "64 mg/dL (below the reference range)", evil, "", ""],
      ["1 Jun 2023", "5.4 mmol/L", evil, "", "Another unit: not drawn"],
    ]);
    expect(chart.querySelectorAll("img, script").length).toBe(0);
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  });

  it("loads under a Linux locale that is not a BCP 47 tag", () => {
    expect(validLanguage("C")).toBe("en-US");
    expect(validLanguage("en-US@posix")).toBe("en-US");
    expect(validLanguage("de_DE.UTF-8")).toBe("de-DE");
    expect(validLanguage("fr-CA")).toBe("fr-CA");
  });
});

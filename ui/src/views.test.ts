// The views' logic against a mocked IPC (no window, no core).
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AppError, api } from "./api";
import { describe as describeAudit } from "./views/audit";
import { chosenSections, exportView } from "./views/export";
import { recordView } from "./views/record";
import { wipeView } from "./views/wipe";
import { layout } from "./trend";
import { IdleLock } from "./idle";

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("api", () => {
  it("turns the shell's {code, message} into an AppError a view can show", async () => {
    mockIPC(() => {
      throw { code: "locked", message: "The vault is locked. Unlock it first." };
    });
    await expect(api.summary()).rejects.toEqual(new AppError("locked", "The vault is locked. Unlock it first."));
  });
});

describe("record view", () => {
  it("lists items as text: markup from a portal is never parsed", async () => {
    const evil = `<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`;
    mockIPC((cmd) => {
      if (cmd === "list_items") {
        return { total: 1, items: [{ resource_type: "Condition", id: "c1", date: "2024-01-02", display: evil, detail: "active", code: null, source: "f.json" }] };
      }
    });
    const view = recordView();
    document.body.appendChild(view);
    await tick();
    const label = view.querySelector(".item .label")!;
    expect(label.textContent).toBe(evil);
    expect(view.querySelector("img")).toBeNull();
    expect(view.querySelector("script")).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
    expect(view.querySelector("#count")!.textContent).toBe("1 entry");
  });

  it("asks for the next page with the right offset", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "list_items") {
        calls.push(args);
        const a = args as { offset: number };
        return { total: 150, items: Array.from({ length: a.offset === 0 ? 100 : 50 }, (_, i) => ({ resource_type: "Observation", id: `o${a.offset + i}`, date: null, display: "Glucose", detail: null, code: "2339-0", source: "s" })) };
      }
    });
    const view = recordView();
    await tick();
    const more = view.querySelector<HTMLButtonElement>("#load-more")!;
    expect(more.hidden).toBe(false);
    more.click();
    await tick();
    expect(calls).toEqual([
      { category: "timeline", offset: 0, limit: 100 },
      { category: "timeline", offset: 100, limit: 100 },
    ]);
    expect(view.querySelectorAll(".item").length).toBe(150);
    expect(more.hidden).toBe(true);
  });
});

describe("export view", () => {
  it("sends only the ticked sections and the date", async () => {
    let sent: unknown;
    mockIPC((cmd, args) => {
      if (cmd === "export_pdf") {
        sent = args;
        return { path: "/tmp/s.pdf", sha256: "00", bytes: 10 };
      }
    });
    const view = exportView();
    document.body.appendChild(view);
    view.querySelector<HTMLInputElement>("#section-visits")!.checked = false;
    view.querySelector<HTMLInputElement>("#section-procedures")!.checked = false;
    view.querySelector<HTMLInputElement>("#export-path")!.value = "/tmp/s.pdf";
    view.querySelector<HTMLInputElement>("#since")!.value = "2020-01-01";
    expect(chosenSections(view)).not.toContain("visits");
    view.querySelector<HTMLButtonElement>("#export-pdf")!.click();
    await tick();
    expect(sent).toEqual({ path: "/tmp/s.pdf", sections: ["problems", "medications", "allergies", "immunizations", "results", "vitals"], since: "2020-01-01" });
    expect(view.querySelector("#export-done")!.textContent).toContain("/tmp/s.pdf");
  });
});

describe("save dialog", () => {
  it("fills the path the patient chose, and leaves it when they cancel", async () => {
    let answer: string | null = "/home/me/summary.pdf";
    mockIPC((cmd, args) => {
      if (cmd === "choose_save_path") {
        expect(args).toEqual({ suggestedName: "health-summary.pdf" });
        return answer;
      }
    });
    const view = exportView();
    const path = view.querySelector<HTMLInputElement>("#export-path")!;
    view.querySelector<HTMLButtonElement>("#choose-export-path")!.click();
    await tick();
    expect(path.value).toBe("/home/me/summary.pdf");
    answer = null;
    view.querySelector<HTMLButtonElement>("#choose-export-path")!.click();
    await tick();
    expect(path.value).toBe("/home/me/summary.pdf");
  });
});

describe("wipe view", () => {
  it("stays disabled until DELETE is typed", () => {
    const view = wipeView(async () => {});
    const button = view.querySelector<HTMLButtonElement>("#wipe-button")!;
    const input = view.querySelector<HTMLInputElement>("#wipe-confirm")!;
    expect(button.disabled).toBe(true);
    input.value = "delete";
    input.dispatchEvent(new Event("input"));
    expect(button.disabled).toBe(true);
    input.value = "DELETE";
    input.dispatchEvent(new Event("input"));
    expect(button.disabled).toBe(false);
  });
});

describe("audit view", () => {
  it("describes disclosures without clinical content", () => {
    expect(describeAudit({ what: "PDF summary", recipient: "Dr. Lee", purpose: "visit", sections: ["problems", "results"] })).toBe(
      "PDF summary · Dr. Lee · visit · sections: problems, results",
    );
    expect(describeAudit(null)).toBe("");
  });
});

describe("trend plot", () => {
  it("puts points in time order inside the plot and draws the reference band", () => {
    const plot = layout({ code: "2339-0", name: "Glucose", unit: "mg/dL", low: 70, high: 99, points: [
      { date: "2020-01-01", value: 80 },
      { date: "2021-01-01", value: 182 },
      { date: "2022-01-01", value: 95 },
    ] });
    const xs = plot.points.map((p) => p.x);
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    const high = plot.points[1];
    expect(high.y).toBeLessThan(plot.band!.y);
    for (const p of plot.points) {
      expect(p.x).toBeGreaterThanOrEqual(0);
      expect(p.x).toBeLessThanOrEqual(plot.width);
    }
  });
});

describe("idle lock", () => {
  it("locks after the idle time and is reset by activity", () => {
    vi.useFakeTimers();
    const target = new EventTarget();
    let locked = 0;
    const idle = new IdleLock(1, () => locked++, target);
    idle.start();
    vi.advanceTimersByTime(50_000);
    target.dispatchEvent(new Event("keydown"));
    vi.advanceTimersByTime(50_000);
    expect(locked).toBe(0);
    vi.advanceTimersByTime(20_000);
    expect(locked).toBe(1);
    vi.useRealTimers();
  });
});

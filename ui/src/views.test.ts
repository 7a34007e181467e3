// The views' logic against a mocked IPC (no window, no core).
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AppError, api } from "./api";
import type { Person } from "./bindings/Person";
import { describe as describeAudit } from "./views/audit";
import { chosenSections, exportView } from "./views/export";
import { recordView } from "./views/record";
import { wipeView } from "./views/wipe";
import { IdleLock } from "./idle";

const tick = () => new Promise((r) => setTimeout(r, 0));

const ann: Person = { id: 7, name: "Ann Lee", birth_date: "1980-02-03", gender: "female", sources: [], resources: 12 };

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("api", () => {
  it("turns the shell's {code, message} into an AppError a view can show", async () => {
    mockIPC(() => {
      throw { code: "locked", message: "The vault is locked. Unlock it first." };
    });
    await expect(api.summary(1)).rejects.toEqual(new AppError("locked", "The vault is locked. Unlock it first."));
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
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    const label = view.querySelector(".item .label")!;
    expect(label.textContent).toBe(evil);
    expect(view.querySelector("img")).toBeNull();
    expect(view.querySelector("script")).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
    expect(view.querySelector("#count")!.textContent).toBe("1 entry");
  });

  it("lists a long record a page at a time as the view reaches it, drawing only the rows near the view", async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "list_items") {
        calls.push(args);
        const a = args as { offset: number; limit: number };
        const n = Math.max(0, Math.min(a.limit, 20_000 - a.offset));
        return { total: 20_000, items: Array.from({ length: n }, (_, i) => ({ resource_type: "Observation", id: `o${a.offset + i}`, date: null, display: "Glucose", detail: null, code: "2339-0", source: "s" })) };
      }
    });
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    expect(view.querySelector("#count")!.textContent).toBe("20000 entries");
    expect(view.querySelector("#load-more")).toBeNull();
    expect(calls).toEqual([{ person: 7, category: "timeline", offset: 0, limit: 100 }]);
    expect(view.querySelectorAll("#items .item").length).toBeLessThan(100);
    const scroll = view.querySelector<HTMLElement>("#items-scroll")!;
    expect(scroll.contains(view.querySelector("ol#items"))).toBe(true);
    scroll.scrollTop = 1e9;
    scroll.dispatchEvent(new Event("scroll"));
    await tick();
    await tick();
    expect(calls).toContainEqual({ person: 7, category: "timeline", offset: 19_900, limit: 100 });
    const last = view.querySelector<HTMLElement>("#items .item[data-index='19999']")!;
    expect(last.dataset.id).toBe("o19999");
    expect(last.dataset.type).toBe("Observation");
    expect(last.closest("li")!.getAttribute("aria-posinset")).toBe("20000");
    expect(last.closest("li")!.getAttribute("aria-setsize")).toBe("20000");
    expect(view.querySelectorAll("#items li").length).toBeLessThan(100);
  });

  it("drops the answer for a category no longer chosen", async () => {
    const answers = new Map<string, (page: unknown) => void>();
    mockIPC((cmd, args) => {
      if (cmd === "list_items") {
        const a = args as { category: string };
        return new Promise((resolve) => answers.set(a.category, resolve));
      }
    });
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    view.querySelector<HTMLButtonElement>("#tab-labs")!.click();
    await tick();
    const entry = (id: string) => ({ resource_type: "Observation", id, date: null, display: id, detail: null, code: null, source: "s" });
    answers.get("labs")!({ total: 1, items: [entry("lab1")] });
    await tick();
    answers.get("timeline")!({ total: 2, items: [entry("t1"), entry("t2")] });
    await tick();
    expect([...view.querySelectorAll<HTMLElement>("#items .item")].map((b) => b.dataset.id)).toEqual(["lab1"]);
    expect(view.querySelector("#count")!.textContent).toBe("1 entry");
  });

});

describe("whose record", () => {
  it("names the person and their birth date on the record, export and share screens", async () => {
    let asked: unknown;
    mockIPC((cmd, args) => {
      if (cmd === "list_items") return { total: 0, items: [] };
      if (cmd === "search_record") {
        asked = args;
        return [{ resource_type: "Condition", id: "c1", date: null, display: "", source: "f.json" }];
      }
    });
    const record = recordView(ann);
    expect(record.querySelector("#person-banner")!.textContent).toBe("Record of Ann Lee · born 1980-02-03");
    await tick();
    const search = record.querySelector<HTMLInputElement>("#search")!;
    search.value = "rash";
    search.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter" }));
    await tick();
    expect(asked).toEqual({ person: 7, text: "rash" });
    expect(record.querySelector(".item .label")!.textContent).toBe("Condition");

    const exports = exportView({ ...ann, birth_date: null });
    expect(exports.querySelector("#person-banner")!.textContent).toBe("Exporting and sharing the record of Ann Lee · birth date not recorded");
    expect([...exports.querySelectorAll("h2")].map((e) => e.textContent)).toEqual(["Save a copy of Ann Lee's record for yourself", "Share Ann Lee's record with someone"]);
  });

  it("says the vault holds no record yet instead of asking for one", () => {
    mockIPC(() => {
      throw new Error("no call expected");
    });
    expect(recordView(null).querySelector("#no-record")).not.toBeNull();
    expect(exportView(null).querySelector("#export-pdf")).toBeNull();
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
    const view = exportView(ann);
    document.body.appendChild(view);
    view.querySelector<HTMLInputElement>("#section-visits")!.checked = false;
    view.querySelector<HTMLInputElement>("#section-procedures")!.checked = false;
    view.querySelector<HTMLInputElement>("#export-path")!.value = "/tmp/s.pdf";
    view.querySelector<HTMLInputElement>("#since")!.value = "2020-01-01";
    expect(chosenSections(view)).not.toContain("visits");
    view.querySelector<HTMLButtonElement>("#export-pdf")!.click();
    await tick();
    expect(sent).toEqual({ person: 7, path: "/tmp/s.pdf", sections: ["problems", "medications", "allergies", "immunizations", "results", "vitals"], since: "2020-01-01" });
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
    const view = exportView(ann);
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

  const wiped = { connections_revoked: 0, files_removed: ["vault.db"], bytes_overwritten: 10, keyring_entry_removed: true, disclosure_log: null, backups_removed: 2, backups_not_reached: null };

  it("starts again once everything is deleted, backups too", async () => {
    mockIPC((cmd) => (cmd === "wipe" ? wiped : undefined));
    const restart = vi.fn(async () => {});
    const view = wipeView(restart);
    expect(view.textContent).toContain("its backups in your backup folder");
    const input = view.querySelector<HTMLInputElement>("#wipe-confirm")!;
    input.value = "DELETE";
    input.dispatchEvent(new Event("input"));
    view.querySelector<HTMLButtonElement>("#wipe-button")!.click();
    await tick();
    expect(restart).toHaveBeenCalledOnce();
  });

  it("says which backups it could not reach before starting again", async () => {
    mockIPC((cmd) => (cmd === "wipe" ? { ...wiped, backups_removed: 0, backups_not_reached: "/media/usb/b" } : undefined));
    const restart = vi.fn(async () => {});
    const view = wipeView(restart);
    const input = view.querySelector<HTMLInputElement>("#wipe-confirm")!;
    input.value = "DELETE";
    input.dispatchEvent(new Event("input"));
    view.querySelector<HTMLButtonElement>("#wipe-button")!.click();
    await tick();
    expect(restart).not.toHaveBeenCalled();
    expect(view.querySelector("#wipe-backups-left")!.textContent).toContain("/media/usb/b were not reached");
    view.querySelector<HTMLButtonElement>("#wipe-continue")!.click();
    expect(restart).toHaveBeenCalledOnce();
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

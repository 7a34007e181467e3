// Accessibility checks that need no window: every control of every screen has a label (hidden
// ones too: they show later), every button a name, no id twice on a screen; the stylesheet's
// colours meet WCAG AA in the light and the dark scheme, its text sizes are relative (so text
// follows the system's font size) and whatever is focused shows it. axe-core checks the
// rendered screens in the real app (tests/a11y.rs).
/// <reference types="vite/client" />
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { Person } from "./bindings/Person";
import css from "./style.css?raw";

const tick = async (n = 8) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
  document.body.innerHTML = "";
});

/** The text a screen reader gives `el` as its name (stricter than browsers: no placeholder). */
export function nameOf(el: Element): string {
  const labelledBy = el.getAttribute("aria-labelledby");
  if (labelledBy) {
    return labelledBy
      .split(/\s+/)
      .map((id) => el.ownerDocument.getElementById(id)?.textContent ?? "")
      .join(" ")
      .trim();
  }
  const aria = el.getAttribute("aria-label")?.trim();
  if (aria) return aria;
  if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
    if (el instanceof HTMLInputElement && ["button", "submit", "reset"].includes(el.type)) return el.value.trim();
    const fromLabels = [...(el.labels ?? [])]
      .map((label) => {
        // The label's own words, without the control's (a select's options, say).
        const copy = label.cloneNode(true) as HTMLElement;
        copy.querySelectorAll("input, select, textarea").forEach((c) => c.remove());
        return copy.textContent ?? "";
      })
      .join(" ")
      .trim();
    if (fromLabels) return fromLabels;
  } else if (el instanceof HTMLImageElement) {
    return el.alt.trim();
  } else {
    const text = el.textContent?.trim();
    if (text) return text;
  }
  return el.getAttribute("title")?.trim() ?? "";
}

/** What on the page has no name, or shares its id with another element. */
function problems(root: ParentNode = document): string[] {
  const found: string[] = [];
  const describe = (el: Element) => `<${el.tagName.toLowerCase()}${el.id ? ` id="${el.id}"` : ""}${el.className ? ` class="${el.className}"` : ""}>`;
  for (const el of root.querySelectorAll("input:not([type=hidden]), select, textarea, button, img, iframe, [role=tab], [role=dialog], [role=region], progress")) {
    if (!nameOf(el)) found.push(`${describe(el)} has no accessible name`);
  }
  const ids = new Map<string, number>();
  for (const el of root.querySelectorAll("[id]")) ids.set(el.id, (ids.get(el.id) ?? 0) + 1);
  for (const [id, n] of ids) if (n > 1) found.push(`id "${id}" is used ${n} times`);
  for (const el of root.querySelectorAll("[aria-labelledby], [aria-describedby], [aria-controls]")) {
    for (const attr of ["aria-labelledby", "aria-describedby", "aria-controls"]) {
      for (const id of el.getAttribute(attr)?.split(/\s+/).filter(Boolean) ?? []) {
        if (!document.getElementById(id)) found.push(`${describe(el)} ${attr} names a missing id "${id}"`);
      }
    }
  }
  return found;
}

const ann: Person = { id: 1, name: "Ann Lee", birth_date: "1980-02-03", gender: "female", sources: [{ id: 1, kind: "portal", name: "Demo", patient_id: "p1" }], resources: 3 } as Person;

/** Plausible answers to the shell's commands (unknown ones: nothing). */
function shell(vault: { exists: boolean; unlocked: boolean; has_recovery_key?: boolean | null }) {
  return (cmd: string): unknown => {
    switch (cmd) {
      case "vault_status":
        return { dir: "/home/me/.local/share/ownrecord", demo_portal: "http://127.0.0.1:8765/fhir", demo_share_host: "http://127.0.0.1:8766", has_recovery_key: true, ...vault };
      case "people":
        return [ann];
      case "list_items":
        return { total: 1, items: [{ resource_type: "Observation", id: "o1", date: "2024-01-02", display: "Glucose", detail: "5.4 mmol/L", code: "2339-0", source: "Demo" }] };
      case "resource_detail":
        return { resource_type: "Observation", id: "o1", display: "Glucose", source: "Demo", source_kind: "portal", imported_at: "2024-01-03T10:00:00Z", json: '{"resourceType":"Observation"}' };
      case "connections":
        return [
          { id: 1, name: "Demo", fhir_base: "http://127.0.0.1:8765/fhir", patient_id: "p1", scopes: "", status: "connected", connected_at: "2024-01-01T00:00:00Z", last_sync_at: null, vendor: null, practice: null, attention: "Sign in again.", attention_kind: "sign_in" },
        ];
      case "portal_vendors":
        return [{ code: "athena", name: "athenahealth" }];
      case "backup_status":
        return { status: { folder: "/media/usb", present: true, generations: 1, last_backup: "2024-01-03T10:00:00Z", last_generation: "g1", problem: null }, last_attempt: null };
      case "audit_log":
        return [{ seq: 1, at: "2024-01-03T10:00:00Z", kind: "unlock", details: {} }];
      case "audit_verify":
        return { entries: 1 };
      case "share_hosts":
        return [{ url: "http://127.0.0.1:8766", added: "2024-01-03T10:00:00Z" }];
      case "shares":
      case "studies":
        return [];
      case "refresh_shares":
        return { shares: [], new_opens: 0, checked: 0, failed: [] };
      default:
        return null;
    }
  };
}

async function startWindow(handler: (cmd: string) => unknown): Promise<void> {
  vi.resetModules();
  mockIPC((cmd) => handler(cmd));
  document.body.innerHTML = `<div id="app"></div>`;
  await import("./main");
  await tick();
}

describe("every control has a label, every button a name", () => {
  it("on the first-run screen, with the restore form open", async () => {
    await startWindow(shell({ exists: false, unlocked: false }));
    expect(document.querySelector("#first-run")).not.toBeNull();
    document.querySelector<HTMLButtonElement>("#restore-start")!.click();
    expect(problems()).toEqual([]);
  });

  it("on the unlock screen, with the keyring and with the recovery key", async () => {
    await startWindow(shell({ exists: true, unlocked: false }));
    expect(problems()).toEqual([]);
    document.querySelector<HTMLButtonElement>("#use-recovery-key")!.click();
    expect(problems()).toEqual([]);
  });

  it("on the recovery key offer", async () => {
    await startWindow(shell({ exists: true, unlocked: true, has_recovery_key: false }));
    expect(document.querySelector("#recovery-offer")).not.toBeNull();
    expect(problems()).toEqual([]);
  });

  it("in each section of the menu (the record's detail, the export and share wizard's steps included)", async () => {
    await startWindow(shell({ exists: true, unlocked: true }));
    const sections = [...document.querySelectorAll<HTMLButtonElement>("nav button")];
    expect(sections.length).toBeGreaterThan(5);
    for (const section of sections) {
      section.click();
      await tick();
      if (section.id === "nav-record") {
        document.querySelector<HTMLButtonElement>("#items .item")?.click();
        await tick();
        expect(document.querySelector("#detail-title")).not.toBeNull();
      }
      expect(problems().map((p) => `${section.textContent}: ${p}`)).toEqual([]);
    }
  });
});

describe("the keyboard", () => {
  it("goes to the heading of the section chosen in the menu", async () => {
    await startWindow(shell({ exists: true, unlocked: true }));
    document.querySelector<HTMLButtonElement>("#nav-connections")!.click();
    expect(document.activeElement?.tagName).toBe("H1");
    expect(document.activeElement?.textContent).toBe("Connections");
  });

  it("moves among the record's tabs with the arrows, one Tab stop for all of them", async () => {
    await startWindow(shell({ exists: true, unlocked: true }));
    document.querySelector<HTMLButtonElement>("#nav-record")!.click();
    await tick();
    const tabs = [...document.querySelectorAll<HTMLButtonElement>("[role=tab]")];
    expect(tabs.filter((t) => t.tabIndex === 0).map((t) => t.id)).toEqual(["tab-timeline"]);
    tabs[0].focus();
    tabs[0].dispatchEvent(new KeyboardEvent("keydown", { key: "ArrowRight", bubbles: true }));
    expect(document.activeElement?.id).toBe(tabs[1].id);
    expect(tabs[1].getAttribute("aria-selected")).toBe("true");
    expect(tabs.filter((t) => t.tabIndex === 0).map((t) => t.id)).toEqual([tabs[1].id]);
    expect(document.querySelector("[role=tabpanel]")!.getAttribute("aria-labelledby")).toBe(tabs[1].id);
    tabs[1].dispatchEvent(new KeyboardEvent("keydown", { key: "End", bubbles: true }));
    expect(document.activeElement?.id).toBe(tabs[tabs.length - 1].id);
  });

  it("goes to the detail of the entry opened", async () => {
    await startWindow(shell({ exists: true, unlocked: true }));
    document.querySelector<HTMLButtonElement>("#nav-record")!.click();
    await tick();
    document.querySelector<HTMLButtonElement>("#items .item")!.click();
    await tick();
    expect(document.activeElement?.id).toBe("detail-title");
  });
});

/** The custom properties of the first rule block `selector {` after `from`. */
function palette(from: number): Record<string, string> {
  const start = css.indexOf(":root {", from);
  const block = css.slice(start, css.indexOf("}", start));
  return Object.fromEntries([...block.matchAll(/--([a-z]+):\s*(#[0-9a-f]{6})/gi)].map((m) => [m[1], m[2]]));
}

function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

describe("the stylesheet", () => {
  const light = palette(0);
  const dark = palette(css.indexOf("prefers-color-scheme: dark"));

  it("reads both colour schemes", () => {
    for (const p of [light, dark]) expect(Object.keys(p)).toEqual(expect.arrayContaining(["bg", "fg", "muted", "accent", "danger", "ok", "shade", "line"]));
    expect(light.bg).not.toBe(dark.bg);
  });

  it.each([
    ["light", light],
    ["dark", dark],
  ])("meets WCAG AA contrast in the %s scheme", (_, p) => {
    // Text (4.5:1): body text, muted text, errors, success, on the page and on shaded boxes;
    // the text of primary and danger buttons and the chosen tab on their colour.
    const text: [string, string, string][] = [
      ["fg", "bg", "text"],
      ["fg", "shade", "text on a shaded box or button"],
      ["muted", "bg", "muted text"],
      ["muted", "shade", "muted text on a shaded box"],
      ["danger", "bg", "an error"],
      ["danger", "shade", "an error in a notice"],
      ["ok", "bg", "a success"],
      ["ok", "shade", "a success in a notice"],
      ["accent", "bg", "an accent-coloured word"],
      ["bg", "accent", "a primary button, the chosen tab"],
      ["bg", "danger", "a danger button"],
    ];
    const failing = text.map(([f, b, what]) => [what, contrast(p[f], p[b])] as const).filter(([, ratio]) => ratio < 4.5);
    expect(failing).toEqual([]);
    // The focus outline (3:1 against what is around it, WCAG 1.4.11).
    expect(contrast(p.accent, p.bg)).toBeGreaterThanOrEqual(3);
    expect(contrast(p.accent, p.shade)).toBeGreaterThanOrEqual(3);
  });

  it("sizes text relatively (rem, em, %), so that it follows the system's font size", () => {
    const screen = css.slice(0, css.indexOf("@media print"));
    const fixed = [...screen.matchAll(/font(?:-size)?:\s*([^;}]*)/g)].map((m) => m[1]).filter((v) => /\d(px|pt)\b/.test(v));
    expect(fixed).toEqual([]);
  });

  it("shows the keyboard's focus on whatever has it", () => {
    expect(css).toMatch(/(^|\n):focus-visible[^{]*\{[^}]*outline: 3px solid var\(--accent\)/);
    expect(css).not.toMatch(/outline:\s*(none|0)\b/);
  });
});

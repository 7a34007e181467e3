// The recovery key (shown once, printable, confirmed), the offer for a vault without one, and
// unlocking with it; the window as a whole against a mocked IPC.
/// <reference types="vite/client" />
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { VaultStatus } from "./bindings/VaultStatus";
import { RECOVERY_KEY_SENTENCE, recoveryKeyScreen } from "./recovery";
import css from "./style.css?raw";

const KEY = "H211X-A9AXE-7QK2M-0PQRS-TVWXY-Z1234-56789-ABCDE";

const tick = async (n = 8) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const status = (s: Partial<VaultStatus>): VaultStatus => ({ exists: true, unlocked: true, dir: "/v", demo_portal: "http://127.0.0.1/fhir", demo_share_host: null, has_recovery_key: true, ...s });

/** The window, started afresh (its module state too) against `handler`. */
async function startWindow(handler: (cmd: string, args: unknown) => unknown): Promise<void> {
  vi.resetModules();
  mockIPC((cmd, args) => handler(cmd, args));
  document.body.innerHTML = `<main id="app"></main>`;
  await import("./main");
  await tick();
}

const $ = <T extends HTMLElement = HTMLElement>(css: string) => document.querySelector<T>(css);

afterEach(() => {
  clearMocks();
  vi.restoreAllMocks();
  localStorage.clear();
  sessionStorage.clear();
  document.body.innerHTML = "";
});

describe("recovery key screen", () => {
  it("shows the key large, in its eight groups, with the date and what it is for", () => {
    const screen = recoveryKeyScreen(KEY, () => undefined, new Date(2026, 4, 17));
    const shown = screen.querySelector("#recovery-key")!;
    expect(shown.textContent).toBe(KEY);
    expect([...shown.querySelectorAll(".group")].map((g) => g.textContent)).toEqual(KEY.split("-"));
    expect(screen.querySelector("#recovery-key-date")!.textContent).toContain("2026");
    expect(screen.querySelector("#recovery-key-sentence")!.textContent).toBe(RECOVERY_KEY_SENTENCE);
    expect(RECOVERY_KEY_SENTENCE).toContain("away from this computer");
    expect(RECOVERY_KEY_SENTENCE).toContain("shown only now");
    // Large and monospace (the stylesheet's rule for it).
    expect(css).toMatch(/\.recovery-key \{[^}]*monospace/);
  });

  it("opens the record only once 'I have written it down' is ticked, and takes the key out of the page", () => {
    const done = vi.fn();
    const screen = recoveryKeyScreen(KEY, done);
    document.body.appendChild(screen);
    const next = screen.querySelector<HTMLButtonElement>("#recovery-continue")!;
    expect(next.disabled).toBe(true);
    next.click();
    // Not even with the button enabled some other way.
    next.disabled = false;
    next.click();
    next.disabled = true;
    expect(done).not.toHaveBeenCalled();

    const written = screen.querySelector<HTMLInputElement>("#recovery-key-written")!;
    written.checked = true;
    written.dispatchEvent(new Event("change"));
    expect(next.disabled).toBe(false);
    // Unticked again: no Continue.
    written.checked = false;
    written.dispatchEvent(new Event("change"));
    expect(next.disabled).toBe(true);
    written.checked = true;
    written.dispatchEvent(new Event("change"));
    next.click();
    expect(done).toHaveBeenCalledOnce();
    expect(document.body.innerHTML).not.toContain("H211X");
    expect(screen.querySelector("#recovery-key")!.textContent).toBe("");
  });

  it("prints with the system's print, and the printed page holds only the key, its date and the sentence", () => {
    const print = vi.spyOn(window, "print").mockImplementation(() => undefined);
    const screen = recoveryKeyScreen(KEY, () => undefined);
    screen.querySelector<HTMLButtonElement>("#print-recovery-key")!.click();
    expect(print).toHaveBeenCalledOnce();
    // Every control is left off the printed page; the sheet holds the rest.
    for (const control of screen.querySelectorAll("button, input, label")) {
      expect(control.closest(".no-print"), control.outerHTML).not.toBeNull();
    }
    const sheet = screen.querySelector(".print-sheet")!;
    for (const id of ["#recovery-key", "#recovery-key-date", "#recovery-key-sentence"]) {
      expect(sheet.querySelector(id)).not.toBeNull();
    }
    const printRules = css.slice(css.indexOf("@media print"));
    expect(printRules).toMatch(/\.no-print[^{]*\{[^}]*display: none/);
  });
});

describe("the window", () => {
  it("shows the new vault's recovery key before the record, and never logs or stores it", async () => {
    const logged = (["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m));
    const stored = vi.spyOn(Storage.prototype, "setItem");
    let created = false;
    await startWindow((cmd) => {
      if (cmd === "vault_status") return status({ exists: created, unlocked: created });
      if (cmd === "create_vault") {
        created = true;
        return { status: status({}), recovery_key: KEY };
      }
      if (cmd === "people") return [];
    });
    $("#create-vault")!.click();
    await tick();
    expect($("#recovery-key")!.textContent).toBe(KEY);
    expect($("#nav-record")).toBeNull();
    const written = $<HTMLInputElement>("#recovery-key-written")!;
    written.checked = true;
    written.dispatchEvent(new Event("change"));
    $("#recovery-continue")!.click();
    await tick();
    expect($("#nav-record")).not.toBeNull();
    expect(document.documentElement.outerHTML).not.toContain("H211X");
    for (const spy of [...logged, stored]) {
      expect(JSON.stringify(spy.mock.calls)).not.toContain("H211X");
    }
    expect(localStorage.length + sessionStorage.length).toBe(0);
  });

  it("offers a recovery key after unlocking a vault that has none, and makes one on request", async () => {
    const calls: string[] = [];
    await startWindow((cmd) => {
      calls.push(cmd);
      if (cmd === "vault_status") return status({ has_recovery_key: false });
      if (cmd === "new_recovery_key") return KEY;
      if (cmd === "people") return [];
    });
    expect($("#recovery-offer")).not.toBeNull();
    expect($("#nav-record")).toBeNull();
    $("#make-recovery-key")!.click();
    await tick();
    expect(calls).toContain("new_recovery_key");
    expect($("#recovery-key")!.textContent).toBe(KEY);
  });

  it("goes to the record on 'Not now', and does not ask again while the app runs", async () => {
    await startWindow((cmd) => {
      if (cmd === "vault_status") return status({ has_recovery_key: false });
      if (cmd === "people") return [];
      if (cmd === "lock") return status({ unlocked: false, has_recovery_key: null });
    });
    $("#recovery-not-now")!.click();
    await tick();
    expect($("#recovery-offer")).toBeNull();
    expect($("#nav-record")).not.toBeNull();
    const { start } = await import("./main");
    await start();
    expect($("#recovery-offer")).toBeNull();
  });

  it("offers nothing when the vault has a recovery key", async () => {
    await startWindow((cmd) => {
      if (cmd === "vault_status") return status({ has_recovery_key: true });
      if (cmd === "people") return [];
    });
    expect($("#recovery-offer")).toBeNull();
    expect($("#nav-record")).not.toBeNull();
  });

  it("unlocks with the recovery key instead of the keyring or passphrase", async () => {
    const unlocks: unknown[] = [];
    await startWindow((cmd, args) => {
      if (cmd === "vault_status") return status({ unlocked: unlocks.length > 0, has_recovery_key: unlocks.length > 0 || null });
      if (cmd === "unlock") {
        unlocks.push(args);
        return status({});
      }
      if (cmd === "people") return [];
    });
    const input = $<HTMLInputElement>("#recovery-key-input")!;
    expect(input.closest<HTMLElement>("#recovery-unlock")!.hidden).toBe(true);
    $("#use-recovery-key")!.click();
    expect(input.closest<HTMLElement>("#recovery-unlock")!.hidden).toBe(false);
    expect($<HTMLInputElement>("#passphrase")!.hidden).toBe(true);
    input.value = KEY.toLowerCase();
    $("#unlock")!.click();
    await tick();
    expect(unlocks).toEqual([{ passphrase: null, recoveryKey: KEY.toLowerCase() }]);
    expect($("#nav-record")).not.toBeNull();
  });

  it("asks for the recovery key when the keyring has no entry, and shows the core's sentence for a typo", async () => {
    const unlocks: unknown[] = [];
    await startWindow((cmd, args) => {
      if (cmd === "vault_status") return status({ unlocked: false, has_recovery_key: null });
      if (cmd === "unlock") {
        unlocks.push(args);
        const a = args as { recoveryKey: string | null };
        if (a.recoveryKey === null) throw { code: "key_missing", message: "The vault key is not in this computer's keyring." };
        throw { code: "recovery_key_typo", message: "That recovery key has a typo: check each group of five characters against what you wrote down. Nothing was changed." };
      }
    });
    $("#unlock")!.click();
    await tick();
    expect($("#unlock-screen .error")!.textContent).toBe("The vault key is not in this computer's keyring.");
    expect($("#recovery-unlock")!.hidden).toBe(false);
    $<HTMLInputElement>("#recovery-key-input")!.value = "H211X-A9AXE";
    $("#unlock")!.click();
    await tick();
    expect(unlocks).toEqual([
      { passphrase: null, recoveryKey: null },
      { passphrase: null, recoveryKey: "H211X-A9AXE" },
    ]);
    expect($("#unlock-screen .error")!.textContent).toContain("has a typo");
  });
});

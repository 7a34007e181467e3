// Restoring from a backup on the first-run screen, and the Backups view, against a mocked IPC.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BackupsView } from "./bindings/BackupsView";
import { restoreForm } from "./restore";
import { backupsView } from "./views/backups";

const tick = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const KEY = "H211X-A9AXE-7QK2M-0PQRS-TVWXY-Z1234-56789-ABCDE";

const report = { generation: "/media/usb/b/ownrecord-backup-2026-05-17T101500Z", created: "2026-05-17T10:15:00Z", bytes: 4096, counts: { resources: 321, earlier_versions: 0, people: 2, attachments: 0, audit_entries: 9 }, thinned: 0 };

const view = (status: Partial<BackupsView["status"]>, last_attempt: BackupsView["last_attempt"] = null): BackupsView => ({
  status: { folder: null, present: false, generations: 0, last_backup: null, last_generation: null, problem: null, ...status },
  last_attempt,
});

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("restore from a backup", () => {
  it("restores the typed folder with the recovery key, then opens the record", async () => {
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "restore_backup") {
        sent.push(args);
        return { generation: report.generation, created: report.created, counts: report.counts, keyring: true };
      }
    });
    const restored = vi.fn(async () => undefined);
    const form = restoreForm(restored);
    form.querySelector<HTMLInputElement>("#restore-from")!.value = " /media/usb/b ";
    form.querySelector<HTMLInputElement>("#restore-secret")!.value = KEY;
    form.querySelector<HTMLButtonElement>("#restore-go")!.click();
    await tick();
    expect(sent).toEqual([{ from: "/media/usb/b", recoveryKey: KEY, passphrase: null }]);
    expect(restored).toHaveBeenCalledOnce();
  });

  it("sends a passphrase as a passphrase, hidden as it is typed", async () => {
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "restore_backup") sent.push(args);
      return { generation: "", created: "", counts: report.counts, keyring: true };
    });
    const form = restoreForm(async () => undefined);
    const withPassphrase = form.querySelector<HTMLInputElement>("#restore-with-passphrase")!;
    withPassphrase.checked = true;
    withPassphrase.dispatchEvent(new Event("change"));
    const secret = form.querySelector<HTMLInputElement>("#restore-secret")!;
    expect(secret.type).toBe("password");
    secret.value = " my long passphrase ";
    form.querySelector<HTMLInputElement>("#restore-from")!.value = "/media/usb/b";
    form.querySelector<HTMLButtonElement>("#restore-go")!.click();
    await tick();
    expect(sent).toEqual([{ from: "/media/usb/b", recoveryKey: null, passphrase: " my long passphrase " }]);
  });

  it("fills the folder from the system's dialog, and shows the core's sentence when the restore is refused", async () => {
    const damaged = "The backup in /media/usb/b is damaged or was changed (a file does not match its checksum), so nothing was restored. Try an older backup.";
    mockIPC((cmd) => {
      if (cmd === "choose_backup_folder") return "/media/usb/b";
      if (cmd === "restore_backup") throw { code: "backup_damaged", message: damaged };
    });
    const restored = vi.fn(async () => undefined);
    const form = restoreForm(restored);
    form.querySelector<HTMLButtonElement>("#restore-choose")!.click();
    await tick();
    expect(form.querySelector<HTMLInputElement>("#restore-from")!.value).toBe("/media/usb/b");
    form.querySelector<HTMLButtonElement>("#restore-go")!.click();
    await tick();
    expect(form.querySelector(".error")!.textContent).toBe(damaged);
    expect(restored).not.toHaveBeenCalled();
  });

  it("is offered on the first-run screen", async () => {
    vi.resetModules();
    mockIPC((cmd) => (cmd === "vault_status" ? { exists: false, unlocked: false, dir: "/v", demo_portal: "", has_recovery_key: null } : undefined));
    document.body.innerHTML = `<main id="app"></main>`;
    await import("./main");
    await tick();
    const form = document.querySelector<HTMLElement>("#first-run #restore-form")!;
    expect(form.hidden).toBe(true);
    document.querySelector<HTMLButtonElement>("#restore-start")!.click();
    expect(form.hidden).toBe(false);
  });
});

describe("backups view", () => {
  it("shows the folder, the last backup and how many are kept", async () => {
    mockIPC((cmd) => (cmd === "backup_status" ? view({ folder: "/media/usb/b", present: true, generations: 3, last_backup: "2026-05-17T10:15:00Z" }) : undefined));
    const v = backupsView(() => undefined);
    await tick();
    expect(v.querySelector("#backup-folder")!.textContent).toBe("Backups go to /media/usb/b.");
    const last = v.querySelector("#backup-last")!.textContent!;
    expect(last).toMatch(/^Last backup: .*2026.* \(3 kept in the folder\)\.$/);
    expect(v.querySelector<HTMLElement>("#backup-problem")!.hidden).toBe(true);
    expect(v.querySelector<HTMLButtonElement>("#backup-now")!.disabled).toBe(false);
  });

  it("says what stands in the way in one sentence: a missing folder, or the last backup's failure", async () => {
    const missing = "The backup folder /media/usb/b is not there (is the drive plugged in?). No backup was made.";
    let answer = view({ folder: "/media/usb/b", present: false, problem: missing });
    mockIPC((cmd) => (cmd === "backup_status" ? answer : undefined));
    let v = backupsView(() => undefined);
    await tick();
    expect(v.querySelector<HTMLElement>("#backup-problem")!.hidden).toBe(false);
    expect(v.querySelector("#backup-problem")!.textContent).toBe(missing);
    expect(v.querySelector("#backup-last")!.textContent).toBe("");

    // The drive unplugged after this app backed up to it: that backup is still named.
    answer = view({ folder: "/media/usb/b", present: false, problem: missing }, { at: report.created, automatic: true, report, error: null });
    v = backupsView(() => undefined);
    await tick();
    expect(v.querySelector("#backup-last")!.textContent).toContain(`to ${report.generation}.`);
    expect(v.querySelector("#backup-problem")!.textContent).toBe(missing);

    const full = "The backup folder /media/usb/b is full (or does not take files this large): no backup was made, and the vault is unchanged. Free some space there or choose another folder.";
    answer = view({ folder: "/media/usb/b", present: true, generations: 1, last_backup: "2026-05-16T10:15:00Z" }, { at: "2026-05-17T10:15:00Z", automatic: true, report: null, error: full });
    v = backupsView(() => undefined);
    await tick();
    expect(v.querySelector("#backup-problem")!.textContent).toBe(`The last automatic backup did not work: ${full}`);
  });

  it("says no folder is chosen, with Back up now off", async () => {
    mockIPC((cmd) => (cmd === "backup_status" ? view({}) : undefined));
    const v = backupsView(() => undefined);
    await tick();
    expect(v.querySelector("#backup-folder")!.textContent).toContain("No folder chosen");
    expect(v.querySelector<HTMLButtonElement>("#backup-now")!.disabled).toBe(true);
    expect(v.querySelector<HTMLElement>("#backup-stop")!.hidden).toBe(true);
  });

  it("uses a typed folder, backs up now and shows the new backup", async () => {
    const calls: [string, unknown][] = [];
    let current = view({});
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "backup_status") return current;
      if (cmd === "set_backup_folder") {
        current = view({ folder: "/media/usb/b", present: true });
        return current;
      }
      if (cmd === "back_up_now") {
        current = view({ folder: "/media/usb/b", present: true, generations: 1, last_backup: report.created }, { at: report.created, automatic: false, report, error: null });
        return report;
      }
    });
    const v = backupsView(() => undefined);
    await tick();
    v.querySelector<HTMLInputElement>("#backup-path")!.value = "/media/usb/b";
    v.querySelector<HTMLButtonElement>("#backup-use-path")!.click();
    await tick();
    expect(v.querySelector("#backup-last")!.textContent).toBe("No backup in this folder yet.");
    v.querySelector<HTMLButtonElement>("#backup-now")!.click();
    await tick();
    expect(calls.map(([c]) => c)).toEqual(["backup_status", "set_backup_folder", "back_up_now", "backup_status"]);
    expect(calls[1][1]).toEqual({ folder: "/media/usb/b" });
    expect(v.querySelector("#backup-done")!.textContent).toBe(`Backed up 321 resources to ${report.generation}.`);
    expect(v.querySelector("#backup-last")!.textContent).toContain("Last backup:");
  });

  it("stops automatic backups", async () => {
    const sent: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "backup_status") return view({ folder: "/media/usb/b", present: true });
      if (cmd === "set_backup_folder") {
        sent.push(args);
        return view({});
      }
    });
    const v = backupsView(() => undefined);
    await tick();
    v.querySelector<HTMLButtonElement>("#backup-stop")!.click();
    await tick();
    expect(sent).toEqual([{ folder: null }]);
    expect(v.querySelector("#backup-folder")!.textContent).toContain("No folder chosen");
  });

  it("makes a new recovery key only after saying the old one stops working", async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === "backup_status") return view({});
      if (cmd === "new_recovery_key") return KEY;
    });
    const shown = vi.fn();
    const v = backupsView(shown);
    await tick();
    const question = v.querySelector<HTMLElement>("#new-key-question")!;
    expect(question.hidden).toBe(true);
    v.querySelector<HTMLButtonElement>("#new-recovery-key")!.click();
    expect(calls).not.toContain("new_recovery_key");
    expect(question.hidden).toBe(false);
    expect(question.textContent).toContain("will stop opening this vault");
    v.querySelector<HTMLButtonElement>("#new-key-cancel")!.click();
    expect(question.hidden).toBe(true);
    v.querySelector<HTMLButtonElement>("#new-recovery-key")!.click();
    v.querySelector<HTMLButtonElement>("#new-key-confirm")!.click();
    await tick();
    expect(calls).toContain("new_recovery_key");
    expect(shown).toHaveBeenCalledWith(KEY);
  });
});

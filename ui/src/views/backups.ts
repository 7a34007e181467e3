// Backups: the folder automatic backups go to, the newest backup there, what stands in the way
// (in one sentence), "Back up now", and a new recovery key.
import { api } from "../api";
import type { BackupsView } from "../bindings/BackupsView";
import { clear, h } from "../dom";
import { showError } from "../errors";

/** A time from the core (RFC 3339) in the patient's own time zone. */
export function when(at: string): string {
  const date = new Date(at);
  return Number.isNaN(date.getTime()) ? at : date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** The one sentence that says what stands in the way of backups, if anything. */
export function backupProblem(view: BackupsView): string | null {
  if (view.status.problem) return view.status.problem;
  const last = view.last_attempt;
  if (last?.error) return `The last ${last.automatic ? "automatic " : ""}backup did not work: ${last.error}`;
  return null;
}

/** The Backups view; `showKey` shows a new recovery key on its own screen. */
export function backupsView(showKey: (key: string) => void): HTMLElement {
  const folder = h("p", { id: "backup-folder" }, "…");
  const last = h("p", { id: "backup-last" });
  const problem = h("p", { id: "backup-problem", class: "error", role: "alert", hidden: true });
  const done = h("div", { id: "backup-result", "aria-live": "polite" });
  const path = h("input", { type: "text", id: "backup-path", placeholder: "/media/me/USB/OwnRecord backups", "aria-label": "Folder for backups" });
  const use = h("button", { id: "backup-use-path" }, "Use this folder");
  const choose = h("button", { id: "backup-choose" }, "Choose folder…");
  const now = h("button", { id: "backup-now", class: "primary", disabled: true }, "Back up now");
  const stop = h("button", { id: "backup-stop", class: "quiet", hidden: true }, "Stop automatic backups");
  const view = h(
    "section",
    { id: "backups" },
    h("h1", {}, "Backups"),
    h("p", {}, "OwnRecord copies your whole vault, still encrypted, into a folder you choose — on another drive, or one your cloud service syncs — a minute after each change and at least once a day while it runs. Your recovery key or passphrase opens these copies on any computer."),
    folder,
    last,
    problem,
    h("div", { class: "row" }, now, stop),
    done,
    h("div", { class: "row" }, h("label", {}, "Folder ", path), use, choose),
  );

  const render = (v: BackupsView) => {
    const s = v.status;
    folder.textContent = s.folder ? `Backups go to ${s.folder}.` : "No folder chosen: your vault is not backed up. Choose a folder on another drive (a USB disk, for example) or one your cloud service syncs.";
    const made = v.last_attempt?.report;
    if (s.last_backup) {
      last.textContent = `Last backup: ${when(s.last_backup)} (${s.generations} kept in the folder).`;
    } else if (made) {
      // The folder cannot be read now (an unplugged drive): what this app last wrote there.
      last.textContent = `Last backup: ${when(made.created)}, to ${made.generation}.`;
    } else {
      last.textContent = s.folder && s.present ? "No backup in this folder yet." : "";
    }
    const sentence = backupProblem(v);
    problem.textContent = sentence ?? "";
    problem.hidden = sentence === null;
    now.disabled = !s.folder;
    stop.hidden = !s.folder;
    if (s.folder && !path.value) path.value = s.folder;
  };
  const load = async () => {
    try {
      render(await api.backupStatus());
    } catch (e) {
      showError(view, e);
    }
  };
  const setFolder = async (chosen: string | null) => {
    clear(done);
    try {
      render(await api.setBackupFolder(chosen));
      if (chosen === null) done.appendChild(h("p", {}, "Automatic backups are off. Backups already made stay where they are."));
    } catch (e) {
      showError(view, e);
    }
  };
  use.addEventListener("click", () => path.value.trim() && void setFolder(path.value.trim()));
  path.addEventListener("keydown", (e) => (e as KeyboardEvent).key === "Enter" && path.value.trim() && void setFolder(path.value.trim()));
  choose.addEventListener("click", async () => {
    try {
      const chosen = await api.chooseBackupFolder();
      if (chosen) {
        path.value = chosen;
        await setFolder(chosen);
      }
    } catch (e) {
      showError(view, e);
    }
  });
  stop.addEventListener("click", () => {
    path.value = "";
    void setFolder(null);
  });
  now.addEventListener("click", async () => {
    clear(done);
    now.disabled = true;
    now.textContent = "Backing up…";
    try {
      const report = await api.backUpNow();
      done.appendChild(h("p", { class: "ok", id: "backup-done" }, `Backed up ${report.counts.resources} resources to ${report.generation}.`));
    } catch (e) {
      showError(done, e);
    } finally {
      now.textContent = "Back up now";
      await load();
      // Disabled while it ran, the button lost the keyboard's focus: it gets it back.
      if (document.activeElement === document.body) now.focus();
    }
  });

  // A new recovery key, once the patient has read what happens to the old one.
  const newKey = h("button", { id: "new-recovery-key" }, "Make a new recovery key");
  const yes = h("button", { id: "new-key-confirm", class: "danger" }, "Make a new key");
  const no = h("button", { id: "new-key-cancel", class: "quiet" }, "Cancel");
  const confirm = h(
    "div",
    { class: "notice", id: "new-key-question", hidden: true },
    h("p", {}, "Your current recovery key will stop opening this vault, and you write down the new one instead. Backups made before now still open with the old key (and with your passphrase)."),
    h("div", { class: "row" }, yes, no),
  );
  newKey.addEventListener("click", () => (confirm.hidden = false));
  no.addEventListener("click", () => (confirm.hidden = true));
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      showKey(await api.newRecoveryKey());
    } catch (e) {
      showError(confirm, e);
    } finally {
      yes.disabled = false;
    }
  });
  view.append(
    h("h2", {}, "Recovery key"),
    h("p", {}, "Your recovery key opens this vault and its backups if this computer's keyring entry or your passphrase is lost. Make a new one if you lost it or someone else may have seen it."),
    newKey,
    confirm,
  );
  void load();
  return view;
}

// "Restore from a backup" on the first-run screen: the backup folder (chosen in the system's
// folder dialog or typed), and the recovery key or the passphrase that opens it.
import { AppError, api } from "./api";
import { h } from "./dom";
import { showError } from "./errors";

/** The restore form; `restored` runs once the backup is restored and the vault is open. */
export function restoreForm(restored: () => Promise<void>): HTMLElement {
  const from = h("input", { type: "text", id: "restore-from", placeholder: "/media/me/USB/OwnRecord backups", "aria-label": "Backup folder" });
  const choose = h("button", { id: "restore-choose", type: "button" }, "Choose folder…");
  const withKey = h("input", { type: "radio", name: "restore-with", id: "restore-with-key", checked: true });
  const withPassphrase = h("input", { type: "radio", name: "restore-with", id: "restore-with-passphrase" });
  const secret = h("input", { type: "text", id: "restore-secret", class: "key-input", autocomplete: "off", spellcheck: "false", "aria-label": "Recovery key" });
  const go = h("button", { id: "restore-go", class: "primary" }, "Restore");
  const busy = h("p", { class: "muted", id: "restore-busy", hidden: true }, "Checking the backup and restoring it…");
  const form = h(
    "div",
    { class: "restore", id: "restore-form" },
    h("h2", {}, "Restore from a backup"),
    h("p", {}, "Choose the folder your backups are in (OwnRecord restores the newest one), then type what opens it."),
    h("div", { class: "row" }, h("label", {}, "Backup folder ", from), choose),
    h("div", { class: "row" }, h("label", {}, withKey, " My recovery key"), h("label", {}, withPassphrase, " My passphrase")),
    secret,
    h("p", { class: "muted" }, "Leave it empty to use this computer's keyring, if the vault was made on this computer."),
    h("div", { class: "row" }, go),
    busy,
  );
  const usePassphrase = () => {
    secret.type = withPassphrase.checked ? "password" : "text";
    secret.setAttribute("aria-label", withPassphrase.checked ? "Passphrase" : "Recovery key");
  };
  withKey.addEventListener("change", usePassphrase);
  withPassphrase.addEventListener("change", usePassphrase);
  choose.addEventListener("click", async () => {
    try {
      const chosen = await api.chooseBackupFolder();
      if (chosen) from.value = chosen;
    } catch (e) {
      showError(form, e);
    }
  });
  go.addEventListener("click", async () => {
    const folder = from.value.trim();
    if (!folder) {
      showError(form, new AppError("no_folder", "Choose the folder your backups are in first."));
      return;
    }
    const typed = secret.value.trim() ? secret.value : null;
    go.disabled = true;
    busy.hidden = false;
    try {
      await api.restoreBackup(folder, withKey.checked ? typed : null, withPassphrase.checked ? typed : null);
      await restored();
    } catch (e) {
      showError(form, e);
    } finally {
      go.disabled = false;
      busy.hidden = true;
    }
  });
  return form;
}

// Wipe: what happens, and the word DELETE typed to confirm.
import { api } from "../api";
import { clear, h } from "../dom";
import { showError } from "../errors";

export function wipeView(restart: () => Promise<void>): HTMLElement {
  const confirm = h("input", { type: "text", id: "wipe-confirm", autocomplete: "off", "aria-label": "Type DELETE to confirm" });
  const button = h("button", { id: "wipe-button", class: "danger", disabled: true }, "Delete everything");
  confirm.addEventListener("input", () => (button.disabled = confirm.value !== "DELETE"));
  const view = h(
    "section",
    {},
    h("h1", {}, "Wipe"),
    h("p", {}, "This revokes OwnRecord's access at every connected portal, deletes your vault, its key and its backups in your backup folder, overwrites their files, and checks that nothing readable is left. Files you exported stay where you saved them."),
    h("p", {}, "It cannot be undone. Type DELETE to confirm."),
    confirm,
    button,
  );
  button.addEventListener("click", async () => {
    try {
      const report = await api.wipe(confirm.value);
      if (!report.backups_not_reached) return await restart();
      // The backup drive was not plugged in: its copies still open with the recovery key.
      const next = h("button", { id: "wipe-continue", class: "primary" }, "Continue");
      next.addEventListener("click", () => void restart());
      clear(view);
      view.append(
        h("h1", {}, "Wipe"),
        h("p", { id: "wipe-backups-left", role: "alert" }, `Your vault is deleted, but its backups in ${report.backups_not_reached} were not reached (is the drive plugged in?). They still open with your recovery key or passphrase: delete the ownrecord-backup folders there yourself.`),
        next,
      );
    } catch (e) {
      showError(view, e);
    }
  });
  return view;
}

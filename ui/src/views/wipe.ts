// Wipe: what happens, and the word DELETE typed to confirm.
import { api } from "../api";
import { h } from "../dom";
import { showError } from "../errors";

export function wipeView(restart: () => Promise<void>): HTMLElement {
  const confirm = h("input", { type: "text", id: "wipe-confirm", autocomplete: "off", "aria-label": "Type DELETE to confirm" });
  const button = h("button", { id: "wipe-button", class: "danger", disabled: true }, "Delete everything");
  confirm.addEventListener("input", () => (button.disabled = confirm.value !== "DELETE"));
  const view = h(
    "section",
    {},
    h("h1", {}, "Wipe"),
    h("p", {}, "This revokes OwnRecord's access at every connected portal, deletes your vault and its key, overwrites its files, and checks that nothing readable is left. Files you exported stay where you saved them."),
    h("p", {}, "It cannot be undone. Type DELETE to confirm."),
    confirm,
    button,
  );
  button.addEventListener("click", async () => {
    try {
      await api.wipe(confirm.value);
      await restart();
    } catch (e) {
      showError(view, e);
    }
  });
  return view;
}

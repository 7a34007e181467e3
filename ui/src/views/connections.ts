// Patient portals: the directory, add by address, the demo portal in one click, sync with a
// progress bar, and a clear "needs sign-in again" state.
import { api } from "../api";
import type { Connection } from "../bindings/Connection";
import { append, clear, h } from "../dom";
import { showError } from "../errors";

export function connectionsView(demoPortal: string): HTMLElement {
  const list = h("ul", { class: "connections", id: "connections" });
  const signIn = h("div", { class: "notice", id: "sign-in", hidden: true });
  const view = h("section", {}, h("h1", {}, "Connections"), signIn, list);

  const refresh = async () => {
    try {
      const connections = await api.connections();
      clear(list);
      if (connections.length === 0) list.appendChild(h("li", { class: "muted" }, "No portal connected yet."));
      for (const c of connections) list.appendChild(item(c));
    } catch (e) {
      showError(view, e);
    }
  };
  const connect = async (url: string) => {
    signIn.hidden = false;
    clear(signIn);
    append(signIn, h("p", {}, "Sign in to your portal in the browser window that opened. If none opened, open this address in your browser:"), h("code", { id: "sign-in-url" }, "…"));
    try {
      await api.connect(url, (address) => {
        const code = signIn.querySelector("#sign-in-url");
        if (code) code.textContent = address;
      });
      signIn.hidden = true;
      await refresh();
    } catch (e) {
      signIn.hidden = true;
      showError(view, e);
    }
  };
  const item = (c: Connection) => {
    const progress = h("progress", { class: "sync-progress", max: "1", value: "0", hidden: true });
    const state = h("span", { class: "status" }, c.status === "needs_sign_in" ? "Needs sign-in again" : c.last_sync_at ? `Last synced ${c.last_sync_at.slice(0, 16).replace("T", " ")}` : "Not synced yet");
    const sync = h("button", { class: "sync" }, "Sync");
    sync.addEventListener("click", async () => {
      progress.hidden = false;
      sync.disabled = true;
      try {
        const report = await api.sync(c.id, (p) => {
          progress.max = Math.max(p.types_total, 1);
          progress.value = p.types_done;
          state.textContent = `Downloading ${p.resource_type}: ${p.resources} resources so far`;
        });
        state.textContent = `Synced: ${report.new} new, ${report.updated} updated, ${report.unchanged} unchanged.`;
        state.classList.add("done");
      } catch (e) {
        showError(view, e);
      } finally {
        progress.hidden = true;
        sync.disabled = false;
      }
    });
    const again = h("button", { class: "quiet" }, "Sign in again");
    again.addEventListener("click", () => void connect(c.fhir_base));
    const remove = h("button", { class: "quiet" }, "Disconnect");
    remove.addEventListener("click", async () => {
      try {
        await api.disconnect(c.id);
        await refresh();
      } catch (e) {
        showError(view, e);
      }
    });
    return h("li", { class: "connection" }, h("strong", {}, c.name), h("span", { class: "muted" }, c.fhir_base), state, progress, c.status === "needs_sign_in" ? again : sync, remove);
  };

  const demo = h("button", { id: "connect-demo", class: "primary" }, "Try the demo portal");
  demo.addEventListener("click", () => void connect(demoPortal));
  const address = h("input", { type: "url", id: "portal-url", placeholder: "https://portal.example.org/fhir", "aria-label": "Portal address" });
  const add = h("button", { id: "connect-url" }, "Connect");
  add.addEventListener("click", () => address.value && void connect(address.value));
  const query = h("input", { type: "search", id: "directory-search", placeholder: "Find your provider", "aria-label": "Find your provider" });
  const results = h("ul", { class: "directory" });
  query.addEventListener("input", async () => {
    const found = query.value.trim().length < 2 ? [] : await api.directory(query.value);
    clear(results);
    for (const entry of found.slice(0, 20)) {
      const go = h("button", {}, "Connect");
      go.addEventListener("click", () => void connect(entry.fhir_base));
      results.appendChild(h("li", {}, h("span", {}, entry.name), go));
    }
  });
  append(view, h("h2", {}, "Add a portal"), demo, h("div", { class: "row" }, query), results, h("div", { class: "row" }, address, add));
  void refresh();
  return view;
}

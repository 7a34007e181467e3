// Share hosts: where a SMART Health Link's encrypted file lives (the host never gets the key).
// Added by address and the owner token the host's operator gave; listed; removed. When
// `cargo xtask run` started one on this computer, one button adds it.
import { api } from "../api";
import type { HostView } from "../bindings/HostView";
import { clear, h } from "../dom";
import { showError } from "../errors";

/**
 * The hosts panel. `onChange` gets the hosts after each load or change (the wizard fills its
 * list from it). `demoShareHost` is the address of the demo's host on this computer, if any.
 */
export function hostsPanel(demoShareHost: string | null, onChange: (hosts: HostView[]) => void = () => undefined): HTMLElement {
  const list = h("ul", { class: "hosts", id: "share-hosts" });
  const url = h("input", { type: "url", id: "host-url", placeholder: "https://share.example.org", "aria-label": "Share host address" });
  const token = h("input", { type: "password", id: "host-token", autocomplete: "off", "aria-label": "Owner token" });
  const add = h("button", { id: "host-add", type: "button" }, "Add share host");
  const demo = h("button", { id: "host-demo", type: "button", hidden: true }, "Use the share host on this computer (demo)");
  const panel = h(
    "div",
    { class: "hosts-panel", id: "hosts-panel" },
    h("h3", {}, "Share hosts"),
    h("p", { class: "muted" }, "A share host keeps the link's file, encrypted, and records who opens it; it never sees what is inside. You can run your own, or use one someone runs for you: they give you its address and an owner token."),
    list,
    demo,
    h("div", { class: "row" }, h("label", {}, "Address ", url), h("label", {}, "Owner token ", token), add),
  );

  const render = (hosts: HostView[]) => {
    clear(list);
    if (hosts.length === 0) list.appendChild(h("li", { class: "muted", id: "no-hosts" }, "No share host yet."));
    for (const host of hosts) {
      const remove = h("button", { class: "remove-host quiet", type: "button", "aria-label": `Remove ${host.url}` }, "Remove");
      remove.addEventListener("click", () => void change(() => api.removeShareHost(host.url)));
      list.appendChild(h("li", { class: "host" }, h("span", { class: "host-url" }, host.url), h("span", { class: "muted" }, ` added ${host.added.slice(0, 10)}`), remove));
    }
    demo.hidden = !demoShareHost || hosts.some((x) => sameHost(x.url, demoShareHost));
    onChange(hosts);
  };
  const load = async () => {
    try {
      render(await api.shareHosts());
    } catch (e) {
      showError(panel, e);
    }
  };
  const change = async (action: () => Promise<unknown>) => {
    panel.querySelector(":scope > .error")?.remove();
    try {
      await action();
      await load();
      return true;
    } catch (e) {
      showError(panel, e);
      return false;
    }
  };
  add.addEventListener("click", async () => {
    if (await change(() => api.addShareHost(url.value, token.value))) {
      url.value = "";
      token.value = "";
    }
  });
  demo.addEventListener("click", () => void change(() => api.addDemoShareHost()));
  void load();
  return panel;
}

/** Two host addresses name the same host (the vault keeps them without a trailing slash). */
export function sameHost(a: string, b: string): boolean {
  const norm = (u: string) => u.trim().replace(/\/+$/, "");
  return norm(a) === norm(b);
}

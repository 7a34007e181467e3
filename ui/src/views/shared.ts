// Shared: every share the patient made (who, why, what, when, until when), its status, who
// opened its link and when (the name a viewer gave, shown as given), "Check for new opens"
// (asks the share hosts; also on opening the screen), and "Stop sharing" for a live link.
// Below, the research studies given de-identified copies, each with "Stop sending updates".
import { api } from "../api";
import type { HostFailure } from "../bindings/HostFailure";
import type { OpenView } from "../bindings/OpenView";
import type { ShareRecord } from "../bindings/ShareRecord";
import type { Study } from "../bindings/Study";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { hostsPanel } from "./hosts";
import { studyCopies, studyStatus } from "./research";
import { SHARE_SECTIONS, when } from "./share";

/** The status line of a share. */
export function statusText(s: ShareRecord): string {
  switch (s.status) {
    case "active":
      return s.expires ? `Active: the link opens until ${when(s.expires)}` : "Active: the link opens";
    case "expired":
      return s.expires ? `Expired on ${when(s.expires)}: the link no longer opens` : "Expired: the link no longer opens";
    case "revoked":
      return "Stopped: the link no longer opens";
    case "given":
      return "Given: files you handed over, which cannot be taken back";
    default:
      return s.status;
  }
}

/** "opened by ‘Dr. Lee’ (as they named themselves) on 2026-05-02 14:03". */
export function openText(o: OpenView): string {
  const who = o.recipient?.trim() ? `‘${o.recipient}’ (as they named themselves)` : "someone who gave no name";
  return `Opened by ${who} on ${o.at ? when(o.at) : "an unknown date"}`;
}

/** What a share gave: the package, and the link. */
const WHATS: Record<string, string> = {
  "share package and SMART Health Link": "A link (and an encrypted package)",
  "share package": "An encrypted package",
  "research copy (de-identified files)": "A de-identified research copy (plain files)",
  "research copy (de-identified package)": "A de-identified research copy (an encrypted package)",
  "research copy (de-identified package and SMART Health Link)": "A de-identified research copy (a link, and an encrypted package)",
};

export function whatText(s: ShareRecord): string {
  const sections = s.sections.map((name) => SHARE_SECTIONS.find(([k]) => k === name)?.[1] ?? name).join(", ");
  return `${WHATS[s.what] ?? s.what} · ${sections}`;
}

/** The studies given de-identified copies, each with "Stop sending updates" after a confirmation. */
export function studiesPanel(): HTMLElement {
  const list = h("ul", { class: "studies", id: "studies" });
  const status = h("p", { id: "studies-status", "aria-live": "polite", tabindex: "-1" });
  const panel = h(
    "section",
    { id: "studies-panel", hidden: true, "aria-labelledby": "studies-title" },
    h("h2", { id: "studies-title" }, "Research studies"),
    h("p", { class: "muted" }, "The studies you gave a de-identified copy to. The copies for one study link up (the same codes stand for the same things) until you stop sending updates; what a study already has stays with it."),
    status,
    list,
  );
  let shown: Study[] = [];
  const render = (studies: Study[]) => {
    shown = studies;
    clear(list);
    panel.hidden = studies.length === 0;
    for (const s of studies) list.appendChild(item(s));
  };
  const item = (s: Study): HTMLElement => {
    const li = h("li", { class: `study${s.stopped ? " stopped" : ""}`, "data-study": s.study });
    append(
      li,
      h("h3", { class: "study-id" }, s.study),
      h("p", { class: "study-recipients" }, `Given to ${s.recipients.join(", ")}`),
      h("p", { class: "study-copies muted" }, studyCopies(s, when)),
      h("p", { class: "study-status" }, studyStatus(s, when)),
    );
    if (s.stopped) return li;
    const stop = h("button", { class: "stop-study danger", type: "button" }, "Stop sending updates");
    const confirm = h("div", { class: "stop-study-ask notice", hidden: true, role: "group", "aria-label": `Stop sending updates to the study ${s.study}` });
    const yes = h("button", { class: "stop-study-confirm danger", type: "button" }, "Yes, stop sending updates");
    const no = h("button", { class: "stop-study-cancel", type: "button" }, "Keep sending");
    append(
      confirm,
      h("p", {}, `Stop sending updates to the study “${s.study}”? OwnRecord forgets the codes its copies share: a copy you give this study later cannot be linked with the ones it has. This cannot be undone; what it already has stays with it.`),
      h("div", { class: "row" }, yes, no),
    );
    stop.addEventListener("click", () => {
      confirm.hidden = false;
      stop.hidden = true;
      no.focus();
    });
    no.addEventListener("click", () => {
      confirm.hidden = true;
      stop.hidden = false;
      stop.focus();
    });
    yes.addEventListener("click", async () => {
      yes.disabled = no.disabled = true;
      try {
        const stopped = await api.stopStudy(s.study);
        render(shown.map((x) => (x.study === stopped.study ? stopped : x)));
        status.textContent = `Stopped sending updates to the study “${stopped.study}”.`;
        status.className = "ok";
        status.focus();
      } catch (e) {
        yes.disabled = no.disabled = false;
        showError(confirm, e);
      }
    });
    append(li, stop, confirm);
    return li;
  };
  void (async () => {
    try {
      render(await api.studies());
    } catch (e) {
      panel.hidden = false;
      showError(panel, e);
    }
  })();
  return panel;
}

/** The failures of "Check for new opens", in one sentence per host. */
export function failureText(failed: HostFailure[]): string {
  return failed
    .map((f) => `${f.links === 1 ? "One link" : `${f.links} links`} at ${f.host || "a share host"} could not be checked: ${f.why}`)
    .join(" ");
}

export function sharedView(demoShareHost: string | null = null): HTMLElement {
  const list = h("ul", { class: "shares", id: "shares" });
  const status = h("p", { id: "shares-status", "aria-live": "polite" });
  const refresh = h("button", { id: "shares-refresh", type: "button" }, "Check for new opens");
  const view = h(
    "section",
    { id: "shared-view" },
    h("h1", {}, "Shared"),
    h("p", { class: "muted" }, "Everything you gave out with OwnRecord, and who opened your links. The names are the ones the people opening a link gave: nobody checked them."),
    h("div", { class: "toolbar" }, refresh, status),
    list,
  );
  let shown: ShareRecord[] = [];

  const render = (shares: ShareRecord[]) => {
    shown = shares;
    clear(list);
    if (shares.length === 0) {
      list.appendChild(h("li", { class: "muted", id: "no-shares" }, "Nothing shared yet. Share from Export & share."));
      return;
    }
    for (const s of [...shares].reverse()) list.appendChild(item(s));
  };

  const item = (s: ShareRecord): HTMLElement => {
    const li = h("li", { class: `share status-${s.status}`, "data-share": s.id });
    append(
      li,
      h("h2", { class: "share-recipient" }, s.recipient),
      h("p", { class: "share-purpose" }, s.purpose),
      h("p", { class: "share-what muted" }, whatText(s)),
      h("p", { class: "share-when muted" }, `Shared ${when(s.created)}${s.host ? ` through ${s.host}` : ""}${s.expires && s.status !== "expired" ? `, until ${when(s.expires)}` : ""}`),
      h("p", { class: "share-status" }, statusText(s)),
    );
    if (s.host) {
      const opens = h("ul", { class: "opens" });
      for (const o of s.opens) opens.appendChild(h("li", { class: "open" }, openText(o)));
      if (s.opens.length === 0) opens.appendChild(h("li", { class: "muted no-opens" }, "Not opened yet (as far as the share host has told OwnRecord)."));
      li.appendChild(opens);
    }
    if (s.status === "active" && s.host) {
      const stop = h("button", { class: "revoke danger", type: "button" }, "Stop sharing");
      const confirm = h("div", { class: "revoke-ask notice", hidden: true, role: "group", "aria-label": `Stop sharing with ${s.recipient}` });
      const yes = h("button", { class: "revoke-confirm danger", type: "button" }, "Yes, stop sharing");
      const no = h("button", { class: "revoke-cancel", type: "button" }, "Keep it");
      append(confirm, h("p", {}, `Stop sharing with ${s.recipient}? The link stops opening for anyone, at once; this cannot be undone. What they already saved stays with them.`), h("div", { class: "row" }, yes, no));
      stop.addEventListener("click", () => {
        confirm.hidden = false;
        stop.hidden = true;
        no.focus();
      });
      no.addEventListener("click", () => {
        confirm.hidden = true;
        stop.hidden = false;
        stop.focus();
      });
      yes.addEventListener("click", async () => {
        yes.disabled = no.disabled = true;
        try {
          const stopped = await api.revokeShare(s.id);
          render(shown.map((x) => (x.id === stopped.id ? stopped : x)));
          status.textContent = `Stopped sharing with ${stopped.recipient}: the link no longer opens.`;
          status.className = "ok";
        } catch (e) {
          yes.disabled = no.disabled = false;
          showError(confirm, e);
        }
      });
      append(li, stop, confirm);
    }
    return li;
  };

  const check = async () => {
    refresh.disabled = true;
    status.className = "muted";
    status.textContent = "Asking the share hosts who opened your links…";
    try {
      const found = await api.refreshShares();
      render(found.shares);
      const opens = found.new_opens === 0 ? "No new opens" : found.new_opens === 1 ? "One new open" : `${found.new_opens} new opens`;
      const checked = found.checked === 1 ? "1 link" : `${found.checked} links`;
      if (found.failed.length) {
        status.className = "error";
        status.textContent = `${opens} (${checked} asked). ${failureText(found.failed)}`;
      } else {
        status.className = "ok";
        status.textContent = found.checked === 0 ? "No active link to check." : `${opens} (${checked} checked).`;
      }
    } catch (e) {
      status.textContent = "";
      showError(view, e);
    } finally {
      refresh.disabled = false;
    }
  };
  refresh.addEventListener("click", () => void check());

  void (async () => {
    try {
      render(await api.shares());
    } catch (e) {
      showError(view, e);
      return;
    }
    // Opening the screen asks the hosts once, when there is a live link to ask about.
    if (shown.some((s) => s.status === "active" && s.host)) await check();
  })();
  append(view, studiesPanel(), hostsPanel(demoShareHost));
  return view;
}

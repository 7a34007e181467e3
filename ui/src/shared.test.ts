// The Shared screen against a mocked IPC: each share's status, who opened it (as they named
// themselves), "Check for new opens" (on opening too, and its failures per host), and "Stop
// sharing" only after a confirmation.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { RefreshView } from "./bindings/RefreshView";
import type { ShareRecord } from "./bindings/ShareRecord";
import { when } from "./views/share";
import { failureText, openText, sharedView, statusText } from "./views/shared";

const tick = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const HOST = "http://127.0.0.1:9100";
const share = (s: Partial<ShareRecord>): ShareRecord => ({
  id: "a1",
  recipient: "Lee Cardiology",
  purpose: "Care team: second opinion",
  what: "share package and SMART Health Link",
  sections: ["problems", "results"],
  created: "2026-05-01T10:00:00Z",
  expires: "2026-05-08T10:00:00Z",
  host: HOST,
  status: "active",
  opens: [],
  ...s,
});

const active = share({ id: "a1" });
const opened = share({ id: "a1", opens: [{ at: "2026-05-02T09:30:00Z", recipient: "Dr. Lee" }, { at: "2026-05-03T09:30:00Z", recipient: null }] });
const expired = share({ id: "e2", recipient: "Sam", status: "expired" });
const revoked = share({ id: "r3", recipient: "Pat", status: "revoked" });
const given = share({ id: "g4", recipient: "Grandma", purpose: "Family", what: "share package", host: null, expires: null, status: "given" });

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

/** A vault with `shares`; refresh answers `refresh(shares)`; records every call. */
function vault(shares: ShareRecord[], refresh: (now: ShareRecord[]) => Partial<RefreshView> = () => ({})) {
  const calls: [string, unknown][] = [];
  let now = [...shares];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === "shares") return now;
    if (cmd === "share_hosts") return [];
    if (cmd === "refresh_shares") {
      const answer = { checked: now.filter((s) => s.status === "active").length, new_opens: 0, new_refusals: 0, failed: [], shares: now, ...refresh(now) };
      now = answer.shares;
      return answer;
    }
    if (cmd === "revoke_share") {
      const id = (args as { id: string }).id;
      now = now.map((s) => (s.id === id ? { ...s, status: "revoked" } : s));
      return now.find((s) => s.id === id);
    }
  });
  return calls;
}

function show(): HTMLElement {
  const view = sharedView();
  document.body.appendChild(view);
  return view;
}

const item = (view: HTMLElement, id: string) => view.querySelector<HTMLElement>(`.share[data-share="${id}"]`)!;

describe("the Shared screen", () => {
  it("shows each share's status, newest first, with Stop sharing only for a live link", async () => {
    vault([given, expired, revoked, active]);
    const view = show();
    await tick();
    expect([...view.querySelectorAll(".share .share-recipient")].map((e) => e.textContent)).toEqual(["Lee Cardiology", "Pat", "Sam", "Grandma"]);
    expect(item(view, "a1").querySelector(".share-status")!.textContent).toBe(`Active: the link opens until ${when(active.expires!)}`);
    expect(item(view, "e2").querySelector(".share-status")!.textContent).toContain("Expired on");
    expect(item(view, "r3").querySelector(".share-status")!.textContent).toBe("Stopped: the link no longer opens");
    expect(item(view, "g4").querySelector(".share-status")!.textContent).toContain("cannot be taken back");
    expect(item(view, "a1").querySelector(".share-purpose")!.textContent).toBe("Care team: second opinion");
    expect(item(view, "a1").querySelector(".share-what")!.textContent).toBe("A link (and an encrypted package) · Problems, Lab results");
    expect(item(view, "g4").querySelector(".share-what")!.textContent).toBe("An encrypted package · Problems, Lab results");
    for (const id of ["e2", "r3", "g4"]) expect(item(view, id).querySelector(".revoke")).toBeNull();
    expect(item(view, "a1").querySelector(".revoke")).not.toBeNull();
    // A file share has no opens to show.
    expect(item(view, "g4").querySelector(".opens")).toBeNull();
    expect(item(view, "a1").querySelector(".no-opens")).not.toBeNull();
  });

  it("says who opened a link as they named themselves", async () => {
    vault([opened]);
    const view = show();
    await tick();
    const opens = [...item(view, "a1").querySelectorAll(".open")].map((e) => e.textContent);
    expect(opens).toEqual([`Opened by ‘Dr. Lee’ (as they named themselves) on ${when("2026-05-02T09:30:00Z")}`, `Opened by someone who gave no name on ${when("2026-05-03T09:30:00Z")}`]);
    expect(openText({ at: null, recipient: "Dr. X" })).toBe("Opened by ‘Dr. X’ (as they named themselves) on an unknown date");
  });

  it("checks for new opens when it opens (if a link is live) and on the button", async () => {
    const calls = vault([active], () => ({ new_opens: 1, shares: [opened] }));
    const view = show();
    await tick();
    expect(calls.filter(([c]) => c === "refresh_shares").length).toBe(1);
    expect(view.querySelector("#shares-status")!.textContent).toBe("One new open (1 link checked).");
    expect(item(view, "a1").querySelector(".open")!.textContent).toContain("‘Dr. Lee’");
    view.querySelector<HTMLButtonElement>("#shares-refresh")!.click();
    await tick();
    expect(calls.filter(([c]) => c === "refresh_shares").length).toBe(2);
  });

  it("does not ask the hosts when no link is live", async () => {
    const calls = vault([given, revoked]);
    show();
    await tick();
    expect(calls.some(([c]) => c === "refresh_shares")).toBe(false);
  });

  it("says in one sentence per host which could not be asked", async () => {
    const why = "The share host http://127.0.0.1:9100 could not be reached or answered in a way OwnRecord does not understand (connection refused).";
    vault([active, share({ id: "b2" })], () => ({ checked: 2, failed: [{ host: HOST, why, links: 2 }] }));
    const view = show();
    await tick();
    const status = view.querySelector("#shares-status")!;
    expect(status.className).toBe("error");
    expect(status.textContent).toBe(`No new opens (2 links asked). 2 links at ${HOST} could not be checked: ${why}`);
    expect(failureText([{ host: "https://a", why: "x.", links: 1 }, { host: "https://b", why: "y.", links: 3 }])).toBe("One link at https://a could not be checked: x. 3 links at https://b could not be checked: y.");
  });

  it("stops sharing only after the patient confirms", async () => {
    const calls = vault([active]);
    const view = show();
    await tick();
    const li = item(view, "a1");
    li.querySelector<HTMLButtonElement>(".revoke")!.click();
    expect(calls.some(([c]) => c === "revoke_share")).toBe(false);
    const ask = li.querySelector<HTMLElement>(".revoke-ask")!;
    expect(ask.hidden).toBe(false);
    expect(ask.textContent).toContain("Stop sharing with Lee Cardiology?");
    li.querySelector<HTMLButtonElement>(".revoke-cancel")!.click();
    expect(ask.hidden).toBe(true);
    expect(calls.some(([c]) => c === "revoke_share")).toBe(false);

    li.querySelector<HTMLButtonElement>(".revoke")!.click();
    li.querySelector<HTMLButtonElement>(".revoke-confirm")!.click();
    await tick();
    expect(calls).toContainEqual(["revoke_share", { id: "a1" }]);
    expect(item(view, "a1").querySelector(".share-status")!.textContent).toBe("Stopped: the link no longer opens");
    expect(item(view, "a1").querySelector(".revoke")).toBeNull();
    expect(view.querySelector("#shares-status")!.textContent).toBe("Stopped sharing with Lee Cardiology: the link no longer opens.");
  });

  it("keeps the link and shows why when the host does not answer", async () => {
    mockIPC((cmd) => {
      if (cmd === "shares") return [active];
      if (cmd === "share_hosts") return [];
      if (cmd === "refresh_shares") return { checked: 1, new_opens: 0, new_refusals: 0, failed: [], shares: [active] };
      if (cmd === "revoke_share") throw { code: "host_unreachable", message: "The share host could not be reached." };
    });
    const view = show();
    await tick();
    const li = item(view, "a1");
    li.querySelector<HTMLButtonElement>(".revoke")!.click();
    li.querySelector<HTMLButtonElement>(".revoke-confirm")!.click();
    await tick();
    expect(li.querySelector(".revoke-ask .error")!.textContent).toBe("The share host could not be reached.");
    expect(li.querySelector(".share-status")!.textContent).toContain("Active");
  });

  it("says when nothing was shared yet", async () => {
    vault([]);
    const view = show();
    await tick();
    expect(view.querySelector("#no-shares")).not.toBeNull();
    expect(statusText(share({ status: "active", expires: null }))).toBe("Active: the link opens");
  });
});

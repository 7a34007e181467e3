// The share wizard's "Researcher" path against a mocked IPC: the study id, the preview of the
// de-identified copy (counts, what is removed and kept, example rows as text, what stays home,
// whether it links to earlier copies), the days-between-events choice (a new preview), the ways
// it leaves, the consent statement (Give only once "I agree" is ticked, sending its SHA-256),
// Cancel; and the Shared screen's studies with "Stop sending updates" after a confirmation.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { HostView } from "./bindings/HostView";
import type { Person } from "./bindings/Person";
import type { ResearchGiven } from "./bindings/ResearchGiven";
import type { ResearchPreview } from "./bindings/ResearchPreview";
import type { Study } from "./bindings/Study";
import { linkingText, studyIdProblem } from "./views/research";
import { type Draft, howsFor, newDraft, problem, researchHow, shareWizard, steps } from "./views/share";
import { sharedView } from "./views/shared";

const tick = async (n = 6) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const ann: Person = { id: 7, name: "Ann Lee", birth_date: "1980-02-03", gender: "female", sources: [], resources: 12 };
const host: HostView = { url: "http://127.0.0.1:9100", added: "2026-05-01T10:00:00Z" };
const EVIL = "<img src=x onerror=alert(1)>";

const researchPreview = (keepIntervals: boolean, s: Partial<ResearchPreview> = {}): ResearchPreview => ({
  study: "NCT0001",
  recipient: "Heart Lab",
  purpose: "research",
  person: 7,
  rules: "ownrecord-safe-harbor/1",
  keep_intervals: keepIntervals,
  links_to_earlier: false,
  restarted: false,
  counts: [
    { resource_type: "Condition", count: 3 },
    { resource_type: "Observation", count: 12 },
    { resource_type: "Patient", count: 1 },
  ],
  resources: 16,
  left_out: [{ resource_type: "DocumentReference", count: 2 }],
  removed: [
    { what: "Names, phone numbers, email addresses and contacts", count: 4, elements: ["Patient.name", "Patient.telecom"] },
    { what: "Days and months of every date (the year stays)", count: 0, elements: [] },
  ],
  kept: ["The year of each date", ...(keepIntervals ? ["The number of days between events (this makes the record easier to recognise)"] : [])],
  examples: [
    { resource_type: "Patient", line: '{"resourceType":"Patient","id":"p-9f2","gender":"female"}' },
    { resource_type: "Condition", line: `{"resourceType":"Condition","id":"c-1a","code":{"text":"${EVIL}"}}` },
  ],
  consent: `I agree to give Heart Lab a de-identified copy of my health record for the study "NCT0001". It holds 16 entries.${keepIntervals ? " It keeps the number of days between events, which makes my record easier to recognise." : ""}`,
  consent_sha256: keepIntervals ? "b".repeat(64) : "a".repeat(64),
  ...s,
});

const folderGiven: ResearchGiven = {
  id: "r1",
  study: "NCT0001",
  recipient: "Heart Lab",
  resources: 16,
  folder: {
    dir: "/tmp/research-copy",
    files: [
      { path: "Condition.ndjson", bytes: 300, sha256: "c".repeat(64) },
      { path: "manifest.json", bytes: 900, sha256: "d".repeat(64) },
    ],
    manifest_sha256: "d".repeat(64),
  },
  shared: null,
};

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

const $ = <T extends HTMLElement = HTMLElement>(root: ParentNode, css: string) => root.querySelector<T>(css)!;

function type(root: ParentNode, css: string, value: string) {
  const input = $<HTMLInputElement>(root, css);
  input.value = value;
  input.dispatchEvent(new Event("input"));
  input.dispatchEvent(new Event("change"));
}

function pick(root: ParentNode, css: string) {
  const input = $<HTMLInputElement>(root, css);
  input.checked = !input.checked || input.type === "radio";
  input.dispatchEvent(new Event("change", { bubbles: true }));
}

/** A vault for the researcher path; `give` answers research_give. Records every call. */
function vault(give: (args: Record<string, unknown>) => ResearchGiven = () => folderGiven, preview = researchPreview) {
  const calls: [string, Record<string, unknown>][] = [];
  let previews = 0;
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push([cmd, a]);
    if (cmd === "share_hosts") return [host];
    if (cmd === "research_preview") return { token: `token-${++previews}`, preview: preview(Boolean(a.keepIntervals)) };
    if (cmd === "research_give") return give(a);
    if (cmd === "research_cancel") return null;
  });
  return calls;
}

function wizard() {
  const w = shareWizard(ann, { demoShareHost: null, showShared: () => undefined });
  document.body.appendChild(w);
  return w;
}

const next = async (w: HTMLElement) => {
  $<HTMLButtonElement>(w, "#share-next").click();
  await tick();
};
const problemShown = (w: HTMLElement) => w.querySelector("#share-problem .error")?.textContent ?? null;
const visibleStep = (w: HTMLElement) => [...w.querySelectorAll<HTMLElement>(".step")].filter((s) => !s.hidden).map((s) => s.id);
const called = (calls: [string, unknown][], cmd: string) => calls.filter(([c]) => c === cmd).map(([, a]) => a);

/** The wizard at its "what" step for Heart Lab and study NCT0001, the preview shown. */
async function atWhat(w: HTMLElement) {
  type(w, "#share-to", "Heart Lab");
  pick(w, "#share-kind-researcher");
  type(w, "#share-study", "NCT0001");
  await next(w);
}

const filled = (d: Partial<Draft>): Draft => ({ ...newDraft(7), kind: "researcher", recipient: "Heart Lab", study: "NCT0001", how: "folder", path: "/tmp/research-copy", host: host.url, ...d });

describe("the researcher path's logic", () => {
  it("asks for consent last, never offers a PDF, and checks the study id", () => {
    expect(steps(filled({}))).toEqual(["who", "what", "how", "consent"]);
    expect(steps(filled({ how: "link" }))).toEqual(["who", "what", "how", "link", "consent"]);
    expect(howsFor("researcher")).toEqual(["folder", "package", "link"]);
    expect(howsFor("care_team")).not.toContain("folder");
    expect(problem("who", filled({ study: "" }), [])).toMatch(/study's id/);
    expect(problem("who", filled({ study: "my study" }), [])).toMatch(/no spaces/);
    expect(problem("who", filled({ study: "NCT0001/a:b_c-d.e" }), [])).toBeNull();
    expect(studyIdProblem("x".repeat(101))).not.toBeNull();
    expect(problem("what", filled({ research: null }), [])).toMatch(/Wait for the preview/);
    expect(problem("how", filled({ path: " " }), [])).toMatch(/folder the files go to/);
    expect(problem("consent", filled({ research: { token: "t", preview: researchPreview(false) }, agreed: false }), [])).toMatch(/I agree/);
  });

  it("says how the copy leaves", () => {
    expect(researchHow(filled({ path: " /tmp/r " }))).toEqual({ kind: "folder", dir: "/tmp/r" });
    expect(researchHow(filled({ how: "package", path: "/tmp/r.age" }))).toEqual({ kind: "package", path: "/tmp/r.age" });
    expect(researchHow(filled({ how: "link", path: "/tmp/r.age", expiresDays: "7", maxUses: "3", passcode: "choose", chosenPasscode: " lee-4321-ok " }))).toEqual({
      kind: "link",
      path: "/tmp/r.age",
      host: host.url,
      passcode: "lee-4321-ok",
      max_uses: 3,
      expires_days: 7,
    });
  });

  it("says whether the copy links to earlier ones", () => {
    expect(linkingText(researchPreview(false))).toContain("first copy");
    expect(linkingText(researchPreview(false, { links_to_earlier: true }))).toContain("links to the copies you gave");
    expect(linkingText(researchPreview(false, { restarted: true }))).toContain("cannot be linked");
  });
});

describe("the share wizard's researcher path", () => {
  it("previews the de-identified copy, with its example rows as text", async () => {
    const calls = vault();
    const w = wizard();
    await tick();
    // The study id shows only for a researcher, and the reason gives way to it.
    expect($(w, "#share-study-part").hidden).toBe(true);
    await atWhat(w);
    expect($(w, "#share-study-part").hidden).toBe(false);
    expect(visibleStep(w)).toEqual(["share-step-what"]);
    expect(called(calls, "research_preview")).toEqual([{ study: "NCT0001", recipient: "Heart Lab", person: 7, keepIntervals: false }]);
    expect(called(calls, "share_preview")).toEqual([]);
    expect($(w, "#share-identified").hidden).toBe(true);

    const shown = $(w, "#research-preview");
    expect($(shown, "#research-summary").textContent).toBe("16 entries for the study “NCT0001”, to Heart Lab, de-identified under the rules ownrecord-safe-harbor/1.");
    expect([...shown.querySelectorAll("#research-counts li")].map((e) => e.textContent)).toEqual(["Condition: 3", "Observation: 12", "Patient: 1"]);
    expect([...shown.querySelectorAll("#research-removed li")].map((e) => e.textContent)).toEqual([
      "Names, phone numbers, email addresses and contacts (4 removed)",
      "Days and months of every date (the year stays)",
    ]);
    expect([...shown.querySelectorAll("#research-kept li")].map((e) => e.textContent)).toEqual(["The year of each date"]);
    expect([...shown.querySelectorAll("#research-left-out li")].map((e) => e.textContent)).toEqual(["DocumentReference: 2"]);
    expect($(shown, "#research-links").textContent).toContain("first copy for the study “NCT0001”");

    // Each example exactly as it leaves, as text in a <pre>: the markup in it is not markup.
    const rows = [...shown.querySelectorAll<HTMLElement>("pre.research-row")];
    expect(rows.map((r) => r.textContent)).toEqual(researchPreview(false).examples.map((e) => e.line));
    expect(rows[1].textContent).toContain(EVIL);
    expect(rows[1].children.length).toBe(0);
    expect(w.querySelector("img")).toBeNull();
    expect($(w, "#share-intervals-warning").textContent).toContain("easier to recognise");
  });

  it("makes a new preview when the days between events are kept, and gives that one", async () => {
    const calls = vault();
    const w = wizard();
    await atWhat(w);
    pick(w, "#share-keep-intervals");
    await tick();
    expect(called(calls, "research_preview").map((a) => (a as { keepIntervals: boolean }).keepIntervals)).toEqual([false, true]);
    expect($(w, "#research-kept").textContent).toContain("days between events");
    await next(w);
    expect(visibleStep(w)).toEqual(["share-step-how"]);
    expect($<HTMLInputElement>(w, "#share-how-folder").checked).toBe(true);
    expect($(w, "#share-how-pdf").closest("label")!.hidden).toBe(true);
    await next(w);
    expect(problemShown(w)).toMatch(/folder the files go to/);
    type(w, "#share-path", "/tmp/research-copy");
    await next(w);

    // The consent statement in full; Give only once it is agreed to.
    expect(visibleStep(w)).toEqual(["share-step-consent"]);
    expect($(w, "#share-consent-text").textContent).toBe(researchPreview(true).consent);
    const give = $<HTMLButtonElement>(w, "#share-next");
    expect(give.textContent).toBe("Give the copy");
    expect(give.disabled).toBe(true);
    give.click();
    await tick();
    expect(called(calls, "research_give")).toEqual([]);
    pick(w, "#share-consent-agree");
    expect(give.disabled).toBe(false);
    await next(w);
    expect(called(calls, "research_give")).toEqual([{ token: "token-2", consentSha256: "b".repeat(64), how: { kind: "folder", dir: "/tmp/research-copy" } }]);
    expect($(w, "#share-instructions").textContent).toContain("to /tmp/research-copy. Give the folder to Heart Lab yourself");
    expect([...w.querySelectorAll("#research-files li")].map((e) => e.textContent)).toEqual(["Condition.ndjson (300 bytes)", "manifest.json (900 bytes)"]);
    expect(visibleStep(w)).toEqual([]);
    expect(called(calls, "research_cancel")).toEqual([]);
  });

  it("unticks the consent when the preview changes", async () => {
    vault();
    const w = wizard();
    await atWhat(w);
    await next(w);
    type(w, "#share-path", "/tmp/research-copy");
    await next(w);
    pick(w, "#share-consent-agree");
    expect($<HTMLButtonElement>(w, "#share-next").disabled).toBe(false);
    $<HTMLButtonElement>(w, "#share-back").click();
    $<HTMLButtonElement>(w, "#share-back").click();
    await tick();
    pick(w, "#share-keep-intervals");
    await tick();
    await next(w);
    await next(w);
    expect(visibleStep(w)).toEqual(["share-step-consent"]);
    expect($<HTMLInputElement>(w, "#share-consent-agree").checked).toBe(false);
    expect($<HTMLButtonElement>(w, "#share-next").disabled).toBe(true);
  });

  it("cancels: the shell drops the copy and the wizard starts again", async () => {
    const calls = vault();
    const w = wizard();
    await atWhat(w);
    const cancel = $<HTMLButtonElement>(w, "#share-cancel");
    expect(cancel.hidden).toBe(false);
    cancel.click();
    await tick();
    expect(called(calls, "research_cancel")).toEqual([{}]);
    expect(called(calls, "research_give")).toEqual([]);
    expect(document.querySelector("#share-wizard")).not.toBe(w);
    expect(document.querySelector<HTMLInputElement>("#share-to")!.value).toBe("");
    expect(visibleStep(document.body)).toEqual(["share-step-who"]);
  });

  it("drops the copy when the recipient is not a researcher after all", async () => {
    const calls = vault();
    const w = wizard();
    await atWhat(w);
    $<HTMLButtonElement>(w, "#share-back").click();
    pick(w, "#share-kind-care_team");
    await tick();
    expect(called(calls, "research_cancel").length).toBe(1);
    expect($(w, "#share-cancel").hidden).toBe(true);
    expect($(w, "#share-study-part").hidden).toBe(true);
    expect($<HTMLInputElement>(w, "#share-how-link").checked).toBe(true);
  });

  it("shows why a copy could not be given and lets the patient try again", async () => {
    let tries = 0;
    const calls = vault(() => {
      if (++tries === 1) throw { code: "output_not_empty", message: "/tmp/full is not empty: choose a new or empty folder for the export." };
      return folderGiven;
    });
    const w = wizard();
    await atWhat(w);
    await next(w);
    type(w, "#share-path", "/tmp/full");
    await next(w);
    pick(w, "#share-consent-agree");
    await next(w);
    expect(problemShown(w)).toBe("/tmp/full is not empty: choose a new or empty folder for the export.");
    expect(visibleStep(w)).toEqual(["share-step-consent"]);
    expect($<HTMLButtonElement>(w, "#share-next").disabled).toBe(false);
    $<HTMLButtonElement>(w, "#share-back").click();
    type(w, "#share-path", "/tmp/research-copy");
    await next(w);
    await next(w);
    expect(called(calls, "research_give").map((a) => (a as { how: unknown }).how)).toEqual([
      { kind: "folder", dir: "/tmp/full" },
      { kind: "folder", dir: "/tmp/research-copy" },
    ]);
    expect($(w, "#share-instructions").textContent).toContain("Give the folder to Heart Lab yourself");
  });

  it("gives a link through a share host after its expiry and passcode", async () => {
    const calls = vault(() => ({
      ...folderGiven,
      folder: null,
      shared: {
        id: "r2",
        package: "/tmp/r.age",
        passcode: "lee-4321-ok",
        expires: "2026-05-08T10:00:00Z",
        link: "http://127.0.0.1:9100/view#shlink:/eyJ1",
        qr: "data:image/png;base64,iVBORw0KGgo=",
        link_passcode_required: true,
        host: host.url,
      },
    }));
    const w = wizard();
    await atWhat(w);
    await next(w);
    pick(w, "#share-how-link");
    type(w, "#share-path", "/tmp/r.age");
    await next(w);
    expect(visibleStep(w)).toEqual(["share-step-link"]);
    expect($(w, "#share-next").textContent).toBe("Next");
    type(w, "#share-expires", "7");
    await next(w);
    pick(w, "#share-consent-agree");
    await next(w);
    expect(called(calls, "research_give")).toEqual([
      { token: "token-1", consentSha256: "a".repeat(64), how: { kind: "link", path: "/tmp/r.age", host: host.url, passcode: null, max_uses: null, expires_days: 7 } },
    ]);
    expect($(w, "#share-link-text").textContent).toContain("shlink:/");
    expect($(w, "#share-passcode").textContent).toBe("lee-4321-ok");
  });
});

describe("studies on the Shared screen", () => {
  const linked: Study = { study: "NCT0001", recipients: ["Heart Lab"], first_copy: "2026-05-01T10:00:00Z", last_copy: "2026-05-03T10:00:00Z", copies: 2, stopped: null };
  const stopped: Study = { ...linked, study: "OLD-1", copies: 1, stopped: "2026-04-01T10:00:00Z" };

  function studiesVault(studies: Study[]) {
    const calls: [string, unknown][] = [];
    let now = [...studies];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === "shares") return [];
      if (cmd === "share_hosts") return [];
      if (cmd === "studies") return now;
      if (cmd === "stop_study") {
        const study = (args as { study: string }).study;
        now = now.map((s) => (s.study === study ? { ...s, stopped: "2026-05-04T10:00:00Z" } : s));
        return now.find((s) => s.study === study);
      }
    });
    return calls;
  }

  it("lists the studies, and stops sending updates only after a confirmation", async () => {
    const calls = studiesVault([linked, stopped]);
    const view = sharedView();
    document.body.appendChild(view);
    await tick();
    expect($(view, "#studies-panel").hidden).toBe(false);
    const li = $(view, '.study[data-study="NCT0001"]');
    expect($(li, ".study-recipients").textContent).toBe("Given to Heart Lab");
    expect($(li, ".study-copies").textContent).toMatch(/^2 copies, the first /);
    expect($(li, ".study-status").textContent).toContain("links to the copies it already has");
    expect($(view, '.study[data-study="OLD-1"] .study-status').textContent).toMatch(/^Updates stopped on /);
    expect(view.querySelector('.study[data-study="OLD-1"] .stop-study')).toBeNull();

    $<HTMLButtonElement>(li, ".stop-study").click();
    const ask = $(li, ".stop-study-ask");
    expect(ask.hidden).toBe(false);
    expect(ask.textContent).toContain("Stop sending updates to the study “NCT0001”?");
    $<HTMLButtonElement>(li, ".stop-study-cancel").click();
    expect(ask.hidden).toBe(true);
    expect(called(calls as [string, Record<string, unknown>][], "stop_study")).toEqual([]);

    $<HTMLButtonElement>(li, ".stop-study").click();
    $<HTMLButtonElement>(li, ".stop-study-confirm").click();
    await tick();
    expect(called(calls as [string, Record<string, unknown>][], "stop_study")).toEqual([{ study: "NCT0001" }]);
    expect($(view, '.study[data-study="NCT0001"] .study-status').textContent).toMatch(/^Updates stopped on /);
    expect(view.querySelector('.study[data-study="NCT0001"] .stop-study')).toBeNull();
    expect($(view, "#studies-status").textContent).toBe("Stopped sending updates to the study “NCT0001”.");
  });

  it("shows no studies section before a copy was given", async () => {
    studiesVault([]);
    const view = sharedView();
    document.body.appendChild(view);
    await tick();
    expect($(view, "#studies-panel").hidden).toBe(true);
  });
});

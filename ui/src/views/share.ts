// The share wizard: who (the recipient and what kind of recipient), what (whose record, the
// sections, from which date, and a preview of exactly what leaves), how (a PDF to save, an
// encrypted package, or a link + QR code through a share host), for a link its expiry, uses and
// passcode; then what to give the recipient. A researcher gets a de-identified copy for a study
// instead (research.ts): its preview in the "what" step, plain files to a folder as a third way,
// and the consent statement to agree to before it is given. The logic (steps, checks, the form
// sent) is plain functions over a Draft, tested without a window.
import { api, AppError } from "../api";
import type { HostView } from "../bindings/HostView";
import type { Person } from "../bindings/Person";
import type { ResearchHow } from "../bindings/ResearchHow";
import type { ResearchPreviewView } from "../bindings/ResearchPreviewView";
import type { Section } from "../bindings/Section";
import type { ShareForm } from "../bindings/ShareForm";
import type { SharePreview } from "../bindings/SharePreview";
import type { PreviewTable } from "../bindings/PreviewTable";
import type { ShareView } from "../bindings/ShareView";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { everyone, personLabel, possessive } from "../people";
import { hostsPanel } from "./hosts";
import { folderInstructions, renderResearchPreview, studyIdProblem } from "./research";

export type RecipientKind = "care_team" | "family" | "researcher" | "other";
export const KINDS: [RecipientKind, string][] = [
  ["care_team", "Care team"],
  ["family", "Family"],
  ["researcher", "Researcher"],
  ["other", "Other"],
];

export type How = "pdf" | "package" | "link" | "folder";
export type Step = "who" | "what" | "how" | "link" | "consent";
export const STEP_TITLES: Record<Step, string> = { who: "Who", what: "What", how: "How", link: "Expiry and passcode", consent: "Consent" };

/** The ways a share can reach its recipient: a researcher's de-identified copy is never a PDF, and may be plain files. */
export function howsFor(kind: RecipientKind): How[] {
  return kind === "researcher" ? ["folder", "package", "link"] : ["link", "package", "pdf"];
}

export const SHARE_SECTIONS: [Section, string][] = [
  ["problems", "Problems"],
  ["medications", "Medications"],
  ["allergies", "Allergies"],
  ["immunizations", "Immunizations"],
  ["results", "Lab results"],
  ["vitals", "Vital signs"],
  ["visits", "Visits"],
  ["procedures", "Procedures"],
];

/** Everything the wizard has been told so far. */
export interface Draft {
  recipient: string;
  kind: RecipientKind;
  reason: string;
  person: number;
  sections: Section[];
  /** `YYYY-MM-DD`, or empty for the most recent entries. */
  since: string;
  how: How;
  path: string;
  host: string;
  expiresDays: string;
  /** Empty: no limit. */
  maxUses: string;
  passcode: "generate" | "choose";
  chosenPasscode: string;
  /** A researcher's study, by the id its researchers gave. */
  study: string;
  /** A research copy keeps the number of days between events. */
  keepIntervals: boolean;
  /** The research copy previewed, and its token; null until one is ready. */
  research: ResearchPreviewView | null;
  /** The patient ticked "I agree" under the research copy's consent statement. */
  agreed: boolean;
}

export function newDraft(person: number): Draft {
  return {
    recipient: "",
    kind: "care_team",
    reason: "",
    person,
    sections: SHARE_SECTIONS.map(([s]) => s),
    since: "",
    how: "link",
    path: "",
    host: "",
    expiresDays: "30",
    maxUses: "",
    passcode: "generate",
    chosenPasscode: "",
    study: "",
    keepIntervals: false,
    research: null,
    agreed: false,
  };
}

/** The steps for this draft: expiry and passcode only for a link; a researcher's consent last. */
export function steps(d: Draft): Step[] {
  const list: Step[] = d.how === "link" ? ["who", "what", "how", "link"] : ["who", "what", "how"];
  return d.kind === "researcher" ? [...list, "consent"] : list;
}

/** The purpose the disclosure log keeps: the kind of recipient first ("Care team: second opinion"). */
export function purposeOf(d: Draft): string {
  const kind = KINDS.find(([k]) => k === d.kind)?.[1] ?? "Other";
  const reason = d.reason.trim();
  return reason ? `${kind}: ${reason}` : kind;
}

const whole = (text: string, min: number, max: number): number | null => {
  if (!/^\d+$/.test(text.trim())) return null;
  const n = Number(text.trim());
  return n >= min && n <= max ? n : null;
};

export const MIN_PASSCODE = 6;

/** What stops the patient leaving `step` (a sentence), or null. */
export function problem(step: Step, d: Draft, hosts: HostView[]): string | null {
  switch (step) {
    case "who":
      if (!d.recipient.trim()) return "Say who you are sharing with: a name, or a practice.";
      return d.kind === "researcher" ? studyIdProblem(d.study) : null;
    case "what":
      if (d.kind === "researcher") return d.research ? null : "Wait for the preview of what leaves (if it could not be made, it says why).";
      if (d.sections.length === 0) return "Choose at least one part of the record to share.";
      return d.since && !/^\d{4}-\d{2}-\d{2}$/.test(d.since) ? "The date is not a date: use the date picker." : null;
    case "how":
      if (!d.path.trim())
        return d.how === "pdf" ? "Choose where to save the PDF." : d.how === "folder" ? "Choose the folder the files go to (a new or empty one)." : "Choose where to save the encrypted package.";
      if (d.how === "link" && !hosts.some((x) => x.url === d.host)) return "Add a share host first (below), or choose another way to share.";
      return null;
    case "link":
      if (whole(d.expiresDays, 1, 365) === null) return "The link must stop working after 1 to 365 days.";
      if (d.maxUses.trim() && whole(d.maxUses, 1, 1000) === null) return "The number of opens must be a whole number from 1 to 1000, or empty for no limit.";
      if (d.passcode === "choose" && d.chosenPasscode.trim().length < MIN_PASSCODE) return `A passcode you choose needs at least ${MIN_PASSCODE} characters.`;
      return null;
    case "consent":
      if (!d.research) return "Look at the preview again: the copy is no longer ready.";
      return d.agreed ? null : "Tick “I agree” under the consent statement to give the copy.";
  }
}

/** How the shell gives a research copy: a folder, a package, or a link (with its expiry, uses and passcode). */
export function researchHow(d: Draft): ResearchHow {
  const path = d.path.trim();
  if (d.how === "folder") return { kind: "folder", dir: path };
  if (d.how === "link")
    return {
      kind: "link",
      path,
      host: d.host,
      passcode: d.passcode === "choose" ? d.chosenPasscode.trim() : null,
      max_uses: d.maxUses.trim() ? whole(d.maxUses, 1, 1000) : null,
      expires_days: whole(d.expiresDays, 1, 365),
    };
  return { kind: "package", path };
}

/** What the shell gets for a package or a link. */
export function shareForm(d: Draft): ShareForm {
  const link = d.how === "link";
  return {
    recipient: d.recipient.trim(),
    purpose: purposeOf(d),
    path: d.path.trim(),
    sections: [...d.sections],
    since: d.since || null,
    expires_days: link ? whole(d.expiresDays, 1, 365) : null,
    host: link ? d.host : null,
    passcode: link && d.passcode === "choose" ? d.chosenPasscode.trim() : null,
    max_uses: link && d.maxUses.trim() ? whole(d.maxUses, 1, 1000) : null,
  };
}

/** `2026-06-01T10:00:00Z` as the local date and time, `2026-06-01 12:00`. */
export function when(rfc3339: string): string {
  const t = new Date(rfc3339);
  if (Number.isNaN(t.getTime())) return rfc3339;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${t.getFullYear()}-${two(t.getMonth() + 1)}-${two(t.getDate())} ${two(t.getHours())}:${two(t.getMinutes())}`;
}

/** The one sentence that says what to give the recipient, and how. */
export function instructions(d: Draft, view: ShareView): string {
  const who = d.recipient.trim();
  if (view.link) {
    const until = view.expires ? ` It works until ${when(view.expires)}` : " It works";
    const uses = d.maxUses.trim() ? `, for at most ${d.maxUses.trim()} opens` : "";
    return `Give ${who} the link (or let them scan the QR code) and, separately (by phone, for example), the passcode ${view.passcode}: they need both.${until}${uses}, and you can stop it any time under Shared.`;
  }
  return `Give ${who} the file ${view.package} and, separately (by phone, for example), the passcode ${view.passcode}: they open it with the age tool (age -d). Anyone with both can read it, and a file cannot be taken back.`;
}

/** One preview table: its title with the count, the rows as the PDF has them. */
function previewTable(t: PreviewTable): HTMLElement {
  const box = h("div", { class: "preview-table" }, h("h4", {}, t.rows.length ? `${t.title} (${t.rows.length})` : t.title));
  if (t.note) box.appendChild(h("p", { class: "muted" }, t.note));
  if (t.rows.length === 0) {
    box.appendChild(h("p", { class: "muted" }, t.empty));
    return box;
  }
  const body = h("tbody", {});
  for (const row of t.rows) {
    body.appendChild(h("tr", {}, ...row.map((c) => h("td", {}, c.strong ? h("strong", {}, c.text) : c.text))));
  }
  box.appendChild(h("table", {}, h("thead", {}, h("tr", {}, ...t.columns.map((c) => h("th", {}, c)))), body));
  return box;
}

/** The preview of what leaves: the header naming the patient, each section, the sources. */
export function renderPreview(p: SharePreview): HTMLElement {
  const facts = [p.birth_date ? `born ${p.birth_date}` : "birth date not recorded", p.gender ?? "", ...p.identifiers.map(([label, value]) => `${label}: ${value}`)].filter(Boolean);
  return h(
    "div",
    { class: "preview-body" },
    h("p", {}, h("strong", {}, p.name), ` · ${facts.join(" · ")}`),
    ...p.sections.map(previewTable),
    previewTable(p.sources),
  );
}

export interface WizardOptions {
  demoShareHost: string | null;
  /** Shows the Shared screen. */
  showShared?: () => void;
}

/** The share wizard, starting with `person`'s record. */
export function shareWizard(person: Person, options: WizardOptions): HTMLElement {
  const draft = newDraft(person.id);
  let hosts: HostView[] = [];
  let at: Step = "who";
  const wizard = h("div", { class: "wizard", id: "share-wizard" });
  const progress = h("ol", { class: "steps", id: "share-steps" });
  const panels = {} as Record<Step, HTMLElement>;
  const message = h("div", { id: "share-problem", "aria-live": "polite" });
  const back = h("button", { id: "share-back", type: "button" }, "Back");
  const next = h("button", { id: "share-next", type: "button", class: "primary" }, "Next");
  const cancel = h("button", { id: "share-cancel", type: "button", hidden: true }, "Cancel");
  const result = h("div", { id: "share-result", "aria-live": "polite" });
  const buttons = h("div", { class: "row" }, back, next, cancel);
  const researcher = () => draft.kind === "researcher";

  // Who.
  const recipient = h("input", { type: "text", id: "share-to", autocomplete: "off" });
  const kinds = h("fieldset", { class: "choices", id: "share-kind" }, h("legend", {}, "They are"));
  const kindRadios = new Map<RecipientKind, HTMLInputElement>();
  for (const [kind, label] of KINDS) {
    const radio = h("input", { type: "radio", name: "share-kind", id: `share-kind-${kind}`, value: kind, checked: kind === draft.kind });
    radio.addEventListener("change", () => setKind(kind));
    kindRadios.set(kind, radio);
    kinds.appendChild(h("label", {}, radio, ` ${label}`));
  }
  const reason = h("input", { type: "text", id: "share-purpose", placeholder: "Second opinion on my knee" });
  const reasonLabel = h("label", {}, "Why (the disclosure log keeps it) ", reason);
  const study = h("input", { type: "text", id: "share-study", autocomplete: "off", spellcheck: "false", placeholder: "NCT01234567" });
  const studyPart = h(
    "div",
    { id: "share-study-part", hidden: true },
    h("label", {}, "Study id (as its researchers gave it) ", study),
    h("p", { class: "muted" }, "A researcher gets a de-identified copy for their study: no name, no address but the state, only the year of each date, no notes or documents. You see exactly what leaves before anything is written, and you give it only once you agree."),
  );
  recipient.addEventListener("input", () => (draft.recipient = recipient.value));
  reason.addEventListener("input", () => (draft.reason = reason.value));
  study.addEventListener("input", () => (draft.study = study.value));
  panels.who = h("fieldset", { class: "step", id: "share-step-who" }, h("legend", {}, "Who are you sharing with?"), h("label", {}, "Name ", recipient), kinds, studyPart, reasonLabel);

  // What.
  const personSelect = h("select", { id: "share-person", "aria-label": "Whose record" });
  for (const p of everyone().length ? everyone() : [person]) personSelect.appendChild(h("option", { value: String(p.id) }, personLabel(p)));
  personSelect.value = String(person.id);
  const boxes = h("fieldset", { class: "sections" }, h("legend", {}, "Include"));
  for (const [value, label] of SHARE_SECTIONS) {
    boxes.appendChild(h("label", {}, h("input", { type: "checkbox", id: `share-section-${value}`, value, checked: true }), ` ${label}`));
  }
  const since = h("input", { type: "date", id: "share-since", "aria-label": "Dated entries from this date on" });
  const preview = h("div", { class: "preview", id: "share-preview", "aria-live": "polite", role: "region", "aria-label": "Exactly what leaves", tabindex: "0" });
  let asked = 0;
  const loadPreview = async () => {
    const mine = ++asked;
    clear(preview);
    preview.appendChild(h("p", { class: "muted" }, "Reading what would leave…"));
    if (draft.sections.length === 0) {
      clear(preview);
      return;
    }
    try {
      const shown = await api.sharePreview(draft.person, draft.sections, draft.since || null);
      if (mine !== asked) return;
      clear(preview);
      append(preview, h("h3", {}, "Exactly what leaves"), h("p", { class: "muted" }, "The summary below, as a PDF and as an International Patient Summary (FHIR) file; nothing else from the record."), renderPreview(shown));
    } catch (e) {
      if (mine !== asked) return;
      clear(preview);
      showError(preview, e);
    }
  };
  const identified = h(
    "div",
    { id: "share-identified" },
    boxes,
    h("label", {}, "Dated entries from ", since, " on (leave empty for the most recent; active problems, medications and allergies are always in)"),
    preview,
  );

  // What, for a researcher: the de-identified copy, made in memory by the shell and kept there
  // (behind its token) until it is given or cancelled.
  const intervals = h("input", { type: "checkbox", id: "share-keep-intervals", "aria-describedby": "share-intervals-warning" });
  const researchPreview = h("div", { class: "preview", id: "research-preview", "aria-live": "polite", role: "region", "aria-label": "Exactly what leaves, de-identified", tabindex: "0" });
  const research = h(
    "div",
    { id: "share-research", hidden: true },
    h("label", {}, intervals, " Keep the number of days between events"),
    h(
      "p",
      { class: "muted", id: "share-intervals-warning" },
      "More useful for research, but it makes your record easier to recognise: someone who knows when you were ill or treated could pick you out. Left unticked, only the year of each date goes.",
    ),
    researchPreview,
  );
  const consentText = h("p", { class: "notice", id: "share-consent-text" });
  const consentHash = h("p", { class: "muted", id: "share-consent-hash" });
  const agree = h("input", { type: "checkbox", id: "share-consent-agree" });
  let researchAsked = 0;
  /** Forgets the research copy previewed: the shell drops it (nothing was written). */
  const dropResearch = () => {
    researchAsked++;
    if (draft.research) void api.researchCancel().catch(() => undefined);
    draft.research = null;
    draft.agreed = agree.checked = false;
    clear(researchPreview);
  };
  const loadResearch = async () => {
    const mine = ++researchAsked;
    draft.research = null;
    draft.agreed = agree.checked = false;
    clear(researchPreview);
    researchPreview.appendChild(h("p", { class: "muted" }, "Making the de-identified copy (nothing is written yet)…"));
    try {
      const shown = await api.researchPreview(draft.study.trim(), draft.recipient.trim(), draft.person, draft.keepIntervals);
      if (mine !== researchAsked) return;
      draft.research = shown;
      clear(researchPreview);
      append(
        researchPreview,
        h("h3", {}, "Exactly what leaves"),
        h("p", { class: "muted" }, "The researchers get these entries, de-identified, as one file per type (NDJSON: one entry a line) and a manifest; nothing else from the record. Nothing is written until you agree, at the end."),
        renderResearchPreview(shown.preview),
      );
      consentText.textContent = shown.preview.consent;
      consentHash.textContent = `Its fingerprint (SHA-256), which the disclosure log keeps with the copy: ${shown.preview.consent_sha256}`;
    } catch (e) {
      if (mine !== researchAsked) return;
      clear(researchPreview);
      showError(researchPreview, e);
    }
  };
  const loadWhat = () => void (researcher() ? loadResearch() : loadPreview());
  personSelect.addEventListener("change", () => {
    draft.person = Number(personSelect.value);
    loadWhat();
  });
  boxes.addEventListener("change", () => {
    draft.sections = SHARE_SECTIONS.map(([s]) => s).filter((s) => (boxes.querySelector(`#share-section-${s}`) as HTMLInputElement).checked);
    void loadPreview();
  });
  since.addEventListener("change", () => {
    draft.since = since.value;
    void loadPreview();
  });
  intervals.addEventListener("change", () => {
    draft.keepIntervals = intervals.checked;
    void loadResearch();
  });
  panels.what = h("fieldset", { class: "step", id: "share-step-what" }, h("legend", {}, "What do you share?"), h("label", {}, "Whose record ", personSelect), identified, research);

  // How.
  const hows: [How, string, string][] = [
    ["folder", "Plain files in a folder", "one file per type (NDJSON) and a manifest, for you to hand over; they cannot be taken back."],
    ["link", "A link and QR code", "through a share host: they open it in a browser with the passcode; you see who opened it and can stop it."],
    ["package", "An encrypted package", "a file plus a passcode, for someone who has the age tool."],
    ["pdf", "A PDF to save", "a plain file you print or hand over yourself; it cannot be taken back."],
  ];
  const howBox = h("fieldset", { class: "choices", id: "share-how" }, h("legend", {}, "How does it reach them?"));
  const howRadios = new Map<How, [HTMLInputElement, HTMLElement]>();
  const path = h("input", { type: "text", id: "share-path", placeholder: "/home/me/Documents/for-dr-lee.age", "aria-label": "Save as" });
  path.addEventListener("input", () => (draft.path = path.value));
  const suggestedName = () => {
    const name = `research-copy-${draft.study.trim().replace(/[^A-Za-z0-9._-]+/g, "-")}`;
    if (draft.how === "pdf") return "health-summary.pdf";
    if (draft.how === "folder") return name;
    return researcher() ? `${name}.age` : "health-summary.age";
  };
  const choose = h("button", { id: "choose-share-path", type: "button" }, "Choose…");
  choose.addEventListener("click", async () => {
    try {
      const chosen = await api.chooseSavePath(suggestedName());
      if (chosen) path.value = draft.path = chosen;
    } catch (e) {
      showError(panels.how, e);
    }
  });
  const pathNote = h("p", { class: "muted", id: "share-path-note" });
  const hostSelect = h("select", { id: "share-host", "aria-label": "Share host" });
  hostSelect.addEventListener("change", () => (draft.host = hostSelect.value));
  const hostPart = h("div", { id: "share-host-part" }, h("label", {}, "Share host ", hostSelect), hostsPanel(options.demoShareHost, (list) => fillHosts(list)));
  const fillHosts = (list: HostView[]) => {
    hosts = list;
    clear(hostSelect);
    for (const x of list) hostSelect.appendChild(h("option", { value: x.url }, x.url));
    if (!list.some((x) => x.url === draft.host)) draft.host = list[0]?.url ?? "";
    hostSelect.value = draft.host;
    hostSelect.disabled = list.length === 0;
  };
  const showHow = () => {
    hostPart.hidden = draft.how !== "link";
    const allowed = howsFor(draft.kind);
    for (const [how, [radio, label]] of howRadios) {
      label.hidden = !allowed.includes(how);
      radio.checked = how === draft.how;
    }
    path.placeholder = draft.how === "folder" ? "/home/me/Documents/research-copy" : draft.how === "pdf" ? "/home/me/Documents/for-dr-lee.pdf" : "/home/me/Documents/for-dr-lee.age";
    pathNote.textContent =
      draft.how === "pdf"
        ? "The PDF is written to this computer; the audit log records it."
        : draft.how === "folder"
          ? "The files are written into this folder (made if it is not there; it must be empty); the audit log records them, with the study and the consent you gave."
          : draft.how === "package"
            ? "The encrypted package is written to this computer; the audit log records it, with the recipient."
            : "A copy of what the link holds is written to this computer as an encrypted package, with the link's QR code beside it.";
    renderSteps();
  };
  for (const [how, label, detail] of hows) {
    const radio = h("input", { type: "radio", name: "share-how", id: `share-how-${how}`, value: how, checked: how === draft.how });
    radio.addEventListener("change", () => {
      draft.how = how;
      showHow();
    });
    const choice = h("label", { class: "choice" }, radio, h("strong", {}, ` ${label}`), ` — ${detail}`);
    howRadios.set(how, [radio, choice]);
    howBox.appendChild(choice);
  }
  panels.how = h("fieldset", { class: "step", id: "share-step-how" }, h("legend", {}, "How?"), howBox, h("div", { class: "row" }, h("label", {}, "Save as ", path), choose), pathNote, hostPart);

  // Expiry and passcode (a link).
  const expires = h("input", { type: "number", id: "share-expires", min: "1", max: "365", value: draft.expiresDays });
  expires.addEventListener("input", () => (draft.expiresDays = expires.value));
  const maxUses = h("input", { type: "number", id: "share-max-uses", min: "1", placeholder: "no limit" });
  maxUses.addEventListener("input", () => (draft.maxUses = maxUses.value));
  const generated = h("input", { type: "radio", name: "share-passcode", id: "share-passcode-generate", checked: true });
  const chosenRadio = h("input", { type: "radio", name: "share-passcode", id: "share-passcode-choose" });
  const passcode = h("input", { type: "text", id: "share-passcode-input", autocomplete: "off", spellcheck: "false", disabled: true, "aria-label": "Your passcode" });
  const pickPasscode = () => {
    draft.passcode = chosenRadio.checked ? "choose" : "generate";
    passcode.disabled = !chosenRadio.checked;
    if (chosenRadio.checked) passcode.focus();
  };
  generated.addEventListener("change", pickPasscode);
  chosenRadio.addEventListener("change", pickPasscode);
  passcode.addEventListener("input", () => (draft.chosenPasscode = passcode.value));
  panels.link = h(
    "fieldset",
    { class: "step", id: "share-step-link" },
    h("legend", {}, "How long, how often, and the passcode"),
    h("label", {}, "The link stops working after ", expires, " days"),
    h("label", {}, "It opens at most ", maxUses, " times (empty: no limit)"),
    h(
      "fieldset",
      { class: "choices" },
      h("legend", {}, "Passcode (the link asks for it; after a few wrong tries it stops working)"),
      h("label", {}, generated, " Make one for me (25 characters, shown once)"),
      h("label", {}, chosenRadio, " I choose it: ", passcode),
    ),
  );

  // Consent (a researcher): the statement in full, and "I agree".
  agree.addEventListener("change", () => {
    draft.agreed = agree.checked;
    renderSteps();
  });
  panels.consent = h(
    "fieldset",
    { class: "step", id: "share-step-consent" },
    h("legend", {}, "Your consent"),
    h("p", {}, "Read what you agree to. The copy is given only once you tick “I agree”:"),
    consentText,
    consentHash,
    h("label", {}, agree, " I agree"),
  );

  /** Shows what a kind of recipient is asked; a researcher's copy is dropped on leaving that path. */
  const setKind = (kind: RecipientKind) => {
    if (draft.kind === "researcher" && kind !== "researcher") dropResearch();
    // A researcher's copy goes as plain files unless the patient chooses otherwise.
    if (kind === "researcher" && draft.kind !== "researcher") draft.how = "folder";
    draft.kind = kind;
    for (const [k, radio] of kindRadios) radio.checked = k === kind;
    if (!howsFor(kind).includes(draft.how)) draft.how = howsFor(kind)[0];
    studyPart.hidden = kind !== "researcher";
    reasonLabel.hidden = kind === "researcher";
    identified.hidden = kind === "researcher";
    research.hidden = kind !== "researcher";
    cancel.hidden = kind !== "researcher";
    showHow();
  };

  const renderSteps = () => {
    clear(progress);
    const list = steps(draft);
    for (const step of list) {
      const item = h("li", { "data-step": step }, STEP_TITLES[step]);
      if (step === at) item.setAttribute("aria-current", "step");
      progress.appendChild(item);
    }
    for (const step of Object.keys(panels) as Step[]) panels[step].hidden = step !== at;
    back.hidden = at === "who";
    const last = list[list.length - 1] === at;
    next.textContent = !last
      ? "Next"
      : at === "consent"
        ? "Give the copy"
        : draft.how === "pdf"
          ? "Save the PDF"
          : draft.how === "package"
            ? "Make the package"
            : "Make the link";
    next.disabled = at === "consent" && !draft.agreed;
  };

  const go = (step: Step, focus = true) => {
    at = step;
    clear(message);
    renderSteps();
    if (step === "what") loadWhat();
    if (focus) panels[step].querySelector<HTMLElement>("input:not([disabled]), select")?.focus();
  };

  back.addEventListener("click", () => {
    const list = steps(draft);
    go(list[Math.max(0, list.indexOf(at) - 1)]);
  });
  next.addEventListener("click", async () => {
    clear(message);
    const trouble = problem(at, draft, hosts);
    if (trouble) {
      message.appendChild(h("p", { class: "error", role: "alert" }, trouble));
      return;
    }
    const list = steps(draft);
    const i = list.indexOf(at);
    if (i < list.length - 1) return go(list[i + 1]);
    next.disabled = cancel.disabled = true;
    try {
      await finish();
    } catch (e) {
      showError(message, e);
    } finally {
      cancel.disabled = false;
      // Still on the last step (it failed): Give again once the trouble is fixed.
      if (!buttons.hidden) renderSteps();
    }
  });
  cancel.addEventListener("click", async () => {
    researchAsked++;
    try {
      await api.researchCancel();
    } catch (e) {
      showError(message, e);
      return;
    }
    const fresh = shareWizard(person, options);
    wizard.replaceWith(fresh);
    fresh.querySelector<HTMLElement>("#share-to")?.focus();
  });

  /** The package (and link) made: what to give, the QR code, the passcode once. */
  const shownShare = (title: string, view: ShareView) => {
    append(result, h("h3", {}, title), h("p", { id: "share-instructions" }, instructions(draft, view)));
    if (view.link && view.qr) {
      append(
        result,
        h("img", { src: view.qr, alt: `QR code of the link for ${draft.recipient.trim()}`, class: "qr", id: "share-qr" }),
        h("p", {}, "The link (anyone with it and the passcode can open the summary):"),
        h("code", { id: "share-link-text", class: "link-text" }, view.link),
      );
    }
    append(result, h("p", {}, "Passcode, shown only now:"), h("p", { class: "passcode", id: "share-passcode" }, view.passcode), h("p", { class: "muted" }, `Saved on this computer: ${view.package}.`));
  };

  const finish = async () => {
    const whose = everyone().find((p) => p.id === draft.person) ?? person;
    clear(result);
    const to = draft.recipient.trim();
    if (researcher()) {
      const copy = draft.research;
      if (!copy) throw new AppError("research_preview_gone", "Look at the preview again: the copy is no longer ready.");
      const given = await api.researchGive(copy.token, copy.preview.consent_sha256, researchHow(draft));
      draft.research = null;
      if (given.folder) {
        append(
          result,
          h("h3", {}, `A research copy for ${to}`),
          h("p", { class: "ok", id: "share-instructions" }, folderInstructions(given)),
          h("ul", { id: "research-files" }, ...given.folder.files.map((f) => h("li", {}, `${f.path} (${f.bytes} bytes)`))),
        );
      } else if (given.shared) {
        shownShare(draft.how === "link" ? `A link to a research copy for ${to}` : `A research copy for ${to}, as an encrypted package`, given.shared);
      }
    } else if (draft.how === "pdf") {
      const written = await api.sharePdf(draft.person, shareForm(draft));
      append(
        result,
        h("h3", {}, "Saved"),
        h("p", { class: "ok", id: "share-instructions" }, `Saved ${possessive(whose.name)} summary to ${written.path}. Give it to ${to} yourself; it is a plain file, so anyone who has it can read it, and it cannot be taken back.`),
      );
    } else {
      shownShare(draft.how === "link" ? `A link for ${to}` : `A package for ${to}`, await api.share(draft.person, shareForm(draft)));
    }
    const again = h("button", { id: "share-again", type: "button" }, "Share something else");
    again.addEventListener("click", () => wizard.replaceWith(shareWizard(person, options)));
    const shared = h("button", { id: "share-see-shared", type: "button", hidden: !options.showShared }, "See it under Shared");
    shared.addEventListener("click", () => options.showShared?.());
    append(result, h("div", { class: "row" }, again, shared));
    for (const step of Object.values(panels)) step.hidden = true;
    progress.hidden = buttons.hidden = true;
    result.querySelector<HTMLElement>("h3")?.setAttribute("tabindex", "-1");
    result.querySelector<HTMLElement>("h3")?.focus();
  };

  append(wizard, progress, ...(Object.values(panels) as HTMLElement[]), message, buttons, result);
  setKind(draft.kind);
  go("who", false);
  return wizard;
}

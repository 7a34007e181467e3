// The share wizard's "Researcher" path: a de-identified copy of the record for a study. What
// leaves is shown before anything is written: how many entries of each type, what is taken out
// and what is kept (in words), a few rows exactly as they leave (as text), what stays home, and
// whether the copy links to earlier ones for the same study. Then the consent statement, in
// full. The wizard itself (share.ts) asks for it and gives it; these are its pieces.
import type { ResearchGiven } from "../bindings/ResearchGiven";
import type { ResearchPreview } from "../bindings/ResearchPreview";
import type { Study } from "../bindings/Study";
import { h } from "../dom";

/** A study id as the core takes it: 1 to 100 letters, digits and `. - _ : /`. */
export function studyIdProblem(study: string): string | null {
  return /^[A-Za-z0-9._:/-]{1,100}$/.test(study.trim())
    ? null
    : "Give the study's id as its researchers wrote it: 1 to 100 letters, digits and the signs . - _ : / (no spaces).";
}

const entries = (n: number) => (n === 1 ? "1 entry" : `${n} entries`);

/** Whether this copy links up with the copies given to the study before, in a sentence. */
export function linkingText(p: ResearchPreview): string {
  if (p.links_to_earlier) return `This copy links to the copies you gave the study “${p.study}” before: the same codes stand for the same things.`;
  if (p.restarted) return `You stopped sending updates to the study “${p.study}”: this copy cannot be linked with the copies you gave it before.`;
  return `This is your first copy for the study “${p.study}”: later copies for it will link to this one, until you stop sending updates (under Shared).`;
}

/** "What is removed": each kind in words, with how many details it took out. */
export function removedText(kind: { what: string; count: number }): string {
  return kind.count > 0 ? `${kind.what} (${kind.count} removed)` : kind.what;
}

function list(id: string, items: string[], empty: string): HTMLElement {
  if (items.length === 0) return h("p", { class: "muted", id }, empty);
  return h("ul", { id }, ...items.map((t) => h("li", {}, t)));
}

/** The preview of a research copy: what leaves, what is removed and kept, examples, what stays home. */
export function renderResearchPreview(p: ResearchPreview): HTMLElement {
  const examples = h("div", { id: "research-examples" });
  for (const row of p.examples) {
    // Exactly the line of its NDJSON file, as text: whatever it holds is never markup.
    examples.appendChild(h("h5", {}, row.resource_type));
    examples.appendChild(h("pre", { class: "raw research-row", "data-type": row.resource_type, tabindex: "0" }, row.line));
  }
  if (p.examples.length === 0) examples.appendChild(h("p", { class: "muted" }, "No entry would leave."));
  return h(
    "div",
    { class: "preview-body research-preview-body" },
    h("p", { id: "research-summary" }, `${entries(p.resources)} for the study “${p.study}”, to ${p.recipient}, de-identified under the rules ${p.rules}.`),
    h("p", { id: "research-links", class: p.restarted ? "notice" : "muted" }, linkingText(p)),
    h("h4", {}, "What leaves"),
    list(
      "research-counts",
      p.counts.map((c) => `${c.resource_type}: ${c.count}`),
      "Nothing: the record holds no entry a research copy carries.",
    ),
    h("h4", {}, "What is taken out"),
    list("research-removed", p.removed.map(removedText), "Nothing."),
    h("h4", {}, "What is kept"),
    list("research-kept", p.kept, "Nothing."),
    h("h4", {}, "Examples, exactly as they leave"),
    examples,
    h("h4", {}, "What stays home"),
    list(
      "research-left-out",
      p.left_out.map((c) => `${c.resource_type}: ${c.count}`),
      "Nothing else is in the record.",
    ),
  );
}

/** What to tell the patient once a copy went to a folder. */
export function folderInstructions(given: ResearchGiven): string {
  const dir = given.folder?.dir ?? "";
  return `Wrote ${entries(given.resources)} for the study “${given.study}” to ${dir}. Give the folder to ${given.recipient} yourself: these are plain files, so anyone who has them can read them, and they cannot be taken back.`;
}

/** A study's state on the Shared screen. */
export function studyStatus(s: Study, when: (t: string) => string): string {
  return s.stopped
    ? `Updates stopped on ${when(s.stopped)}: a copy you give this study now cannot be linked with the earlier ones.`
    : "Linked: a new copy for this study links to the copies it already has.";
}

/** How many copies, and when. */
export function studyCopies(s: Study, when: (t: string) => string): string {
  const copies = s.copies === 1 ? "1 copy" : `${s.copies} copies`;
  return s.copies === 1 ? `${copies}, given ${when(s.first_copy)}` : `${copies}, the first ${when(s.first_copy)}, the last ${when(s.last_copy)}`;
}

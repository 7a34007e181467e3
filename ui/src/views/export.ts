// Export & share: choose sections and a date range and save a PDF or an IPS file for yourself;
// or share with someone through the share wizard (share.ts).
import { api } from "../api";
import type { Person } from "../bindings/Person";
import type { Section } from "../bindings/Section";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { noRecordYet, personBanner, possessive } from "../people";
import { SHARE_SECTIONS as SECTIONS, shareWizard, type WizardOptions } from "./share";

/** The sections whose boxes are ticked. */
export function chosenSections(form: ParentNode): Section[] {
  return SECTIONS.map(([s]) => s).filter((s) => (form.querySelector(`#section-${s}`) as HTMLInputElement | null)?.checked);
}

/** A "Choose…" button that fills `input` from the system's save dialog. */
export function chooseButton(input: HTMLInputElement, suggestedName: string, id: string): HTMLButtonElement {
  const button = h("button", { id, type: "button" }, "Choose…");
  button.addEventListener("click", async () => {
    try {
      const path = await api.chooseSavePath(suggestedName);
      if (path) input.value = path;
    } catch (e) {
      showError(button.parentElement ?? button, e);
    }
  });
  return button;
}

/** Export & share `person`'s record (none: the vault holds no record yet). */
export function exportView(person: Person | null, options: WizardOptions = { demoShareHost: null }): HTMLElement {
  if (!person) return h("section", {}, h("h1", {}, "Export & share"), noRecordYet());
  const boxes = h("fieldset", { class: "sections" }, h("legend", {}, "Include"));
  for (const [value, label] of SECTIONS) {
    append(boxes, h("label", {}, h("input", { type: "checkbox", id: `section-${value}`, checked: true }), ` ${label}`));
  }
  const since = h("input", { type: "date", id: "since", "aria-label": "From this date on" });
  const path = h("input", { type: "text", id: "export-path", placeholder: "/home/me/Documents/summary.pdf", "aria-label": "Save as" });
  const result = h("div", { id: "export-result", "aria-live": "polite" });
  const view = h("section", {}, h("h1", {}, "Export & share"), personBanner(person, "Exporting and sharing the record of"));

  const pdf = h("button", { id: "export-pdf", class: "primary" }, "Save PDF summary");
  const ips = h("button", { id: "export-ips" }, "Save IPS (FHIR) file");
  const save = async (kind: "pdf" | "ips") => {
    clear(result);
    try {
      const run = kind === "pdf" ? api.exportPdf : api.exportIps;
      const written = await run(person.id, path.value, chosenSections(view), since.value || null);
      result.appendChild(h("p", { class: "ok", id: "export-done" }, `Saved ${possessive(person.name)} record to ${written.path}. It is a plain file: keep it safe.`));
    } catch (e) {
      showError(result, e);
    }
  };
  pdf.addEventListener("click", () => void save("pdf"));
  ips.addEventListener("click", () => void save("ips"));
  append(
    view,
    h("h2", {}, `Save a copy of ${possessive(person.name)} record for yourself`),
    boxes,
    h("label", {}, "Dated entries from ", since, " on (leave empty for the most recent)"),
    h("div", { class: "row" }, h("label", {}, "Save as ", path), chooseButton(path, "health-summary.pdf", "choose-export-path")),
    h("div", { class: "row" }, pdf, ips),
    result,
  );

  append(view, h("h2", {}, `Share ${possessive(person.name)} record with someone`), shareWizard(person, options));
  return view;
}

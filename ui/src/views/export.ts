// Export & share: choose sections and a date range; save a PDF or an IPS file; or make an
// encrypted package for someone (the passcode is shown once), with a SMART Health Link and QR.
import { api } from "../api";
import type { Person } from "../bindings/Person";
import type { Section } from "../bindings/Section";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { noRecordYet, personBanner, possessive } from "../people";

export const SECTIONS: [Section, string][] = [
  ["problems", "Problems"],
  ["medications", "Medications"],
  ["allergies", "Allergies"],
  ["immunizations", "Immunizations"],
  ["results", "Lab results"],
  ["vitals", "Vital signs"],
  ["visits", "Visits"],
  ["procedures", "Procedures"],
];

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
export function exportView(person: Person | null): HTMLElement {
  if (!person) return h("section", {}, h("h1", {}, "Export & share"), noRecordYet());
  const boxes = h("fieldset", { class: "sections" }, h("legend", {}, "Include"));
  for (const [value, label] of SECTIONS) {
    append(boxes, h("label", {}, h("input", { type: "checkbox", id: `section-${value}`, checked: true }), ` ${label}`));
  }
  const since = h("input", { type: "date", id: "since", "aria-label": "From this date on" });
  const path = h("input", { type: "text", id: "export-path", placeholder: "/home/me/Documents/summary.pdf", "aria-label": "Save as" });
  const result = h("div", { id: "export-result", "aria-live": "polite" });
  const view = h("section", {}, h("h1", {}, "Export & share"), personBanner(person, "Exporting and sharing the record of"), boxes, h("label", {}, "Dated entries from ", since, " on (leave empty for the most recent)"));

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
    h("h2", {}, `Save a copy of ${possessive(person.name)} record`),
    h("div", { class: "row" }, h("label", {}, "Save as ", path), chooseButton(path, "health-summary.pdf", "choose-export-path")),
    h("div", { class: "row" }, pdf, ips),
    result,
  );

  // Sharing.
  const recipient = h("input", { type: "text", id: "share-to", "aria-label": "For whom" });
  const purpose = h("input", { type: "text", id: "share-purpose", "aria-label": "Why" });
  const expires = h("input", { type: "number", id: "share-expires", min: "1", value: "30", "aria-label": "Expires after days" });
  const packagePath = h("input", { type: "text", id: "share-path", placeholder: "/home/me/Documents/for-dr-lee.age", "aria-label": "Package file" });
  const link = h("input", { type: "checkbox", id: "share-link" });
  const linkUrl = h("input", { type: "url", id: "share-link-url", placeholder: "https://files.example.org/summary.jwe", "aria-label": "Where the link's file will live" });
  const upload = h("input", { type: "checkbox", id: "share-upload" });
  const shared = h("div", { id: "share-result", "aria-live": "polite" });
  const share = h("button", { id: "share", class: "primary" }, "Make encrypted package");
  share.addEventListener("click", async () => {
    clear(shared);
    try {
      const view2 = await api.share(person.id, {
        recipient: recipient.value,
        purpose: purpose.value,
        path: packagePath.value,
        sections: chosenSections(view),
        since: since.value || null,
        expires_days: expires.value ? Number(expires.value) : null,
        link_url: link.checked ? linkUrl.value : null,
        upload: upload.checked,
      });
      append(
        shared,
        h("p", {}, `Saved ${possessive(person.name)} record in ${view2.package}. Give this passcode to ${recipient.value} separately (by phone, for example). It is shown only now:`),
        h("p", { class: "passcode", id: "share-passcode" }, view2.passcode),
      );
      if (view2.link && view2.qr) {
        append(shared, h("p", {}, "SMART Health Link (anyone with it can open the summary):"), h("code", { id: "share-link-text" }, view2.link), h("img", { src: view2.qr, alt: "QR code of the link", class: "qr" }));
      }
      if (view2.encrypted_file) {
        shared.appendChild(h("p", {}, `Put ${view2.encrypted_file} at ${linkUrl.value} before you give the link.`));
      }
    } catch (e) {
      showError(shared, e);
    }
  });
  append(
    view,
    h("h2", {}, `Share ${possessive(person.name)} record with someone`),
    h("div", { class: "grid" }, h("label", {}, "For ", recipient), h("label", {}, "Purpose ", purpose), h("label", {}, "Expires after ", expires, " days"), h("div", { class: "row" }, h("label", {}, "Package file ", packagePath), chooseButton(packagePath, "health-summary.age", "choose-share-path"))),
    h("label", {}, link, " Also make a SMART Health Link, its file at ", linkUrl),
    h("label", {}, upload, " Upload the file there now"),
    share,
    shared,
  );
  return view;
}

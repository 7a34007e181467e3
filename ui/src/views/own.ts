// What the patient adds to their own record: "Add to my record" (a medicine, an allergy, a
// problem, a measurement, a PDF or photo) and "Add a note" on any entry's detail. Each is kept
// by the core as a FHIR resource they author, in the source "Added by me"; the window marks
// those entries "added by me". The core checks everything and its sentence is what is shown.
import { AppError, api, type OwnForm } from "../api";
import type { Measure } from "../bindings/Measure";
import type { Person } from "../bindings/Person";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { noRecordYet, personBanner, possessive } from "../people";

/** The name of every person's own source (the core's `OWN_SOURCE_NAME`). */
export const OWN_SOURCE = "Added by me";

/** Whether a list line came from the patient (its sources, joined by ", ", name "Added by me"). */
export function isOwn(source: string): boolean {
  return source.split(", ").includes(OWN_SOURCE);
}

/** The mark on what the patient added. */
export function ownMark(): HTMLElement {
  return h("span", { class: "own-badge" }, "added by me");
}

/** The measurements, with the words and unit the form shows. */
export const MEASURES: [Measure, string, string][] = [
  ["weight", "Weight", "kg"],
  ["height", "Height", "cm"],
  ["blood_pressure", "Blood pressure", "mm Hg"],
  ["heart_rate", "Heart rate", "beats per minute"],
  ["glucose", "Blood glucose", "mg/dL"],
  ["temperature", "Temperature", "°C"],
];

/** Today as `YYYY-MM-DD`, on this computer's calendar. */
function today(): string {
  const d = new Date();
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

/** A labelled field: the label names it for screen readers and is clicked to focus it. */
function field(label: string, input: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input, hint ? h("span", { class: "muted" }, hint) : null);
}

function text(id: string, attrs: Record<string, string | boolean> = {}): HTMLInputElement {
  return h("input", { type: "text", id, autocomplete: "off", ...attrs });
}

function date(id: string, value = ""): HTMLInputElement {
  const input = h("input", { type: "date", id, max: today() });
  input.value = value;
  return input;
}

/** The text of an optional field: `null` when empty. */
function optional(input: HTMLInputElement | HTMLTextAreaElement): string | null {
  return input.value.trim() ? input.value : null;
}

/**
 * A form with a heading, its fields and one button. On submit (the button, or Enter in a
 * field) `send` runs; what it answers is shown in the form's own status line.
 */
function ownForm(id: string, title: string, fields: HTMLElement[], button: string, send: () => Promise<string>, reset: () => void): HTMLFormElement {
  const status = h("p", { class: "status", id: `${id}-status`, "aria-live": "polite" });
  const submit = h("button", { type: "submit", id: `${id}-add`, class: "primary" }, button);
  const form = h("form", { class: "own-form", id, novalidate: true, "aria-labelledby": `${id}-heading` }, h("h2", { id: `${id}-heading` }, title), ...fields, h("div", { class: "row" }, submit), status);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    form.querySelector(":scope > .error")?.remove();
    status.textContent = "";
    status.className = "status";
    submit.disabled = true;
    try {
      status.textContent = await send();
      status.classList.add("ok");
      reset();
    } catch (err) {
      showError(form, err);
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}

/** "Add to my record" for `person` (none: the vault holds no record yet to add to). */
export function ownView(person: Person | null): HTMLElement {
  const heading = h("h1", {}, "Add to my record");
  if (!person) return h("section", { class: "own-view" }, heading, noRecordYet());
  const add = async (entry: OwnForm, where: string) => {
    await api.addOwn(person.id, entry);
    return `Added to ${where} in ${possessive(person.name)} record, marked “added by me”.`;
  };
  const view = h(
    "section",
    { class: "own-view", id: "own" },
    heading,
    personBanner(person, "Adding to the record of"),
    h("p", { class: "muted" }, "What you add is kept encrypted with the rest of your record, marked “added by me” here and “patient-reported” in the PDF and IPS. It is never sent to a portal."),
  );

  const medName = text("own-med-name", { "aria-required": "true" });
  const medDose = text("own-med-dose");
  const medSince = date("own-med-since");
  const medicine = ownForm(
    "own-medication",
    "A medicine you take",
    [field("Medicine", medName, "its name and strength, e.g. Ibuprofen 200 mg"), field("Dose (optional)", medDose, "how much and how often"), field("Taking it since (optional)", medSince)],
    "Add medicine",
    () => add({ kind: "medication", name: medName.value, dose: optional(medDose), since: optional(medSince) }, "Medications"),
    () => [medName, medDose, medSince].forEach((i) => (i.value = "")),
  );

  const substance = text("own-allergy-substance", { "aria-required": "true" });
  const reaction = text("own-allergy-reaction");
  const allergy = ownForm(
    "own-allergy",
    "An allergy",
    [field("Allergic to", substance, "a medicine, a food or something else"), field("What happens (optional)", reaction, "e.g. hives, swelling")],
    "Add allergy",
    () => add({ kind: "allergy", substance: substance.value, reaction: optional(reaction) }, "Allergies"),
    () => [substance, reaction].forEach((i) => (i.value = "")),
  );

  const problemName = text("own-problem-name", { "aria-required": "true" });
  const problemSince = date("own-problem-since");
  const problem = ownForm(
    "own-problem",
    "A health problem",
    [field("Problem or condition", problemName), field("Since (optional)", problemSince)],
    "Add problem",
    () => add({ kind: "problem", name: problemName.value, since: optional(problemSince) }, "Problems"),
    () => [problemName, problemSince].forEach((i) => (i.value = "")),
  );

  const measure = h("select", { id: "own-measure" });
  for (const [value, label, unit] of MEASURES) measure.appendChild(h("option", { value }, `${label} (${unit})`));
  const value = h("input", { type: "number", id: "own-value", step: "any", inputmode: "decimal", "aria-required": "true" });
  const second = h("input", { type: "number", id: "own-second", step: "any", inputmode: "decimal", "aria-required": "true" });
  const valueLabel = h("span", {}, "Reading");
  const secondField = h("label", { class: "field", id: "own-second-field" }, h("span", {}, "Lower number (diastolic)"), second);
  const valueField = h("label", { class: "field" }, valueLabel, value);
  const measuredOn = date("own-measure-date", today());
  const unitOf = () => MEASURES.find(([m]) => m === measure.value)!;
  const showMeasure = () => {
    const bloodPressure = measure.value === "blood_pressure";
    secondField.hidden = !bloodPressure;
    valueLabel.textContent = bloodPressure ? "Upper number (systolic)" : `Reading (${unitOf()[2]})`;
  };
  measure.addEventListener("change", showMeasure);
  showMeasure();
  const number = (input: HTMLInputElement, what: string): number => {
    const n = input.value.trim() === "" ? NaN : Number(input.value);
    if (!Number.isFinite(n)) throw new AppError("no_reading", `Type the ${what} as a number.`);
    return n;
  };
  const measurement = ownForm(
    "own-measurement",
    "A measurement you took",
    [field("Measurement", measure), valueField, secondField, field("Taken on", measuredOn)],
    "Add measurement",
    () => {
      const bloodPressure = measure.value === "blood_pressure";
      const entry: OwnForm = {
        kind: "measurement",
        measure: measure.value as Measure,
        value: number(value, bloodPressure ? "upper number" : "reading"),
        second: bloodPressure ? number(second, "lower number") : null,
        date: measuredOn.value,
      };
      if (!entry.date) throw new AppError("no_day", "Choose the day the reading was taken.");
      return add(entry, "Vital signs");
    },
    () => {
      value.value = second.value = "";
      measuredOn.value = today();
    },
  );

  const title = text("own-upload-title", { "aria-required": "true" });
  let chosenPath: string | null = null;
  const chosenName = h("span", { id: "own-upload-file", class: "muted" }, "No file chosen");
  const choose = h("button", { type: "button", id: "own-upload-choose" }, "Choose a PDF or photo…");
  choose.addEventListener("click", async () => {
    try {
      const path = await api.chooseUploadFile();
      if (!path) return;
      chosenPath = path;
      const name = path.split(/[\\/]/).pop() ?? path;
      chosenName.textContent = name;
      if (!title.value.trim()) title.value = name.replace(/\.[^.]+$/, "");
    } catch (e) {
      showError(upload, e);
    }
  });
  const upload = ownForm(
    "own-upload",
    "Upload a PDF or photo",
    [field("Title", title, "e.g. Letter from the clinic, March"), h("div", { class: "row", role: "group", "aria-label": "File" }, choose, chosenName), h("p", { class: "muted" }, "A PDF, or a JPEG or PNG photo (a scanned letter, a prescription), up to 32 MB.")],
    "Add file",
    async () => {
      if (!chosenPath) throw new AppError("no_file", "Choose a PDF or a photo first.");
      await api.addUpload(person.id, chosenPath, title.value);
      return `Added to Documents in ${possessive(person.name)} record, marked “added by me”.`;
    },
    () => {
      chosenPath = null;
      title.value = "";
      chosenName.textContent = "No file chosen";
    },
  );

  append(view, medicine, allergy, problem, measurement, upload);
  return view;
}

/** "Add a note" on the entry `about` (`Type/id`) of `person`'s record, for its detail. */
export function noteForm(person: number, about: string): HTMLElement {
  const open = h("button", { type: "button", id: "add-note", "aria-expanded": "false", "aria-controls": "note-form" }, "Add a note");
  const note = h("textarea", { id: "note-text", rows: "4" });
  const status = h("p", { class: "status", id: "note-status", "aria-live": "polite" });
  const save = h("button", { type: "submit", id: "save-note", class: "primary" }, "Save note");
  const cancel = h("button", { type: "button", class: "quiet", id: "cancel-note" }, "Cancel");
  const form = h("form", { id: "note-form", class: "own-form", novalidate: true, hidden: true }, field("Your note on this entry", note), h("div", { class: "row" }, save, cancel));
  const box = h("div", { class: "note" }, open, form, status);
  const show = (on: boolean) => {
    form.hidden = !on;
    open.hidden = on;
    open.setAttribute("aria-expanded", String(on));
    if (on) note.focus();
    else open.focus();
  };
  open.addEventListener("click", () => {
    status.textContent = "";
    show(true);
  });
  cancel.addEventListener("click", () => show(false));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    form.querySelector(":scope > .error")?.remove();
    save.disabled = true;
    try {
      await api.addOwn(person, { kind: "note", about, text: note.value });
      note.value = "";
      clear(status);
      status.className = "status ok";
      status.textContent = "Your note was added (under Documents, marked “added by me”).";
      show(false);
    } catch (err) {
      showError(form, err);
    } finally {
      save.disabled = false;
    }
  });
  return box;
}

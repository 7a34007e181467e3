// "Add to my record" and "Add a note" against a mocked IPC: each form sends the entry the core
// expects, a file goes by its path, the core's sentence is what the patient reads, and what the
// patient added is marked "added by me" in the record's lists and detail.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Person } from "./bindings/Person";
import { isOwn, ownView } from "./views/own";
import { recordView } from "./views/record";

const tick = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const ann: Person = { id: 7, name: "Ann Lee", birth_date: "1980-02-03", gender: "female", sources: [], resources: 12 };

type Call = { cmd: string; args: unknown };

/** The view with the IPC mocked: every call is kept; `answer` may throw the shell's error. */
function mounted(answer: (cmd: string, args: unknown) => unknown = () => ({ resource_type: "X", id: "new1" })) {
  const calls: Call[] = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    return answer(cmd, args);
  });
  const view = ownView(ann);
  document.body.appendChild(view);
  return { view, calls };
}

function type(view: ParentNode, css: string, value: string) {
  const input = view.querySelector<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(css)!;
  input.value = value;
  input.dispatchEvent(new Event("input"));
  input.dispatchEvent(new Event("change"));
}

function submit(view: ParentNode, form: string) {
  view.querySelector<HTMLFormElement>(form)!.requestSubmit();
}

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("add to my record", () => {
  it("sends a medicine with its dose and since, empty optional fields as null", async () => {
    const { view, calls } = mounted();
    type(view, "#own-med-name", "Ibuprofen 200 mg");
    type(view, "#own-med-dose", "1 tablet when needed");
    type(view, "#own-med-since", "2026-10-01");
    submit(view, "#own-medication");
    await tick();
    type(view, "#own-med-name", "Vitamin D");
    submit(view, "#own-medication");
    await tick();
    expect(calls).toEqual([
      { cmd: "add_own", args: { person: 7, entry: { kind: "medication", name: "Ibuprofen 200 mg", dose: "1 tablet when needed", since: "2026-10-01" } } },
      { cmd: "add_own", args: { person: 7, entry: { kind: "medication", name: "Vitamin D", dose: null, since: null } } },
    ]);
    expect(view.querySelector("#own-medication-status")!.textContent).toContain("added by me");
    // The form is empty again for the next one.
    expect(view.querySelector<HTMLInputElement>("#own-med-name")!.value).toBe("");
  });

  it("sends an allergy and a problem", async () => {
    const { view, calls } = mounted();
    type(view, "#own-allergy-substance", "Penicillin");
    type(view, "#own-allergy-reaction", "Hives");
    submit(view, "#own-allergy");
    type(view, "#own-problem-name", "Migraine");
    type(view, "#own-problem-since", "2019-05-01");
    submit(view, "#own-problem");
    await tick();
    expect(calls.map((c) => c.args)).toEqual([
      { person: 7, entry: { kind: "allergy", substance: "Penicillin", reaction: "Hives" } },
      { person: 7, entry: { kind: "problem", name: "Migraine", since: "2019-05-01" } },
    ]);
  });

  it("sends a weight, and a blood pressure with its two numbers", async () => {
    const { view, calls } = mounted();
    // The lower number is asked only for blood pressure.
    expect(view.querySelector<HTMLElement>("#own-second-field")!.hidden).toBe(true);
    type(view, "#own-measure", "weight");
    type(view, "#own-value", "71.5");
    type(view, "#own-measure-date", "2026-11-20");
    submit(view, "#own-measurement");
    await tick();
    type(view, "#own-measure", "blood_pressure");
    expect(view.querySelector<HTMLElement>("#own-second-field")!.hidden).toBe(false);
    type(view, "#own-value", "128");
    type(view, "#own-second", "82");
    type(view, "#own-measure-date", "2026-11-21");
    submit(view, "#own-measurement");
    await tick();
    expect(calls.map((c) => c.args)).toEqual([
      { person: 7, entry: { kind: "measurement", measure: "weight", value: 71.5, second: null, date: "2026-11-20" } },
      { person: 7, entry: { kind: "measurement", measure: "blood_pressure", value: 128, second: 82, date: "2026-11-21" } },
    ]);
  });

  it("offers every measurement the core knows, each with its unit", () => {
    const { view } = mounted();
    const options = [...view.querySelectorAll<HTMLOptionElement>("#own-measure option")].map((o) => [o.value, o.textContent]);
    expect(options).toEqual([
      ["weight", "Weight (kg)"],
      ["height", "Height (cm)"],
      ["blood_pressure", "Blood pressure (mm Hg)"],
      ["heart_rate", "Heart rate (beats per minute)"],
      ["glucose", "Blood glucose (mg/dL)"],
      ["temperature", "Temperature (°C)"],
    ]);
  });

  it("shows the core's sentence when it refuses, and keeps what was typed", async () => {
    const sentence = "That reading is outside any possible range: check the number and its unit.";
    const { view } = mounted(() => {
      throw { code: "own_entry_refused", message: sentence };
    });
    type(view, "#own-measure", "temperature");
    type(view, "#own-value", "98.6");
    submit(view, "#own-measurement");
    await tick();
    const error = view.querySelector("#own-measurement > .error")!;
    expect(error.textContent).toBe(sentence);
    expect(error.getAttribute("role")).toBe("alert");
    expect(view.querySelector<HTMLInputElement>("#own-value")!.value).toBe("98.6");
  });

  it("asks for a number, not the core, when the reading is empty", async () => {
    const { view, calls } = mounted();
    submit(view, "#own-measurement");
    await tick();
    expect(calls).toEqual([]);
    expect(view.querySelector("#own-measurement > .error")!.textContent).toBe("Type the reading as a number.");
  });

  it("uploads a chosen file by its path, its name as the title unless one was typed", async () => {
    const { view, calls } = mounted((cmd) => (cmd === "choose_upload_file" ? "/home/ann/Scans/letter-march.pdf" : { resource_type: "DocumentReference", id: "d1" }));
    // Nothing chosen yet: a sentence, no call.
    submit(view, "#own-upload");
    await tick();
    expect(view.querySelector("#own-upload > .error")!.textContent).toBe("Choose a PDF or a photo first.");
    expect(calls).toEqual([]);
    view.querySelector<HTMLButtonElement>("#own-upload-choose")!.click();
    await tick();
    expect(view.querySelector("#own-upload-file")!.textContent).toBe("letter-march.pdf");
    expect(view.querySelector<HTMLInputElement>("#own-upload-title")!.value).toBe("letter-march");
    type(view, "#own-upload-title", "Letter from the clinic");
    submit(view, "#own-upload");
    await tick();
    expect(calls).toEqual([
      { cmd: "choose_upload_file", args: {} },
      { cmd: "add_upload", args: { person: 7, path: "/home/ann/Scans/letter-march.pdf", title: "Letter from the clinic" } },
    ]);
    expect(view.querySelector("#own-upload > .error")).toBeNull();
    expect(view.querySelector("#own-upload-status")!.textContent).toContain("Documents");
  });

  it("labels every field, and no two elements share an id", () => {
    const { view } = mounted();
    for (const input of view.querySelectorAll("input, select, textarea")) {
      const label = input.closest("label");
      expect(label?.textContent?.trim(), `#${input.id}`).toBeTruthy();
    }
    const ids = [...view.querySelectorAll("[id]")].map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe("what the patient added, in the record", () => {
  const items = [
    { resource_type: "MedicationStatement", id: "m1", date: "2026-10-01", display: "Ibuprofen 200 mg", detail: "active", code: null, source: "Added by me" },
    { resource_type: "MedicationRequest", id: "m2", date: "2026-09-01", display: "Metformin", detail: "active", code: null, source: "https://portal.example.org/fhir" },
  ];

  it("marks the patient's own entries 'added by me' in the list and the detail, and notes any entry", async () => {
    const calls: Call[] = [];
    mockIPC((cmd, args) => {
      calls.push({ cmd, args });
      if (cmd === "list_items") return { total: items.length, items };
      if (cmd === "resource_detail") {
        const a = args as { resourceType: string; id: string };
        const own = a.id === "m1";
        return { resource_type: a.resourceType, id: a.id, display: own ? "Ibuprofen 200 mg" : "Metformin", source: own ? "Added by me" : "https://portal.example.org/fhir", source_kind: own ? "self" : "portal", imported_at: "2026-11-02T10:00:00Z", json: "{}" };
      }
      if (cmd === "add_own") return { resource_type: "DocumentReference", id: "n1" };
    });
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    const [own, portal] = view.querySelectorAll<HTMLButtonElement>("#items .item");
    expect(own.querySelector(".own-badge")?.textContent).toBe("added by me");
    expect(portal.querySelector(".own-badge")).toBeNull();

    own.click();
    await tick();
    expect(view.querySelector("#detail-source")!.textContent).toContain("added by me");
    portal.click();
    await tick();
    expect(view.querySelector("#detail-source")!.textContent).not.toContain("added by me");

    // A note on the portal's entry names it as Type/id.
    view.querySelector<HTMLButtonElement>("#add-note")!.click();
    expect(view.querySelector<HTMLFormElement>("#note-form")!.hidden).toBe(false);
    expect(document.activeElement?.id).toBe("note-text");
    type(view, "#note-text", "Stopped in May: it upset my stomach.");
    view.querySelector<HTMLFormElement>("#note-form")!.requestSubmit();
    await tick();
    expect(calls.filter((c) => c.cmd === "add_own").map((c) => c.args)).toEqual([
      { person: 7, entry: { kind: "note", about: "MedicationRequest/m2", text: "Stopped in May: it upset my stomach." } },
    ]);
    expect(view.querySelector("#note-status")!.textContent).toContain("note was added");
  });

  it("shows the core's sentence for an empty note", async () => {
    mockIPC((cmd, args) => {
      if (cmd === "list_items") return { total: 1, items: items.slice(1) };
      if (cmd === "resource_detail") {
        const a = args as { resourceType: string; id: string };
        return { resource_type: a.resourceType, id: a.id, display: "Metformin", source: "p", source_kind: "portal", imported_at: "2026-11-02", json: "{}" };
      }
      if (cmd === "add_own") throw { code: "own_entry_refused", message: "Write the note first." };
    });
    const view = recordView(ann);
    document.body.appendChild(view);
    await tick();
    view.querySelector<HTMLButtonElement>("#items .item")!.click();
    await tick();
    view.querySelector<HTMLButtonElement>("#add-note")!.click();
    view.querySelector<HTMLFormElement>("#note-form")!.requestSubmit();
    await tick();
    expect(view.querySelector("#note-form > .error")!.textContent).toBe("Write the note first.");
  });

  it("tells an own source from others by name, among several sources of one fact", () => {
    expect(isOwn("Added by me")).toBe(true);
    expect(isOwn("https://portal.example.org/fhir, Added by me")).toBe(true);
    expect(isOwn("Added by me later.json")).toBe(false);
    expect(isOwn("")).toBe(false);
  });
});

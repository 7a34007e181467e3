// The home against a mocked IPC: allergies first and impossible to miss, the empty sentence
// apart from a recorded "No known allergy", own rows marked, a record's markup kept as text.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Home } from "./bindings/Home";
import type { HomeRow } from "./bindings/HomeRow";
import type { HomeTable } from "./bindings/HomeTable";
import type { ListItem } from "./bindings/ListItem";
import type { Person } from "./bindings/Person";
import type { Section } from "./bindings/Section";
import { ageLine, homeView, type HomeActions } from "./views/home";

const tick = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const tressa: Person = { id: 3, name: "Tressa Bergstrom", birth_date: "1968-04-03", gender: "female", sources: [], resources: 875 };

const row = (resource: string, cells: string[], strong: boolean[] = cells.map(() => false), own = false): HomeRow => ({ cells, strong, resource, own });

function table(section: Section, title: string, columns: string[], rows: HomeRow[], empty: string, note: string | null = null): HomeTable {
  return { section, title, columns, rows, note, empty };
}

const ALLERGY_COLUMNS = ["Substance", "Reactions", "Criticality", "Status", "Recorded"];

function home(tables: Partial<Record<Section, HomeTable>> = {}, extra: Partial<Home> = {}): Home {
  const all: HomeTable[] = [
    tables.allergies ?? table("allergies", "Allergies and intolerances", ALLERGY_COLUMNS, [], "No allergies or intolerances recorded."),
    tables.problems ?? table("problems", "Problems", ["Problem", "Status", "Onset", "Resolved", "Note"], [], "No problems recorded."),
    tables.medications ?? table("medications", "Medications", ["Medication", "Dosage", "Since", "Prescriber", "Note"], [], "No active medications recorded.", "Active medications."),
    tables.results ?? table("results", "Results", ["Date", "Test", "Result", "Unit", "Reference range", "Flag"], [], "No lab results in this period."),
    tables.vitals ?? table("vitals", "Vital signs", ["Measurement", "Date", "Value", "Unit"], [], "No vital signs recorded."),
    tables.visits ?? table("visits", "Visits", ["Date", "Visit", "Clinician / place", "Reason"], [], "No visits recorded."),
  ];
  return { person: 3, name: "Tressa Bergstrom", birth_date: "1968-04-03", gender: "female", age: 57, died: null, tables: all, sources: [], ...extra };
}

function actions(opened: ListItem[] = [], went: string[] = []): HomeActions {
  return { open: (item) => opened.push(item), connect: () => went.push("connect"), visits: () => went.push("visits") };
}

async function shown(h: Home, a = actions()): Promise<HTMLElement> {
  mockIPC((cmd, args) => {
    if (cmd === "home") {
      expect(args).toEqual({ person: 3 });
      return h;
    }
    throw new Error(`unexpected ${cmd}`);
  });
  const view = homeView(tressa, a);
  document.body.appendChild(view);
  await tick();
  return view;
}

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("home", () => {
  it("names the person with their age, then the allergies before the medications and problems", async () => {
    const view = await shown(
      home({
        allergies: table("allergies", "Allergies and intolerances", ALLERGY_COLUMNS, [row("AllergyIntolerance/a1", ["Peanut", "Anaphylaxis", "high", "active", "2001-02-03"], [true, false, true, false, false])], "No allergies or intolerances recorded."),
        medications: table("medications", "Medications", ["Medication", "Dosage", "Since", "Prescriber", "Note"], [row("MedicationRequest/m1", ["Lisinopril 10 MG", "1 daily", "2020-01-01", "Dr. Ray", ""], [true, false, false, false, false])], "No active medications recorded."),
      }),
    );
    expect(view.querySelector("#home-name")!.textContent).toBe("Tressa Bergstrom");
    expect(view.querySelector("#home-age")!.textContent).toBe("57 years old · born 1968-04-03");
    const allergies = view.querySelector("#home-allergies")!;
    const medications = view.querySelector("#home-medications")!;
    expect(allergies.compareDocumentPosition(medications) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(allergies.compareDocumentPosition(view.querySelector("#home-problems")!) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    // The first block after the name is the allergies, marked as an alert, its heading labelling it.
    expect(view.querySelector(".home-block")).toBe(allergies);
    expect(allergies.classList.contains("alert")).toBe(true);
    expect(allergies.getAttribute("aria-labelledby")).toBe("home-allergies-title");
    expect(allergies.querySelector("h2")!.textContent).toBe("Allergies and intolerances");
    // High criticality is strong, and so is the substance.
    expect(allergies.querySelector("strong.critical")!.textContent).toBe("high");
    expect(allergies.querySelector("th[scope=row] strong")!.textContent).toBe("Peanut");
    expect(medications.querySelector("th[scope=row]")!.textContent).toBe("Lisinopril 10 MG");
  });

  it("says when no allergy is recorded, and shows a recorded 'No known allergy' as a row", async () => {
    let view = await shown(home());
    const none = view.querySelector("#home-allergies .empty");
    expect(none!.textContent).toBe("No allergies or intolerances recorded.");
    expect(view.querySelector("#home-allergies table")).toBeNull();

    clearMocks();
    document.body.innerHTML = "";
    const nka = table("allergies", "Allergies and intolerances", ALLERGY_COLUMNS, [row("AllergyIntolerance/nka", ["No known allergy", "", "", "active", "2019-05-01"], [true, false, false, false, false])], "No allergies or intolerances recorded.");
    view = await shown(home({ allergies: nka }));
    expect(view.querySelector("#home-allergies .empty")).toBeNull();
    const rows = view.querySelectorAll("#home-allergies tbody tr");
    expect(rows.length).toBe(1);
    expect(rows[0].querySelector("th")!.textContent).toBe("No known allergy");
    expect(view.querySelector("#home-allergies")!.textContent).not.toContain("No allergies or intolerances recorded.");
  });

  it("marks the rows the patient added as 'added by me', and only those", async () => {
    const meds = table(
      "medications",
      "Medications",
      ["Medication", "Dosage", "Since", "Prescriber", "Note"],
      [
        row("MedicationStatement/own1", ["Ibuprofen 200 MG (patient-reported)", "as needed", "2024-01-01", "", ""], [true, false, false, false, false], true),
        row("MedicationRequest/m1", ["Lisinopril 10 MG", "1 daily", "2020-01-01", "Dr. Ray", ""], [true, false, false, false, false]),
      ],
      "No active medications recorded.",
    );
    const view = await shown(home({ medications: meds }));
    const rows = [...view.querySelectorAll("#home-medications tbody tr")];
    expect(rows.map((r) => r.querySelector(".own-badge")?.textContent ?? null)).toEqual(["added by me", null]);
    expect(rows[0].querySelector("button")!.textContent).toBe("Ibuprofen 200 MG");
    expect(rows[0].classList.contains("own")).toBe(true);
  });

  it("shows a record's markup as text", async () => {
    const evil = `<img src=x onerror="window.__xss=1">`;
    const view = await shown(
      home(
        { problems: table("problems", "Problems", ["Problem", "Status", "Onset", "Resolved", "Note"], [row("Condition/c1", [`Rash ${evil}`, "active", "2024-01-02", "", ""], [true, false, false, false, false])], "No problems recorded.") },
        { name: `Eve ${evil}`, sources: [{ name: `Clinic ${evil}`, kind: "portal", resources: 3, last_updated: "2024-03-04T05:06:07Z", attention: `Sign in again ${evil}` }] },
      ),
    );
    expect(view.querySelector("#home-name")!.textContent).toBe(`Eve ${evil}`);
    expect(view.querySelector("#home-problems tbody th")!.textContent).toBe(`Rash ${evil}`);
    expect(view.querySelector("#home-sources")!.textContent).toContain(`Clinic ${evil}`);
    expect(view.querySelector("img")).toBeNull();
    expect((window as unknown as { __xss?: number }).__xss).toBeUndefined();
  });

  it("lists active problems, latest vitals and out-of-range results; each row opens its entry", async () => {
    const opened: ListItem[] = [];
    const went: string[] = [];
    const view = await shown(
      home({
        problems: table(
          "problems",
          "Problems",
          ["Problem", "Status", "Onset", "Resolved", "Note"],
          [row("Condition/c1", ["Hypertension", "active", "2010-01-01", "", ""], [true, false, false, false, false]), row("Condition/c2", ["Sprain", "resolved", "2015-01-01", "2015-02-01", ""])],
          "No problems recorded.",
        ),
        vitals: table(
          "vitals",
          "Vital signs",
          ["Measurement", "Date", "Value", "Unit"],
          [row("Observation/w3", ["Body weight", "2024-03-01", "80", "kg"]), row("Observation/w2", ["Body weight", "2023-03-01", "82", "kg"]), row("Observation/h1", ["Heart rate", "2024-03-01", "70", "/min"])],
          "No vital signs recorded.",
        ),
        results: table(
          "results",
          "Results",
          ["Date", "Test", "Result", "Unit", "Reference range", "Flag"],
          [row("Observation/g1", ["2024-03-01", "Glucose", "180", "mg/dL", "70–99", "H"], [false, false, true, false, false, true]), row("Observation/s1", ["2024-03-01", "Sodium", "140", "mmol/L", "135–145", ""])],
          "No lab results in this period.",
        ),
      }),
      actions(opened, went),
    );
    expect([...view.querySelectorAll("#home-problems > table:not(#home-other-problems) tbody th")].map((e) => e.textContent)).toEqual(["Hypertension"]);
    const toggle = view.querySelector<HTMLButtonElement>("#home-show-other-problems")!;
    expect(view.querySelector<HTMLElement>("#home-other-problems")!.hidden).toBe(true);
    toggle.click();
    expect(toggle.getAttribute("aria-expanded")).toBe("true");
    expect(view.querySelector("#home-other-problems")!.textContent).toContain("Sprain");

    const vitals = [...view.querySelectorAll("#home-vitals tbody tr")].map((r) => [...r.children].map((c) => c.textContent));
    expect(vitals).toEqual([
      ["Body weight", "80", "kg", "2024-03-01", "82 kg (2023-03-01)"],
      ["Heart rate", "70", "/min", "2024-03-01", ""],
    ]);
    expect([...view.querySelectorAll("#home-results tbody th")].map((e) => e.textContent)).toEqual(["Glucose"]);
    expect(view.querySelector("#home-results tbody strong")!.textContent).toBe("180");

    view.querySelector<HTMLButtonElement>("#home-results tbody button")!.click();
    expect(opened).toEqual([{ resource_type: "Observation", id: "g1", date: "2024-03-01", display: "Glucose", detail: null, code: null, source: "" }]);
    view.querySelector<HTMLButtonElement>("#home-all-visits")!.click();
    expect(went).toEqual(["visits"]);
  });

  it("shows each source with its last update and what needs the patient", async () => {
    const went: string[] = [];
    const view = await shown(
      home(
        {},
        {
          sources: [
            { name: "Good Health Clinic", kind: "portal", resources: 870, last_updated: "2024-03-04T05:06:07Z", attention: "Sign in again: the portal signed you out." },
            { name: "Added by me", kind: "self", resources: 1, last_updated: null, attention: null },
          ],
        },
      ),
      actions([], went),
    );
    const items = [...view.querySelectorAll("#home-sources li")];
    expect(items[0].textContent).toContain("Good Health Clinic · portal · 870 items · last updated 2024-03-04 05:06");
    expect(items[0].querySelector(".attention")!.textContent).toBe("Sign in again: the portal signed you out.");
    expect(items[1].textContent).toContain("added by me");
    expect(items[1].querySelector(".attention")).toBeNull();
    items[0].querySelector("button")!.click();
    expect(went).toEqual(["connect"]);
  });

  it("says the year of death instead of an age", () => {
    expect(ageLine({ age: null, died: "2000", birth_date: "1920-05-06" })).toBe("Died 2000 · born 1920-05-06");
    expect(ageLine({ age: null, died: "", birth_date: null })).toBe("Deceased · birth date not recorded");
    expect(ageLine({ age: 1, died: null, birth_date: "2024-01-01" })).toBe("1 year old · born 2024-01-01");
  });

  it("with no record yet, says the next step in one sentence with one button", () => {
    mockIPC(() => {
      throw new Error("no call expected");
    });
    const went: string[] = [];
    const view = homeView(null, actions([], went));
    expect(view.querySelector("#home-next")!.textContent).toMatch(/^Your vault is ready and holds no record yet: .*\.$/);
    const buttons = view.querySelectorAll("button");
    expect(buttons.length).toBe(1);
    (buttons[0] as HTMLButtonElement).click();
    expect(went).toEqual(["connect"]);
  });
});

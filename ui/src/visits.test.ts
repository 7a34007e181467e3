// The visits and the bills against a mocked IPC: entries grouped under their visit, days paged,
// entries opening their detail; bills and claims a view of their own.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { ListItem } from "./bindings/ListItem";
import type { Person } from "./bindings/Person";
import type { Visit } from "./bindings/Visit";
import type { VisitPage } from "./bindings/VisitPage";
import { billsView } from "./views/bills";
import { dayTitle, visitsView } from "./views/visits";

const tick = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const tressa: Person = { id: 3, name: "Tressa Bergstrom", birth_date: "1968-04-03", gender: "female", sources: [], resources: 875 };

const item = (resource_type: string, id: string, display: string, date: string | null = "2024-03-05", detail: string | null = null): ListItem => ({
  resource_type,
  id,
  date,
  display,
  detail,
  code: null,
  source: "clinic.json",
});

function visit(id: string, parts: Partial<Visit> = {}): Visit {
  return { visit: item("Encounter", id, "General examination", "2024-03-05T09:30:00Z"), places: [], people: [], diagnoses: [], results: [], medicines: [], procedures: [], notes: [], other: [], ...parts };
}

afterEach(() => {
  clearMocks();
  document.body.innerHTML = "";
});

describe("visits", () => {
  it("groups what happened under its visit, and the day's other entries apart", async () => {
    const page: VisitPage = {
      total_days: 2,
      days: [
        {
          day: "2024-03-05",
          visits: [
            visit("e1", {
              places: ["Good Health Clinic"],
              people: ["Dr. Ray Lee"],
              diagnoses: [item("Condition", "c1", "Hypertension", "2024-03-05", "active")],
              results: [item("Observation", "o1", "Glucose", "2024-03-05", "180 mg/dL")],
              medicines: [item("MedicationRequest", "m1", "Lisinopril 10 MG")],
              procedures: [item("Procedure", "p1", "Blood pressure check")],
              notes: [item("DocumentReference", "d1", "Visit note")],
            }),
            visit("e2"),
          ],
          other: [item("Immunization", "i1", "Influenza vaccine")],
        },
        { day: "", visits: [], other: [item("Observation", "o9", "Smoking status", null)] },
      ],
    };
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "visits") {
        asked.push(args);
        return page;
      }
      throw new Error(`unexpected ${cmd}`);
    });
    const opened: ListItem[] = [];
    const view = visitsView(tressa, (i) => opened.push(i));
    document.body.appendChild(view);
    await tick();
    expect(asked).toEqual([{ person: 3, offset: 0, limit: 20 }]);
    expect(view.querySelector("#person-banner")!.textContent).toBe("Visits of Tressa Bergstrom · born 1968-04-03");
    const days = [...view.querySelectorAll(".visit-day")];
    expect(days.map((d) => d.getAttribute("data-day"))).toEqual(["2024-03-05", ""]);
    expect(days[0].querySelector("h2 time")!.getAttribute("datetime")).toBe("2024-03-05");
    expect(days[1].querySelector("h2")!.textContent).toBe("Without a date");

    const first = days[0].querySelector('.visit[data-id="e1"]')!;
    expect(first.querySelector("h3")!.textContent).toBe("General examination at 09:30");
    expect(first.querySelector(".visit-where")!.textContent).toBe("Where: Good Health Clinic");
    expect(first.querySelector(".visit-who")!.textContent).toBe("Who: Dr. Ray Lee");
    const group = (name: string) => [...first.querySelectorAll(`.visit-${name} .entry .label`)].map((e) => e.textContent);
    expect(group("diagnoses")).toEqual(["Hypertension"]);
    expect(group("results")).toEqual(["Glucose"]);
    expect(first.querySelector(".visit-results .entry")!.textContent).toBe("Glucose · 180 mg/dL");
    expect(group("medicines")).toEqual(["Lisinopril 10 MG"]);
    expect(group("procedures")).toEqual(["Blood pressure check"]);
    expect(group("notes")).toEqual(["Visit note"]);
    expect([...first.querySelectorAll("h4")].map((e) => e.textContent)).toEqual(["Diagnoses", "Results", "Medicines", "Procedures", "Notes"]);
    // Nothing of the first visit's under the second, nor under the day's other entries.
    const second = days[0].querySelector('.visit[data-id="e2"]')!;
    expect(second.querySelectorAll(".entry").length).toBe(0);
    expect(second.textContent).toContain("Nothing else was recorded at this visit.");
    const other = days[0].querySelector(".day-other")!;
    expect(other.querySelector("h3")!.textContent).toBe("Also on this day");
    expect([...other.querySelectorAll(".entry .label")].map((e) => e.textContent)).toEqual(["Influenza vaccine"]);

    first.querySelector<HTMLButtonElement>('.visit-results .entry[data-id="o1"]')!.click();
    first.querySelector<HTMLButtonElement>(".visit-open")!.click();
    expect(opened.map((i) => `${i.resource_type}/${i.id}`)).toEqual(["Observation/o1", "Encounter/e1"]);
    expect(view.querySelector<HTMLElement>("#visits-more")!.hidden).toBe(true);
  });

  it("shows earlier days on demand, from where the last page ended", async () => {
    const asked: { offset: number; limit: number }[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== "visits") throw new Error(`unexpected ${cmd}`);
      const a = args as { offset: number; limit: number };
      asked.push({ offset: a.offset, limit: a.limit });
      const count = a.offset === 0 ? 20 : 5;
      return { total_days: 25, days: Array.from({ length: count }, (_, i) => ({ day: `2024-01-${String(25 - a.offset - i).padStart(2, "0")}`, visits: [], other: [item("Observation", `o${a.offset + i}`, "Weight")] })) };
    });
    const view = visitsView(tressa, () => undefined);
    document.body.appendChild(view);
    await tick();
    expect(view.querySelector("#visits-count")!.textContent).toBe("20 of 25 days shown, newest first.");
    const more = view.querySelector<HTMLButtonElement>("#visits-more")!;
    expect(more.hidden).toBe(false);
    more.click();
    await tick();
    expect(asked).toEqual([
      { offset: 0, limit: 20 },
      { offset: 20, limit: 20 },
    ]);
    expect(view.querySelectorAll(".visit-day").length).toBe(25);
    expect(more.hidden).toBe(true);
    // The reader goes on at the first new day.
    expect(document.activeElement).toBe(view.querySelectorAll(".visit-day")[20].querySelector("h2"));
  });

  it("names a day in words and keeps a partial date as given", () => {
    expect(dayTitle("2024-03-05")).toContain("2024");
    expect(dayTitle("2024-03")).toBe("2024-03");
    expect(dayTitle("")).toBe("Without a date");
  });
});

describe("bills and claims", () => {
  it("are a view of their own, listing the bills category", async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "list_items") {
        asked.push(args);
        return { total: 2, items: [item("ExplanationOfBenefit", "eob1", "ExplanationOfBenefit · active", "2024-03-05", "$120.00"), item("Claim", "cl1", "Claim · active", "2024-03-05")] };
      }
      throw new Error(`unexpected ${cmd}`);
    });
    const opened: ListItem[] = [];
    const view = billsView(tressa, (i) => opened.push(i));
    document.body.appendChild(view);
    await tick();
    expect(asked).toEqual([{ person: 3, category: "bills", offset: 0, limit: 100 }]);
    expect(view.querySelector("h1")!.textContent).toBe("Bills and claims");
    expect(view.querySelector("#bills-count")!.textContent).toBe("2 bills and claims, newest first.");
    const entries = [...view.querySelectorAll("#bills-items .entry")];
    expect(entries.map((e) => e.getAttribute("data-type"))).toEqual(["ExplanationOfBenefit", "Claim"]);
    expect(entries[0].textContent).toBe("2024-03-05 ExplanationOfBenefit · active · $120.00");
    (entries[1] as HTMLButtonElement).click();
    expect(opened.map((i) => i.id)).toEqual(["cl1"]);
  });
});

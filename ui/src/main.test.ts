// The window as a whole: the header's switcher drives the record shown (mocked IPC).
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, expect, it } from "vitest";
import type { Person } from "./bindings/Person";

const tick = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

afterEach(() => clearMocks());

it("shows the chosen person's record, and another person's when the switcher changes", async () => {
  const ann: Person = { id: 1, name: "Ann Lee", birth_date: "1980-02-03", gender: null, sources: [], resources: 1 };
  const bob: Person = { id: 2, name: "Bob Lee", birth_date: "2011-05-06", gender: null, sources: [], resources: 1 };
  const listed: number[] = [];
  mockIPC((cmd, args) => {
    if (cmd === "vault_status") return { exists: true, unlocked: true, dir: "/v", demo_portal: "http://127.0.0.1/fhir" };
    if (cmd === "people") return [ann, bob];
    if (cmd === "list_items") {
      const person = (args as { person: number }).person;
      listed.push(person);
      return { total: 1, items: [{ resource_type: "Condition", id: `c${person}`, date: null, display: `Condition of ${person}`, detail: null, code: null, source: "f.json" }] };
    }
    if (cmd === "home") {
      const person = (args as { person: number }).person;
      const problems = { section: "problems", title: "Problems", columns: ["Problem", "Status"], rows: [{ cells: [`Problem of ${person}`, "active"], strong: [true, false], resource: `Condition/c${person}`, own: false }], note: null, empty: "No problems recorded." };
      return { person, name: person === 1 ? "Ann Lee" : "Bob Lee", birth_date: null, gender: null, age: 40, died: null, tables: [problems], sources: [] };
    }
    if (cmd === "resource_detail") {
      const a = args as { resourceType: string; id: string };
      return { resource_type: a.resourceType, id: a.id, display: `Detail of ${a.id}`, source: "f.json", source_kind: "file", imported_at: "2024-01-01T00:00:00Z", json: "{}" };
    }
  });
  document.body.innerHTML = `<main id="app"></main>`;
  await import("./main");
  await tick();
  const switcher = document.querySelector<HTMLSelectElement>("header #person-switcher")!;
  expect(switcher.selectedOptions[0].textContent).toBe("Ann Lee (born 1980-02-03)");
  // Right after unlock: the chosen person's home, first in the navigation, with no click.
  expect(document.querySelector("#home-name")!.textContent).toBe("Ann Lee");
  const sections = [...document.querySelectorAll("nav button")].map((b) => b.textContent);
  expect(sections[0]).toBe("Home");
  expect(sections).toEqual(expect.arrayContaining(["My record", "Visits", "Bills and claims"]));
  expect(document.querySelector("#nav-home")!.getAttribute("aria-current")).toBe("true");
  // A row of the home opens its entry in the record's detail.
  document.querySelector<HTMLButtonElement>("#home-problems tbody button")!.click();
  await tick();
  expect(document.querySelector("#nav-record")!.getAttribute("aria-current")).toBe("true");
  expect(document.querySelector("#detail-title")!.textContent).toBe("Detail of c1");
  expect(document.activeElement).toBe(document.querySelector("#detail-title"));
  expect(document.querySelector("#person-banner")!.textContent).toBe("Record of Ann Lee · born 1980-02-03");
  expect(document.querySelector("#items .label")!.textContent).toBe("Condition of 1");

  switcher.value = "2";
  switcher.dispatchEvent(new Event("change"));
  await tick();
  expect(document.querySelector("#person-banner")!.textContent).toBe("Record of Bob Lee · born 2011-05-06");
  expect(document.querySelector("#items .label")!.textContent).toBe("Condition of 2");
  expect(listed).toEqual([1, 2]);
  // The home follows the switcher too.
  document.querySelector<HTMLButtonElement>("#nav-home")!.click();
  await tick();
  expect(document.querySelector("#home-name")!.textContent).toBe("Bob Lee");

  // The export screen names the chosen person too; the People view does not follow the switcher.
  document.querySelector<HTMLButtonElement>("#nav-export")!.click();
  expect(document.querySelector("#person-banner")!.textContent).toContain("Bob Lee");
  document.querySelector<HTMLButtonElement>("#nav-people")!.click();
  await tick();
  expect(document.querySelectorAll("#people .person").length).toBe(2);
  // Still Bob after the People view re-read everyone.
  expect(switcher.value).toBe("2");
});

// People: the header's switcher, "who is this?" on sync and import, and managing people, against
// a mocked IPC.
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it } from "vitest";
import type { Person } from "./bindings/Person";
import { chosen, choose, onPeopleChange, personSwitcher, refreshPeople, resetPeople } from "./people";
import { connectionsView } from "./views/connections";
import { peopleView } from "./views/people";
import { askWhoIsThis, question } from "./views/who";

const tick = async (n = 3) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

const ann: Person = {
  id: 1,
  name: "Ann Lee",
  birth_date: "1980-02-03",
  gender: "female",
  sources: [
    { id: 10, kind: "portal", name: "Demo Portal", patient_id: "p1" },
    { id: 11, kind: "file", name: "old-clinic.json", patient_id: "a9" },
  ],
  resources: 120,
};
const bob: Person = { id: 2, name: "Bob <b>Lee</b>", birth_date: null, gender: null, sources: [{ id: 12, kind: "file", name: "bob.json", patient_id: "b1" }], resources: 1 };

afterEach(() => {
  clearMocks();
  resetPeople(true);
  document.body.innerHTML = "";
});

describe("person switcher", () => {
  it("shows the only person's name, and says so when there is nobody yet", async () => {
    let people: Person[] = [];
    mockIPC((cmd) => (cmd === "people" ? people : undefined));
    const header = personSwitcher();
    await refreshPeople();
    expect(header.querySelector<HTMLSelectElement>("#person-switcher")!.hidden).toBe(true);
    expect(header.querySelector<HTMLElement>("#no-person")!.hidden).toBe(false);
    expect(chosen()).toBeNull();

    people = [ann];
    await refreshPeople();
    const select = header.querySelector<HTMLSelectElement>("#person-switcher")!;
    expect(select.hidden).toBe(false);
    expect(select.selectedOptions[0].textContent).toBe("Ann Lee (born 1980-02-03)");
    expect(header.querySelector("label")!.getAttribute("for")).toBe("person-switcher");
    expect(chosen()?.id).toBe(1);
  });

  it("switches person, remembers the choice, and falls back when that person is gone", async () => {
    let people = [ann, bob];
    mockIPC((cmd) => (cmd === "people" ? people : undefined));
    const header = personSwitcher();
    document.body.appendChild(header);
    await refreshPeople();
    const select = header.querySelector<HTMLSelectElement>("#person-switcher")!;
    // A name is text, never markup.
    expect(select.options[1].textContent).toBe("Bob <b>Lee</b>");
    expect(select.querySelector("b")).toBeNull();
    let changes = 0;
    onPeopleChange(() => changes++);
    select.value = "2";
    select.dispatchEvent(new Event("change"));
    expect(chosen()?.id).toBe(2);
    expect(changes).toBe(1);
    choose(2);
    expect(changes).toBe(1);

    await refreshPeople();
    expect(chosen()?.id).toBe(2);
    expect(select.value).toBe("2");

    people = [ann];
    await refreshPeople();
    expect(chosen()?.id).toBe(1);
    expect(select.value).toBe("1");
  });
});

describe("who is this?", () => {
  it("asks in plain words, with everyone in the vault", () => {
    expect(question([ann])).toBe("Is this Ann Lee's record, or someone new?");
    expect(question([ann, bob, { ...bob, id: 3, name: "Cy" }])).toBe("Is this Ann Lee's, Bob <b>Lee</b>'s or Cy's record, or someone new?");
  });

  it("answers with the person chosen, someone new, or nothing", async () => {
    const where = document.createElement("section");
    const first = askWhoIsThis(where, [ann, bob], "Demo Portal");
    const dialog = where.querySelector("#who-is-this")!;
    expect(dialog.getAttribute("role")).toBe("dialog");
    expect(dialog.textContent).toContain("Demo Portal");
    expect([...dialog.querySelectorAll("button")].map((b) => b.textContent)).toEqual([
      "Yes, Ann Lee's (born 1980-02-03)",
      "Yes, Bob <b>Lee</b>'s",
      "Someone new",
      "Cancel",
    ]);
    where.querySelector<HTMLButtonElement>("#who-person-2")!.click();
    expect(await first).toEqual({ existing: 2 });
    expect(where.querySelector("#who-is-this")).toBeNull();

    const second = askWhoIsThis(where, [ann], "Demo Portal");
    where.querySelector<HTMLButtonElement>("#who-new")!.click();
    expect(await second).toBe("new");

    const third = askWhoIsThis(where, [ann], "Demo Portal");
    where.querySelector<HTMLButtonElement>("#who-cancel")!.click();
    expect(await third).toBeNull();
  });

  const portal = { id: 5, name: "Demo Portal", fhir_base: "http://127.0.0.1/fhir", patient_id: "p2", scopes: "", status: "connected", connected_at: "2026-01-01T00:00:00Z", last_sync_at: null };
  const report = { connection: 5, portal: "http://127.0.0.1/fhir", incremental: false, pages: 3, referenced: 0, attachments: 0, retries: 0, new: 40, updated: 0, unchanged: 0, older: 0 };

  /** A sync that asks on its first try and succeeds with an answer; records what each try sent. */
  function portalThatAsks(people: Person[][]) {
    const syncs: unknown[] = [];
    let peopleCalls = 0;
    mockIPC((cmd, args) => {
      if (cmd === "connections") return [portal];
      if (cmd === "people") return people[Math.min(peopleCalls++, people.length - 1)];
      if (cmd === "sync_portal") {
        const person = (args as { person: unknown }).person;
        syncs.push(person);
        if (person === null) throw { code: "who_is_this", message: "The record in Demo Portal is of someone OwnRecord cannot match." };
        return report;
      }
    });
    return syncs;
  }

  it("on a first sync that matches nobody, asks and syncs again as the patient said", async () => {
    const annWithPortal = { ...ann, sources: [...ann.sources, { id: 13, kind: "portal", name: "Demo Portal", patient_id: "p2" }] };
    const syncs = portalThatAsks([[ann], [ann], [annWithPortal]]);
    const header = personSwitcher();
    const view = connectionsView("http://127.0.0.1/fhir");
    document.body.append(header, view);
    await tick();
    view.querySelector<HTMLButtonElement>(".connection .sync")!.click();
    await tick();
    const dialog = view.querySelector("#who-is-this")!;
    expect(dialog.querySelector("#who-question")!.textContent).toBe("Is this Ann Lee's record, or someone new?");
    // The question comes before anything is stored: no error is shown.
    expect(view.querySelector(".error")).toBeNull();
    view.querySelector<HTMLButtonElement>("#who-person-1")!.click();
    await tick();
    expect(syncs).toEqual([null, { existing: 1 }]);
    expect(view.querySelector(".status.done")!.textContent).toBe("Synced: 40 new, 0 updated, 0 unchanged.");
    expect(view.querySelector("#who-is-this")).toBeNull();
    expect(view.querySelector(".connection .person-of")!.textContent).toBe("Record of Ann Lee (born 1980-02-03)");
  });

  it("someone new appears in the header after the sync", async () => {
    const syncs = portalThatAsks([[ann], [ann], [ann, bob]]);
    const header = personSwitcher();
    const view = connectionsView("http://127.0.0.1/fhir");
    document.body.append(header, view);
    await tick();
    view.querySelector<HTMLButtonElement>(".connection .sync")!.click();
    await tick();
    view.querySelector<HTMLButtonElement>("#who-new")!.click();
    await tick();
    expect(syncs).toEqual([null, "new"]);
    expect(header.querySelectorAll("#person-switcher option").length).toBe(2);
    // The person shown stays the one chosen before.
    expect(chosen()?.id).toBe(1);
  });

  it("cancelling downloads nothing", async () => {
    const syncs = portalThatAsks([[ann]]);
    const view = connectionsView("http://127.0.0.1/fhir");
    await tick();
    view.querySelector<HTMLButtonElement>(".connection .sync")!.click();
    await tick();
    view.querySelector<HTMLButtonElement>("#who-cancel")!.click();
    await tick();
    expect(syncs).toEqual([null]);
    expect(view.querySelector(".connection .status")!.textContent).toBe("Not synced: nothing was downloaded.");
  });

  it("asks on an import too, and imports the file as the patient said", async () => {
    const imports: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === "connections") return [];
      if (cmd === "people") return [ann];
      if (cmd === "choose_import_file") return "/home/me/Downloads/clinic-export.json";
      if (cmd === "import_file") {
        const a = args as { path: string; person: unknown };
        imports.push([a.path, a.person]);
        if (a.person === null) throw { code: "who_is_this", message: "…" };
        return { file: "clinic-export.json", new: 9, updated: 1, unchanged: 0, older: 0, documents: [] };
      }
    });
    const view = connectionsView("http://127.0.0.1/fhir");
    await tick();
    view.querySelector<HTMLButtonElement>("#import-file")!.click();
    await tick();
    expect(view.querySelector("#who-is-this")!.textContent).toContain("clinic-export.json");
    view.querySelector<HTMLButtonElement>("#who-new")!.click();
    await tick();
    expect(imports).toEqual([
      ["/home/me/Downloads/clinic-export.json", null],
      ["/home/me/Downloads/clinic-export.json", "new"],
    ]);
    expect(view.querySelector("#import-result")!.textContent).toBe("Imported clinic-export.json: 9 new, 1 updated, 0 unchanged.");
  });

  it("shows other errors as they are, without asking", async () => {
    mockIPC((cmd) => {
      if (cmd === "connections") return [portal];
      if (cmd === "people") return [];
      if (cmd === "sync_portal") throw { code: "needs_sign_in", message: "Your sign-in to Demo Portal has expired." };
    });
    const view = connectionsView("http://127.0.0.1/fhir");
    await tick();
    view.querySelector<HTMLButtonElement>(".connection .sync")!.click();
    await tick();
    expect(view.querySelector("#who-is-this")).toBeNull();
    expect(view.querySelector(".error")!.textContent).toBe("Your sign-in to Demo Portal has expired.");
  });
});

describe("people view", () => {
  /** The vault's people, changing as the commands say. */
  function vault() {
    let people = [ann, bob];
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      if (cmd === "people") return people;
      calls.push([cmd, args]);
      if (cmd === "rename_person") {
        const a = args as { person: number; name: string };
        people = people.map((p) => (p.id === a.person ? { ...p, name: a.name } : p));
        return null;
      }
      if (cmd === "link_people") {
        people = [{ ...ann, sources: [...ann.sources, ...bob.sources] }];
        return null;
      }
      if (cmd === "unlink_source") return 3;
      if (cmd === "remove_person") {
        if ((args as { confirmation: string }).confirmation !== "DELETE") throw { code: "not_confirmed", message: "Type DELETE" };
        people = people.filter((p) => p.id !== (args as { person: number }).person);
        return 1;
      }
    });
    return calls;
  }
  const card = (view: HTMLElement, id: number) => view.querySelector<HTMLElement>(`.person[data-person="${id}"]`)!;

  it("lists people with their sources and counts, names as text", async () => {
    vault();
    const view = peopleView();
    await tick();
    expect(view.querySelectorAll(".person").length).toBe(2);
    const a = card(view, 1);
    expect(a.querySelector("h2")!.textContent).toBe("Ann Lee");
    expect(a.querySelector(".muted")!.textContent).toBe("Born 1980-02-03 · female · 120 entries");
    expect([...a.querySelectorAll(".source")].map((s) => s.firstChild!.textContent)).toEqual([
      "Portal Demo Portal (patient p1)",
      "File old-clinic.json (patient a9)",
    ]);
    // A source can be split off only from someone with more than one.
    expect(a.querySelectorAll(".split").length).toBe(2);
    expect(card(view, 2).querySelectorAll(".split").length).toBe(0);
    expect(card(view, 2).querySelector("h2")!.textContent).toBe("Bob <b>Lee</b>");
    expect(view.querySelector("b")).toBeNull();
    // Every input has a label.
    for (const input of view.querySelectorAll("input, select")) expect(input.closest("label")).not.toBeNull();
  });

  it("renames, links and splits, and the header follows", async () => {
    const calls = vault();
    const header = personSwitcher();
    const view = peopleView();
    document.body.append(header, view);
    await tick();
    const name = card(view, 2).querySelector<HTMLInputElement>(".rename-input")!;
    name.value = "Robert Lee";
    card(view, 2).querySelector<HTMLButtonElement>(".rename")!.click();
    await tick();
    expect(calls.pop()).toEqual(["rename_person", { person: 2, name: "Robert Lee" }]);
    expect(card(view, 2).querySelector("h2")!.textContent).toBe("Robert Lee");
    expect(header.querySelector("#person-switcher")!.textContent).toContain("Robert Lee");

    card(view, 1).querySelector<HTMLButtonElement>(".split[data-source='11']")!.click();
    await tick();
    expect(calls.pop()).toEqual(["unlink_source", { person: 1, source: 11 }]);
    expect(view.querySelector("#people-status")!.textContent).toBe("File old-clinic.json (patient a9) is now a person of its own.");

    const other = card(view, 1).querySelector<HTMLSelectElement>(".link-select")!;
    expect(other.value).toBe("2");
    card(view, 1).querySelector<HTMLButtonElement>(".link")!.click();
    await tick();
    expect(calls.pop()).toEqual(["link_people", { keep: 1, other: 2 }]);
    expect(view.querySelectorAll(".person").length).toBe(1);
    expect(header.querySelectorAll("#person-switcher option").length).toBe(1);
  });

  it("removes a person only once DELETE is typed", async () => {
    const calls = vault();
    const view = peopleView();
    await tick();
    const bobCard = card(view, 2);
    const confirm = bobCard.querySelector<HTMLInputElement>(".remove-confirm")!;
    const remove = bobCard.querySelector<HTMLButtonElement>(".remove")!;
    expect(remove.textContent).toBe("Remove Bob <b>Lee</b>");
    expect(remove.disabled).toBe(true);
    confirm.value = "delete";
    confirm.dispatchEvent(new Event("input"));
    expect(remove.disabled).toBe(true);
    confirm.value = "DELETE";
    confirm.dispatchEvent(new Event("input"));
    expect(remove.disabled).toBe(false);
    remove.click();
    await tick();
    expect(calls).toEqual([["remove_person", { person: 2, confirmation: "DELETE" }]]);
    expect(view.querySelectorAll(".person").length).toBe(1);
    expect(view.querySelector("#people-status")!.textContent).toBe("Removed Bob <b>Lee</b>: 1 resource deleted.");
  });

  it("shows a refusal from the core", async () => {
    mockIPC((cmd) => {
      if (cmd === "people") return [ann];
      if (cmd === "rename_person") throw { code: "people_change_refused", message: "A name cannot be empty." };
    });
    const view = peopleView();
    await tick();
    card(view, 1).querySelector<HTMLInputElement>(".rename-input")!.value = " ";
    card(view, 1).querySelector<HTMLButtonElement>(".rename")!.click();
    await tick();
    expect(view.querySelector(".error")!.textContent).toBe("A name cannot be empty.");
  });
});

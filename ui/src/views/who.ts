// "Who is this?": when a sync or an import brings a record OwnRecord cannot match to one person,
// nothing is stored until the patient says whose it is, or that it is someone new.
import { AppError } from "../api";
import type { Person } from "../bindings/Person";
import type { PersonChoice } from "../bindings/PersonChoice";
import { h } from "../dom";
import { everyone, possessive, refreshPeople } from "../people";

/** "Is this Ann's record, or someone new?", "Is this Ann's or Bob's record, or someone new?" */
export function question(people: Person[]): string {
  const names = people.map((p) => possessive(p.name));
  const listed = names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} or ${names[names.length - 1]}`;
  return names.length === 0 ? "Is this someone new?" : `Is this ${listed} record, or someone new?`;
}

/**
 * Asks, in `where`, whose record `what` (a portal's or a file's name) is. Resolves to the answer,
 * or null when the patient cancels.
 */
export function askWhoIsThis(where: HTMLElement, people: Person[], what: string): Promise<PersonChoice | null> {
  where.querySelector("#who-is-this")?.remove();
  return new Promise((resolve) => {
    const box = h(
      "section",
      { class: "notice who", id: "who-is-this", role: "dialog", "aria-labelledby": "who-title", "aria-describedby": "who-question" },
      h("h2", { id: "who-title" }, "Whose record is this?"),
      h("p", {}, `The record from ${what} does not match anyone in your vault for certain, so nothing from it was stored yet.`),
      h("p", { id: "who-question" }, question(people)),
    );
    const answer = (choice: PersonChoice | null) => {
      box.remove();
      resolve(choice);
    };
    const buttons = h("div", { class: "row" });
    for (const p of people) {
      const label = p.birth_date ? `Yes, ${possessive(p.name)} (born ${p.birth_date})` : `Yes, ${possessive(p.name)}`;
      const yes = h("button", { id: `who-person-${p.id}`, class: "who-person" }, label);
      yes.addEventListener("click", () => answer({ existing: p.id }));
      buttons.appendChild(yes);
    }
    const someoneNew = h("button", { id: "who-new" }, "Someone new");
    someoneNew.addEventListener("click", () => answer("new"));
    const cancel = h("button", { id: "who-cancel", class: "quiet" }, "Cancel");
    cancel.addEventListener("click", () => answer(null));
    buttons.append(someoneNew, cancel);
    box.appendChild(buttons);
    const heading = where.querySelector(":scope > h1");
    if (heading) heading.after(box);
    else where.prepend(box);
    (box.querySelector("button") as HTMLButtonElement).focus();
  });
}

/**
 * Runs `run` (a sync or an import) and, if it asks who the record is of, asks the patient in
 * `where` and runs it again with the answer. Resolves to null when they cancel. The people are
 * re-read afterwards, so the header knows a new person.
 */
export async function withWhoIsThis<T>(where: HTMLElement, what: string, run: (person: PersonChoice | null) => Promise<T>): Promise<T | null> {
  let result: T;
  try {
    result = await run(null);
  } catch (e) {
    if (!(e instanceof AppError && e.code === "who_is_this")) throw e;
    const people = await refreshPeople().catch(() => everyone());
    const choice = await askWhoIsThis(where, people, what);
    if (choice === null) return null;
    result = await run(choice);
  }
  await refreshPeople();
  return result;
}

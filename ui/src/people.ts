// The people whose records the vault holds, and whose record the window shows: the header's
// switcher, remembered for the session, and the banner naming the person on each screen.
import { api } from "./api";
import type { Person } from "./bindings/Person";
import { clear, h } from "./dom";

let people: Person[] = [];
let chosenId: number | null = null;
const listeners = new Set<() => void>();

/** Everyone, as last read from the vault. */
export function everyone(): Person[] {
  return people;
}

/** The person whose record the window shows (none while the vault holds no record). */
export function chosen(): Person | null {
  return people.find((p) => p.id === chosenId) ?? null;
}

/** Re-reads the people (after a sync, an import or a change); keeps the chosen person if they are still there. */
export async function refreshPeople(): Promise<Person[]> {
  people = await api.people();
  if (!people.some((p) => p.id === chosenId)) chosenId = people[0]?.id ?? null;
  notify();
  return people;
}

export function choose(id: number): void {
  if (id === chosenId || !people.some((p) => p.id === id)) return;
  chosenId = id;
  notify();
}

/** Calls `listener` whenever the people or the chosen person change. Returns the unsubscribe. */
export function onPeopleChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Forgets the listeners (the window is rebuilt) and, with `everything`, the people too (a wipe). */
export function resetPeople(everything = false): void {
  listeners.clear();
  if (everything) {
    people = [];
    chosenId = null;
  }
}

function notify(): void {
  for (const listener of [...listeners]) listener();
}

/** "Ann Lee (born 1980-02-03)": a name with what tells two people of the same name apart. */
export function personLabel(p: Person): string {
  return p.birth_date ? `${p.name} (born ${p.birth_date})` : p.name;
}

/** `Ann Lee's`. */
export function possessive(name: string): string {
  return `${name}'s`;
}

/** The header's switcher: a labelled list of people (one person still shows their name). */
export function personSwitcher(): HTMLElement {
  const select = h("select", { id: "person-switcher" });
  const label = h("label", { for: "person-switcher" }, "Whose record");
  const none = h("span", { class: "muted", id: "no-person" }, "No record yet");
  const box = h("div", { class: "person-switcher" }, label, select, none);
  const render = () => {
    clear(select);
    for (const p of people) select.appendChild(h("option", { value: String(p.id) }, personLabel(p)));
    const current = chosen();
    if (current) select.value = String(current.id);
    label.hidden = select.hidden = people.length === 0;
    none.hidden = people.length > 0;
  };
  select.addEventListener("change", () => choose(Number(select.value)));
  onPeopleChange(render);
  render();
  return box;
}

/** Whose record a screen is about: the name and birth date, always in view. */
export function personBanner(p: Person, what = "Record of"): HTMLElement {
  return h(
    "p",
    { class: "person-banner", id: "person-banner" },
    `${what} `,
    h("strong", { id: "banner-name" }, p.name),
    ` · ${p.birth_date ? `born ${p.birth_date}` : "birth date not recorded"}`,
  );
}

/** What a screen shows while the vault holds nobody's record. */
export function noRecordYet(): HTMLElement {
  return h("p", { class: "notice", id: "no-record" }, "The vault holds no record yet. Connect a portal or import a file under Connections.");
}

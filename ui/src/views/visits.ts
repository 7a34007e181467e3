// The record as visits, day by day (newest first): each visit with where and who, and what
// happened at it (diagnoses, results, medicines, procedures, notes, anything else naming it), then
// the day's entries that name no visit. Earlier days on demand. Every entry opens its detail.
import { api } from "../api";
import type { ListItem } from "../bindings/ListItem";
import type { Person } from "../bindings/Person";
import type { Visit } from "../bindings/Visit";
import type { VisitDay } from "../bindings/VisitDay";
import { h } from "../dom";
import { showError } from "../errors";
import { noRecordYet, personBanner } from "../people";

/** Days per page. */
export const DAYS = 20;

/** What happened at a visit, by group, in the order a clinician reads it. */
const GROUPS: [keyof Visit, string][] = [
  ["diagnoses", "Diagnoses"],
  ["results", "Results"],
  ["medicines", "Medicines"],
  ["procedures", "Procedures"],
  ["notes", "Notes"],
  ["other", "Also recorded"],
];

/** "5 March 2024" for a full date; a year or a month as given; "" is the entries without a date. */
export function dayTitle(day: string): string {
  if (day === "") return "Without a date";
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return day;
  const date = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return date.toLocaleDateString(undefined, { weekday: "long", year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });
}

/** An entry as a button that opens its detail. */
export function entryButton(item: ListItem, open: (item: ListItem) => void): HTMLElement {
  const button = h(
    "button",
    { class: "entry", "data-type": item.resource_type, "data-id": item.id },
    h("span", { class: "label" }, item.display || item.resource_type),
    item.detail ? h("span", { class: "muted" }, ` · ${item.detail}`) : null,
  );
  button.addEventListener("click", () => open(item));
  return h("li", {}, button);
}

function entries(items: ListItem[], open: (item: ListItem) => void): HTMLElement {
  const list = h("ul", { class: "entries" });
  for (const item of items) list.appendChild(entryButton(item, open));
  return list;
}

/** One visit: its kind (opening the Encounter), where, who, and each group of what happened. */
function visitCard(visit: Visit, open: (item: ListItem) => void): HTMLElement {
  const title = h("button", { class: "link visit-open", "data-type": "Encounter", "data-id": visit.visit.id }, visit.visit.display || "Visit");
  title.addEventListener("click", () => open(visit.visit));
  const time = visit.visit.date?.includes("T") ? visit.visit.date.slice(11, 16) : "";
  const card = h("article", { class: "visit", "data-id": visit.visit.id }, h("h3", {}, title, time ? h("span", { class: "muted" }, ` at ${time}`) : null));
  if (visit.places.length > 0) card.appendChild(h("p", { class: "visit-where" }, h("strong", {}, "Where: "), visit.places.join(", ")));
  if (visit.people.length > 0) card.appendChild(h("p", { class: "visit-who" }, h("strong", {}, "Who: "), visit.people.join(", ")));
  let anything = false;
  for (const [group, label] of GROUPS) {
    const items = visit[group] as ListItem[];
    if (items.length === 0) continue;
    anything = true;
    card.appendChild(h("section", { class: `visit-group visit-${group}` }, h("h4", {}, label), entries(items, open)));
  }
  if (!anything) card.appendChild(h("p", { class: "muted" }, "Nothing else was recorded at this visit."));
  return card;
}

function dayPart(day: VisitDay, open: (item: ListItem) => void): HTMLElement {
  const heading = h("h2", { tabindex: "-1" }, day.day ? h("time", { datetime: day.day }, dayTitle(day.day)) : dayTitle(day.day));
  const part = h("li", { class: "visit-day", "data-day": day.day }, heading);
  for (const visit of day.visits) part.appendChild(visitCard(visit, open));
  if (day.other.length > 0) {
    const label = day.visits.length > 0 ? "Also on this day" : "On this day";
    part.appendChild(h("section", { class: "visit-group day-other" }, h("h3", {}, label), entries(day.other, open)));
  }
  return part;
}

/** The visits of `person` (none: the vault holds no record yet). */
export function visitsView(person: Person | null, open: (item: ListItem) => void): HTMLElement {
  if (!person) return h("section", { class: "visits" }, noRecordYet());
  const days = h("ol", { class: "visit-days", id: "visit-days" });
  const count = h("p", { class: "muted", id: "visits-count", "aria-live": "polite" }, "Reading the visits…");
  const more = h("button", { id: "visits-more", hidden: true }, "Show earlier days");
  const view = h("section", { class: "visits", id: "visits" }, personBanner(person, "Visits of"), h("h1", {}, "Visits"), count, days, more);
  let offset = 0;
  const load = async () => {
    more.disabled = true;
    try {
      const page = await api.visits(person.id, offset, DAYS);
      const first = days.children.length;
      for (const day of page.days) days.appendChild(dayPart(day, open));
      offset += page.days.length;
      count.textContent =
        page.total_days === 0 ? "No visits or entries recorded." : `${offset} of ${page.total_days} ${page.total_days === 1 ? "day" : "days"} shown, newest first.`;
      more.hidden = offset >= page.total_days || page.days.length === 0;
      // After "Show earlier days", the first new day is where the reader goes on.
      if (first > 0) days.children[first]?.querySelector<HTMLElement>("h2")?.focus();
    } catch (e) {
      showError(view, e);
    } finally {
      more.disabled = false;
    }
  };
  more.addEventListener("click", () => void load());
  void load();
  return view;
}

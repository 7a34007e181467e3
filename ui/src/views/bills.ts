// Bills and claims (Claim, ExplanationOfBenefit): not clinical events, so kept out of the
// timeline and the visits, and listed here on their own, newest first. Each opens its detail.
import { api } from "../api";
import type { ListItem } from "../bindings/ListItem";
import type { Person } from "../bindings/Person";
import { h } from "../dom";
import { showError } from "../errors";
import { noRecordYet, personBanner } from "../people";
import { entryButton } from "./visits";

const PAGE = 100;

/** The bills and claims (Claim, ExplanationOfBenefit) of `person`, apart from the clinical record. */
export function billsView(person: Person | null, open: (item: ListItem) => void): HTMLElement {
  if (!person) return h("section", { class: "bills" }, noRecordYet());
  const list = h("ul", { class: "entries bills-list", id: "bills-items" });
  const count = h("p", { class: "muted", id: "bills-count", "aria-live": "polite" }, "Reading the bills and claims…");
  const more = h("button", { id: "bills-more", hidden: true }, "Show more");
  const view = h(
    "section",
    { class: "bills", id: "bills" },
    personBanner(person, "Bills and claims of"),
    h("h1", {}, "Bills and claims"),
    h("p", {}, "What your providers billed and what your insurer paid (claims and explanations of benefit). They are kept here, apart from your visits and results."),
    count,
    list,
    more,
  );
  let offset = 0;
  const load = async () => {
    try {
      const page = await api.list(person.id, "bills", offset, PAGE);
      for (const item of page.items) {
        const li = entryButton(item, open);
        li.firstElementChild!.prepend(h("span", { class: "date" }, item.date ? `${item.date.slice(0, 10)} ` : "— "));
        list.appendChild(li);
      }
      offset += page.items.length;
      count.textContent = page.total === 0 ? "No bills or claims recorded." : `${page.total} ${page.total === 1 ? "bill or claim" : "bills and claims"}, newest first.`;
      more.hidden = offset >= page.total || page.items.length === 0;
    } catch (e) {
      showError(view, e);
    }
  };
  more.addEventListener("click", () => void load());
  void load();
  return view;
}

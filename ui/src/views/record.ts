// The record: a timeline and lists per category (a virtual list: thousands of entries, a page
// asked for as the view reaches it), full-text search, one resource in detail (with its source and
// the raw JSON), and the chart of a test or vital sign.
import { api } from "../api";
import type { Category } from "../bindings/Category";
import type { ListItem } from "../bindings/ListItem";
import type { Person } from "../bindings/Person";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { noRecordYet, personBanner } from "../people";
import { virtualList } from "../virtual";
import { documentPanel, hasPresentedForm } from "./document";
import { isOwn, noteForm, ownMark } from "./own";

export const CATEGORIES: [Category, string][] = [
  ["timeline", "Timeline"],
  ["problems", "Problems"],
  ["medications", "Medications"],
  ["allergies", "Allergies"],
  ["labs", "Labs"],
  ["vitals", "Vital signs"],
  ["immunizations", "Immunizations"],
  ["visits", "Visits"],
  ["procedures", "Procedures"],
  ["documents", "Documents"],
];

const PAGE = 100;

/** The record of `person` (none: the vault holds no record yet), with `open` in the detail. */
export function recordView(person: Person | null, open?: ListItem): HTMLElement {
  if (!person) return h("section", { class: "record" }, noRecordYet());
  const detail = h("section", { class: "detail", id: "detail", "aria-label": "Details", "aria-live": "polite" });
  const count = h("p", { class: "muted", id: "count" });
  const tabs = h("div", { class: "tabs", role: "tablist" });
  const search = h("input", { type: "search", id: "search", placeholder: "Search your record", "aria-label": "Search your record" });
  // How the number of entries is said: "12 entries" for a category, "3 found" for a search.
  let counted = (n: number) => `${n} ${n === 1 ? "entry" : "entries"}`;
  const list = virtualList<ListItem>({
    scrollId: "items-scroll",
    listId: "items",
    pageSize: PAGE,
    row: (item) => row(item),
    onTotal: (n) => (count.textContent = counted(n)),
    onError: (e) => showError(view, e),
  });
  const panel = h("div", { role: "tabpanel", id: "record-panel", "aria-labelledby": "tab-timeline" }, list.element);
  const split = h("div", { class: "split" }, panel, detail);
  const view = h("section", { class: "record" }, h("h1", { class: "record-title" }, "My record"), personBanner(person), h("div", { class: "toolbar" }, tabs, search), count, split);
  let category: Category = "timeline";
  /** Bumped by each list shown: a search answered after another list was chosen is dropped. */
  let shown = 0;

  const load = () => {
    shown++;
    const of = category;
    counted = (n) => `${n} ${n === 1 ? "entry" : "entries"}`;
    list.show({ page: (offset, limit) => api.list(person.id, of, offset, limit) });
  };
  // One line per entry (the list's rows have one height); what does not fit ends in an ellipsis.
  const row = (item: ListItem) => {
    const button = h(
      "button",
      { class: "item", "data-type": item.resource_type, "data-id": item.id },
      h("span", { class: "date" }, item.date ? item.date.slice(0, 10) : "—"),
      h("span", { class: "label" }, h("span", { class: "text" }, item.display), isOwn(item.source) && ownMark()),
      h("span", { class: "muted" }, item.detail ?? ""),
    );
    // The detail is shown, and the keyboard goes there (Tab then reaches its buttons).
    button.addEventListener("click", () => void showDetail(item).then(focusDetail));
    return button;
  };
  const showDetail = async (item: ListItem) => {
    try {
      const d = await api.resource(person.id, item.resource_type, item.id);
      clear(detail);
      split.classList.remove("reading");
      const raw = h("pre", { class: "raw", id: "raw-json", tabindex: "0", hidden: true }, prettyJson(d.json));
      const toggle = h("button", { class: "quiet", id: "show-raw" }, "Show raw JSON");
      toggle.addEventListener("click", () => {
        raw.hidden = !raw.hidden;
        toggle.textContent = raw.hidden ? "Show raw JSON" : "Hide raw JSON";
      });
      append(
        detail,
        h("h2", { id: "detail-title" }, d.display),
        h("p", {}, `${d.resource_type} · ${item.date?.slice(0, 10) ?? "no date"}`),
        d.source_kind === "self"
          ? h("p", { class: "muted", id: "detail-source" }, ownMark(), ` You added this on ${d.imported_at.slice(0, 10)}`)
          : h("p", { class: "muted", id: "detail-source" }, `From ${d.source_kind === "portal" ? "portal" : "file"} ${d.source}, received ${d.imported_at.slice(0, 10)}`),
      );
      if (item.code && item.resource_type === "Observation") {
        const trend = h("button", { id: "show-trend" }, "Show chart");
        trend.addEventListener("click", () => void showTrend(item.code!));
        detail.appendChild(trend);
      }
      if (item.resource_type === "DocumentReference" || (item.resource_type === "DiagnosticReport" && hasPresentedForm(d.json))) {
        const view = h("button", { id: "view-document", class: "primary" }, item.resource_type === "DocumentReference" ? "View document" : "View the report");
        view.addEventListener("click", () => void showDocument(item));
        detail.appendChild(view);
      }
      append(detail, noteForm(person.id, `${d.resource_type}/${d.id}`), toggle, raw);
    } catch (e) {
      showError(detail, e);
    }
  };
  /** The document in the detail pane (wider while it is read), beside the entries made from it. */
  const showDocument = async (item: ListItem) => {
    const of = item.resource_type === "DiagnosticReport" ? "DiagnosticReport" : "DocumentReference";
    const panel = await documentPanel(person.id, item.id, (entry) => void showDetail(entry), of);
    clear(detail);
    split.classList.add("reading");
    const back = h("button", { class: "quiet", id: "document-back" }, "Back to the details");
    back.addEventListener("click", () => void showDetail(item));
    append(detail, back, panel);
  };
  const showTrend = async (code: string) => {
    try {
      const series = await api.labTrend(person.id, code);
      // The chart and uPlot load when first asked for, not with the window.
      const { renderChart } = await import("../chart");
      const box = h("div", { id: "trend" }, renderChart(series));
      detail.querySelector("#trend")?.remove();
      // Right under its button, so that Tab goes from the button to the chart.
      const button = detail.querySelector("#show-trend");
      if (button) button.after(box);
      else detail.appendChild(box);
    } catch (e) {
      showError(detail, e);
    }
  };

  for (const [value, label] of CATEGORIES) {
    const tab = h("button", { role: "tab", id: `tab-${value}`, "aria-selected": String(value === category), "aria-controls": "record-panel", tabindex: value === category ? "0" : "-1" }, label);
    tab.addEventListener("click", () => {
      category = value;
      for (const t of tabs.children) {
        t.setAttribute("aria-selected", String(t === tab));
        t.setAttribute("tabindex", t === tab ? "0" : "-1");
      }
      panel.setAttribute("aria-labelledby", tab.id);
      search.value = "";
      load();
    });
    tabs.appendChild(tab);
  }
  // The tabs as one stop for Tab; the arrows, Home and End choose among them.
  tabs.addEventListener("keydown", (e) => {
    const all = [...tabs.querySelectorAll<HTMLButtonElement>("[role=tab]")];
    const at = all.indexOf(document.activeElement as HTMLButtonElement);
    const key = (e as KeyboardEvent).key;
    const to = key === "ArrowRight" ? at + 1 : key === "ArrowLeft" ? at - 1 : key === "Home" ? 0 : key === "End" ? all.length - 1 : null;
    if (to === null || at < 0) return;
    e.preventDefault();
    const next = all[(to + all.length) % all.length];
    next.focus();
    next.click();
  });
  const focusDetail = () => {
    const title = detail.querySelector<HTMLElement>("#detail-title");
    title?.setAttribute("tabindex", "-1");
    title?.focus();
  };
  // The hits of a search, all known at once, in the same list.
  search.addEventListener("keydown", async (e) => {
    if ((e as KeyboardEvent).key !== "Enter") return;
    if (!search.value.trim()) return load();
    const asked = ++shown;
    try {
      const hits = await api.search(person.id, search.value);
      if (asked !== shown) return;
      counted = (n) => `${n} found`;
      list.show({ items: hits.map((hit) => ({ resource_type: hit.resource_type, id: hit.id, date: hit.date, display: hit.display || hit.resource_type, detail: null, code: null, source: hit.source })) });
    } catch (err) {
      if (asked === shown) showError(view, err);
    }
  });
  load();
  // An entry opened from elsewhere (the home, the visits, the bills): its detail, focused.
  if (open) {
    void showDetail(open).then(() => {
      const title = detail.querySelector<HTMLElement>("#detail-title");
      title?.setAttribute("tabindex", "-1");
      title?.focus();
    });
  }
  return view;
}

function prettyJson(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}

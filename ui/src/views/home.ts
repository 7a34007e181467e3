// The home of the chosen person, shown right after unlock: who they are (name, age or the year
// they died), their allergies first and impossible to miss, current medications, active
// problems, the latest vital signs, results out of range, recent visits, and where the record
// comes from with what needs the patient. The tables are the PDF summary's own (the core's
// `Vault::home`), so the window and the PDF list the same things. Every row opens its entry.
import { api } from "../api";
import type { Home } from "../bindings/Home";
import type { HomeRow } from "../bindings/HomeRow";
import type { HomeSource } from "../bindings/HomeSource";
import type { HomeTable } from "../bindings/HomeTable";
import type { ListItem } from "../bindings/ListItem";
import type { Person } from "../bindings/Person";
import type { Section } from "../bindings/Section";
import { append, clear, h } from "../dom";
import { showError } from "../errors";

/** What the home's buttons lead to. */
export interface HomeActions {
  /** Opens one entry in the record's detail. */
  open: (item: ListItem) => void;
  /** Where portals are connected and files imported. */
  connect: () => void;
  /** The visits, day by day. */
  visits: () => void;
}

/** How many results out of range the home lists before it points to the record. */
const MOST_RESULTS = 10;
/** The suffix the summary gives the patient's own rows (the PDF's word); the home says "added by me". */
const PATIENT_REPORTED = " (patient-reported)";
/** Columns holding the day a row is about, to show it in the entry's detail. */
const DATE_COLUMNS = ["Date", "Since", "Onset", "Recorded"];

/** The home of `person`; with none, the vault holds no record yet: the next step, one button. */
export function homeView(person: Person | null, actions: HomeActions): HTMLElement {
  if (!person) return emptyHome(actions);
  const view = h("section", { class: "home", id: "home", "aria-busy": "true" }, h("p", { class: "muted" }, "Opening the record…"));
  api
    .home(person.id)
    .then((home) => {
      clear(view);
      append(view, ...render(home, actions));
      view.setAttribute("aria-busy", "false");
      // Read by the app benchmark (the home's first paint after unlock).
      requestAnimationFrame(() => performance.mark?.("ownrecord:home-painted"));
    })
    .catch((e) => {
      clear(view);
      view.setAttribute("aria-busy", "false");
      showError(view, e);
    });
  return view;
}

function emptyHome(actions: HomeActions): HTMLElement {
  const connect = h("button", { id: "home-connect", class: "primary" }, "Connect a portal or import a file");
  connect.addEventListener("click", () => actions.connect());
  return h(
    "section",
    { class: "home", id: "home" },
    h("h1", {}, "Your record"),
    h("p", { id: "home-next" }, "Your vault is ready and holds no record yet: bring it in from your patient portal, or from a file your doctor or hospital gave you."),
    connect,
  );
}

/** "57 years old · born 1968-04-03", "Died 2000 · born 1920-05-06". */
export function ageLine(home: Pick<Home, "age" | "died" | "birth_date">): string {
  const born = home.birth_date ? `born ${home.birth_date}` : "birth date not recorded";
  if (home.died !== null) return `${home.died ? `Died ${home.died}` : "Deceased"} · ${born}`;
  if (home.age !== null) return `${home.age} ${home.age === 1 ? "year" : "years"} old · ${born}`;
  return born.charAt(0).toUpperCase() + born.slice(1);
}

function render(home: Home, actions: HomeActions): HTMLElement[] {
  const table = (section: Section) => home.tables.find((t) => t.section === section);
  const who = h("div", { class: "home-who" }, h("h1", { id: "home-name" }, home.name), h("p", { id: "home-age" }, ageLine(home)));
  const allergies = table("allergies");
  const medications = table("medications");
  const problems = table("problems");
  const vitals = table("vitals");
  const results = table("results");
  const visits = table("visits");
  const parts: HTMLElement[] = [who];
  // Allergies first, in a block of its own, whatever else the record holds.
  parts.push(block("allergies", allergies?.title ?? "Allergies and intolerances", allergies, allergies?.rows ?? [], ["Substance", "Reactions", "Criticality", "Status"], actions, { alert: true }));
  const now = h("div", { class: "home-grid" });
  now.appendChild(block("medications", "Current medications", medications, medications?.rows ?? [], ["Medication", "Dosage", "Since"], actions));
  now.appendChild(problemsBlock(problems, actions));
  parts.push(now);
  parts.push(vitalsBlock(vitals, actions));
  parts.push(resultsBlock(results, actions));
  const visitsPart = block("visits", "Recent visits", visits, visits?.rows ?? [], ["Visit", "Date", "Clinician / place", "Reason"], actions);
  const all = h("button", { id: "home-all-visits", class: "quiet" }, "All visits, day by day");
  all.addEventListener("click", () => actions.visits());
  visitsPart.appendChild(all);
  parts.push(visitsPart);
  parts.push(sourcesBlock(home.sources, actions));
  return parts;
}

/** How a block shows: an alert (the allergies), its sentence for no rows, a column of earlier readings. */
interface BlockOptions {
  alert?: boolean;
  empty?: string;
  earlier?: (row: HomeRow) => string;
}

/**
 * One section of the home: a heading, the table's note, and its rows (`rows`, of `table`) in the
 * `wanted` columns (those the table has), the first of them naming the row and opening its entry; with no
 * rows, the table's own sentence for nothing recorded.
 */
function block(id: string, heading: string, table: HomeTable | undefined, rows: HomeRow[], wanted: string[], actions: HomeActions, options: BlockOptions = {}): HTMLElement {
  const titleId = `home-${id}-title`;
  const part = h("section", { class: options.alert ? "home-block alert" : "home-block", id: `home-${id}`, "aria-labelledby": titleId }, h("h2", { id: titleId }, heading));
  if (table?.note && rows.length > 0) part.appendChild(h("p", { class: "muted home-note" }, table.note));
  if (!table || rows.length === 0) {
    part.appendChild(h("p", { class: "empty" }, options.empty ?? table?.empty ?? "Nothing recorded."));
    return part;
  }
  part.appendChild(rowsTable(table, rows, wanted, heading, actions, options.earlier));
  return part;
}

/**
 * The indexes of the `wanted` columns of `table` (all of them when it names none), without those
 * empty in every one of `rows` (the first, naming the row, always stays).
 */
function columnsOf(table: HomeTable, wanted: string[], rows: HomeRow[]): number[] {
  const found = wanted.map((w) => table.columns.indexOf(w)).filter((i) => i >= 0);
  const columns = found.length > 0 ? found : table.columns.map((_, i) => i);
  return columns.filter((i, n) => n === 0 || rows.some((r) => (r.cells[i] ?? "") !== ""));
}

function rowsTable(table: HomeTable, rows: HomeRow[], wanted: string[], label: string, actions: HomeActions, extra?: (row: HomeRow) => string): HTMLTableElement {
  const shown = columnsOf(table, wanted, rows);
  const head = h("tr", {});
  for (const i of shown) head.appendChild(h("th", { scope: "col" }, table.columns[i]));
  if (extra) head.appendChild(h("th", { scope: "col" }, "Earlier"));
  const body = h("tbody", {});
  for (const row of rows) {
    const tr = h("tr", { "data-resource": row.resource });
    if (row.own) tr.classList.add("own");
    shown.forEach((i, n) => {
      const text = cellText(row, i);
      const critical = table.section === "allergies" && table.columns[i] === "Criticality";
      const content: Node = row.strong[i] ? h("strong", { class: critical && "critical" }, text) : document.createTextNode(text);
      if (n === 0) {
        const open = h("button", { class: "link", "data-type": row.resource.split("/")[0] }, content);
        open.addEventListener("click", () => actions.open(itemOf(table, row, i)));
        const cell = h("th", { scope: "row" }, open);
        if (row.own) append(cell, " ", h("span", { class: "own-badge" }, "added by me"));
        tr.appendChild(cell);
      } else {
        tr.appendChild(h("td", { class: DATE_COLUMNS.includes(table.columns[i]) && "date" }, content));
      }
    });
    if (extra) tr.appendChild(h("td", { class: "muted" }, extra(row)));
    body.appendChild(tr);
  }
  return h("table", { class: "home-table", "aria-label": label }, h("thead", {}, head), body);
}

/** A cell's text; the patient's own rows lose the PDF's "(patient-reported)", shown as "added by me". */
function cellText(row: HomeRow, i: number): string {
  const text = row.cells[i] ?? "";
  return row.own && text.endsWith(PATIENT_REPORTED) ? text.slice(0, -PATIENT_REPORTED.length) : text;
}

/** The row as the record's list item, for its detail (`name` the column naming it). */
function itemOf(table: HomeTable, row: HomeRow, name: number): ListItem {
  const slash = row.resource.indexOf("/");
  const dateColumn = table.columns.findIndex((c) => DATE_COLUMNS.includes(c));
  return {
    resource_type: row.resource.slice(0, slash),
    id: row.resource.slice(slash + 1),
    date: dateColumn >= 0 && row.cells[dateColumn] ? row.cells[dateColumn] : null,
    display: cellText(row, name),
    detail: null,
    code: null,
    source: "",
  };
}

/** Active problems (the summary's strong name cell); the others behind a button. */
function problemsBlock(table: HomeTable | undefined, actions: HomeActions): HTMLElement {
  const rows = table?.rows ?? [];
  // The summary makes an active problem's name strong.
  const name = table ? Math.max(table.columns.indexOf("Problem"), 0) : 0;
  const active = rows.filter((r) => r.strong[name]);
  const others = rows.length - active.length;
  const empty = rows.length > 0 ? "No active problems recorded." : undefined;
  const part = block("problems", "Active problems", table, active, ["Problem", "Onset", "Note"], actions, { empty });
  if (table && others > 0) {
    const rest = rowsTable(table, rows.filter((r) => !r.strong[name]), ["Problem", "Status", "Onset", "Resolved"], "Other problems", actions);
    rest.id = "home-other-problems";
    rest.hidden = true;
    const toggle = h("button", { class: "quiet", id: "home-show-other-problems", "aria-expanded": "false", "aria-controls": rest.id }, `Show ${others} resolved or inactive ${others === 1 ? "problem" : "problems"}`);
    toggle.addEventListener("click", () => {
      rest.hidden = !rest.hidden;
      toggle.setAttribute("aria-expanded", String(!rest.hidden));
      toggle.textContent = rest.hidden ? `Show ${others} resolved or inactive ${others === 1 ? "problem" : "problems"}` : "Hide them";
    });
    append(part, toggle, rest);
  }
  return part;
}

/** The latest reading of each measurement, with the earlier ones the summary keeps beside it. */
function vitalsBlock(table: HomeTable | undefined, actions: HomeActions): HTMLElement {
  const rows = table?.rows ?? [];
  const name = table ? Math.max(table.columns.indexOf("Measurement"), 0) : 0;
  const value = table?.columns.indexOf("Value") ?? -1;
  const unit = table?.columns.indexOf("Unit") ?? -1;
  const date = table?.columns.indexOf("Date") ?? -1;
  const latest: HomeRow[] = [];
  const earlier = new Map<HomeRow, string[]>();
  for (const row of rows) {
    const first = latest.find((l) => l.cells[name] === row.cells[name]);
    if (!first) {
      latest.push(row);
      earlier.set(row, []);
    } else {
      const reading = [row.cells[value], row.cells[unit]].filter(Boolean).join(" ");
      earlier.get(first)!.push(row.cells[date] ? `${reading} (${row.cells[date]})` : reading);
    }
  }
  return block("vitals", "Latest vital signs", table, latest, ["Measurement", "Value", "Unit", "Date"], actions, { earlier: (row) => earlier.get(row)!.join(", ") });
}

/**
 * The results flagged out of range (the summary's strong cells: the core sends only those, and says in
 * the table's note and empty sentence how many results it looked through).
 */
function resultsBlock(table: HomeTable | undefined, actions: HomeActions): HTMLElement {
  const flagged = (table?.rows ?? []).filter((r) => r.strong.some(Boolean));
  const part = block("results", "Results out of range", table, flagged.slice(0, MOST_RESULTS), ["Test", "Result", "Unit", "Reference range", "Flag", "Date"], actions);
  if (flagged.length > MOST_RESULTS) {
    part.appendChild(h("p", { class: "muted" }, `And ${flagged.length - MOST_RESULTS} more out of range: see Labs under My record.`));
  }
  return part;
}

const KINDS: Record<string, string> = { portal: "portal", file: "file", self: "added by me" };

/** Each source, its last update and what needs the patient there. */
function sourcesBlock(sources: HomeSource[], actions: HomeActions): HTMLElement {
  const titleId = "home-sources-title";
  const part = h("section", { class: "home-block", id: "home-sources", "aria-labelledby": titleId }, h("h2", { id: titleId }, "Where this record comes from"));
  if (sources.length === 0) {
    part.appendChild(h("p", { class: "empty" }, "No sources."));
    return part;
  }
  const list = h("ul", { class: "home-sources" });
  for (const s of sources) {
    const updated = s.last_updated ? `last updated ${s.last_updated.slice(0, 16).replace("T", " ")}` : "not updated yet";
    const item = h(
      "li",
      { class: "home-source" },
      h("strong", {}, s.name),
      h("span", { class: "muted" }, ` · ${KINDS[s.kind] ?? s.kind} · ${s.resources} ${s.resources === 1 ? "item" : "items"} · ${updated}`),
    );
    if (s.attention) {
      const fix = h("button", { class: "quiet" }, "Open Connections");
      fix.addEventListener("click", () => actions.connect());
      append(item, h("p", { class: "attention" }, s.attention), fix);
    }
    list.appendChild(item);
  }
  part.appendChild(list);
  return part;
}

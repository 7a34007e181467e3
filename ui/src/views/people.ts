// People: everyone whose record the vault holds, with their sources and counts; rename, link two
// people who are the same human, split a source off someone it is not, and remove a person (the
// word DELETE typed to confirm, as for a wipe).
import { api } from "../api";
import type { Person } from "../bindings/Person";
import type { PersonSource } from "../bindings/PersonSource";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { personLabel, possessive, refreshPeople } from "../people";

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

function sourceLabel(s: PersonSource): string {
  return `${s.kind === "portal" ? "Portal" : "File"} ${s.name} (patient ${s.patient_id})`;
}

export function peopleView(): HTMLElement {
  const list = h("ul", { class: "people", id: "people" });
  const status = h("p", { id: "people-status", class: "ok", "aria-live": "polite" });
  const view = h(
    "section",
    {},
    h("h1", {}, "People"),
    h("p", {}, "Everyone whose record this vault holds. OwnRecord links a new record to someone only when it matches them for certain; here you can correct what it did."),
    status,
    list,
  );

  /** Runs a change, then shows the people again (the header follows). */
  const change = async (run: () => Promise<string>) => {
    status.textContent = "";
    view.querySelector(":scope > .error")?.remove();
    try {
      const done = await run();
      render(await refreshPeople());
      status.textContent = done;
    } catch (e) {
      showError(view, e);
    }
  };

  const card = (p: Person, people: Person[]): HTMLElement => {
    const facts = [p.birth_date ? `Born ${p.birth_date}` : "Birth date not recorded", p.gender, plural(Number(p.resources), "entry", "entries")].filter(Boolean).join(" · ");
    const sources = h("ul", { class: "sources" });
    for (const s of p.sources) {
      const item = h("li", { class: "source" }, sourceLabel(s));
      if (p.sources.length > 1) {
        const split = h("button", { class: "split quiet", "data-source": String(s.id) }, "Not this person: split off");
        split.addEventListener("click", () =>
          void change(async () => {
            await api.unlinkSource(p.id, s.id);
            return `${sourceLabel(s)} is now a person of its own.`;
          }),
        );
        append(item, " ", split);
      }
      sources.appendChild(item);
    }

    const name = h("input", { type: "text", class: "rename-input", value: p.name, autocomplete: "off" });
    const rename = h("button", { class: "rename" }, "Rename");
    rename.addEventListener("click", () =>
      void change(async () => {
        await api.renamePerson(p.id, name.value);
        return `Renamed to ${name.value.trim()}.`;
      }),
    );

    const card = h(
      "li",
      { class: "person", "data-person": String(p.id) },
      h("h2", {}, p.name),
      h("p", { class: "muted" }, facts),
      h("h3", {}, "Sources"),
      sources,
      h("div", { class: "row" }, h("label", {}, "Name ", name), rename),
    );

    const others = people.filter((o) => o.id !== p.id);
    if (others.length > 0) {
      const other = h("select", { class: "link-select" });
      for (const o of others) other.appendChild(h("option", { value: String(o.id) }, personLabel(o)));
      const link = h("button", { class: "link" }, "Link");
      link.addEventListener("click", () => {
        const o = others.find((x) => String(x.id) === other.value);
        if (!o) return;
        void change(async () => {
          await api.linkPeople(p.id, o.id);
          return `${possessive(o.name)} record is now part of ${possessive(p.name)}.`;
        });
      });
      append(card, h("div", { class: "row" }, h("label", {}, "The same person as ", other), link));
    }

    const confirm = h("input", { type: "text", class: "remove-confirm", autocomplete: "off" });
    const remove = h("button", { class: "remove danger", disabled: true }, `Remove ${p.name}`);
    confirm.addEventListener("input", () => (remove.disabled = confirm.value !== "DELETE"));
    remove.addEventListener("click", () =>
      void change(async () => {
        const deleted = await api.removePerson(p.id, confirm.value);
        return `Removed ${p.name}: ${plural(Number(deleted), "resource", "resources")} deleted.`;
      }),
    );
    append(
      card,
      h("p", {}, `Removing deletes ${possessive(p.name)} ${plural(Number(p.resources), "entry", "entries")} from this vault; it cannot be undone (the audit log keeps its rows). Portal connections stay until you disconnect them.`),
      h("div", { class: "row" }, h("label", {}, "Type DELETE to confirm ", confirm), remove),
    );
    return card;
  };

  const render = (people: Person[]) => {
    clear(list);
    if (people.length === 0) list.appendChild(h("li", { class: "muted" }, "No one yet: connect a portal or import a file under Connections."));
    for (const p of people) list.appendChild(card(p, people));
  };

  void refreshPeople()
    .then(render)
    .catch((e) => showError(view, e));
  return view;
}

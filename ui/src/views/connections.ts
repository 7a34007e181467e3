// Patient portals: the directory, add by address, the demo portal in one click, sync with a
// progress bar, and a clear "needs sign-in again" state; importing a file. A record that matches
// nobody in the vault for certain is stored only once the patient says whose it is.
import { api } from "../api";
import type { Connection } from "../bindings/Connection";
import type { ImportReport } from "../bindings/ImportReport";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { everyone, personLabel, refreshPeople } from "../people";
import { withWhoIsThis } from "./who";

/** The person whose record a connection brings, once its first sync has said. */
function personOf(c: Connection) {
  return everyone().find((p) => p.sources.some((s) => s.kind === "portal" && s.patient_id === c.patient_id && (s.name === c.name || s.name === c.fhir_base)));
}

/** The Connections view; `dropped` are files dropped on the window, imported right away. */
export function connectionsView(demoPortal: string, dropped: string[] = []): HTMLElement {
  const list = h("ul", { class: "connections", id: "connections" });
  const signIn = h("div", { class: "notice", id: "sign-in", hidden: true });
  const view = h("section", {}, h("h1", {}, "Connections"), signIn, list);

  const refresh = async () => {
    try {
      const [connections] = await Promise.all([api.connections(), refreshPeople().catch(() => everyone())]);
      clear(list);
      if (connections.length === 0) list.appendChild(h("li", { class: "muted" }, "No portal connected yet."));
      for (const c of connections) list.appendChild(item(c));
    } catch (e) {
      showError(view, e);
    }
  };
  const connect = async (url: string) => {
    signIn.hidden = false;
    clear(signIn);
    append(signIn, h("p", {}, "Sign in to your portal in the browser window that opened. If none opened, open this address in your browser:"), h("code", { id: "sign-in-url" }, "…"));
    try {
      await api.connect(url, (address) => {
        const code = signIn.querySelector("#sign-in-url");
        if (code) code.textContent = address;
      });
      signIn.hidden = true;
      await refresh();
    } catch (e) {
      signIn.hidden = true;
      showError(view, e);
    }
  };
  const item = (c: Connection) => {
    const progress = h("progress", { class: "sync-progress", max: "1", value: "0", hidden: true });
    const state = h("span", { class: "status" }, c.status === "needs_sign_in" ? "Needs sign-in again" : c.last_sync_at ? `Last synced ${c.last_sync_at.slice(0, 16).replace("T", " ")}` : "Not synced yet");
    const sync = h("button", { class: "sync" }, "Sync");
    sync.addEventListener("click", async () => {
      progress.hidden = false;
      sync.disabled = true;
      try {
        const report = await withWhoIsThis(view, c.name, (person) =>
          api.sync(c.id, person, (p) => {
            progress.max = Math.max(p.types_total, 1);
            progress.value = p.types_done;
            state.textContent = `Downloading ${p.resource_type}: ${p.resources} resources so far`;
          }),
        );
        if (report) {
          const whose = personOf(c);
          if (whose) of.textContent = `Record of ${personLabel(whose)}`;
          state.textContent = `Synced: ${report.new} new, ${report.updated} updated, ${report.unchanged} unchanged.`;
          state.classList.add("done");
        } else {
          state.textContent = "Not synced: nothing was downloaded.";
        }
      } catch (e) {
        showError(view, e);
      } finally {
        progress.hidden = true;
        sync.disabled = false;
      }
    });
    const again = h("button", { class: "quiet" }, "Sign in again");
    again.addEventListener("click", () => void connect(c.fhir_base));
    const remove = h("button", { class: "quiet" }, "Disconnect");
    remove.addEventListener("click", async () => {
      try {
        await api.disconnect(c.id);
        await refresh();
      } catch (e) {
        showError(view, e);
      }
    });
    const whose = personOf(c);
    const of = h("span", { class: "person-of" }, whose ? `Record of ${personLabel(whose)}` : "");
    return h("li", { class: "connection" }, h("strong", {}, c.name), h("span", { class: "muted" }, c.fhir_base), of, state, progress, c.status === "needs_sign_in" ? again : sync, remove);
  };

  const demo = h("button", { id: "connect-demo", class: "primary" }, "Try the demo portal");
  demo.addEventListener("click", () => void connect(demoPortal));
  const address = h("input", { type: "url", id: "portal-url", placeholder: "https://portal.example.org/fhir", "aria-label": "Portal address" });
  const add = h("button", { id: "connect-url" }, "Connect");
  add.addEventListener("click", () => address.value && void connect(address.value));
  const query = h("input", { type: "search", id: "directory-search", placeholder: "Find your provider", "aria-label": "Find your provider" });
  const results = h("ul", { class: "directory" });
  query.addEventListener("input", async () => {
    const found = query.value.trim().length < 2 ? [] : await api.directory(query.value);
    clear(results);
    for (const entry of found.slice(0, 20)) {
      const go = h("button", {}, "Connect");
      go.addEventListener("click", () => void connect(entry.fhir_base));
      results.appendChild(h("li", {}, h("span", {}, entry.name), go));
    }
  });
  append(view, h("h2", {}, "Add a portal"), demo, h("div", { class: "row" }, query), results, h("div", { class: "row" }, address, add));
  const [importElements, importPaths] = importSection(view);
  append(view, ...importElements);
  void refresh();
  if (dropped.length > 0) void importPaths(dropped);
  return view;
}

/** What an import did, in sentences: the counts, then one line per clinical document in the file. */
export function importLines(report: ImportReport): string[] {
  const lines = [`Imported ${report.file}: ${report.new} new, ${report.updated} updated, ${report.unchanged} unchanged.`];
  for (const d of report.documents) {
    lines.push(`${d.title || d.path}: ${d.summary || "nothing structured (kept as text only)"}.`);
  }
  return lines;
}

/**
 * "Import a file": a path typed or chosen in the system's open dialog (opened by the shell), or
 * files dropped on the window; each goes through the same import, which asks whose record it is
 * when it cannot tell. Returns the section's elements and the function that imports paths.
 */
export function importSection(view: HTMLElement): [HTMLElement[], (paths: string[]) => Promise<void>] {
  const progress = h("progress", { id: "import-progress", max: "1", value: "0", hidden: true });
  const result = h("div", { id: "import-result", "aria-live": "polite" });
  const path = h("input", { type: "text", id: "import-path", placeholder: "/home/me/Downloads/Summary.xml", "aria-label": "File to import" });
  const go = h("button", { id: "import-path-go" }, "Import");
  const choose = h("button", { id: "import-file" }, "Choose a file…");
  const busy = (on: boolean) => {
    progress.hidden = !on;
    choose.disabled = on;
    go.disabled = on;
  };
  const importOne = async (file: string) => {
    const name = file.split(/[\\/]/).pop() || file;
    const report = await withWhoIsThis(view, name, (person) =>
      api.importFile(file, person, (p) => {
        progress.max = Math.max(p.total, 1);
        progress.value = p.done;
      }),
    );
    if (report) {
      const lines = importLines(report);
      append(result, h("p", { class: "ok import-done" }, lines[0]));
      if (lines.length > 1) {
        const docs = h("ul", { class: "import-documents" });
        for (const line of lines.slice(1)) docs.appendChild(h("li", {}, line));
        result.appendChild(docs);
      }
    } else {
      result.appendChild(h("p", {}, `Not imported: nothing from ${name} was stored.`));
    }
  };
  const importPaths = async (paths: string[]) => {
    clear(result);
    busy(true);
    try {
      for (const file of paths) {
        try {
          await importOne(file);
        } catch (e) {
          showError(result, e);
        }
      }
    } finally {
      busy(false);
    }
  };
  choose.addEventListener("click", async () => {
    try {
      const chosen = await api.chooseImportFile();
      if (chosen) {
        path.value = chosen;
        await importPaths([chosen]);
      }
    } catch (e) {
      showError(view, e);
    }
  });
  go.addEventListener("click", () => path.value.trim() && void importPaths([path.value.trim()]));
  path.addEventListener("keydown", (e) => (e as KeyboardEvent).key === "Enter" && path.value.trim() && void importPaths([path.value.trim()]));
  const elements = [
    h("h2", {}, "Import a file"),
    h("p", { class: "muted" }, "A FHIR file (a Bundle, NDJSON or a single resource) or a C-CDA document your portal lets you download (XML or zip). You can also drop files on this window."),
    h("div", { class: "row" }, h("label", {}, "File ", path), go, choose, progress),
    result,
  ];
  return [elements, importPaths];
}

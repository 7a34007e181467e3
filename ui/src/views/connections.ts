// Patient portals: the directory ("Find your provider"), a portal it does not list by its
// address and who made it, the practice where a portal serves many, the patient's own client id,
// the demo portal in one click; each connection's health (its name, last sync, what needs the
// patient, in one sentence, with the button that fixes it) and sync with a progress bar; importing
// a file. A record that matches nobody in the vault for certain is stored only once the patient
// says whose it is.
import { AppError, api } from "../api";
import type { ConnectForm } from "../bindings/ConnectForm";
import type { Connection } from "../bindings/Connection";
import type { DirectoryEntry } from "../bindings/DirectoryEntry";
import type { ImportReport } from "../bindings/ImportReport";
import type { Vendor } from "../bindings/Vendor";
import { append, clear, h } from "../dom";
import { showError } from "../errors";
import { everyone, personLabel, refreshPeople } from "../people";
import { withWhoIsThis } from "./who";

/** The vendor whose portals serve many practices from one address (a practice id is needed). */
const MANY_PRACTICES = "athena";

/** The person whose record a connection brings, once its first sync has said. */
function personOf(c: Connection) {
  return everyone().find((p) => p.sources.some((s) => s.kind === "portal" && s.patient_id === c.patient_id && (s.name === c.name || s.name === c.fhir_base)));
}

/**
 * The name a connection is shown by: the directory's name for its portal; for a portal the
 * directory does not list (which the core names by its host), where it is and who made it — never
 * a bare host.
 */
export function connectionName(c: Connection, vendors: Vendor[]): string {
  let host = "";
  try {
    host = new URL(c.fhir_base).host;
  } catch {
    return c.name;
  }
  if (c.name !== host && c.name !== host.replace(/:\d+$/, "")) return c.name;
  const vendor = vendors.find((v) => v.code === c.vendor);
  return vendor ? `Portal at ${host}, made by ${vendor.name}` : `Portal at ${host}`;
}

/** When a connection last synced, in words. */
export function lastSync(c: Connection): string {
  return c.last_sync_at ? `Last synced ${c.last_sync_at.slice(0, 16).replace("T", " ")}` : "Not synced yet";
}

/** The Connections view; `dropped` are files dropped on the window, imported right away. */
export function connectionsView(demoPortal: string, dropped: string[] = []): HTMLElement {
  const list = h("ul", { class: "connections", id: "connections" });
  const signIn = h("div", { class: "notice", id: "sign-in", hidden: true });
  const view = h("section", {}, h("h1", {}, "Connections"), signIn, list);
  let vendors: Vendor[] = [];

  const refresh = async () => {
    try {
      const [connections, known] = await Promise.all([api.connections(), api.vendors().catch(() => []), refreshPeople().catch(() => everyone())]);
      vendors = Array.isArray(known) ? known : [];
      form.vendorsChanged();
      clear(list);
      if (connections.length === 0) list.appendChild(h("li", { class: "muted" }, "No portal connected yet."));
      for (const c of connections) list.appendChild(item(c));
    } catch (e) {
      showError(view, e);
    }
  };
  /** Signs in at a portal; true when it is connected. */
  const connect = async (request: ConnectForm): Promise<boolean> => {
    view.querySelector(":scope > .error")?.remove();
    signIn.hidden = false;
    clear(signIn);
    append(signIn, h("p", {}, "Sign in to your portal in the browser window that opened. If none opened, open this address in your browser:"), h("code", { id: "sign-in-url" }, "…"));
    try {
      await api.connect(request, (address) => {
        const code = signIn.querySelector("#sign-in-url");
        if (code) code.textContent = address;
      });
      signIn.hidden = true;
      await refresh();
      return true;
    } catch (e) {
      signIn.hidden = true;
      // Stopped by a lock: nothing to say (the lock screen shows; nothing was connected).
      if (!(e instanceof AppError && e.code === "sign_in_stopped")) showError(view, e);
      return false;
    }
  };
  /** "Sign in again": straight away, or through the form where the practice must be said again. */
  const reconnect = (c: Connection) => {
    if (c.vendor === MANY_PRACTICES && !c.practice) {
      form.choose({ name: connectionName(c, vendors), vendor: c.vendor, fhir_base: c.fhir_base, practice: null });
      form.focus();
    } else {
      void connect({ url: c.fhir_base, vendor: c.vendor, practice: c.practice, client_id: null });
    }
  };
  const item = (c: Connection) => {
    const progress = h("progress", { class: "sync-progress", max: "1", value: "0", hidden: true, "aria-label": "Sync progress" });
    const state = h("span", { class: "status" }, lastSync(c));
    const sync = h("button", { class: "sync" }, "Sync");
    sync.addEventListener("click", async () => {
      // Busy while it runs, but not disabled: a disabled button would drop the keyboard's focus.
      if (sync.getAttribute("aria-disabled") === "true") return;
      progress.hidden = false;
      sync.setAttribute("aria-disabled", "true");
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
          attention.hidden = true;
        } else {
          state.textContent = "Not synced: nothing was downloaded.";
        }
      } catch (e) {
        // Stopped by a lock: the lock screen shows; the sentence is for the return, not an error.
        if (e instanceof AppError && e.code === "sync_stopped") state.textContent = e.message;
        else showError(view, e);
      } finally {
        progress.hidden = true;
        sync.removeAttribute("aria-disabled");
      }
    });
    const needsSignIn = c.status === "needs_sign_in";
    const again = h("button", { class: needsSignIn ? "again primary" : "again quiet" }, "Sign in again");
    again.addEventListener("click", () => reconnect(c));
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
    const attention = h("p", { class: "attention", role: "status", hidden: !c.attention }, c.attention ?? "");
    // Signed out, refused, or missing a client id or the practice: signing in again is what
    // helps. A portal that failed to answer: syncing again.
    const signInHelps = ["sign_in", "refused", "client_id", "practice"].includes(c.attention_kind ?? "");
    const actions = needsSignIn ? [again] : signInHelps ? [sync, again] : [sync];
    return h(
      "li",
      { class: "connection", "data-id": String(c.id) },
      h("strong", { class: "connection-name" }, connectionName(c, vendors)),
      h("span", { class: "muted" }, c.fhir_base),
      of,
      state,
      progress,
      ...actions,
      remove,
      attention,
    );
  };

  const demo = h("button", { id: "connect-demo", class: "primary" }, "Try the demo portal");
  demo.addEventListener("click", () => void connect({ url: demoPortal, vendor: null, practice: null, client_id: null }));
  const form = connectForm(() => vendors, connect);
  const query = h("input", { type: "search", id: "directory-search", placeholder: "Find your provider", "aria-label": "Find your provider" });
  const results = h("ul", { class: "directory" });
  query.addEventListener("input", async () => {
    const found = query.value.trim().length < 2 ? [] : await api.directory(query.value);
    clear(results);
    for (const entry of found.slice(0, 20)) {
      const choose = h("button", { class: "choose" }, "Choose");
      choose.addEventListener("click", () => {
        form.choose(entry);
        form.focus();
      });
      const where = [entry.city, entry.state].filter(Boolean).join(", ");
      results.appendChild(h("li", {}, h("span", {}, entry.name), where ? h("span", { class: "muted" }, where) : null, choose));
    }
  });
  append(view, h("h2", {}, "Add a portal"), demo, h("div", { class: "row" }, query), results, form.element);
  const [importElements, importPaths] = importSection(view);
  append(view, ...importElements);
  void refresh();
  if (dropped.length > 0) void importPaths(dropped);
  return view;
}

/** The portal chosen in the directory (the parts of an entry the form needs). */
type Chosen = Pick<DirectoryEntry, "name" | "vendor" | "fhir_base" | "practice">;

/**
 * The connect form: a portal chosen in the directory, or one it does not list (its address and,
 * optionally, who made it); the practice where the vendor serves many from one address
 * (prefilled from the directory); the patient's own client id for the vendor (optional, saved
 * for it). `connect` resolves true once connected, and the form is cleared.
 */
export function connectForm(vendors: () => Vendor[], connect: (request: ConnectForm) => Promise<boolean>) {
  let chosen: Chosen | null = null;
  const chosenText = h("span", {});
  const other = h("button", { type: "button", id: "choose-other", class: "quiet" }, "Another portal");
  const chosenLine = h("p", { id: "chosen-portal", hidden: true }, chosenText, " ", other);
  const url = h("input", { type: "url", id: "portal-url", placeholder: "https://portal.example.org/fhir" });
  const vendor = h("select", { id: "portal-vendor" });
  const unlisted = h(
    "div",
    { class: "row", id: "unlisted-portal" },
    h("label", {}, "Not listed? Its address ", url),
    h("label", {}, "Made by ", vendor),
  );
  const practice = h("input", { type: "text", id: "portal-practice", autocomplete: "off" });
  const practiceField = h("label", { id: "practice-field", hidden: true }, "Practice id ", practice);
  const clientId = h("input", { type: "text", id: "portal-client-id", autocomplete: "off", spellcheck: "false" });
  const clientIdLabel = h("span", { id: "client-id-label" }, "Your own client id (optional)");
  const clientIdField = h("label", { id: "client-id-field", hidden: true }, clientIdLabel, " ", clientId);
  const go = h("button", { id: "connect-url" }, "Connect");
  const element = h("div", { id: "connect-form" }, chosenLine, unlisted, h("div", { class: "row" }, practiceField, clientIdField), go);

  /** The vendor the form is about: the chosen entry's, else "Made by" (none: not said). */
  const vendorCode = () => (chosen ? chosen.vendor : vendor.value) || null;
  /** Shows the practice and client-id fields the vendor calls for. */
  const update = () => {
    const code = vendorCode();
    const known = vendors().find((v) => v.code === code);
    chosenLine.hidden = !chosen;
    unlisted.hidden = !!chosen;
    chosenText.textContent = chosen ? `Connecting to ${chosen.name}${known ? ` (made by ${known.name})` : ""}.` : "";
    practiceField.hidden = code !== MANY_PRACTICES;
    clientIdField.hidden = !code;
    const name = known?.name ?? code ?? "";
    clientIdLabel.textContent = code ? `Your own client id for ${name} (optional)` : "Your own client id (optional)";
    clientId.placeholder = !code ? "" : known?.client_id ? `In use: ${known.client_id}` : "OwnRecord has none yet";
  };
  const vendorsChanged = () => {
    const was = vendor.value;
    clear(vendor);
    vendor.appendChild(h("option", { value: "" }, "Not sure"));
    for (const v of vendors()) vendor.appendChild(h("option", { value: v.code }, v.name));
    vendor.value = was;
    update();
  };
  const choose = (entry: Chosen | null) => {
    chosen = entry;
    practice.value = entry?.practice ?? "";
    clientId.value = "";
    update();
  };
  const reset = () => {
    choose(null);
    url.value = "";
    vendor.value = "";
    update();
  };
  vendor.addEventListener("change", update);
  vendor.addEventListener("input", update);
  other.addEventListener("click", () => choose(null));
  go.addEventListener("click", async () => {
    const address = (chosen ? chosen.fhir_base : url.value).trim();
    if (!address) {
      element.querySelector(":scope > .error")?.remove();
      showError(element, new AppError("no_address", "Find your provider above, or type the portal's address."));
      return;
    }
    element.querySelector(":scope > .error")?.remove();
    const request: ConnectForm = {
      url: address,
      vendor: vendorCode(),
      practice: practiceField.hidden ? null : practice.value.trim() || null,
      client_id: clientIdField.hidden ? null : clientId.value.trim() || null,
    };
    if (await connect(request)) reset();
  });
  vendorsChanged();
  const focus = () => (practiceField.hidden || practice.value ? go : practice).focus();
  return { element, choose, vendorsChanged, focus };
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
  const progress = h("progress", { id: "import-progress", max: "1", value: "0", hidden: true, "aria-label": "Import progress" });
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

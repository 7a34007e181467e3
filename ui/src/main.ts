// OwnRecord's window: first run, unlock, and the record's views. One screen at a time.
import { AppError, api } from "./api";
import { append, clear, h } from "./dom";
import { showError } from "./errors";
import { listenForDrops } from "./drop";
import { IdleLock } from "./idle";
import { chosen, onPeopleChange, personSwitcher, refreshPeople, resetPeople } from "./people";
import { auditView } from "./views/audit";
import { connectionsView } from "./views/connections";
import { exportView } from "./views/export";
import { peopleView } from "./views/people";
import { recordView } from "./views/record";
import { wipeView } from "./views/wipe";

const root = document.getElementById("app")!;
const AUTO_LOCK_MINUTES = 10;
let idle: IdleLock | undefined;
let stopDrops: (() => void) | undefined;
let shells = 0;

export async function start(): Promise<void> {
  idle?.stop();
  shells += 1;
  stopDrops?.();
  stopDrops = undefined;
  resetPeople();
  const status = await api.vaultStatus();
  if (!status.exists) resetPeople(true);
  if (status.unlocked) await refreshPeople();
  clear(root);
  markFirstPaint();
  if (!status.exists) {
    root.appendChild(firstRun(status.dir));
  } else if (!status.unlocked) {
    root.appendChild(unlockScreen());
  } else {
    root.appendChild(shell(status.demo_portal));
    idle = new IdleLock(AUTO_LOCK_MINUTES, () => void lockNow());
    idle.start();
  }
}

/** Records when the first screen was painted (read by the start-up benchmark). */
function markFirstPaint(): void {
  const w = window as unknown as { __ownrecordFirstPaint?: number };
  if (w.__ownrecordFirstPaint === undefined) {
    requestAnimationFrame(() => (w.__ownrecordFirstPaint ??= performance.now()));
  }
}

async function lockNow(): Promise<void> {
  await api.lock();
  await start();
}

function firstRun(dir: string): HTMLElement {
  const usePassphrase = h("input", { type: "checkbox", id: "use-passphrase" });
  const passphrase = h("input", { type: "password", id: "new-passphrase", autocomplete: "new-password", hidden: true });
  usePassphrase.addEventListener("change", () => (passphrase.hidden = !usePassphrase.checked));
  const screen = h(
    "section",
    { class: "welcome", id: "first-run" },
    h("h1", {}, "Welcome to OwnRecord"),
    h("p", {}, `Your health record will be kept encrypted in ${dir} on this computer, and nowhere else; its key goes into your system keyring.`),
    h("label", {}, usePassphrase, " Also protect it with a passphrase"),
    passphrase,
  );
  const create = h("button", { id: "create-vault", class: "primary" }, "Create my vault");
  create.addEventListener("click", async () => {
    try {
      await api.createVault(usePassphrase.checked ? passphrase.value : null);
      await start();
    } catch (e) {
      showError(screen, e);
    }
  });
  append(screen, create);
  return screen;
}

function unlockScreen(): HTMLElement {
  const passphrase = h("input", { type: "password", id: "passphrase", autocomplete: "current-password", placeholder: "Passphrase (if you set one)" });
  const screen = h("section", { class: "welcome", id: "unlock-screen" }, h("h1", {}, "OwnRecord is locked"));
  const unlock = h("button", { id: "unlock", class: "primary" }, "Unlock");
  const go = async () => {
    try {
      await api.unlock(passphrase.value || null);
      await start();
    } catch (e) {
      showError(screen, e);
    }
  };
  unlock.addEventListener("click", go);
  passphrase.addEventListener("keydown", (e) => (e as KeyboardEvent).key === "Enter" && void go());
  append(screen, passphrase, unlock);
  return screen;
}

type ViewName = "record" | "people" | "connections" | "export" | "audit" | "wipe";

/** The views that show one person's record: shown again when another person is chosen. */
const PERSON_VIEWS: ViewName[] = ["record", "export"];

function shell(demoPortal: string): HTMLElement {
  const content = h("div", { class: "content", id: "content" });
  // Files dropped on the window are imported from the Connections view (which asks whose they are).
  let dropped: string[] = [];
  const views: Record<ViewName, [string, () => HTMLElement]> = {
    record: ["My record", () => recordView(chosen())],
    people: ["People", () => peopleView()],
    connections: ["Connections", () => connectionsView(demoPortal, dropped.splice(0))],
    export: ["Export & share", () => exportView(chosen())],
    audit: ["Audit log", () => auditView()],
    wipe: ["Wipe", () => wipeView(start)],
  };
  const nav = h("nav", { "aria-label": "Sections" });
  let current: ViewName = "record";
  const show = (name: ViewName) => {
    current = name;
    for (const button of nav.querySelectorAll("button")) {
      button.setAttribute("aria-current", String(button.dataset.view === name));
    }
    clear(content);
    content.appendChild(views[name][1]());
  };
  for (const [name, [label]] of Object.entries(views) as [ViewName, [string, unknown]][]) {
    const button = h("button", { id: `nav-${name}` }, label);
    button.dataset.view = name;
    button.addEventListener("click", () => show(name));
    nav.appendChild(button);
  }
  // Another person chosen (or the first one arrived): their record replaces the one shown.
  let shownPerson = chosen()?.id ?? null;
  onPeopleChange(() => {
    const now = chosen()?.id ?? null;
    if (now === shownPerson) return;
    shownPerson = now;
    if (PERSON_VIEWS.includes(current)) show(current);
  });
  const lock = h("button", { id: "lock", class: "quiet" }, "Lock");
  lock.addEventListener("click", () => void lockNow());
  const layout = h("div", { class: "shell" }, h("header", {}, h("strong", {}, "OwnRecord"), personSwitcher(), lock), nav, content);
  show("record");
  const thisShell = shells;
  listenForDrops(
    (paths) => {
      dropped = paths;
      show("connections");
    },
    (over) => layout.classList.toggle("drop-target", over),
  ).then(
    (stop) => (thisShell === shells ? (stopDrops = stop) : stop()),
    () => undefined, // no drag-and-drop events (e.g. outside the app): the file dialog remains
  );
  return layout;
}

void start().catch((e) => {
  clear(root);
  root.appendChild(h("p", { class: "error", role: "alert" }, e instanceof AppError ? e.message : "OwnRecord could not start."));
});

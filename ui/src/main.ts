// OwnRecord's window: first run, unlock, and the record's views. One screen at a time.
import { AppError, api } from "./api";
import { append, clear, h } from "./dom";
import { showError } from "./errors";
import { listenForDrops } from "./drop";
import { IdleLock } from "./idle";
import { chosen, onPeopleChange, personSwitcher, refreshPeople, resetPeople } from "./people";
import { recoveryKeyScreen, recoveryOffer } from "./recovery";
import { restoreForm } from "./restore";
import { auditView } from "./views/audit";
import { backupsView } from "./views/backups";
import { connectionsView } from "./views/connections";
import { exportView } from "./views/export";
import { homeView } from "./views/home";
import { billsView } from "./views/bills";
import { visitsView } from "./views/visits";
import type { ListItem } from "./bindings/ListItem";
import { peopleView } from "./views/people";
import { sharedView } from "./views/shared";
import { recordView } from "./views/record";
import { ownView } from "./views/own";
import { wipeView } from "./views/wipe";

const root = document.getElementById("app")!;
const AUTO_LOCK_MINUTES = 10;
let idle: IdleLock | undefined;
let stopDrops: (() => void) | undefined;
let shells = 0;
/** "Not now" to a recovery key: not offered again until the app starts again. */
let recoveryKeyDeclined = false;

/** Shows the screen for this vault's state; in the record, `view` first. */
export async function start(view: ViewName = "home"): Promise<void> {
  leaveShell();
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
  } else if (status.has_recovery_key === false && !recoveryKeyDeclined) {
    root.appendChild(
      recoveryOffer(
        async () => showRecoveryKey(await api.newRecoveryKey(), () => void start()),
        () => {
          recoveryKeyDeclined = true;
          void start();
        },
      ),
    );
  } else {
    root.appendChild(shell(status.demo_portal, status.demo_share_host, view));
    idle = new IdleLock(AUTO_LOCK_MINUTES, () => void lockNow());
    idle.start();
  }
}

/** Stops what the record's shell runs: auto-lock and drag-and-drop. */
function leaveShell(): void {
  idle?.stop();
  shells += 1;
  stopDrops?.();
  stopDrops = undefined;
}

/** The recovery key on its own screen (nothing else on the page, so it prints alone). */
function showRecoveryKey(key: string, then: () => void): void {
  leaveShell();
  clear(root);
  root.appendChild(recoveryKeyScreen(key, then));
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
  const passphrase = h("input", { type: "password", id: "new-passphrase", autocomplete: "new-password", "aria-label": "Passphrase", hidden: true });
  usePassphrase.addEventListener("change", () => (passphrase.hidden = !usePassphrase.checked));
  const screen = h(
    "main",
    { class: "welcome", id: "first-run" },
    h("h1", {}, "Welcome to OwnRecord"),
    h("p", {}, `Your health record will be kept encrypted in ${dir} on this computer, and nowhere else; its key goes into your system keyring.`),
    h("label", {}, usePassphrase, " Also protect it with a passphrase"),
    passphrase,
  );
  const create = h("button", { id: "create-vault", class: "primary" }, "Create my vault");
  create.addEventListener("click", async () => {
    try {
      const created = await api.createVault(usePassphrase.checked ? passphrase.value : null);
      if (created.recovery_key) showRecoveryKey(created.recovery_key, () => void start());
      else await start();
    } catch (e) {
      showError(screen, e);
    }
  });
  const restore = restoreForm(() => start());
  restore.hidden = true;
  const restoreStart = h("button", { id: "restore-start", class: "quiet" }, "Restore from a backup");
  restoreStart.addEventListener("click", () => {
    restore.hidden = false;
    restoreStart.hidden = true;
  });
  append(screen, create, h("p", { class: "muted" }, "Moving to this computer, or starting again after a lost disk?"), restoreStart, restore);
  return screen;
}

function unlockScreen(): HTMLElement {
  const passphrase = h("input", { type: "password", id: "passphrase", autocomplete: "current-password", placeholder: "Passphrase (if you set one)", "aria-label": "Passphrase (if you set one)" });
  const recoveryKey = h("input", { type: "text", id: "recovery-key-input", class: "key-input", autocomplete: "off", spellcheck: "false", placeholder: "XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX-XXXXX", "aria-label": "Recovery key" });
  const keyHint = h("p", { class: "muted" }, "The recovery key you wrote down: eight groups of five characters. Unlocking with it also puts the vault's key back into this computer's keyring.");
  const keyPart = h("div", { id: "recovery-unlock", hidden: true }, recoveryKey, keyHint);
  const toggle = h("button", { id: "use-recovery-key", class: "quiet", type: "button" }, "Use my recovery key instead");
  const screen = h("main", { class: "welcome", id: "unlock-screen" }, h("h1", {}, "OwnRecord is locked"));
  const unlock = h("button", { id: "unlock", class: "primary" }, "Unlock");
  const useKey = (on: boolean) => {
    keyPart.hidden = !on;
    passphrase.hidden = on;
    toggle.textContent = on ? "Use my keyring or passphrase instead" : "Use my recovery key instead";
    (on ? recoveryKey : passphrase).focus();
  };
  toggle.addEventListener("click", () => useKey(keyPart.hidden));
  const go = async () => {
    try {
      if (keyPart.hidden) {
        await api.unlock(passphrase.value || null);
      } else if (recoveryKey.value.trim()) {
        await api.unlock(null, recoveryKey.value);
      } else {
        throw new AppError("no_recovery_key_typed", "Type your recovery key, or go back to your keyring or passphrase.");
      }
      // Read by the app benchmark: the home's first paint is timed from here.
      performance.mark?.("ownrecord:unlocked");
      await start();
    } catch (e) {
      showError(screen, e);
      // The keyring has no entry for this vault (a new computer, a reinstalled system).
      if (e instanceof AppError && e.code === "key_missing" && keyPart.hidden) useKey(true);
    }
  };
  unlock.addEventListener("click", go);
  for (const input of [passphrase, recoveryKey]) {
    input.addEventListener("keydown", (e) => (e as KeyboardEvent).key === "Enter" && void go());
  }
  append(screen, passphrase, keyPart, unlock, toggle);
  return screen;
}

type ViewName = "home" | "record" | "own" | "visits" | "bills" | "people" | "connections" | "export" | "shared" | "audit" | "backups" | "wipe";

/** The views that show one person's record: shown again when another person is chosen. */
const PERSON_VIEWS: ViewName[] = ["home", "record", "own", "visits", "bills", "export"];

function shell(demoPortal: string, demoShareHost: string | null, first: ViewName): HTMLElement {
  const content = h("main", { class: "content", id: "content", tabindex: "-1" });
  // Files dropped on the window are imported from the Connections view (which asks whose they are).
  let dropped: string[] = [];
  // An entry opened from the home, the visits or the bills: shown in the record's detail.
  let opening: ListItem | undefined;
  const open = (item: ListItem) => {
    opening = item;
    show("record");
  };
  const takeOpening = () => {
    const item = opening;
    opening = undefined;
    return item;
  };
  const views: Record<ViewName, [string, () => HTMLElement]> = {
    home: ["Home", () => homeView(chosen(), { open, connect: () => show("connections"), visits: () => show("visits") })],
    record: ["My record", () => recordView(chosen(), takeOpening())],
    own: ["Add to my record", () => ownView(chosen())],
    visits: ["Visits", () => visitsView(chosen(), open)],
    bills: ["Bills and claims", () => billsView(chosen(), open)],
    people: ["People", () => peopleView()],
    connections: ["Connections", () => connectionsView(demoPortal, dropped.splice(0))],
    export: ["Export & share", () => exportView(chosen(), { demoShareHost, showShared: () => show("shared") })],
    shared: ["Shared", () => sharedView(demoShareHost)],
    audit: ["Audit log", () => auditView()],
    backups: ["Backups", () => backupsView((key) => showRecoveryKey(key, () => void start("backups")))],
    wipe: ["Wipe", () => wipeView(start)],
  };
  const nav = h("nav", { "aria-label": "Sections" });
  let current: ViewName = first;
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
    button.addEventListener("click", () => {
      show(name);
      focusView(content);
    });
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
  show(first);
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

/**
 * After a section is chosen in the menu, the keyboard's focus (and a screen reader) goes to its
 * heading, or to the content itself while the heading is still loading.
 */
function focusView(content: HTMLElement): void {
  const toHeading = () => {
    const heading = content.querySelector<HTMLElement>("h1");
    if (!heading) return false;
    if (!heading.hasAttribute("tabindex")) heading.setAttribute("tabindex", "-1");
    heading.focus();
    return true;
  };
  if (toHeading()) return;
  content.focus();
  // The heading arrives with what the section loads: the focus moves there, unless the
  // patient has moved it meanwhile.
  const watch = new MutationObserver(() => {
    if (document.activeElement !== content || toHeading()) watch.disconnect();
  });
  watch.observe(content, { childList: true, subtree: true });
  setTimeout(() => watch.disconnect(), 5000);
}

void start().catch((e) => {
  clear(root);
  root.appendChild(h("p", { class: "error", role: "alert" }, e instanceof AppError ? e.message : "OwnRecord could not start."));
});

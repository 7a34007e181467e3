// The recovery key, shown once on its own screen (printable), and the offer to make one for a
// vault that has none. The key is never logged or stored: it lives in this screen's DOM until
// Continue, and is cleared from it then.
import { h } from "./dom";
import { showError } from "./errors";

export const RECOVERY_KEY_SENTENCE =
  "Write this recovery key down and keep it somewhere safe, away from this computer. It opens your vault and its backups if this computer's keyring entry or your passphrase is lost. It is shown only now: OwnRecord does not keep it.";

/** The key in its groups of five, each group its own element; the text reads as the key. */
function keyGroups(key: string): HTMLElement {
  const shown = h("p", { class: "recovery-key", id: "recovery-key", "aria-label": "Your recovery key" });
  key.split("-").forEach((group, i) => {
    if (i > 0) shown.appendChild(h("span", { class: "dash" }, "-"));
    shown.appendChild(h("span", { class: "group" }, group));
  });
  return shown;
}

/**
 * The screen that shows `key`: Print, and Continue once "I have written it down" is ticked.
 * `done` runs after the key has been taken out of the page.
 */
export function recoveryKeyScreen(key: string, done: () => void, madeOn: Date = new Date()): HTMLElement {
  const shown = keyGroups(key);
  const made = madeOn.toLocaleDateString(undefined, { year: "numeric", month: "long", day: "numeric" });
  const written = h("input", { type: "checkbox", id: "recovery-key-written" });
  const print = h("button", { id: "print-recovery-key", type: "button" }, "Print");
  const next = h("button", { id: "recovery-continue", class: "primary", disabled: true }, "Continue");
  const screen = h(
    "main",
    { class: "welcome recovery", id: "recovery-key-screen" },
    h(
      "div",
      { class: "print-sheet" },
      h("h1", {}, "Your OwnRecord recovery key"),
      shown,
      h("p", { id: "recovery-key-date" }, `Made on ${made}.`),
      h("p", { id: "recovery-key-sentence" }, RECOVERY_KEY_SENTENCE),
    ),
    h("div", { class: "row no-print" }, print),
    h("label", { class: "no-print" }, written, " I have written it down (or printed it) and put it somewhere safe"),
    h("div", { class: "row no-print" }, next),
  );
  print.addEventListener("click", () => window.print());
  written.addEventListener("change", () => (next.disabled = !written.checked));
  next.addEventListener("click", () => {
    if (!written.checked) return;
    shown.replaceChildren();
    screen.remove();
    done();
  });
  return screen;
}

/** For a vault without a recovery key: make one now (`make`), or not now. */
export function recoveryOffer(make: () => Promise<void>, notNow: () => void): HTMLElement {
  const yes = h("button", { id: "make-recovery-key", class: "primary" }, "Make a recovery key");
  const no = h("button", { id: "recovery-not-now", class: "quiet" }, "Not now");
  const screen = h(
    "main",
    { class: "welcome", id: "recovery-offer" },
    h("h1", {}, "Make a recovery key"),
    h("p", {}, "This vault has no recovery key yet. A recovery key opens your vault and its backups if this computer's keyring entry or your passphrase is lost — on a new computer, for example."),
    h("p", {}, "It takes a minute: OwnRecord shows it once, and you write it down."),
    h("div", { class: "row" }, yes, no),
  );
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    try {
      await make();
    } catch (e) {
      showError(screen, e);
    } finally {
      yes.disabled = false;
    }
  });
  no.addEventListener("click", notNow);
  return screen;
}

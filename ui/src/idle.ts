// Locks the vault after a stretch without keyboard or pointer activity, and when the system
// locked it (the session's screen locked, or the computer is going to sleep: the shell has then
// locked the vault already and says so with `SYSTEM_LOCKED`).
import { listen, type UnlistenFn } from "@tauri-apps/api/event";

/** The shell's event when it locked the vault for the system (src-tauri/system_lock.rs). */
export const SYSTEM_LOCKED = "system-locked";

export class IdleLock {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private unlisten: Promise<UnlistenFn> | undefined;

  constructor(
    private readonly minutes: number,
    private readonly onIdle: () => void,
    private readonly target: EventTarget = window,
  ) {}

  private readonly reset = () => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(this.fire, this.minutes * 60_000);
  };

  private readonly fire = () => {
    this.stop();
    this.onIdle();
  };

  start(): void {
    for (const event of ["keydown", "pointerdown", "pointermove", "wheel"]) {
      this.target.addEventListener(event, this.reset, { passive: true });
    }
    this.reset();
    // Without the shell (a test of a view) there is nothing to listen to.
    this.unlisten = listen(SYSTEM_LOCKED, this.fire).catch(() => () => {});
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const event of ["keydown", "pointerdown", "pointermove", "wheel"]) {
      this.target.removeEventListener(event, this.reset);
    }
    // `UnlistenFn` is typed void but returns the unlisten call's promise.
    void this.unlisten?.then(async (unlisten) => await unlisten()).catch(() => {});
    this.unlisten = undefined;
  }
}

// Locks the vault after a stretch without keyboard or pointer activity.

export class IdleLock {
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly minutes: number,
    private readonly onIdle: () => void,
    private readonly target: EventTarget = window,
  ) {}

  private readonly reset = () => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.stop();
      this.onIdle();
    }, this.minutes * 60_000);
  };

  start(): void {
    for (const event of ["keydown", "pointerdown", "pointermove", "wheel"]) {
      this.target.addEventListener(event, this.reset, { passive: true });
    }
    this.reset();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    for (const event of ["keydown", "pointerdown", "pointermove", "wheel"]) {
      this.target.removeEventListener(event, this.reset);
    }
  }
}

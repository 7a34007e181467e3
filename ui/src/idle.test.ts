// Auto-lock: after the idle time, and at once when the shell says the system locked the vault.
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, expect, it, vi } from "vitest";
import { IdleLock, SYSTEM_LOCKED } from "./idle";

const tick = () => new Promise((r) => setTimeout(r, 0));

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

it("locks after the idle time, and activity starts the time again", () => {
  vi.useFakeTimers();
  const target = new EventTarget();
  let locked = 0;
  new IdleLock(10, () => (locked += 1), target).start();
  vi.advanceTimersByTime(9 * 60_000);
  target.dispatchEvent(new Event("keydown"));
  vi.advanceTimersByTime(9 * 60_000);
  expect(locked).toBe(0);
  vi.advanceTimersByTime(60_000);
  expect(locked).toBe(1);
});

it("locks when the system locked the vault, once, and not after it stopped", async () => {
  mockIPC(() => undefined, { shouldMockEvents: true });
  let locked = 0;
  const idle = new IdleLock(10, () => (locked += 1), new EventTarget());
  idle.start();
  await tick();
  await emit(SYSTEM_LOCKED);
  expect(locked).toBe(1);
  await emit(SYSTEM_LOCKED);
  expect(locked).toBe(1);

  const again = new IdleLock(10, () => (locked += 1), new EventTarget());
  again.start();
  again.stop();
  await tick();
  await emit(SYSTEM_LOCKED);
  expect(locked).toBe(1);
});

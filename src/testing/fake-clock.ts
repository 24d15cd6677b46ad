/** A manual clock for tests: time stands still until you advance it, and timers fire in time order. */

import type { Clock } from '../core/clock.js';

/**
 * A {@link Clock} whose time only moves when a test moves it. Pass it to the runtime (or any
 * code that takes a `Clock`) to test sleeps, timeouts and leases without waiting.
 *
 * @example
 * ```ts
 * const clock = createFakeClock(Date.parse('2025-01-01T00:00:00Z'));
 * const runtime = createRuntime({ store, workflows, clock });
 * clock.advance(60_000); // fires every timer due in the next minute, in order
 * ```
 */
export interface FakeClock extends Clock {
  /**
   * Moves time forward by `ms` and fires every timer that falls due on the way, earliest
   * first (timers due at the same moment fire in the order they were set). Timers that
   * callbacks set while advancing fire too if they fall due before the target time.
   * Returns how many timers fired. A callback that throws stops the advance at that timer's
   * time and the error propagates; call `advance` again to continue.
   */
  advance(ms: number): number;
  /**
   * Jumps to `time` without firing timers, like changing the system clock. Timers keep
   * their due time, so any that are now overdue fire on the next `advance` (even `advance(0)`).
   */
  set(time: number): void;
  /** How many timers are set and neither fired nor cancelled. */
  readonly pendingTimers: number;
}

interface FakeTimer {
  dueAt: number;
  sequence: number;
  callback: () => void;
}

/**
 * Creates a {@link FakeClock} that starts at `start` milliseconds since the epoch.
 *
 * @example
 * ```ts
 * const clock = createFakeClock(1_000);
 * const fired: number[] = [];
 * clock.setTimer(() => fired.push(clock.now()), 500);
 * clock.advance(499); // fired: []
 * clock.advance(1);   // fired: [1500]
 * ```
 */
export function createFakeClock(start = 0): FakeClock {
  assertFiniteTime('start', start);
  let now = start;
  let sequence = 0;
  const timers = new Set<FakeTimer>();

  const nextDue = (until: number): FakeTimer | undefined => {
    let next: FakeTimer | undefined;
    for (const timer of timers) {
      if (timer.dueAt > until) continue;
      if (
        next === undefined ||
        timer.dueAt < next.dueAt ||
        (timer.dueAt === next.dueAt && timer.sequence < next.sequence)
      ) {
        next = timer;
      }
    }
    return next;
  };

  return {
    now: () => now,
    setTimer(callback, ms) {
      const timer: FakeTimer = {
        dueAt: now + Math.max(0, Number.isFinite(ms) ? ms : 0),
        sequence: sequence++,
        callback,
      };
      timers.add(timer);
      return () => {
        timers.delete(timer);
      };
    },
    advance(ms) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(
          `FakeClock.advance needs a finite, non-negative number of milliseconds; got ${ms}.`,
        );
      }
      const target = now + ms;
      let fired = 0;
      for (let timer = nextDue(target); timer !== undefined; timer = nextDue(target)) {
        timers.delete(timer);
        now = Math.max(now, timer.dueAt);
        fired += 1;
        timer.callback();
      }
      now = target;
      return fired;
    },
    set(time) {
      assertFiniteTime('time', time);
      now = time;
    },
    get pendingTimers() {
      return timers.size;
    },
  };
}

function assertFiniteTime(name: string, value: number): void {
  if (!Number.isFinite(value)) {
    throw new RangeError(`FakeClock needs a finite ${name} in milliseconds; got ${value}.`);
  }
}

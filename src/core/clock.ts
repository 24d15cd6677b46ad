/** The clock a runtime reads time and sets timers from; tests swap in the fake clock from `batonjs/testing`. */

/**
 * Time source and timer facility used by the runtime for leases, timers and step timings.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ store, workflows, clock: systemClock });
 * ```
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` after `ms`; returns a function that cancels the timer. */
  setTimer(callback: () => void, ms: number): () => void;
}

/**
 * The real clock: `Date.now()` and `setTimeout`, with timers that do not keep the process alive.
 *
 * @example
 * ```ts
 * const cancel = systemClock.setTimer(() => console.log('tick'), 1000);
 * cancel();
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, ms) {
    if (!(ms > longestTimeout)) {
      const handle = setTimeout(callback, Math.max(0, ms));
      handle.unref?.();
      return () => clearTimeout(handle);
    }
    const dueAt = Date.now() + ms;
    let handle: ReturnType<typeof setTimeout>;
    // setTimeout takes at most 2^31 - 1 ms (about 24.8 days) and fires at once for anything
    // longer; a longer timer is armed in steps, each checking how long is still left.
    const arm = (delay: number) => {
      handle = setTimeout(
        () => {
          const left = dueAt - Date.now();
          if (left > 0) arm(left);
          else callback();
        },
        Math.min(Math.max(0, delay), longestTimeout),
      );
      handle.unref?.();
    };
    arm(ms);
    return () => clearTimeout(handle);
  },
};

/** The longest delay `setTimeout` honours. */
const longestTimeout = 2 ** 31 - 1;

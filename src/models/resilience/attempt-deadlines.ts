/** AttemptDeadlines: the timeouts of a runtime's calls in flight, under one timer instead of one timer per attempt. */

/** An attempt with a deadline (`performance.now()` time) that is told when it passes. */
export interface Expiring {
  readonly deadline: number;
  /** Its place among the pending attempts while watched (kept by `AttemptDeadlines`), else -1. */
  watchedAt: number;
  expire(): void;
}

/** The longest delay `setTimeout` takes (about 24.8 days); a later deadline is reached in steps. */
const longestDelay = 2 ** 31 - 1;

/**
 * The deadlines of the timed attempts in flight. One timer, armed for the earliest deadline, serves
 * them all: adding an attempt re-arms it only when its deadline comes first, and removing one
 * leaves it armed (a timer that fires early finds nothing due and is armed for the next
 * deadline). A call that finishes before its deadline, the usual case, so costs a push and a pop
 * on a list instead of creating and clearing a timer (a list, not a Set: a Set that empties
 * reallocates its table, and this one empties after every call made alone). The timer keeps the process alive only while
 * some attempt waits, as a timer per attempt did.
 *
 * @example
 * ```ts
 * const deadlines = new AttemptDeadlines();
 * const attempt = { deadline: performance.now() + 1000, watchedAt: -1, expire: () => console.log('timed out') };
 * deadlines.add(attempt, performance.now());
 * deadlines.remove(attempt); // finished in time
 * ```
 */
export class AttemptDeadlines {
  readonly #pending: Expiring[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** The deadline the timer is armed for. */
  #armedFor = Number.POSITIVE_INFINITY;

  /** Watches `attempt` from `now` (`performance.now()`) until it is removed or its deadline passes. */
  add(attempt: Expiring, now: number): void {
    if (attempt.watchedAt !== -1) return;
    attempt.watchedAt = this.#pending.push(attempt) - 1;
    if (this.#timer === undefined || attempt.deadline < this.#armedFor) this.#arm(attempt.deadline, now);
    else if (this.#pending.length === 1) this.#timer.ref();
  }

  /** Stops watching `attempt` (it finished); true when it was watched. */
  remove(attempt: Expiring): boolean {
    const index = attempt.watchedAt;
    if (index === -1) return false;
    const pending = this.#pending;
    const last = pending.pop() as Expiring;
    if (last !== attempt) {
      pending[index] = last;
      last.watchedAt = index;
    }
    attempt.watchedAt = -1;
    if (pending.length === 0) this.#timer?.unref();
    return true;
  }

  #arm(deadline: number, now: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(
      AttemptDeadlines.#fire,
      Math.min(longestDelay, Math.max(0, Math.ceil(deadline - now))),
      this,
    );
  }

  static #fire(deadlines: AttemptDeadlines): void {
    deadlines.#timer = undefined;
    deadlines.#armedFor = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    let due: Expiring[] | undefined;
    for (const attempt of deadlines.#pending) {
      if (attempt.deadline <= now) {
        due ??= [];
        due.push(attempt);
      } else if (attempt.deadline < next) next = attempt.deadline;
    }
    if (due !== undefined)
      for (const attempt of due) {
        // Still due: an earlier expiry's abort listeners may have ended it meanwhile.
        if (deadlines.remove(attempt)) attempt.expire();
      }
    // Expiring may have added attempts (a retry) and armed the timer for them.
    const armed = deadlines.#timer as ReturnType<typeof setTimeout> | undefined;
    if (next !== Number.POSITIVE_INFINITY && (armed === undefined || next < deadlines.#armedFor))
      deadlines.#arm(next, now);
    if (deadlines.#pending.length === 0)
      (deadlines.#timer as ReturnType<typeof setTimeout> | undefined)?.unref();
  }
}

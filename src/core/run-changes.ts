/** The run change feed: a store-wide record stream with one record per run end and per wait for a signal, written in the same write batch as the status it announces, while some consumer (webhooks) wants it. */

import { RecordJson, type RunStatus, type Store } from './store.js';

/**
 * The record stream of run changes (`runs:changes`): a runtime appends a {@link RunChange}
 * right before it stores a run's end (completed, failed, budget-exceeded, cancelled) or a
 * suspension that waits for a signal. Both writes are issued in the same turn, so a
 * group-committing store (SQLite, Postgres) commits them in one transaction; a reader still
 * checks the run's stored status, since the status write alone may be refused (a lost lease).
 * Written only while a consumer wants it ({@link runChangeConsumersStream}). Webhooks follow
 * this stream (docs/webhooks.md).
 *
 * @example
 * ```ts
 * const changes = await store.readRecords(runChangesStream, { after: 0, limit: 100 });
 * ```
 */
export const runChangesStream = 'runs:changes';

/** One record of {@link runChangesStream}. */
export interface RunChange {
  runId: string;
  target: string;
  /** The status about to be stored: a terminal one, or `suspended` (waiting for a signal). */
  status: RunStatus;
  /** The time written with the status (the run's `updatedAt` once stored). */
  at: number;
  /** The lease owner that writes the status; absent for `runtime.cancel` (not fenced). */
  owner?: string;
  /** For `suspended`: the `seq` of the waits record in the run's waits stream (`waits:<runId>`). */
  waits?: number;
}

/**
 * The record stream that says whether anyone reads the feed: `{ consumer, wanted }` records
 * (a webhook subscription appends `wanted: true` when it is created and `false` when revoked).
 * While no consumer wants it, runtimes write no change records.
 *
 * @example
 * ```ts
 * await store.appendRecord(runChangeConsumersStream, { consumer: 'dashboard', wanted: true });
 * ```
 */
export const runChangeConsumersStream = 'runs:changes:consumers';

/** How long a look at the consumers holds (from when it began): a consumer registered since counts from the next look. */
const holdsMs = 1000;
/** How old an answer is when the next look begins, so that it answers before this one stops holding. */
const refreshMs = 500;

/**
 * The change feed of one store, as a runtime writes it: a change is appended while some consumer
 * wants the feed, and whenever that is not known (no look yet, or the last answer over a second
 * old, counted from when its look began). The answer is looked at again once it is half a second
 * old: as a run ends, and every half second while the runtime executes runs (a timer that does not
 * keep the process alive), so runs that end together after a long step (or a long quiet time)
 * find it known rather than each writing while a look is in flight. So runs that end while nobody
 * reads the feed cost about two reads of the consumers stream a second while runs execute, and a
 * new consumer sees every change from about a second after it registered. Looks use the system
 * clock (never a runtime's fake clock).
 */
export class RunChangeLog {
  readonly #store: Store;
  readonly #executing: () => boolean;
  readonly #consumers = new Map<string, boolean>();
  #seen = 0;
  #wanted = false;
  /** When the last look that completed began (ms since the epoch). */
  #lookedAt = Number.NEGATIVE_INFINITY;
  #looking: Promise<void> | undefined;
  #refresh: ReturnType<typeof setInterval> | undefined;

  /** `executing` says whether the runtime executes runs now: the timer that keeps the answer fresh runs while it does. */
  constructor(store: Store, executing: () => boolean = () => false) {
    this.#store = store;
    this.#executing = executing;
  }

  /**
   * Called as a run starts executing: until the runtime executes no run, the answer is looked at
   * again every half second, so a run that ends finds it known.
   *
   * @example
   * ```ts
   * changes.keepFresh();
   * ```
   */
  keepFresh(): void {
    if (this.#refresh !== undefined) return;
    this.#refresh = setInterval(() => {
      if (!this.#executing()) {
        clearInterval(this.#refresh);
        this.#refresh = undefined;
        return;
      }
      this.#look(Date.now());
    }, refreshMs);
    this.#refresh.unref?.();
  }

  /**
   * Appends `change` without waiting for it: the caller issues its status write in the same turn,
   * so the two are committed together. A failure is not reported here: a store failure fails the
   * status write of the same batch too (the run is released and logs again when it ends), and a
   * status write refused alone (a lost lease) leaves a record that readers skip.
   *
   * @example
   * ```ts
   * changes.log({ runId, target, status: 'completed', at: now, owner });
   * await store.updateRun(runId, { status: 'completed' }, now, fence);
   * ```
   */
  log(change: RunChange): void {
    const now = Date.now();
    const age = now - this.#lookedAt;
    if (age >= refreshMs) this.#look(now);
    // A look in flight changes nothing: the last answer holds until it is a second old.
    if (age < holdsMs && !this.#wanted) return;
    // Built by Baton from plain fields: stored as its JSON text without the value checks.
    this.#store
      .appendRecord(runChangesStream, new RecordJson(JSON.stringify(change)), change.at)
      .catch(() => {});
  }

  /** Stops the timer (the runtime closes). */
  close(): void {
    clearInterval(this.#refresh);
    this.#refresh = undefined;
  }

  #look(now: number): void {
    if (this.#looking !== undefined) return;
    this.#looking = (async () => {
      for (;;) {
        const records = await this.#store.readRecords(runChangeConsumersStream, {
          after: this.#seen,
          limit: 500,
        });
        for (const { seq, data } of records) {
          this.#seen = seq;
          const record = data as { consumer?: unknown; wanted?: unknown } | null;
          if (typeof record?.consumer === 'string' && typeof record.wanted === 'boolean')
            this.#consumers.set(record.consumer, record.wanted);
        }
        if (records.length < 500) break;
      }
      this.#wanted = [...this.#consumers.values()].some(Boolean);
      this.#lookedAt = now;
    })()
      .catch(() => {})
      .finally(() => {
        this.#looking = undefined;
      });
  }
}

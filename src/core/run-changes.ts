/** The run change feed: a store-wide record stream with one record per run end and per wait for a signal, written in the same write batch as the status it announces. */

import { RecordJson, type RunStatus, type Store } from './store.js';

/**
 * The record stream of run changes (`runs:changes`): a runtime appends a {@link RunChange}
 * right before it stores a run's end (completed, failed, budget-exceeded, cancelled) or a
 * suspension that waits for a signal. Both writes are issued in the same turn, so a
 * group-committing store (SQLite, Postgres) commits them in one transaction; a reader still
 * checks the run's stored status, since the status write alone may be refused (a lost lease).
 * Webhooks follow this stream (docs/webhooks.md).
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
 * Appends a change to the feed without waiting for it: the caller issues its status write in
 * the same turn, so the two are committed together. A failure is not reported here: a store
 * failure fails the status write of the same batch too (the run is released and logs again when
 * it ends), and a status write refused alone (a lost lease) leaves a record that readers skip.
 *
 * @example
 * ```ts
 * logRunChange(store, { runId, target, status: 'completed', at: now, owner });
 * await store.updateRun(runId, { status: 'completed' }, now, fence);
 * ```
 */
export function logRunChange(store: Store, change: RunChange): void {
  // Built by Baton from plain fields: stored as its JSON text without the value checks.
  store.appendRecord(runChangesStream, new RecordJson(JSON.stringify(change)), change.at).catch(() => {});
}

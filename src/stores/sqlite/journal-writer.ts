/** Group commit for journal appends: entries queued in one event-loop turn are written in one transaction. */

import type Database from 'better-sqlite3';
import { journalConflictError } from '../store-errors.js';
import type { JournalParams } from './sqlite-rows.js';

/** One queued append and how to settle its promise. */
interface PendingAppend {
  params: JournalParams;
  resolve: () => void;
  reject: (error: unknown) => void;
  failed: boolean;
  failure: unknown;
}

/** Counters a caller (a test, a benchmark) can read; the writer only increments them. */
export interface JournalWriterStats {
  transactions: number;
  journalBatches: number;
  journalEntries: number;
}

/** The queue in front of the journal table. */
export interface JournalWriter {
  /** Queues an entry; the promise settles after the transaction holding it commits. */
  append(params: JournalParams): Promise<void>;
  /** Writes every queued entry now, in one transaction. Safe to call with an empty queue. */
  flush(): void;
}

/**
 * Creates the journal queue. `insert` must be an `INSERT ... ON CONFLICT (run_id, key) DO
 * NOTHING` statement taking `JournalParams`: an existing key then changes no row, and only that
 * entry's promise rejects with `JOURNAL_CONFLICT`.
 *
 * The first append in a turn schedules a flush with `setImmediate`; every append until then
 * joins the same batch. A flush writes the batch in one immediate transaction. A row that fails
 * on its own (a constraint) rolls back just its statement, so only its promise rejects; if the
 * transaction itself fails (disk full, busy past the timeout) every promise in the batch
 * rejects with that error and none of the batch is stored.
 *
 * @example
 * ```ts
 * const writer = createJournalWriter(db, insertJournal, stats);
 * await Promise.all(entries.map((entry) => writer.append(journalParams(entry)))); // one transaction
 * ```
 */
export function createJournalWriter(
  db: Database.Database,
  insert: Database.Statement<JournalParams>,
  stats: JournalWriterStats,
): JournalWriter {
  let queue: PendingAppend[] = [];
  let scheduled: NodeJS.Immediate | undefined;

  const writeBatch = db.transaction((batch: PendingAppend[]) => {
    for (const pending of batch) {
      try {
        if (insert.run(...pending.params).changes === 0) {
          pending.failed = true;
          pending.failure = journalConflictError(pending.params[0], pending.params[1]);
        }
      } catch (error) {
        // SQLite rolled back the whole transaction (I/O error, full disk): fail the batch.
        if (!db.inTransaction) throw error;
        pending.failed = true;
        pending.failure = error;
      }
    }
  });

  function flush(): void {
    if (scheduled !== undefined) {
      clearImmediate(scheduled);
      scheduled = undefined;
    }
    if (queue.length === 0) return;
    const batch = queue;
    queue = [];
    try {
      writeBatch.immediate(batch);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    stats.transactions++;
    stats.journalBatches++;
    stats.journalEntries += batch.length;
    for (const pending of batch) {
      if (pending.failed) pending.reject(pending.failure);
      else pending.resolve();
    }
  }

  return {
    append(params) {
      return new Promise<void>((resolve, reject) => {
        queue.push({ params, resolve, reject, failed: false, failure: undefined });
        scheduled ??= setImmediate(flush);
      });
    },
    flush,
  };
}

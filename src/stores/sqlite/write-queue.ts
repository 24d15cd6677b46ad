/** Group commit for the SQLite store: writes queued in one event-loop turn commit in one transaction, in order. */

import type Database from 'better-sqlite3';
import { runNotCreatedError } from '../../core/store-errors.js';

/**
 * One write for the queue. `write` runs its single statement inside the batch; `settle` turns
 * what it returned into the promise's value once the batch has committed, throwing for a
 * failure of this write alone (a conflict, a missing row).
 */
export interface QueuedWrite<T, R> {
  /** Runs exactly one statement (a batch of one runs it as its own transaction). */
  write(): R;
  settle(result: R): T;
  /** Counted as a journal entry in the stats. */
  readonly journal: boolean;
  /** Set on a run's creation (the run's id): a `write` that throws means the run was not created. */
  readonly creates?: string;
  /**
   * Set on a write to one run (a journal append, a run update): when a creation of that run failed
   * earlier in the same batch, the write is not run and rejects with `RUN_NOT_FOUND`.
   */
  readonly runId?: string;
}

/** A queued write and the promise it settles. */
interface Pending {
  write: QueuedWrite<unknown, unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  failed: boolean;
  /** What `write()` returned, or the error it threw when `failed`. */
  outcome: unknown;
}

/** Counters a caller (a test, a benchmark) can read; the queue only increments them. */
export interface WriteQueueStats {
  transactions: number;
  writeBatches: number;
  queuedWrites: number;
  journalBatches: number;
  journalEntries: number;
}

/** The ordered queue in front of the database's frequent writes. */
export interface WriteQueue {
  /** Queues a write; the promise settles after the transaction holding it commits. */
  enqueue<T, R>(write: QueuedWrite<T, R>): Promise<T>;
  /** Writes every queued write now, in one transaction. Safe to call with an empty queue. */
  flush(): void;
}

/**
 * Creates the write queue. The first write queued in a turn schedules a flush with
 * `setImmediate`; every write queued until then joins the same batch, so writes issued from
 * many runs (and from every I/O callback of one event-loop iteration) share one commit.
 *
 * Writes run in queue order and their promises settle in queue order, after the commit. A
 * batch of several writes runs in one `BEGIN IMMEDIATE` transaction, so the write lock (and
 * any wait for another process holding it, up to the busy timeout) is taken before the first
 * write runs; a batch of one runs its single statement as its own transaction, which takes
 * the same lock and waits the same way, without the two extra statements.
 *
 * A write whose statement fails on its own (a constraint) changes nothing and rejects only
 * its own promise, as does one whose `settle` throws; the rest of the batch commits, except the
 * writes to a run (`runId`) queued behind that run's failed creation (`creates`), which are not
 * run and reject with `RUN_NOT_FOUND`: a run's first step queued with its creation is never
 * stored for a run that was not created (or under a taken id, in another run's journal). If the
 * transaction itself fails (busy past the timeout, disk full, I/O error) nothing of the batch
 * is stored and every promise in it rejects with that error.
 *
 * @example
 * ```ts
 * const queue = createWriteQueue(db, stats);
 * const created = queue.enqueue({
 *   journal: false,
 *   creates: runId,
 *   write: () => {
 *     if (insertRun.run(params).changes === 0) throw runExistsError(runId);
 *   },
 *   settle: () => undefined,
 * });
 * ```
 */
export function createWriteQueue(
  db: Database.Database,
  stats: WriteQueueStats,
  onCommit: () => void = () => {},
): WriteQueue {
  let queue: Pending[] = [];
  let scheduled: NodeJS.Immediate | undefined;

  const writeBatch = db.transaction((batch: Pending[]) => {
    /** Runs whose creation failed in this batch: the writes queued behind it to those runs are refused. */
    let notCreated: Set<string> | undefined;
    for (const pending of batch) {
      const { write } = pending;
      if (notCreated !== undefined && write.runId !== undefined && notCreated.has(write.runId)) {
        pending.failed = true;
        pending.outcome = runNotCreatedError(write.runId);
        continue;
      }
      try {
        pending.outcome = write.write();
      } catch (error) {
        // SQLite rolled back the whole transaction (I/O error, full disk): fail the batch.
        if (!db.inTransaction) throw error;
        pending.failed = true;
        pending.outcome = error;
        if (write.creates !== undefined) {
          notCreated ??= new Set();
          notCreated.add(write.creates);
        }
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
      if (batch.length === 1) batch[0]!.outcome = batch[0]!.write.write();
      else writeBatch.immediate(batch);
    } catch (error) {
      for (const pending of batch) pending.reject(error);
      return;
    }
    count(batch);
    for (const pending of batch) {
      if (pending.failed) {
        pending.reject(pending.outcome);
        continue;
      }
      try {
        pending.resolve(pending.write.settle(pending.outcome));
      } catch (error) {
        pending.reject(error);
      }
    }
  }

  function count(batch: Pending[]): void {
    let journalEntries = 0;
    for (const pending of batch) if (pending.write.journal) journalEntries++;
    stats.transactions++;
    onCommit();
    stats.writeBatches++;
    stats.queuedWrites += batch.length;
    if (journalEntries > 0) {
      stats.journalBatches++;
      stats.journalEntries += journalEntries;
    }
  }

  return {
    enqueue<T, R>(write: QueuedWrite<T, R>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({
          write: write as QueuedWrite<unknown, unknown>,
          resolve: resolve as (value: unknown) => void,
          reject,
          failed: false,
          outcome: undefined,
        });
        scheduled ??= setImmediate(flush);
      });
    },
    flush,
  };
}

/** Group commit for the Postgres store: writes queued together commit together, two batches in flight at a time, each run's writes in order. */

import type { Pool, PoolClient } from 'pg';
import { runNotCreatedError } from '../../core/store-errors.js';
import { type BatchStep, planBatch } from './postgres-batch-plan.js';
import { type TakenBatch, takeBatch } from './postgres-batch-take.js';
import type { PostgresWriteGroup } from './postgres-write-groups.js';

/**
 * One write for the queue. `run` issues its statements on the batch's connection (inside the
 * batch's transaction when the batch holds more than one write); `settle` turns what it
 * returned into the promise's value once the batch has committed, throwing for a failure of
 * this write alone (a conflict, a missing row, a lost lease).
 */
export interface PostgresWrite<T, R> {
  run(client: PoolClient): Promise<R>;
  settle(result: R): T;
  /** Counted as a journal entry in the stats. */
  readonly journal: boolean;
  /** A change to announce with `NOTIFY` once the batch has committed (`kind:origin:runId`), if any. */
  readonly notify?: string;
  /**
   * What the write reads and changes (`run:<id>`, `stream:<name>`), so a batch can reorder writes
   * on different keys; undefined for a write that may touch any run (written alone, in order).
   */
  readonly key?: string;
  /** A multi-row statement the write may share with others of its group in a batch, and its row of values. */
  readonly many?: { readonly group: PostgresWriteGroup<R>; readonly row: readonly unknown[] };
  /** Set on a run's creation: the run's id, and whether what `run` returned says the run was created. */
  readonly creates?: { readonly runId: string; created(result: R): boolean };
  /**
   * Set on a write to one run (a journal entry, a run update): queued behind a creation of that
   * run that fails, the write is not run and rejects with `RUN_NOT_FOUND`.
   */
  readonly runId?: string;
}

/** The outcome of a write refused because it was queued behind its run's failed creation. */
const notCreated: unique symbol = Symbol('not created');

interface Pending {
  /** Undefined for a barrier: it settles when everything queued before it has been written. */
  write: PostgresWrite<unknown, unknown> | undefined;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Counters a caller (a test, a benchmark) can read; the queue only increments them. */
export interface PostgresWriteStats {
  transactions: number;
  writeBatches: number;
  queuedWrites: number;
  journalBatches: number;
  journalEntries: number;
  /** Statements the batches were written with: a write's own or a multi-row one (`BEGIN`/`COMMIT` not counted). */
  statements: number;
}

/** How the queue writes: lanes (batches in flight at once, each on its own connection) and the largest batch. */
export interface PostgresWriteQueueOptions {
  /** Batches in flight at once. Default 2: one commits while the next is being written. */
  lanes?: number;
  /** Writes in one batch at most. Default 2000: a burst is written in parts, two at a time. */
  maxBatch?: number;
}

/** The ordered queue in front of the store's writes. */
export interface PostgresWriteQueue {
  /** Queues a write; the promise settles after the transaction holding it commits. */
  enqueue<T, R>(write: PostgresWrite<T, R>): Promise<T>;
  /** Resolves once every write queued before the call has been written (whatever its outcome). */
  barrier(): Promise<void>;
  /** Resolves once the notifications of written batches have been sent (before the pool ends). */
  announced(): Promise<void>;
}

/**
 * Whether a Postgres error belongs to the statement alone (bad data, a constraint), so the rest of
 * its batch can still be written: SQLSTATE classes 22 (data exception) and 23 (integrity).
 */
function statementError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Creates the write queue. The first write schedules a batch with `setImmediate`, and every
 * write queued meanwhile joins it (group commit: with many runs in flight one transaction
 * carries many writes). Up to `lanes` batches (2) are in flight at once, each on its own pooled
 * connection, so one commits while the next is written and the process meanwhile carries on
 * with what the last one settled; a burst is cut into batches of at most `maxBatch` writes
 * (2000), so its first runs move on while the rest is written. A batch takes the queued writes
 * in order, passing over those whose key (`run:<id>`, `stream:<name>`) a batch in flight
 * touches, and every later write on such a key (`takeBatch`): the writes of one key commit in
 * queue order, one never before an earlier one, while a key every run writes (the change feed's
 * record stream) does not cut the other runs' batches short; the write queued right after one
 * passed over waits with it. A write without a key (it may touch any run) is written with no
 * other batch in flight and nothing queued before it left behind. A batch of one write runs as
 * its own statement. A larger batch is planned (`planBatch`): writes of one kind share one
 * multi-row statement, so a batch costs a few round trips however many writes it holds;
 * several statements run between `BEGIN` and `COMMIT`, a single one as its own transaction.
 * Promises settle after the commit, in queue order within a batch and a batch after the batches
 * taken before it, so a resolved write is durable (committed with the server's
 * `synchronous_commit`, `on` by default). Then the batch's changes are announced with one
 * `NOTIFY` on another connection.
 *
 * A run's creation (`creates`) and the writes to that run queued behind it (`runId`: its first
 * journal entry, its updates) commit in queue order, in one transaction when they share a batch.
 * Should the creation fail (the id is taken, a refused value, a failed batch), the writes to the
 * run queued behind it are not written and reject with `RUN_NOT_FOUND`, in its batch (the
 * statements after the creation's leave them out) or in the queue (a write on a run waits for
 * the batch in flight that holds the run's creation): nothing is stored for a run that was not
 * created, nor under a taken id in another run's journal.
 *
 * A write that fails on its own (`settle` throws) rejects alone. A statement error of class 22
 * or 23 aborts the transaction: the batch is rolled back and its writes are written again one
 * by one, so only the offending one rejects. Any other failure (a lost connection, a server
 * restart) rejects every write of the batch with the driver's error, which the runtime reports
 * as `STORE_UNAVAILABLE`: nothing of the batch is assumed written.
 *
 * @example
 * ```ts
 * const queue = createWriteQueue(pool, stats, 'baton_changes');
 * await queue.enqueue({ journal: true, run: (client) => client.query(insert, values), settle: () => undefined });
 * ```
 */
export function createWriteQueue(
  pool: Pool,
  stats: PostgresWriteStats,
  channel: string,
  options: PostgresWriteQueueOptions = {},
): PostgresWriteQueue {
  const { lanes = 2, maxBatch = 2000 } = options;
  let queue: Pending[] = [];
  /** Batches in flight, the keys their writes touch, and whether one may touch any run (no other runs beside it). */
  let inFlight = 0;
  const busyKeys = new Map<string, number>();
  let exclusive = false;
  let scheduled = false;
  /** Settles once every batch taken so far has settled its promises: a batch settles only after the one before it. */
  let settled: Promise<void> = Promise.resolve();
  /** Changes committed but not yet announced (`kind:origin:runId`), and the announcement in flight. */
  const unannounced = new Set<string>();
  let announcing: Promise<void> | undefined;

  /** Schedules a look at the queue on the next turn of the event loop, so writes issued together share a batch. */
  function kick(): void {
    if (scheduled || queue.length === 0 || inFlight >= lanes || exclusive) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      launch();
    });
  }

  /** Starts batches while a lane is free and the head of the queue may go. */
  function launch(): void {
    while (inFlight < lanes && !exclusive && queue.length > 0) {
      const taken = take();
      if (taken === undefined) return;
      const { batch, keys } = taken;
      inFlight++;
      for (const key of keys) busyKeys.set(key, (busyKeys.get(key) ?? 0) + 1);
      const prior = settled;
      let done!: () => void;
      settled = new Promise<void>((resolve) => {
        done = resolve;
      });
      void writeBatch(batch, prior)
        .catch(() => undefined)
        .finally(() => {
          done();
          inFlight--;
          if (taken.exclusive) exclusive = false;
          for (const key of keys) {
            const count = busyKeys.get(key)! - 1;
            if (count === 0) busyKeys.delete(key);
            else busyKeys.set(key, count);
          }
          launch();
        });
    }
  }

  /** The next batch (`takeBatch`), out of the queue; undefined when nothing may go now. */
  function take(): TakenBatch<Pending> | undefined {
    const taken = takeBatch(queue, busyKeys, inFlight, maxBatch);
    if (taken === undefined) return undefined;
    queue = taken.rest;
    if (taken.exclusive) exclusive = true;
    return taken;
  }

  async function writeBatch(batch: Pending[], prior: Promise<void>): Promise<void> {
    const writes = batch.filter((pending) => pending.write !== undefined);
    if (writes.length === 0) {
      await prior;
      for (const pending of batch) pending.resolve(undefined);
      return;
    }
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await prior;
      failBatch(batch, error);
      return;
    }
    let broken: Error | undefined;
    // A checked-out connection the server ends emits 'error' besides failing the query: keep it
    // from becoming an uncaught exception, and drop the connection instead of pooling it again.
    const lost = (error: Error) => {
      broken ??= error;
    };
    client.on('error', lost);
    try {
      let outcomes: unknown[];
      try {
        outcomes = await runBatch(client, writes);
      } catch (error) {
        if (statementError(error)) {
          await prior;
          await writeOneByOne(client, batch).catch((failure: unknown) => {
            broken = failure as Error;
          });
        } else {
          broken = error as Error;
          await prior;
          failBatch(batch, error);
        }
        return;
      }
      await prior;
      count(writes);
      settleAll(batch, outcomes);
      announce(writes);
    } finally {
      client.off('error', lost);
      client.release(broken);
    }
  }

  /** Runs the writes in one transaction (a single statement as its own); returns each write's result, in order. */
  async function runBatch(client: PoolClient, writes: Pending[]): Promise<unknown[]> {
    if (writes.length === 1) {
      stats.statements++;
      return [await writes[0]!.write!.run(client)];
    }
    const steps = planBatch(writes.map(({ write }) => ({ group: write!.many?.group, key: write!.key })));
    const outcomes: unknown[] = new Array(writes.length);
    /** Runs whose creation failed in this batch, and the first such creation's place in it. */
    const failed = new Map<string, number>();
    if (steps.length === 1) {
      await runStep(client, writes, steps[0]!, outcomes, failed);
      return outcomes;
    }
    await client.query('BEGIN');
    try {
      for (const step of steps) await runStep(client, writes, step, outcomes, failed);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
    return outcomes;
  }

  /**
   * One statement of a batch: a write's own, or its group's over all the step's writes. The
   * writes to a run queued behind its creation that failed earlier in the batch (`failed`) are
   * left out (outcome `notCreated`); a creation that fails here is added to `failed`.
   */
  async function runStep(
    client: PoolClient,
    writes: Pending[],
    step: BatchStep,
    outcomes: unknown[],
    failed: Map<string, number>,
  ): Promise<void> {
    const { group } = step;
    let members = step.members;
    if (failed.size > 0) {
      members = members.filter((member) => {
        const runId = writes[member]!.write!.runId;
        const creation = runId === undefined ? undefined : failed.get(runId);
        if (creation === undefined || creation > member) return true;
        outcomes[member] = notCreated;
        return false;
      });
    }
    if (group === undefined || members.length <= 1) {
      for (const member of members) {
        stats.statements++;
        outcomes[member] = await writes[member]!.write!.run(client);
      }
    } else {
      stats.statements++;
      const results = await group.runMany(
        client,
        members.map((member) => writes[member]!.write!.many!.row),
      );
      for (let index = 0; index < members.length; index++) outcomes[members[index]!] = results[index];
    }
    for (const member of members) {
      const creates = writes[member]!.write!.creates;
      if (creates !== undefined && !failed.has(creates.runId) && !creates.created(outcomes[member]))
        failed.set(creates.runId, member);
    }
  }

  /**
   * Announces the committed writes' changes with `NOTIFY` on another connection, without
   * holding up the writes: their promises have resolved already and the next batch need not
   * wait. One announcement is in flight at a time; changes committed meanwhile go out together
   * in the next one. Best effort: a failure loses only wake-ups (pollers catch up).
   */
  function announce(writes: Pending[]): void {
    for (const pending of writes)
      if (pending.write?.notify !== undefined) unannounced.add(pending.write.notify);
    if (unannounced.size === 0 || announcing !== undefined) return;
    const notes = [...unannounced];
    unannounced.clear();
    announcing = pool
      // No data to keep, so no fsync to wait for: the notification's own commit skips it.
      .query(
        "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, note) FROM jsonb_array_elements_text($2::jsonb) AS note",
        // As JSON: the driver's array literal escapes each element in JavaScript, a tenth of a second per 10,000.
        [channel, JSON.stringify(notes)],
      )
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        announcing = undefined;
        announce([]);
      });
  }

  /**
   * After a statement error: each write in its own transaction, so only the offending one fails.
   * A write to a run whose creation failed before it in the batch is refused (`RUN_NOT_FOUND`).
   */
  async function writeOneByOne(client: PoolClient, batch: Pending[]): Promise<void> {
    const failed = new Set<string>();
    try {
      for (const [index, pending] of batch.entries()) {
        const write = pending.write;
        if (write === undefined) {
          pending.resolve(undefined);
          continue;
        }
        if (write.runId !== undefined && failed.has(write.runId)) {
          pending.reject(runNotCreatedError(write.runId));
          continue;
        }
        let outcome: unknown[];
        try {
          outcome = await runBatch(client, [pending]);
        } catch (error) {
          pending.reject(error);
          if (write.creates !== undefined) failed.add(write.creates.runId);
          if (!statementError(error)) {
            // The connection is lost (or the server refuses more than this write): the rest of
            // the batch is not written, and fails with the same error rather than never settling.
            failBatch(batch.slice(index + 1), error);
            throw error;
          }
          continue;
        }
        count([pending]);
        if (write.creates !== undefined && !write.creates.created(outcome[0]))
          failed.add(write.creates.runId);
        settleAll([pending], outcome, false);
        announce([pending]);
      }
    } finally {
      for (const runId of failed) refuseQueued(runId);
    }
  }

  /**
   * Settles a written batch's promises in order; a write left out behind its run's failed
   * creation rejects with `RUN_NOT_FOUND`. A creation that rejects refuses the writes to its run
   * still queued behind it (`refuseQueued`), after the batch has settled, unless `refuse` is false
   * (the caller does it).
   */
  function settleAll(batch: Pending[], outcomes: unknown[], refuse = true): void {
    let index = 0;
    const failed: string[] = [];
    for (const pending of batch) {
      const write = pending.write;
      if (write === undefined) {
        pending.resolve(undefined);
        continue;
      }
      const outcome = outcomes[index++];
      if (outcome === notCreated) {
        pending.reject(runNotCreatedError(write.runId!));
        continue;
      }
      try {
        pending.resolve(write.settle(outcome));
      } catch (error) {
        pending.reject(error);
        if (write.creates !== undefined) failed.push(write.creates.runId);
      }
    }
    if (refuse) for (const runId of failed) refuseQueued(runId);
  }

  /**
   * After a creation of `runId` failed: the writes to that run still queued (all queued behind
   * the creation, since a run's writes wait for the batch holding the creation) reject with
   * `RUN_NOT_FOUND` and leave the queue, up to another creation of the run.
   */
  function refuseQueued(runId: string): void {
    let end = queue.length;
    for (let index = 0; index < queue.length; index++) {
      if (queue[index]!.write?.creates?.runId === runId) {
        end = index;
        break;
      }
    }
    const kept: Pending[] = [];
    for (let index = 0; index < queue.length; index++) {
      const pending = queue[index]!;
      if (index < end && pending.write?.runId === runId) pending.reject(runNotCreatedError(runId));
      else kept.push(pending);
    }
    if (kept.length !== queue.length) queue = kept;
  }

  /** Rejects every write of a batch that failed as a whole (barriers resolve), and the writes queued behind its creations. */
  function failBatch(batch: Pending[], error: unknown): void {
    for (const pending of batch) {
      if (pending.write === undefined) pending.resolve(undefined);
      else pending.reject(error);
    }
    for (const pending of batch) {
      const creates = pending.write?.creates;
      if (creates !== undefined) refuseQueued(creates.runId);
    }
  }

  function count(writes: Pending[]): void {
    let journalEntries = 0;
    for (const pending of writes) if (pending.write!.journal) journalEntries++;
    stats.transactions++;
    stats.writeBatches++;
    stats.queuedWrites += writes.length;
    if (journalEntries > 0) {
      stats.journalBatches++;
      stats.journalEntries += journalEntries;
    }
  }

  function push(write: PostgresWrite<unknown, unknown> | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      queue.push({ write, resolve, reject });
      kick();
    });
  }

  return {
    enqueue<T, R>(write: PostgresWrite<T, R>): Promise<T> {
      return push(write as PostgresWrite<unknown, unknown>) as Promise<T>;
    },
    async announced(): Promise<void> {
      while (announcing !== undefined) await announcing;
    },
    barrier(): Promise<void> {
      if (queue.length === 0 && inFlight === 0) return Promise.resolve();
      return push(undefined) as Promise<void>;
    },
  };
}

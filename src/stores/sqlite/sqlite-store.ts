/** The SQLite Store on better-sqlite3: one WAL-mode file, prepared statements, group-committed run and journal writes. */

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError, RunNotFoundError } from '../../core/errors.js';
import {
  checkReadOptions,
  type JournalEntry,
  type LeaseFence,
  prepareRecord,
  type SignalRecord,
  type Store,
  type StoreChange,
} from '../../core/store.js';
import {
  journalConflictError,
  leaseLostError,
  runExistsError,
  storeClosedError,
  storeOpenError,
} from '../../core/store-errors.js';
import { createCheckpointer } from './sqlite-checkpointer.js';
import {
  journalParams,
  patchValues,
  runParams,
  toJournalEntry,
  toJson,
  toRunRecord,
  toSignalRecord,
  toStoredRecord,
} from './sqlite-rows.js';
import { migrate } from './sqlite-schema.js';
import { prepareStatements } from './sqlite-statements.js';
import { createWriteQueue, type QueuedWrite } from './write-queue.js';

/** Options for `createSqliteStore`. */
export interface SqliteStoreOptions {
  /** Database file; its directory is created if missing. `':memory:'` for a private in-memory database. Default `.baton/baton.db`. */
  path?: string;
  /**
   * `NORMAL` (default): a resolved write survives the process crashing; the last transactions
   * may be lost if the machine loses power. `FULL`: a resolved write also survives power loss,
   * at the cost of an fsync per transaction.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another process holding the database lock. Default 5000. */
  busyTimeoutMs?: number;
}

/** Counters for tests and benchmarks. */
export interface SqliteStoreStats {
  /**
   * Write transactions committed: each batch of queued writes counts once, as does each
   * `claimRun`, `renewLeases` and `addSignal`.
   */
  readonly transactions: number;
  /** Batches of queued writes (`createRun`, `updateRun`, `appendJournal`, `appendRecord`) committed. */
  readonly writeBatches: number;
  /** Queued writes in those batches, the ones that failed on their own included. */
  readonly queuedWrites: number;
  /** Committed batches that held at least one journal entry. */
  readonly journalBatches: number;
  /** Journal entries in those batches (conflicting ones included). */
  readonly journalEntries: number;
}

/** A Store backed by one SQLite file. */
export interface SqliteStore extends Store {
  /** The database file this store opened. */
  readonly path: string;
  /** Live counters; read them, never write them. */
  readonly stats: SqliteStoreStats;
}

const defaults = {
  path: '.baton/baton.db',
  synchronous: 'NORMAL',
  busyTimeoutMs: 5000,
} satisfies Required<SqliteStoreOptions>;

/**
 * Opens (creating if needed) a SQLite database and returns a Store on it. The file uses WAL
 * mode, so readers never block the writer and other processes can open the same file.
 *
 * The writes a run makes as it goes (`createRun`, `appendJournal`, `updateRun`, `appendRecord`) are
 * group-committed: every one issued before the event loop turns is written, in call order,
 * in one transaction, and each promise resolves only when that transaction has committed. A
 * write that fails on its own (`RUN_EXISTS`, `RUN_NOT_FOUND`, `JOURNAL_CONFLICT`) rejects
 * only its own promise, and the appends and updates of a run queued behind its failed
 * `createRun` in the same transaction (`RUN_NOT_FOUND`: nothing of a run that was not created is
 * stored; `createsWithFirstStep`). Every other call first writes the queue, so it observes the queued
 * writes and is ordered after them. `close()` writes the queue, then closes the file; later
 * calls reject with `STORE_CLOSED`. All stored values must be JSON-serializable.
 *
 * @example
 * ```ts
 * import { createSqliteStore } from 'batonjs/sqlite';
 * const store = createSqliteStore({ path: '.baton/baton.db', synchronous: 'FULL' });
 * const runtime = createRuntime({ store, workflows: [myWorkflow] });
 * // ...
 * await store.close();
 * ```
 */
export function createSqliteStore(options: SqliteStoreOptions = {}): SqliteStore {
  const settings = { ...defaults, ...options };
  validate(settings);
  const path = settings.path;
  const inMemory = path === ':memory:' || path === '';
  const db = open(path, settings.synchronous, settings.busyTimeoutMs);
  const stats = { transactions: 0, writeBatches: 0, queuedWrites: 0, journalBatches: 0, journalEntries: 0 };
  // Copies WAL pages back on a worker thread ahead of SQLite's own checkpoint at walCheckpointPages.
  const checkpointer = inMemory
    ? undefined
    : createCheckpointer({
        path,
        busyTimeoutMs: settings.busyTimeoutMs,
        everyFrames: walCheckpointPages / 8,
      });
  /** Record streams with an append in the write queue: a read of another stream need not write the queue first. */
  const appending = new Set<string>();
  const committed = (): void => {
    appending.clear();
    checkpointer?.committed();
  };

  const {
    insertRun,
    selectRun,
    updateStatement,
    claimRun,
    selectRecoverable,
    insertJournal,
    insertJournalFenced,
    selectLeaseHeld,
    selectRunExists,
    selectJournal,
    selectJournalFrom,
    selectSignals,
    renew,
    signal,
    listStatement,
    insertRecord,
    selectRecords,
  } = prepareStatements(db);
  const queue = createWriteQueue(db, stats, committed);

  let closed = false;

  /** The queued write of one journal entry; its outcome is 1 when the entry was appended. */
  function journalWrite(entry: JournalEntry, fence: LeaseFence | undefined): QueuedWrite<void, number> {
    const params = journalParams(entry);
    const { runId, key } = entry;
    if (fence === undefined) {
      return {
        journal: true,
        runId,
        write: () => insertJournal.run(...params).changes,
        settle: (changes) => {
          if (changes === 0) throw journalConflictError(runId, key);
        },
      };
    }
    const { owner, now } = fence;
    return {
      journal: true,
      runId,
      // 1: appended; 0: the key is taken; -1: the fence's owner does not hold the lease.
      write: () =>
        insertJournalFenced.run(...params, runId, owner, now).changes > 0
          ? 1
          : selectLeaseHeld.get(runId, owner, now) === undefined
            ? -1
            : 0,
      settle: (outcome) => {
        if (outcome < 0) throw leaseLostError(runId, fence);
        if (outcome === 0) throw journalConflictError(runId, key);
      },
    };
  }

  /**
   * A journal entry and the records stored with it (`appendJournalWith`), atomically: in its own
   * immediate transaction when it is alone in its batch, in a savepoint inside a batch.
   */
  const appendWithRecords = db.transaction((appendEntry: () => number, rows: RecordInsert[]): number => {
    const outcome = appendEntry();
    if (outcome === 1) for (const row of rows) insertRecord.get(...row);
    return outcome;
  });

  /**
   * Runs one store operation now: rejects if closed, writes the queue first, and turns a
   * synchronous result or throw into a settled promise.
   */
  function perform<T>(operation: () => T): Promise<T> {
    if (closed) return Promise.reject(storeClosedError(`The SQLite store on ${path}`));
    try {
      queue.flush();
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Who hears this store object's own changes (`subscribe`). */
  const listeners = new Set<(change: StoreChange) => void>();
  /** `result`, announcing the change it made to the listeners once it is stored (nothing to do without any). */
  function announced<T>(result: Promise<T>, kind: StoreChange['kind'], runId: string): Promise<T> {
    if (listeners.size === 0) return result;
    return result.then((value) => {
      const change: StoreChange = { kind, runId, local: true };
      for (const listener of listeners) listener(change);
      return value;
    });
  }

  /**
   * Queues the write `prepare` builds: rejects if closed, or with what `prepare` throws (a
   * value JSON cannot hold), before anything is queued.
   */
  function enqueue<T, R>(prepare: () => QueuedWrite<T, R>): Promise<T> {
    if (closed) return Promise.reject(storeClosedError(`The SQLite store on ${path}`));
    let write: QueuedWrite<T, R>;
    try {
      write = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    return queue.enqueue(write);
  }

  return {
    path,
    stats,
    // A run's first step may be queued behind its creation (see write-queue.ts).
    createsWithFirstStep: true,

    createRun(run) {
      return announced(
        enqueue(() => {
          const params = runParams(run);
          const runId = run.id;
          return {
            journal: false,
            creates: runId,
            // Thrown inside the batch, so the writes to this run queued behind it are refused too.
            write: () => {
              if (insertRun.run(...params).changes === 0) throw runExistsError(runId);
            },
            settle: returnNothing,
          };
        }),
        'run',
        run.id,
      );
    },

    getRun(runId) {
      return perform(() => {
        const row = selectRun.get(runId);
        return row === undefined ? undefined : toRunRecord(row);
      });
    },

    updateRun(runId, patch, now, fence) {
      return announced(
        enqueue(() => {
          const values: unknown[] = [];
          const statement = updateStatement(patchValues(patch, values), fence !== undefined);
          values.push(now, runId);
          if (fence === undefined) {
            return {
              journal: false,
              runId,
              write: () => statement.run(...values).changes,
              settle: (changes) => {
                if (changes === 0) throw new RunNotFoundError(runId);
              },
            };
          }
          values.push(fence.owner, fence.now);
          return {
            journal: false,
            runId,
            // 1: updated; 0: the run is unknown; -1: the fence's owner does not hold the lease.
            write: () =>
              statement.run(...values).changes > 0 ? 1 : selectRunExists.get(runId) === undefined ? 0 : -1,
            settle: (outcome) => {
              if (outcome === 0) throw new RunNotFoundError(runId);
              if (outcome < 0) throw leaseLostError(runId, fence);
            },
          };
        }),
        'run',
        runId,
      );
    },

    listRuns(filter = {}) {
      return perform(() => {
        const values: unknown[] = [];
        if (filter.status !== undefined) {
          values.push(typeof filter.status === 'string' ? filter.status : JSON.stringify(filter.status));
        }
        if (filter.target !== undefined) values.push(filter.target);
        if (filter.threadId !== undefined) values.push(filter.threadId);
        if (filter.createdBefore !== undefined) values.push(filter.createdBefore);
        values.push(filter.limit === undefined ? -1 : normalizeLimit(filter.limit));
        return listStatement(filter)
          .all(...values)
          .map(toRunRecord);
      });
    },

    claimRun(runId, owner, now, leaseMs, force = false) {
      return announced(
        perform(() => {
          const row = claimRun.get({ id: runId, owner, now, until: now + leaseMs, force: force ? 1 : 0 });
          stats.transactions++;
          committed();
          return row === undefined ? undefined : toRunRecord(row);
        }),
        'run',
        runId,
      );
    },

    renewLeases(owner, until) {
      return perform(() => {
        const stopped = renew.immediate(owner, until);
        stats.transactions++;
        committed();
        return stopped;
      });
    },

    findRecoverable(now, limit) {
      return perform(() => selectRecoverable.all({ now, limit: normalizeLimit(limit) }).map(toRunRecord));
    },

    appendJournal(entry, fence) {
      return announced(
        enqueue(() => journalWrite(entry, fence)),
        'journal',
        entry.runId,
      );
    },

    appendJournalWith(entry, fence, records) {
      return announced(
        enqueue(() => {
          // Every record is checked (and serialized) before anything is queued.
          const rows = records.map((record): RecordInsert => {
            const { json, at } = prepareRecord(record.stream, record.data, record.at);
            return [record.stream, at, json, record.stream];
          });
          const write = journalWrite(entry, fence);
          if (rows.length === 0) return write;
          for (const record of records) appending.add(record.stream);
          const appendEntry = write.write;
          return { ...write, write: () => appendWithRecords.immediate(appendEntry, rows) };
        }),
        'journal',
        entry.runId,
      );
    },

    loadJournal(runId, from = 0) {
      return perform(() =>
        (from === 0 ? selectJournal.all(runId) : selectJournalFrom.all(runId, from)).map(toJournalEntry),
      );
    },

    addSignal(runId, name, payload, now) {
      return announced(
        perform((): SignalRecord => {
          const id = signal.immediate(runId, name, toJson(payload), now);
          stats.transactions++;
          committed();
          return { id, runId, name, payload, createdAt: now };
        }),
        'signal',
        runId,
      );
    },

    /**
     * Announces the changes this store object makes (`local: true`), once stored: the journal
     * entries, run creations, updates and claims, and signals it writes. Changes other processes
     * make to the same file are not announced: readers find them by polling.
     */
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },

    listSignals(runId) {
      return perform(() => selectSignals.all(runId).map(toSignalRecord));
    },

    appendRecord(stream, data, now) {
      // Queued like the journal: an audit record joins the transaction of the writes around it.
      return enqueue(() => {
        const { json, at } = prepareRecord(stream, data, now);
        appending.add(stream as string);
        return {
          journal: false,
          write: () => insertRecord.get(stream as string, at, json, stream as string),
          settle: (seq) => {
            if (seq === undefined) throw new Error(`appendRecord("${stream}"): the insert returned no seq.`);
            return seq;
          },
        };
      });
    },

    readRecords(stream, options) {
      if (closed) return Promise.reject(storeClosedError(`The SQLite store on ${path}`));
      try {
        const { after, limit } = checkReadOptions(stream, options);
        // Only appends change a stream: the queue is written first when it holds one to this
        // stream (a look at a stream nobody here appends to leaves the batch whole).
        if (appending.has(stream)) queue.flush();
        return Promise.resolve(selectRecords.all(stream, after, limit ?? -1).map(toStoredRecord));
      } catch (error) {
        return Promise.reject(error);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      try {
        queue.flush();
      } finally {
        // The worker's connection first: the last connection to close checkpoints and removes the WAL.
        await checkpointer?.close();
        db.close();
      }
    },
  };
}

/**
 * WAL pages written between two checkpoints, which copy them back into the database file
 * (SQLite's default is 1000). Each checkpoint costs two fsyncs and copies every page changed
 * since the last one once, so a longer interval means fewer fsyncs and fewer copies of pages
 * rewritten by many commits, for a WAL file of up to about 16 MB. A worker thread copies most
 * pages ahead of it (sqlite-checkpointer.ts), so the checkpoint on the committing thread, which
 * stalls the event loop while it runs, has little left to do.
 */
const walCheckpointPages = 4000;

/** Opens the file with the store's pragmas and brings its schema up to date. */
function open(path: string, synchronous: 'NORMAL' | 'FULL', busyTimeoutMs: number): Database.Database {
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(`wal_autocheckpoint = ${walCheckpointPages}`);
    migrate(db, path);
    return db;
  } catch (error) {
    db?.close();
    throw storeOpenError('the Baton database', path, error);
  }
}

function validate(settings: Required<SqliteStoreOptions>): void {
  if (settings.synchronous !== 'NORMAL' && settings.synchronous !== 'FULL') {
    throw new ConfigError(
      `createSqliteStore: synchronous must be 'NORMAL' or 'FULL', not ${JSON.stringify(settings.synchronous)}.`,
    );
  }
  if (!Number.isInteger(settings.busyTimeoutMs) || settings.busyTimeoutMs < 0) {
    throw new ConfigError(
      `createSqliteStore: busyTimeoutMs must be a non-negative integer, not ${settings.busyTimeoutMs}.`,
    );
  }
  if (typeof settings.path !== 'string') {
    throw new ConfigError('createSqliteStore: path must be a string.');
  }
}

function returnNothing(): void {}

/** The values `insertRecord` binds: stream, at, data, stream. */
type RecordInsert = [string, number, string, string];

function normalizeLimit(limit: number): number {
  return Math.max(0, Math.floor(limit));
}

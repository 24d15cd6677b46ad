/** The Postgres Store on a `pg` pool: group-committed writes, lease fences in the writing statement, LISTEN/NOTIFY wake-ups. */

import { randomBytes } from 'node:crypto';
import type { Pool, PoolConfig, QueryResultRow } from 'pg';
import { ConfigError, RunNotFoundError } from '../../core/errors.js';
import {
  checkReadOptions,
  prepareRecord,
  type RunRecord,
  type SignalRecord,
  type Store,
  type StoreChange,
} from '../../core/store.js';
import {
  journalConflictError,
  leaseLostError,
  runExistsError,
  storeClosedError,
} from '../../core/store-errors.js';
import {
  type JournalRow,
  journalParams,
  patchValues,
  type RecordRow,
  type RunRow,
  runParams,
  type SignalRow,
  toJournalEntry,
  toJson,
  toRunRecord,
  toSignalRecord,
  toStoredRecord,
} from '../sqlite/sqlite-rows.js';
import { loadPg } from './postgres-driver.js';
import { createChangeListener } from './postgres-listen.js';
import { migrate, quoteSchema } from './postgres-schema.js';
import { type PreparedStatement, postgresStatements } from './postgres-statements.js';
import { postgresWriteGroups } from './postgres-write-groups.js';
import { createWriteQueue, type PostgresWrite, type PostgresWriteStats } from './postgres-write-queue.js';

/** Options for `createPostgresStore`: a connection string or a pool of your own. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database`; the store makes and closes its own pool. */
  connectionString?: string;
  /** A `pg` Pool you made; the store neither configures nor ends it (`close()` leaves it open). */
  pool?: Pool;
  /** The Postgres schema holding Baton's tables, created if missing. Default: the URL's `?schema=`, else `baton`. */
  schema?: string;
  /** Connections of the pool the store makes. Default 10. */
  maxConnections?: number;
  /**
   * The server's `synchronous_commit` for the pool the store makes. `on` (default): a resolved
   * write is flushed to the server's disk (one fsync per transaction, shared by a whole batch).
   * `off`: writes resolve once the server has them in memory, so the last few hundred
   * milliseconds of writes can be lost if the server (not only the machine) crashes, like
   * SQLite's `NORMAL` losing them on power loss. For a pool you pass, set it on the pool yourself.
   */
  synchronousCommit?: 'on' | 'off';
}

/** Counters for tests and benchmarks. */
export interface PostgresStoreStats extends PostgresWriteStats {
  /** Migrations this store applied when it opened (0 when another process had applied them). */
  readonly migrationsApplied: number;
}

/** A Store backed by Postgres. */
export interface PostgresStore extends Store {
  /** The schema this store uses. */
  readonly schema: string;
  /** Live counters; read them, never write them. */
  readonly stats: PostgresStoreStats;
  /** Connects and brings the schema up to date; every other call does it first. Rejects like they would. */
  open(): Promise<void>;
  subscribe(listener: (change: StoreChange) => void): () => void;
  /** Resolves once the `LISTEN` behind `subscribe` is active (at once without a subscriber). */
  listening(): Promise<void>;
}

/**
 * The connection string without a `schema` parameter, and the schema: `options.schema`, else the
 * URL's `?schema=`, else `baton`. (`pg` would pass an unknown parameter on to the server.)
 */
function splitSchema(
  connectionString: string | undefined,
  schema: string | undefined,
): { connectionString: string | undefined; schema: string } {
  if (connectionString === undefined || !/[?&]schema=/.test(connectionString))
    return { connectionString, schema: schema ?? 'baton' };
  const url = new URL(connectionString);
  const fromUrl = url.searchParams.get('schema') ?? undefined;
  url.searchParams.delete('schema');
  return { connectionString: url.toString(), schema: schema ?? fromUrl ?? 'baton' };
}

/** The `NOTIFY` channel of a schema's changes. */
function channelOf(schema: string): string {
  return `batonjs_${schema}`;
}

/**
 * Returns a Store on Postgres. Nothing connects until the first call (or `open()`), which
 * loads the `pg` driver (an optional peer dependency: `npm install pg`), makes the pool and
 * applies pending migrations once, under an advisory lock; a schema written by a newer Baton
 * is refused with `STORE_VERSION_UNSUPPORTED`.
 *
 * Writes (`createRun`, `updateRun`, `claimRun`, `appendJournal`, `addSignal`, `appendRecord`,
 * `renewLeases`) go through one ordered queue: the writes issued while a transaction is in
 * flight commit together in the next one (group commit), and each promise resolves only after
 * its transaction committed. Reads wait for the writes queued before them. Fenced writes
 * check the lease in the writing statement itself. A run's journal entries and updates queued
 * behind its `createRun` are written after it (with it when they share a batch) and are refused
 * with `RUN_NOT_FOUND` should it fail (`createsWithFirstStep`: the runtime starts a new run
 * while its creation is queued). Signals, journal appends and status
 * changes are announced with `NOTIFY` right after their transaction commits; `subscribe` hears
 * them from every process through `LISTEN`.
 *
 * A failure of the server or the connection rejects with the driver's error, which a runtime
 * reports as `STORE_UNAVAILABLE` (the run is released, never failed); the pool reconnects on
 * the next call.
 *
 * @example
 * ```ts
 * import { createPostgresStore } from 'batonjs/postgres';
 * const store = createPostgresStore({ connectionString: process.env.DATABASE_URL });
 * const runtime = createRuntime({ store, workflows: [myWorkflow] });
 * // ...
 * await runtime.close();
 * await store.close();
 * ```
 */
export function createPostgresStore(options: PostgresStoreOptions = {}): PostgresStore {
  const { pool: givenPool, maxConnections = 10, synchronousCommit = 'on' } = options;
  const { connectionString, schema } = splitSchema(options.connectionString, options.schema);
  const quoted = quoteSchema(schema);
  if ((connectionString === undefined) === (givenPool === undefined)) {
    throw new ConfigError('createPostgresStore: pass exactly one of connectionString and pool.', {
      code: 'INVALID_OPTION',
    });
  }
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new ConfigError(
      `createPostgresStore: maxConnections must be a positive integer, not ${maxConnections}.`,
      {
        code: 'INVALID_OPTION',
      },
    );
  }
  if (synchronousCommit !== 'on' && synchronousCommit !== 'off') {
    throw new ConfigError(
      `createPostgresStore: synchronousCommit must be 'on' or 'off', not ${JSON.stringify(synchronousCommit)}.`,
      { code: 'INVALID_OPTION' },
    );
  }
  const name = `The Postgres store (schema "${schema}")`;
  const stats = {
    transactions: 0,
    writeBatches: 0,
    queuedWrites: 0,
    journalBatches: 0,
    journalEntries: 0,
    statements: 0,
    migrationsApplied: 0,
  };
  const sql = postgresStatements(quoted);
  const groups = postgresWriteGroups(quoted);
  const channel = channelOf(schema);
  /** This store's id in the notifications it sends, so its own listener knows them as local. */
  const origin = randomBytes(4).toString('hex');
  const listeners = new Set<(change: StoreChange) => void>();
  let pool: Pool | undefined;
  let queue: ReturnType<typeof createWriteQueue> | undefined;
  let opening: Promise<void> | undefined;
  /** Connected and migrated: writes join the queue at once. */
  let ready = false;
  let listener: ReturnType<typeof createChangeListener> | undefined;
  let closed = false;
  /** Per record stream, the last append this process issued that has not settled (a read of the stream waits for it). */
  const appending = new Map<string, Promise<number>>();

  async function connect(): Promise<void> {
    if (pool === undefined) {
      if (givenPool !== undefined) pool = givenPool;
      else {
        const pg = await loadPg();
        const config: PoolConfig = {
          connectionString,
          max: maxConnections,
          connectionTimeoutMillis: 10_000,
          ...(synchronousCommit === 'off' ? { options: '-c synchronous_commit=off' } : {}),
        };
        pool = new pg.Pool(config);
      }
      // An idle connection the server closes (a restart) is an 'error' on the pool: without a
      // listener it would crash the process. The next query takes a fresh connection.
      if (pool.listenerCount('error') === 0) pool.on('error', () => undefined);
      queue = createWriteQueue(pool, stats, channel);
    }
    stats.migrationsApplied += await migrate(pool, schema);
    ready = true;
  }

  function open(): Promise<void> {
    if (closed) return Promise.reject(storeClosedError(name));
    opening ??= connect().catch((error: unknown) => {
      opening = undefined; // a server that was down may answer next time
      throw error;
    });
    return opening;
  }

  const ignore = () => undefined;

  /** A read: after the open and the writes queued before it. */
  async function read<R extends QueryResultRow>(
    statement: PreparedStatement,
    values: unknown[],
  ): Promise<R[]> {
    if (closed) throw storeClosedError(name);
    await open();
    await queue!.barrier();
    return (await pool!.query<R>({ ...statement, values })).rows;
  }

  /** `read` for runs, whose rows come back as arrays in `runColumns` order (a string: not prepared). */
  async function readRuns(statement: PreparedStatement | string, values: unknown[]): Promise<RunRecord[]> {
    if (closed) throw storeClosedError(name);
    await open();
    await queue!.barrier();
    const text = typeof statement === 'string' ? { text: statement } : statement;
    return (await pool!.query<RunRow>({ ...text, values, rowMode: 'array' })).rows.map(toRunRecord);
  }

  /** Queues the write `prepare` builds (after the open); rejects with what `prepare` throws before anything is queued. */
  function enqueue<T, R>(prepare: () => PostgresWrite<T, R>): Promise<T> {
    if (closed) return Promise.reject(storeClosedError(name));
    let write: PostgresWrite<T, R>;
    try {
      write = prepare();
    } catch (error) {
      return Promise.reject(error);
    }
    if (ready) return queue!.enqueue(write);
    return open().then(() => queue!.enqueue(write));
  }

  const store: PostgresStore = {
    schema,
    stats,
    // A run's first step may be queued behind its creation (see postgres-write-queue.ts).
    createsWithFirstStep: true,
    open,

    createRun(run) {
      return enqueue(() => {
        const values = runParams(run);
        return {
          journal: false,
          key: `run:${run.id}`,
          // Queued with the run's first step: should it fail, the writes queued behind it are refused.
          creates: { runId: run.id, created: (changes: number) => changes > 0 },
          many: { group: groups.createRun, row: values },
          run: async (client) => (await client.query({ ...sql.insertRun, values })).rowCount ?? 0,
          settle: (changes) => {
            if (changes === 0) throw runExistsError(run.id);
          },
        };
      });
    },

    async getRun(runId) {
      return (await readRuns(sql.selectRun, [runId]))[0];
    },

    updateRun(runId, patch, now, fence) {
      return enqueue(() => {
        const values: unknown[] = [];
        const shape = patchValues(patch, values);
        const statement = sql.updateStatement(shape, fence !== undefined);
        values.push(now, runId);
        if (fence !== undefined) values.push(fence.owner, fence.now);
        return {
          journal: false,
          ...(patch.status !== undefined ? { notify: `run:${origin}:${runId}` } : {}),
          key: `run:${runId}`,
          runId,
          many: { group: groups.updateRun(shape, fence !== undefined), row: values },
          // 1: updated; 0: the run is unknown; -1: the fence's owner does not hold the lease.
          run: async (client) => {
            if (((await client.query({ ...statement, values })).rowCount ?? 0) > 0) return 1;
            if (fence === undefined) return 0;
            return (await client.query({ ...sql.selectRunExists, values: [runId] })).rowCount === 0 ? 0 : -1;
          },
          settle: (outcome) => {
            if (outcome === 0) throw new RunNotFoundError(runId);
            if (outcome < 0 && fence !== undefined) throw leaseLostError(runId, fence);
          },
        };
      });
    },

    async listRuns(filter = {}) {
      const values: unknown[] = [];
      if (filter.status !== undefined) values.push(filter.status);
      if (filter.target !== undefined) values.push(filter.target);
      if (filter.threadId !== undefined) values.push(filter.threadId);
      if (filter.createdBefore !== undefined) values.push(filter.createdBefore);
      values.push(filter.limit === undefined ? null : Math.max(0, Math.floor(filter.limit)));
      return readRuns(sql.listStatement(filter), values);
    },

    claimRun(runId, owner, now, leaseMs, force = false) {
      return enqueue(() => {
        const values = [runId, owner, now, now + leaseMs, force];
        return {
          journal: false,
          key: `run:${runId}`,
          many: { group: groups.claimRun, row: values },
          run: async (client) =>
            (
              await client.query<RunRow>({
                ...sql.claimRun,
                values,
                rowMode: 'array',
              })
            ).rows[0],
          settle: (row: RunRow | undefined) => (row === undefined ? undefined : toRunRecord(row)),
        };
      });
    },

    renewLeases(owner, until) {
      return enqueue(() => ({
        journal: false,
        run: async (client) =>
          (await client.query<{ id: string }>({ ...sql.renew, values: [owner, until] })).rows,
        settle: (rows: { id: string }[]) => rows.map((row) => row.id),
      }));
    },

    async findRecoverable(now, limit) {
      return readRuns(sql.selectRecoverable, [now, Math.max(0, Math.floor(limit))]);
    },

    appendJournal(entry, fence) {
      return enqueue(() => {
        const values: unknown[] = journalParams(entry);
        const { runId, key } = entry;
        if (fence !== undefined) values.push(fence.owner, fence.now);
        return {
          journal: true,
          notify: `journal:${origin}:${runId}`,
          key: `run:${runId}`,
          runId,
          many: {
            group: fence === undefined ? groups.appendJournal : groups.appendJournalFenced,
            row: values,
          },
          run: async (client): Promise<{ held: boolean; inserted: boolean }> => {
            if (fence !== undefined)
              return (
                await client.query<{ held: boolean; inserted: boolean }>({
                  ...sql.insertJournalFenced,
                  values,
                })
              ).rows[0]!;
            return {
              held: true,
              inserted: ((await client.query({ ...sql.insertJournal, values })).rowCount ?? 0) > 0,
            };
          },
          settle: ({ held, inserted }) => {
            if (!held && fence !== undefined) throw leaseLostError(runId, fence);
            if (!inserted) throw journalConflictError(runId, key);
          },
        };
      });
    },

    async loadJournal(runId, from = 0) {
      const rows =
        from === 0
          ? await read<JournalRow>(sql.selectJournal, [runId])
          : await read<JournalRow>(sql.selectJournalFrom, [runId, from]);
      return rows.map(toJournalEntry);
    },

    addSignal(runId, name, payload, now) {
      return enqueue(() => {
        const json = toJson(payload);
        return {
          journal: false,
          notify: `signal:${origin}:${runId}`,
          key: `run:${runId}`,
          run: async (client) =>
            (await client.query<{ id: number }>({ ...sql.insertSignal, values: [runId, name, json, now] }))
              .rows,
          settle: (rows): SignalRecord => {
            const id = rows[0]?.id;
            if (id === undefined) throw new RunNotFoundError(runId);
            return { id, runId, name, payload, createdAt: now };
          },
        };
      });
    },

    async listSignals(runId) {
      return (await read<SignalRow>(sql.selectSignals, [runId])).map(toSignalRecord);
    },

    appendRecord(stream, data, now) {
      const appended = enqueue(() => {
        const { json, at } = prepareRecord(stream, data, now);
        return {
          journal: false,
          key: `stream:${stream}`,
          many: { group: groups.appendRecord, row: [stream, at, json] },
          run: async (client) =>
            (await client.query<{ seq: number }>({ ...sql.insertRecord, values: [stream, at, json] })).rows[0]
              ?.seq,
          settle: (seq) => {
            if (seq === undefined) throw new Error(`appendRecord("${stream}"): the insert returned no seq.`);
            return seq;
          },
        };
      });
      appending.set(stream, appended);
      const settled = () => {
        if (appending.get(stream) === appended) appending.delete(stream);
      };
      appended.then(settled, settled);
      return appended;
    },

    async readRecords(stream, options) {
      if (closed) throw storeClosedError(name);
      const { after, limit } = checkReadOptions(stream, options);
      await open();
      // Only appends change a stream: the read waits for this process's last one to the stream
      // (one key's writes settle in queue order), not for every queued write (a look at a stream
      // nobody here appends to answers in one round trip, however deep the queue).
      const queued = appending.get(stream);
      if (queued !== undefined) await queued.then(ignore, ignore);
      if (closed) throw storeClosedError(name);
      const { rows } = await pool!.query<RecordRow>({
        ...sql.selectRecords,
        values: [stream, after, limit ?? null],
      });
      return rows.map(toStoredRecord);
    },

    listening() {
      return listener?.listening() ?? Promise.resolve();
    },

    subscribe(callback) {
      listeners.add(callback);
      if (listener === undefined && !closed) {
        listener = createChangeListener({
          channel,
          origin,
          connect: async () => {
            await open();
            const pg = await loadPg();
            const client = new pg.Client(
              givenPool === undefined ? { connectionString } : (givenPool.options as PoolConfig),
            );
            await client.connect();
            return client;
          },
          dispatch: (change) => {
            for (const each of listeners) each(change);
          },
        });
      }
      return () => {
        listeners.delete(callback);
        if (listeners.size === 0 && listener !== undefined) {
          void listener.close();
          listener = undefined;
        }
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      listeners.clear();
      await listener?.close();
      listener = undefined;
      // Writes issued before close while the store was still opening join the queue once it opens.
      if (opening !== undefined) await opening.catch(() => undefined);
      if (queue !== undefined) {
        await queue.barrier();
        await queue.announced();
      }
      if (pool !== undefined && givenPool === undefined) await pool.end();
    },
  };
  return store;
}

/** The Store contract: where runs, their journals, their signals and named record streams live. Every store passes one conformance suite. */

import { ConfigError, type SerializedError } from './errors.js';
import { jsonProblem } from './json-value.js';

/**
 * Where a run is in its life. `suspended` runs hold no memory and wait for a signal or a timer.
 * `budget-exceeded` runs were stopped by a budget; their `output` is the partial result.
 */
export type RunStatus = 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled' | 'budget-exceeded';

/** The statuses a run never leaves. */
export const terminalStatuses: ReadonlySet<RunStatus> = new Set([
  'completed',
  'failed',
  'cancelled',
  'budget-exceeded',
]);

/** Token counts, summed over a call, a step or a run. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** The schema version written with every run; `loadableSchemaVersions` lists what still loads. */
export const runSchemaVersion = 1;
export const loadableSchemaVersions: readonly number[] = [1];

/** One run as stored. All values are JSON-serializable. */
export interface RunRecord {
  id: string;
  /** Name of the workflow, agent or pattern that runs. */
  target: string;
  /** Version of that definition when the run started. */
  targetVersion: string;
  input: unknown;
  status: RunStatus;
  output?: unknown;
  error?: SerializedError;
  threadId?: string;
  /** Where the definition was loaded from (a module or team file), so a CLI can resume it. */
  source?: string;
  usage: Usage;
  costUsd: number;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
  /** For a suspended run: the earliest timer (sleep or wait timeout) that wakes it. */
  wakeAt?: number;
  leaseOwner?: string;
  leaseExpiresAt?: number;
  /**
   * The trace this run belongs to, as a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`):
   * set at creation when the run is traced, so every later execution joins the same trace.
   */
  trace?: string;
  schemaVersion: number;
}

/** Fields a runtime may change on a run after it is created. `null` clears an optional field. */
export interface RunPatch {
  status?: RunStatus;
  /** A run's output may itself be `null`, so `output: null` stores the value `null`; it does not clear. */
  output?: unknown;
  error?: SerializedError | null;
  usage?: Usage;
  costUsd?: number;
  endedAt?: number | null;
  wakeAt?: number | null;
  leaseOwner?: string | null;
  leaseExpiresAt?: number | null;
}

/**
 * The lease a write is fenced on: the write happens only while `owner` holds the run's lease at
 * `now` (`leaseOwner === owner` and `now < leaseExpiresAt`); otherwise nothing is written and
 * the call rejects with a `BatonError` coded `LEASE_LOST`. A runtime fences every journal
 * append and every run update it makes while executing a run, so a process that stalled past
 * its lease (or lost it to another process) cannot record anything after it.
 */
export interface LeaseFence {
  readonly owner: string;
  readonly now: number;
}

/** One recorded outcome in a run's append-only journal. */
export interface JournalEntry {
  runId: string;
  /** Deterministic position: scope path + '#' + sequence number in that scope (`r/2.1#3`), or a sub-key (`r#4~timer`). */
  key: string;
  /** What the code asked for at that position (`model`, `tool:add`, `waitFor:approval`, ...). */
  name: string;
  /** The kind of step, for display and for replay checks. */
  kind: JournalEntryKind;
  status: 'completed' | 'failed';
  result?: unknown;
  error?: SerializedError;
  startedAt: number;
  endedAt: number;
  /** Display data: agent, model, tool, usage, cost. Never read on replay. */
  meta?: StepMeta;
}

/** Kinds of journal entry. */
export type JournalEntryKind =
  | 'step'
  | 'model'
  | 'tool'
  | 'child'
  | 'parallel'
  | 'signal'
  | 'sleep'
  | 'timer'
  | 'now'
  | 'random'
  | 'uuid';

/** What a step records for display and accounting. */
export interface StepMeta {
  agent?: string;
  model?: string;
  tool?: string;
  usage?: Usage;
  costUsd?: number;
  [key: string]: unknown;
}

/** A signal sent to a run; consumed by the `waitFor` that records its id. */
export interface SignalRecord {
  /** Increasing per store; consumption order is id order. */
  id: number;
  runId: string;
  name: string;
  payload: unknown;
  createdAt: number;
}

/** Filter for `listRuns`; newest first (`createdAt` descending, then `id` descending). */
export interface RunFilter {
  status?: RunStatus | readonly RunStatus[];
  target?: string;
  threadId?: string;
  /** Only runs created strictly before this time (for paging). */
  createdBefore?: number;
  limit?: number;
}

/** One record of a named stream, as `readRecords` returns it. */
export interface StoredRecord {
  /** Position in its stream: 1 for the first record, then increasing by 1. */
  seq: number;
  /** When it was appended (milliseconds since the epoch, as passed to `appendRecord`). */
  at: number;
  /** The appended value, as JSON would give it back. */
  data: unknown;
}

/** A record to append to a named stream (`Store.appendJournalWith`): what `appendRecord(stream, data, at)` takes. */
export interface StreamRecord {
  readonly stream: string;
  readonly data: unknown;
  readonly at: number;
}

/** Options of `readRecords`. */
export interface ReadRecordsOptions {
  /** Only records with a `seq` greater than this (for paging and tailing). Default 0: from the start. */
  after?: number;
  /** At most this many records. Default: all. */
  limit?: number;
}

const streamPattern = /^[A-Za-z0-9][\w.:@/-]{0,199}$/;

/**
 * Checks a record stream name: 1 to 200 letters, digits, `_`, `-`, `.`, `:`, `@` or `/`,
 * starting with a letter or digit. Throws a `ConfigError` coded `INVALID_STREAM`.
 *
 * @example
 * ```ts
 * assertStreamName('policy:router'); // ok
 * assertStreamName(''); // throws INVALID_STREAM
 * ```
 */
export function assertStreamName(stream: unknown): asserts stream is string {
  if (typeof stream !== 'string' || !streamPattern.test(stream)) {
    throw new ConfigError(
      `Invalid record stream name ${JSON.stringify(stream) ?? String(stream)}: use 1 to 200 letters, digits, ` +
        `'_', '-', '.', ':', '@' or '/', starting with a letter or digit (for example "policy:router").`,
      { code: 'INVALID_STREAM' },
    );
  }
}

/**
 * Checks an `appendRecord` call before anything is written and returns what to store: the
 * record's JSON text and its time. The stream must pass `assertStreamName`; `data` must
 * survive a JSON round trip unchanged in meaning: plain objects, arrays, strings, finite
 * numbers, booleans and `null` (object properties that are `undefined` are dropped, as JSON
 * does), else a `ConfigError` coded `INVALID_RECORD` names the path of the first value JSON
 * cannot hold; `now` must be a finite number (default `Date.now()`). A `RecordJson` (Baton's
 * own pre-serialized records) is stored as its text without the value checks. `streamChecked`:
 * the caller knows the stream's name passed `assertStreamName` already (a store holds records
 * only under checked names), so it is not checked again.
 *
 * @example
 * ```ts
 * prepareRecord('policy:router', { reward: 1 }, 5); // { json: '{"reward":1}', at: 5 }
 * prepareRecord('policy:router', { at: new Date() }); // throws: data.at is a Date
 * ```
 */
export function prepareRecord(
  stream: unknown,
  data: unknown,
  now?: number,
  streamChecked = false,
): { json: string; at: number } {
  if (!streamChecked) assertStreamName(stream);
  const at = now ?? Date.now();
  if (typeof at !== 'number' || !Number.isFinite(at)) {
    throw new ConfigError(`appendRecord("${stream}"): now must be a finite number of milliseconds.`, {
      code: 'INVALID_OPTION',
    });
  }
  if (RecordJson.isInstance(data)) return { json: data.text, at };
  const problem = jsonProblem(data, 'data');
  if (problem !== undefined) {
    throw new ConfigError(
      `appendRecord("${stream}"): ${problem}. Records must be JSON values (plain objects, arrays, strings, ` +
        'finite numbers, booleans, null).',
      { code: 'INVALID_RECORD' },
    );
  }
  return { json: JSON.stringify(data), at };
}

const recordJsonMarker = Symbol.for('baton.RecordJson');

/**
 * A record's JSON text, already serialized by Baton's own writers from a plain value (the
 * audit log's canonical JSON): `prepareRecord` stores it as it is, without checking the value
 * again or serializing it a second time. Readers get the parsed value back. Internal to Baton:
 * it is not exported from the package, so user code always goes through the checks.
 *
 * @example
 * ```ts
 * await store.appendRecord('audit:run_1', new RecordJson('{"index":1}'), Date.now());
 * ```
 */
export class RecordJson {
  readonly [recordJsonMarker] = true;
  constructor(readonly text: string) {}

  /** True for a `RecordJson`, also one made by another copy of Baton (a worker that loads both the built and the source modules). */
  static isInstance(value: unknown): value is RecordJson {
    return typeof value === 'object' && value !== null && recordJsonMarker in value;
  }
}

/**
 * Checks a `readRecords` call: the stream name (`INVALID_STREAM`) and the options, throwing a
 * `ConfigError` coded `INVALID_OPTION` for a negative or non-integer `after` or `limit`.
 *
 * @example
 * ```ts
 * checkReadOptions('policy:router', { after: 10, limit: 100 }); // { after: 10, limit: 100 }
 * ```
 */
export function checkReadOptions(
  stream: unknown,
  options: ReadRecordsOptions = {},
): { after: number; limit: number | undefined } {
  assertStreamName(stream);
  const { after = 0, limit } = options;
  for (const [field, value] of [
    ['after', after],
    ['limit', limit],
  ] as const) {
    if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
      throw new ConfigError(
        `readRecords("${stream}"): ${field} must be a non-negative integer, got ${String(value)}.`,
        { code: 'INVALID_OPTION' },
      );
    }
  }
  return { after, limit };
}

/**
 * A change a store announces to `subscribe` listeners: a signal stored for a run, a journal
 * entry appended, or a run's status updated.
 */
export interface StoreChange {
  kind: 'signal' | 'journal' | 'run';
  runId: string;
  /** True when this store object made the change itself (its caller already knows). */
  local: boolean;
}

/**
 * The settled promise a store returns from a write that was stored (as durably as that store
 * stores anything) before the call returned: the memory store's writes. The kernel compares a
 * write's promise with it and moves on in the same turn instead of waiting a turn for it;
 * stores whose writes complete later return their own promises, and are awaited as ever.
 *
 * @example
 * ```ts
 * appendJournal(entry) {
 *   entries.push(entry);
 *   return storedNow;
 * }
 * ```
 */
export const storedNow: Promise<void> = Promise.resolve();

/**
 * Persistence contract for runs. Implementations: `createMemoryStore()` and
 * `createSqliteStore()` (from `batonjs/sqlite`). Methods may batch writes internally but a
 * returned promise resolves only once its write is durable for that store.
 *
 * Records are snapshots: changing a record passed in or returned never changes the store.
 * Nested values (`input`, `output`, results, payloads) may be kept by reference: never mutate
 * them after handing them over or reading them back.
 *
 * A lease is held while `leaseOwner` and `leaseExpiresAt` are set and `now < leaseExpiresAt`;
 * otherwise it is free (a lease expiring exactly at `now` is expired).
 *
 * @example
 * ```ts
 * import { createSqliteStore } from 'batonjs/sqlite';
 * const store = createSqliteStore({ path: '.baton/baton.db' });
 * const runtime = createRuntime({ store, workflows: [myWorkflow] });
 * ```
 */
export interface Store {
  /** Creates a run; rejects with a `BatonError` coded `RUN_EXISTS` if the id is taken. */
  createRun(run: RunRecord): Promise<void>;
  getRun(runId: string): Promise<RunRecord | undefined>;
  /**
   * Applies a patch and sets `updatedAt`; resolves once it is durable, with nothing (read the
   * run with `getRun` if you need it). Rejects with `RUN_NOT_FOUND` for an unknown id. With a
   * `fence`, the patch applies only while the fence's owner holds the lease (else `LEASE_LOST`,
   * nothing changed).
   */
  updateRun(runId: string, patch: RunPatch, now: number, fence?: LeaseFence): Promise<void>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;

  /**
   * Atomically takes the run's lease for `owner` until `now + leaseMs` when the run is not
   * terminal and its lease is free, expired or already `owner`'s (or `force` is set); sets
   * status `running` and `updatedAt = now`. Returns the updated run, or `undefined` when
   * someone else holds it or the run is terminal or unknown (`force` never takes a terminal run).
   */
  claimRun(
    runId: string,
    owner: string,
    now: number,
    leaseMs: number,
    force?: boolean,
  ): Promise<RunRecord | undefined>;
  /**
   * Extends the lease of every `running` run `owner` holds to `until` (leaving `updatedAt`);
   * returns ids of runs whose `leaseOwner` is `owner` but whose status is no longer `running`
   * (e.g. cancelled by another process), leaving their lease as it is. A runtime clears the
   * lease (`leaseOwner: null`) when it stops executing a run.
   */
  renewLeases(owner: string, until: number): Promise<string[]>;
  /**
   * Runs another process may need to pick up at `now`, at most `limit`, longest due first:
   * `running` with a free or expired lease (due at `leaseExpiresAt`, or at `updatedAt` when
   * it has no owner or no expiry), and `suspended` with `wakeAt <= now` (due at `wakeAt`).
   * Ties are ordered by `id`. Terminal runs are never returned.
   */
  findRecoverable(now: number, limit: number): Promise<RunRecord[]>;

  /**
   * Appends one entry; rejects with `JOURNAL_CONFLICT` if the key is already recorded for the
   * run (the first entry stays). Without a fence it does not check that the run exists; with a
   * `fence` it appends only while the fence's owner holds the run's lease, else rejects with
   * `LEASE_LOST` (a lost lease is reported before a conflicting key). Entries appended without
   * awaiting are still kept in call order, and any later call on the store observes them.
   */
  appendJournal(entry: JournalEntry, fence?: LeaseFence): Promise<void>;
  /**
   * Optional: `appendJournal(entry, fence)` and, in the same atomic write, `appendRecord` of each
   * of `records` in order (checked as `appendRecord` checks, before anything is written). The
   * records are stored only with the entry: an entry that is refused (`LEASE_LOST`,
   * `JOURNAL_CONFLICT`, a run not created) stores none of them. A runtime with an audit log
   * stores each entry's audit records this way when its store has it: one store call (on SQLite,
   * one transaction) per step instead of two.
   */
  appendJournalWith?(
    entry: JournalEntry,
    fence: LeaseFence | undefined,
    records: readonly StreamRecord[],
  ): Promise<void>;
  /**
   * The run's entries in append order, from position `from` (0, the first entry, by default):
   * `loadJournal(id, n)` resolves what `loadJournal(id)` would, without its first `n` entries, so a
   * reader that follows a run reads only what is new.
   */
  loadJournal(runId: string, from?: number): Promise<JournalEntry[]>;

  /**
   * Stores a signal for a run (which may be running, suspended or not yet waiting). In the
   * same atomic write, a `suspended` run gets `wakeAt = now` (and `updatedAt = now`) so
   * `findRecoverable` finds it; other runs are left unchanged. Rejects with `RUN_NOT_FOUND`
   * for an unknown run.
   */
  addSignal(runId: string, name: string, payload: unknown, now: number): Promise<SignalRecord>;
  /** Signals of a run in id order. */
  listSignals(runId: string): Promise<SignalRecord[]>;

  /**
   * Appends `data` to the named record stream and resolves with its `seq`: 1 for a stream's
   * first record, then increasing by 1 per record of that stream, across processes sharing
   * the store. Streams live outside runs (no run needs to exist) and are append-only: nothing
   * updates or deletes a record. Patterns use them for state that outlives a run, such as a
   * learned policy (`evolving` writes `policy:<name>`).
   *
   * `stream` must pass `assertStreamName` (else a `ConfigError` coded `INVALID_STREAM`);
   * `data` must be a JSON value (else `INVALID_RECORD`, naming the offending path). `now` is
   * the record's `at`, default `Date.now()`. Every check (`prepareRecord`) happens before
   * anything is written; a failed one rejects the returned promise.
   *
   * Appending is not idempotent: a step that appends and is re-run after a crash appends
   * again, so put an id in `data` when duplicates matter and skip repeats when reading.
   */
  appendRecord(stream: string, data: unknown, now?: number): Promise<number>;
  /**
   * Records of a stream in `seq` order: those after `options.after` (default 0), at most
   * `options.limit` (default all). A stream nothing was appended to reads as `[]`. Records are
   * copies: `data` is what JSON gives back for the appended value.
   */
  readRecords(stream: string, options?: ReadRecordsOptions): Promise<StoredRecord[]>;

  /**
   * Optional: true when the store writes the calls on one run issued one after another without
   * awaiting in call order, those of one turn of the event loop together in one transaction (group
   * commit), and refuses a write to a run that is queued behind that run's failed `createRun`
   * (`appendJournal` and `updateRun` reject with `RUN_NOT_FOUND`, nothing written). The runtime
   * then starts a new run whose id it generated while the run's `createRun` is still queued, so
   * the run's first step is stored in the transaction that creates it (the SQLite and Postgres
   * stores).
   */
  readonly createsWithFirstStep?: boolean;

  /**
   * Optional: calls `listener` after a change committed by any process sharing the store (the
   * Postgres store hears them with `LISTEN/NOTIFY`), so a waiting process wakes without waiting
   * for its next poll. Returns the function that unsubscribes. A store without it is polled;
   * a store with it may still miss changes (a lost connection), so polling stays the backstop.
   */
  subscribe?(listener: (change: StoreChange) => void): () => void;

  /**
   * Finishes writes already issued, then releases the store. Idempotent; every other call
   * made after it rejects with a `BatonError` coded `STORE_CLOSED`.
   */
  close(): Promise<void>;
}

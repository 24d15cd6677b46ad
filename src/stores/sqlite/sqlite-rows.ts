/** Conversions between the SQLite store's rows and the Store contract's records. */

import type { SerializedError } from '../../core/errors.js';
import type {
  JournalEntry,
  JournalEntryKind,
  RunPatch,
  RunRecord,
  RunStatus,
  SignalRecord,
  StepMeta,
  StoredRecord,
  Usage,
} from '../../core/store.js';

/**
 * A `runs` row as the store reads it: the values of `runColumns`, in order (statements that
 * read runs run in raw mode, which skips building an object per row).
 */
export type RunRow = [
  id: string,
  target: string,
  targetVersion: string,
  input: string | null,
  status: string,
  output: string | null,
  error: string | null,
  threadId: string | null,
  source: string | null,
  usage: string,
  costUsd: number,
  createdAt: number,
  updatedAt: number,
  endedAt: number | null,
  wakeAt: number | null,
  leaseOwner: string | null,
  leaseExpiresAt: number | null,
  schemaVersion: number,
  trace: string | null,
];

/** A `journal` row as SQLite returns it (without `seq`). */
export interface JournalRow {
  run_id: string;
  key: string;
  name: string;
  kind: string;
  status: string;
  result: string | null;
  error: string | null;
  started_at: number;
  ended_at: number;
  meta: string | null;
}

/** A `signals` row as SQLite returns it. */
export interface SignalRow {
  id: number;
  run_id: string;
  name: string;
  payload: string | null;
  created_at: number;
}

/** A `records` row as SQLite returns it (without `stream`). */
export interface RecordRow {
  seq: number;
  at: number;
  data: string;
}

/** Values bound to the journal insert, in column order. */
export type JournalParams = [
  runId: string,
  key: string,
  name: string,
  kind: string,
  status: string,
  result: string | null,
  error: string | null,
  startedAt: number,
  endedAt: number,
  meta: string | null,
];

/**
 * JSON text for a value, or `null` (SQL NULL) when the value is `undefined` and so absent.
 * Throws for values JSON cannot hold (BigInt, cycles).
 *
 * @example
 * ```ts
 * toJson(undefined); // null
 * toJson(null); // 'null'
 * ```
 */
export function toJson(value: unknown): string | null {
  if (value === undefined) return null;
  return (JSON.stringify(value) as string | undefined) ?? null;
}

function fromJson(text: string | null): unknown {
  return text === null ? undefined : JSON.parse(text);
}

/**
 * The insert parameters for a run, for `INSERT INTO runs` in `runColumns` order.
 *
 * @example
 * ```ts
 * insertRun.run(...runParams(run));
 * ```
 */
export function runParams(run: RunRecord): unknown[] {
  return [
    run.id,
    run.target,
    run.targetVersion,
    toJson(run.input),
    run.status,
    toJson(run.output),
    toJson(run.error),
    run.threadId ?? null,
    run.source ?? null,
    JSON.stringify(run.usage),
    run.costUsd,
    run.createdAt,
    run.updatedAt,
    run.endedAt ?? null,
    run.wakeAt ?? null,
    run.leaseOwner ?? null,
    run.leaseExpiresAt ?? null,
    run.schemaVersion,
    run.trace ?? null,
  ];
}

/** The `runs` columns in the order `runParams` produces values and `RunRow` holds them. */
export const runColumns =
  'id, target, target_version, input, status, output, error, thread_id, source, usage, cost_usd, ' +
  'created_at, updated_at, ended_at, wake_at, lease_owner, lease_expires_at, schema_version, trace';

/** The `runs` columns a patch may set; bit `i` of a patch shape stands for column `i`. */
export const patchColumns = [
  'status',
  'output',
  'error',
  'usage',
  'cost_usd',
  'ended_at',
  'wake_at',
  'lease_owner',
  'lease_expires_at',
] as const;

/**
 * Pushes onto `values` what a patch sets, in `patchColumns` order, serializing its JSON fields
 * once, and returns the patch's shape: a bit per column it sets. Absent (`undefined`) fields are
 * left out; `null` clears an optional column, and is ignored for `status`, `usage` and
 * `costUsd`, which cannot be cleared. Throws for values JSON cannot hold.
 *
 * @example
 * ```ts
 * const values: unknown[] = [];
 * const shape = patchValues({ status: 'completed', leaseOwner: null }, values);
 * // shape === 0b10000001, values: ['completed', null]
 * statements.updateStatement(shape).run(...values, now, runId);
 * ```
 */
export function patchValues(patch: RunPatch, values: unknown[]): number {
  let shape = 0;
  if (patch.status != null) {
    shape |= 1;
    values.push(patch.status);
  }
  if (patch.output !== undefined) {
    shape |= 1 << 1;
    values.push(toJson(patch.output));
  }
  if (patch.error !== undefined) {
    shape |= 1 << 2;
    values.push(patch.error === null ? null : JSON.stringify(patch.error));
  }
  if (patch.usage != null) {
    shape |= 1 << 3;
    values.push(JSON.stringify(patch.usage));
  }
  if (patch.costUsd != null) {
    shape |= 1 << 4;
    values.push(patch.costUsd);
  }
  if (patch.endedAt !== undefined) {
    shape |= 1 << 5;
    values.push(patch.endedAt);
  }
  if (patch.wakeAt !== undefined) {
    shape |= 1 << 6;
    values.push(patch.wakeAt);
  }
  if (patch.leaseOwner !== undefined) {
    shape |= 1 << 7;
    values.push(patch.leaseOwner);
  }
  if (patch.leaseExpiresAt !== undefined) {
    shape |= 1 << 8;
    values.push(patch.leaseExpiresAt);
  }
  return shape;
}

/**
 * Rebuilds a run from its row (`RunRow` order); optional fields stored as NULL are left out.
 *
 * @example
 * ```ts
 * const row = selectRun.get(runId); // a raw-mode statement reading `runColumns`
 * const run = row === undefined ? undefined : toRunRecord(row);
 * ```
 */
export function toRunRecord(row: RunRow): RunRecord {
  const [id, target, targetVersion, input, status, output, error, threadId, source, usage, costUsd] = row;
  const record: RunRecord = {
    id,
    target,
    targetVersion,
    input: fromJson(input),
    status: status as RunStatus,
    usage: JSON.parse(usage) as Usage,
    costUsd,
    createdAt: row[11],
    updatedAt: row[12],
    schemaVersion: row[17],
  };
  if (output !== null) record.output = JSON.parse(output);
  if (error !== null) record.error = JSON.parse(error) as SerializedError;
  if (threadId !== null) record.threadId = threadId;
  if (source !== null) record.source = source;
  if (row[13] !== null) record.endedAt = row[13];
  if (row[14] !== null) record.wakeAt = row[14];
  if (row[15] !== null) record.leaseOwner = row[15];
  if (row[16] !== null) record.leaseExpiresAt = row[16];
  if (row[18] !== null) record.trace = row[18];
  return record;
}

/**
 * The journal insert parameters for an entry; serializes its JSON columns (and so throws
 * for values JSON cannot hold, before anything is queued).
 *
 * @example
 * ```ts
 * insertJournal.run(...journalParams(entry));
 * ```
 */
export function journalParams(entry: JournalEntry): JournalParams {
  return [
    entry.runId,
    entry.key,
    entry.name,
    entry.kind,
    entry.status,
    toJson(entry.result),
    toJson(entry.error),
    entry.startedAt,
    entry.endedAt,
    toJson(entry.meta),
  ];
}

/**
 * Rebuilds a journal entry from its row; absent `result`, `error` and `meta` stay absent.
 *
 * @example
 * ```ts
 * const entries = selectJournal.all(runId).map(toJournalEntry);
 * ```
 */
export function toJournalEntry(row: JournalRow): JournalEntry {
  const entry: JournalEntry = {
    runId: row.run_id,
    key: row.key,
    name: row.name,
    kind: row.kind as JournalEntryKind,
    status: row.status as JournalEntry['status'],
    startedAt: row.started_at,
    endedAt: row.ended_at,
  };
  if (row.result !== null) entry.result = JSON.parse(row.result);
  if (row.error !== null) entry.error = JSON.parse(row.error) as SerializedError;
  if (row.meta !== null) entry.meta = JSON.parse(row.meta) as StepMeta;
  return entry;
}

/**
 * Rebuilds a signal from its row.
 *
 * @example
 * ```ts
 * const signals = selectSignals.all(runId).map(toSignalRecord);
 * ```
 */
export function toSignalRecord(row: SignalRow): SignalRecord {
  return {
    id: row.id,
    runId: row.run_id,
    name: row.name,
    payload: fromJson(row.payload),
    createdAt: row.created_at,
  };
}

/**
 * Rebuilds a stream record from its row.
 *
 * @example
 * ```ts
 * const records = selectRecords.all('policy:router', 0, -1).map(toStoredRecord);
 * ```
 */
export function toStoredRecord(row: RecordRow): StoredRecord {
  return { seq: row.seq, at: row.at, data: JSON.parse(row.data) };
}

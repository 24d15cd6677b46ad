/** Conversions between the SQLite store's rows and the Store contract's records. */

import type { SerializedError } from '../../core/errors.js';
import type {
  JournalEntry,
  JournalEntryKind,
  RunRecord,
  RunStatus,
  SignalRecord,
  StepMeta,
  Usage,
} from '../store.js';

/** A `runs` row as SQLite returns it. */
export interface RunRow {
  id: string;
  target: string;
  target_version: string;
  input: string | null;
  status: string;
  output: string | null;
  error: string | null;
  thread_id: string | null;
  source: string | null;
  usage: string;
  cost_usd: number;
  created_at: number;
  updated_at: number;
  ended_at: number | null;
  wake_at: number | null;
  lease_owner: string | null;
  lease_expires_at: number | null;
  schema_version: number;
}

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
 * insertRun.run(runParams(run));
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
  ];
}

/** The `runs` columns in the order `runParams` produces values. */
export const runColumns =
  'id, target, target_version, input, status, output, error, thread_id, source, usage, cost_usd, ' +
  'created_at, updated_at, ended_at, wake_at, lease_owner, lease_expires_at, schema_version';

/**
 * Rebuilds a run from its row; optional fields stored as NULL are left out.
 *
 * @example
 * ```ts
 * const row = selectRun.get(runId);
 * const run = row === undefined ? undefined : toRunRecord(row);
 * ```
 */
export function toRunRecord(row: RunRow): RunRecord {
  const record: RunRecord = {
    id: row.id,
    target: row.target,
    targetVersion: row.target_version,
    input: fromJson(row.input),
    status: row.status as RunStatus,
    usage: JSON.parse(row.usage) as Usage,
    costUsd: row.cost_usd,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    schemaVersion: row.schema_version,
  };
  if (row.output !== null) record.output = JSON.parse(row.output);
  if (row.error !== null) record.error = JSON.parse(row.error) as SerializedError;
  if (row.thread_id !== null) record.threadId = row.thread_id;
  if (row.source !== null) record.source = row.source;
  if (row.ended_at !== null) record.endedAt = row.ended_at;
  if (row.wake_at !== null) record.wakeAt = row.wake_at;
  if (row.lease_owner !== null) record.leaseOwner = row.lease_owner;
  if (row.lease_expires_at !== null) record.leaseExpiresAt = row.lease_expires_at;
  return record;
}

/**
 * The journal insert parameters for an entry; serializes its JSON columns (and so throws
 * for values JSON cannot hold, before anything is queued).
 *
 * @example
 * ```ts
 * insertJournal.run(journalParams(entry));
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

/** The SQLite store's prepared statements, each compiled once per open database. */

import type Database from 'better-sqlite3';
import { RunNotFoundError } from '../../core/errors.js';
import type { RunFilter, RunPatch } from '../store.js';
import type { JournalParams, JournalRow, RunRow, SignalRow } from './sqlite-rows.js';
import { runColumns, toJson } from './sqlite-rows.js';

/** Named parameters of the `updateRun` statement: a `set*` flag per clearable column. */
export interface UpdateParams {
  id: string;
  now: number;
  status: string | null;
  usage: string | null;
  costUsd: number | null;
  setOutput: number;
  output: string | null;
  setError: number;
  error: string | null;
  setEndedAt: number;
  endedAt: number | null;
  setWakeAt: number;
  wakeAt: number | null;
  setLeaseOwner: number;
  leaseOwner: string | null;
  setLeaseExpiresAt: number;
  leaseExpiresAt: number | null;
}

interface ClaimParams {
  id: string;
  owner: string;
  now: number;
  until: number;
  force: number;
}

/**
 * The `updateRun` statement's parameters for a patch: absent fields keep their column,
 * `null` clears it, and JSON fields are serialized.
 *
 * @example
 * ```ts
 * const row = statements.updateRun.get(updateParams('run_1', { status: 'completed' }, Date.now()));
 * ```
 */
export function updateParams(id: string, patch: RunPatch, now: number): UpdateParams {
  return {
    id,
    now,
    status: patch.status ?? null,
    usage: patch.usage === undefined ? null : JSON.stringify(patch.usage),
    costUsd: patch.costUsd ?? null,
    setOutput: patch.output === undefined ? 0 : 1,
    output: toJson(patch.output),
    setError: patch.error === undefined ? 0 : 1,
    error: patch.error === undefined || patch.error === null ? null : JSON.stringify(patch.error),
    setEndedAt: patch.endedAt === undefined ? 0 : 1,
    endedAt: patch.endedAt ?? null,
    setWakeAt: patch.wakeAt === undefined ? 0 : 1,
    wakeAt: patch.wakeAt ?? null,
    setLeaseOwner: patch.leaseOwner === undefined ? 0 : 1,
    leaseOwner: patch.leaseOwner ?? null,
    setLeaseExpiresAt: patch.leaseExpiresAt === undefined ? 0 : 1,
    leaseExpiresAt: patch.leaseExpiresAt ?? null,
  };
}

/** Every statement the store runs, plus the two multi-statement transactions. */
export interface Statements {
  insertRun: Database.Statement<unknown[]>;
  selectRun: Database.Statement<[string], RunRow>;
  updateRun: Database.Statement<UpdateParams, RunRow>;
  claimRun: Database.Statement<ClaimParams, RunRow>;
  selectRecoverable: Database.Statement<{ now: number; limit: number }, RunRow>;
  insertJournal: Database.Statement<JournalParams>;
  selectJournal: Database.Statement<[string], JournalRow>;
  selectSignals: Database.Statement<[string], SignalRow>;
  /** Extends `owner`'s leases on running runs to `until`; returns ids of its runs no longer running. */
  renew: Database.Transaction<(owner: string, until: number) => string[]>;
  /** Stores a signal and wakes a suspended run; returns the signal id. Throws `RUN_NOT_FOUND`. */
  signal: Database.Transaction<(runId: string, name: string, payload: string | null, now: number) => number>;
  /** The `listRuns` statement for this filter's shape; bind values in status, target, threadId, createdBefore, limit order. */
  listStatement(filter: RunFilter): Database.Statement<unknown[], RunRow>;
}

/**
 * Compiles the store's statements on `db`. `listStatement` compiles one statement per
 * `listRuns` filter shape (which filters are present) on first use and reuses it after.
 *
 * @example
 * ```ts
 * const statements = prepareStatements(db);
 * const row = statements.selectRun.get('run_1');
 * ```
 */
export function prepareStatements(db: Database.Database): Statements {
  const insertRun = db.prepare(
    `INSERT INTO runs (${runColumns}) VALUES (${runColumns.replace(/\w+/g, '?')}) ON CONFLICT (id) DO NOTHING`,
  );
  const selectRun = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?');
  const updateRun = db.prepare<UpdateParams, RunRow>(`
    UPDATE runs SET
      status           = coalesce(@status, status),
      output           = CASE WHEN @setOutput THEN @output ELSE output END,
      error            = CASE WHEN @setError THEN @error ELSE error END,
      usage            = coalesce(@usage, usage),
      cost_usd         = coalesce(@costUsd, cost_usd),
      ended_at         = CASE WHEN @setEndedAt THEN @endedAt ELSE ended_at END,
      wake_at          = CASE WHEN @setWakeAt THEN @wakeAt ELSE wake_at END,
      lease_owner      = CASE WHEN @setLeaseOwner THEN @leaseOwner ELSE lease_owner END,
      lease_expires_at = CASE WHEN @setLeaseExpiresAt THEN @leaseExpiresAt ELSE lease_expires_at END,
      updated_at       = @now
    WHERE id = @id
    RETURNING *`);
  const claimRun = db.prepare<ClaimParams, RunRow>(`
    UPDATE runs SET status = 'running', lease_owner = @owner, lease_expires_at = @until, updated_at = @now
    WHERE id = @id
      AND status NOT IN ('completed', 'failed', 'cancelled')
      AND (@force OR lease_owner IS NULL OR lease_owner = @owner OR lease_expires_at IS NULL OR lease_expires_at <= @now)
    RETURNING *`);
  const extendLeases = db.prepare<[number, string]>(
    `UPDATE runs SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'running'`,
  );
  const selectStopped = db
    .prepare<[string], string>(
      `SELECT id FROM runs WHERE lease_owner = ? AND status <> 'running' ORDER BY id`,
    )
    .pluck();
  const selectRecoverable = db.prepare<{ now: number; limit: number }, RunRow>(`
    SELECT * FROM (
      SELECT *, lease_expires_at AS due FROM runs
      WHERE status = 'running' AND lease_owner IS NOT NULL AND lease_expires_at <= @now
      UNION ALL
      SELECT *, updated_at AS due FROM runs
      WHERE status = 'running' AND (lease_owner IS NULL OR lease_expires_at IS NULL)
      UNION ALL
      SELECT *, wake_at AS due FROM runs
      WHERE status = 'suspended' AND wake_at <= @now
    )
    ORDER BY due, id
    LIMIT @limit`);
  const insertJournal = db.prepare<JournalParams>(
    `INSERT INTO journal (run_id, key, name, kind, status, result, error, started_at, ended_at, meta)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING`,
  );
  const selectJournal = db.prepare<[string], JournalRow>(
    `SELECT run_id, key, name, kind, status, result, error, started_at, ended_at, meta
     FROM journal WHERE run_id = ? ORDER BY seq`,
  );
  const selectStatus = db.prepare<[string], string>('SELECT status FROM runs WHERE id = ?').pluck();
  const insertSignal = db.prepare<[string, string, string | null, number]>(
    'INSERT INTO signals (run_id, name, payload, created_at) VALUES (?, ?, ?, ?)',
  );
  const wakeSuspended = db.prepare<[number, number, string]>(
    `UPDATE runs SET wake_at = ?, updated_at = ? WHERE id = ? AND status = 'suspended'`,
  );
  const selectSignals = db.prepare<[string], SignalRow>('SELECT * FROM signals WHERE run_id = ? ORDER BY id');
  const listStatements = new Map<string, Database.Statement<unknown[], RunRow>>();

  const renew = db.transaction((owner: string, until: number): string[] => {
    extendLeases.run(until, owner);
    return selectStopped.all(owner);
  });
  const signal = db.transaction(
    (runId: string, name: string, payload: string | null, now: number): number => {
      const status = selectStatus.get(runId);
      if (status === undefined) throw new RunNotFoundError(runId);
      const id = Number(insertSignal.run(runId, name, payload, now).lastInsertRowid);
      if (status === 'suspended') wakeSuspended.run(now, now, runId);
      return id;
    },
  );

  function listStatement(filter: RunFilter): Database.Statement<unknown[], RunRow> {
    const conditions: string[] = [];
    let shape = '';
    if (filter.status !== undefined) {
      const single = typeof filter.status === 'string';
      shape += single ? 's' : 'S';
      conditions.push(single ? 'status = ?' : 'status IN (SELECT value FROM json_each(?))');
    }
    if (filter.target !== undefined) {
      shape += 't';
      conditions.push('target = ?');
    }
    if (filter.threadId !== undefined) {
      shape += 'h';
      conditions.push('thread_id = ?');
    }
    if (filter.createdBefore !== undefined) {
      shape += 'b';
      conditions.push('created_at < ?');
    }
    let statement = listStatements.get(shape);
    if (statement === undefined) {
      const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
      statement = db.prepare<unknown[], RunRow>(
        `SELECT * FROM runs ${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
      );
      listStatements.set(shape, statement);
    }
    return statement;
  }

  return {
    insertRun,
    selectRun,
    updateRun,
    claimRun,
    selectRecoverable,
    insertJournal,
    selectJournal,
    selectSignals,
    renew,
    signal,
    listStatement,
  };
}

/** The SQLite store's prepared statements, each compiled once per open database. */

import type Database from 'better-sqlite3';
import { RunNotFoundError } from '../../core/errors.js';
import type { RunFilter } from '../../core/store.js';
import type { JournalParams, JournalRow, RecordRow, RunRow, SignalRow } from './sqlite-rows.js';
import { patchColumns, runColumns } from './sqlite-rows.js';

interface ClaimParams {
  id: string;
  owner: string;
  now: number;
  until: number;
  force: number;
}

/** Every statement the store runs, plus the two multi-statement transactions. */
export interface Statements {
  /**
   * Takes the `runParams` values spread as its arguments. (Every hot write binds spread
   * arguments: binding one array argument reads each element through the V8 API, which costs
   * better-sqlite3 about as much again as converting the values.)
   */
  insertRun: Database.Statement<unknown[]>;
  selectRun: Database.Statement<[string], RunRow>;
  /**
   * The `updateRun` statement for a patch shape (see `patchValues`): it sets only the shape's
   * columns and `updated_at` (no read-back: the caller only needs to know it is durable). Bind the patch values, then `now`,
   * then the run id, spread as its arguments. With `fenced`, the statement also takes the owner
   * and `now` after the run id and updates only while that owner holds the unexpired lease.
   */
  updateStatement(shape: number, fenced?: boolean): Database.Statement<unknown[]>;
  claimRun: Database.Statement<ClaimParams, RunRow>;
  selectRecoverable: Database.Statement<{ now: number; limit: number }, RunRow>;
  /** Takes the `JournalParams` values spread as its arguments. */
  insertJournal: Database.Statement<JournalParams>;
  /**
   * `insertJournal` fenced on a lease: takes the `JournalParams` values, then the run id, the
   * owner and `now`; inserts only while that owner holds the run's unexpired lease.
   */
  insertJournalFenced: Database.Statement<unknown[]>;
  /** 1 when the owner holds the run's lease at `now` (bind run id, owner, now), else undefined. */
  selectLeaseHeld: Database.Statement<[string, string, number], number>;
  /** 1 when the run exists (bind run id), else undefined. */
  selectRunExists: Database.Statement<[string], number>;
  selectJournal: Database.Statement<[string], JournalRow>;
  /** A run's journal without its first `?` entries. */
  selectJournalFrom: Database.Statement<[string, number], JournalRow>;
  selectSignals: Database.Statement<[string], SignalRow>;
  /** Extends `owner`'s leases on running runs to `until`; returns ids of its runs no longer running. */
  renew: Database.Transaction<(owner: string, until: number) => string[]>;
  /** Stores a signal and wakes a suspended run; returns the signal id. Throws `RUN_NOT_FOUND`. */
  signal: Database.Transaction<(runId: string, name: string, payload: string | null, now: number) => number>;
  /** The `listRuns` statement for this filter's shape; bind values in status, target, threadId, createdBefore, limit order. */
  listStatement(filter: RunFilter): Database.Statement<unknown[], RunRow>;
  /**
   * Appends a record at the next `seq` of its stream and returns that `seq` (bind stream, at,
   * data, stream). One statement, so the write lock is held from the read of the stream's last
   * seq to the insert, alone or in a batch: another process appending to the stream waits
   * instead of computing the same seq.
   */
  insertRecord: Database.Statement<[string, number, string, string], number>;
  /** A stream's records with `seq > after`, in order, at most `limit` (-1: all). */
  selectRecords: Database.Statement<[string, number, number], RecordRow>;
}

/**
 * Compiles the store's statements on `db`. `updateStatement` and `listStatement` compile one
 * statement per patch shape or `listRuns` filter shape (which fields are present) on first
 * use and reuse it after; a runtime uses a handful of each.
 *
 * @example
 * ```ts
 * const statements = prepareStatements(db);
 * const row = statements.selectRun.get('run_1');
 * ```
 */
export function prepareStatements(db: Database.Database): Statements {
  const insertRun = db.prepare<unknown[]>(
    `INSERT INTO runs (${runColumns}) VALUES (${runColumns.replace(/\w+/g, '?')}) ON CONFLICT (id) DO NOTHING`,
  );
  const selectRun = db.prepare<[string], RunRow>(`SELECT ${runColumns} FROM runs WHERE id = ?`).raw();
  const claimRun = db
    .prepare<ClaimParams, RunRow>(`
    UPDATE runs SET status = 'running', lease_owner = @owner, lease_expires_at = @until, updated_at = @now
    WHERE id = @id
      AND status NOT IN ('completed', 'failed', 'cancelled', 'budget-exceeded')
      AND (@force OR lease_owner IS NULL OR lease_owner = @owner OR lease_expires_at IS NULL OR lease_expires_at <= @now)
    RETURNING ${runColumns}`)
    .raw();
  const extendLeases = db.prepare<[number, string]>(
    `UPDATE runs SET lease_expires_at = ? WHERE lease_owner = ? AND status = 'running'`,
  );
  const selectStopped = db
    .prepare<[string], string>(
      `SELECT id FROM runs WHERE lease_owner = ? AND status <> 'running' ORDER BY id`,
    )
    .pluck();
  const selectRecoverable = db
    .prepare<{ now: number; limit: number }, RunRow>(`
    SELECT ${runColumns} FROM (
      SELECT ${runColumns}, lease_expires_at AS due FROM runs
      WHERE status = 'running' AND lease_owner IS NOT NULL AND lease_expires_at <= @now
      UNION ALL
      SELECT ${runColumns}, updated_at AS due FROM runs
      WHERE status = 'running' AND (lease_owner IS NULL OR lease_expires_at IS NULL)
      UNION ALL
      SELECT ${runColumns}, wake_at AS due FROM runs
      WHERE status = 'suspended' AND wake_at <= @now
    )
    ORDER BY due, id
    LIMIT @limit`)
    .raw();
  const insertJournal = db.prepare<JournalParams>(
    `INSERT INTO journal (run_id, key, name, kind, status, result, error, started_at, ended_at, meta)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING`,
  );
  const leaseHeld = 'SELECT 1 FROM runs WHERE id = ? AND lease_owner = ? AND lease_expires_at > ?';
  const insertJournalFenced = db.prepare<unknown[]>(
    `INSERT INTO journal (run_id, key, name, kind, status, result, error, started_at, ended_at, meta)
     SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (${leaseHeld}) ON CONFLICT (run_id, key) DO NOTHING`,
  );
  const selectLeaseHeld = db.prepare<[string, string, number], number>(leaseHeld).pluck();
  const selectRunExists = db.prepare<[string], number>('SELECT 1 FROM runs WHERE id = ?').pluck();
  const selectJournal = db.prepare<[string], JournalRow>(
    `SELECT run_id, key, name, kind, status, result, error, started_at, ended_at, meta
     FROM journal WHERE run_id = ? ORDER BY seq`,
  );
  const selectJournalFrom = db.prepare<[string, number], JournalRow>(
    `SELECT run_id, key, name, kind, status, result, error, started_at, ended_at, meta
     FROM journal WHERE run_id = ? ORDER BY seq LIMIT -1 OFFSET ?`,
  );
  const selectStatus = db.prepare<[string], string>('SELECT status FROM runs WHERE id = ?').pluck();
  const insertSignal = db.prepare<[string, string, string | null, number]>(
    'INSERT INTO signals (run_id, name, payload, created_at) VALUES (?, ?, ?, ?)',
  );
  const wakeSuspended = db.prepare<[number, number, string]>(
    `UPDATE runs SET wake_at = ?, updated_at = ? WHERE id = ? AND status = 'suspended'`,
  );
  const selectSignals = db.prepare<[string], SignalRow>('SELECT * FROM signals WHERE run_id = ? ORDER BY id');
  const insertRecord = db
    .prepare<[string, number, string, string], number>(
      `INSERT INTO records (stream, seq, at, data)
       SELECT ?, coalesce(max(seq), 0) + 1, ?, ? FROM records WHERE stream = ?
       RETURNING seq`,
    )
    .pluck();
  const selectRecords = db.prepare<[string, number, number], RecordRow>(
    'SELECT seq, at, data FROM records WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?',
  );
  const listStatements = new Map<string, Database.Statement<unknown[], RunRow>>();
  const updateStatements = new Map<number, Database.Statement<unknown[]>>();

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

  function updateStatement(shape: number, fenced = false): Database.Statement<unknown[]> {
    // Negative keys hold the fenced variants (shapes are non-negative bit sets).
    const cacheKey = fenced ? -1 - shape : shape;
    let statement = updateStatements.get(cacheKey);
    if (statement === undefined) {
      let assignments = '';
      for (const [bit, column] of patchColumns.entries()) {
        if ((shape & (1 << bit)) !== 0) assignments += `${column} = ?, `;
      }
      const fence = fenced ? ' AND lease_owner = ? AND lease_expires_at > ?' : '';
      statement = db.prepare<unknown[]>(`UPDATE runs SET ${assignments}updated_at = ? WHERE id = ?${fence}`);
      updateStatements.set(cacheKey, statement);
    }
    return statement;
  }

  function listStatement(filter: RunFilter): Database.Statement<unknown[], RunRow> {
    const conditions: string[] = [];
    let shape = '';
    if (filter.status !== undefined) {
      const single = typeof filter.status === 'string';
      shape += single ? 's' : 'S';
      conditions.push(single ? 'status = ?' : 'status IN (SELECT value FROM json_each(?))');
      // The literal terms let the planner use the partial index holding those statuses.
      const statuses: readonly string[] = single
        ? [filter.status as string]
        : (filter.status as readonly string[]);
      if (statuses.length > 0 && statuses.every((status) => status === 'running')) {
        shape += 'r';
        conditions.push(`status = 'running'`);
      } else if (!statuses.includes('running') && !statuses.includes('completed')) {
        shape += 'o';
        conditions.push(`status NOT IN ('running', 'completed')`);
      }
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
      statement = db
        .prepare<unknown[], RunRow>(
          `SELECT ${runColumns} FROM runs ${where} ORDER BY created_at DESC, id DESC LIMIT ?`,
        )
        .raw();
      listStatements.set(shape, statement);
    }
    return statement;
  }

  return {
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
  };
}

/** The Postgres store's SQL text, built once per schema. */

import { createHash } from 'node:crypto';
import type { RunFilter } from '../../core/store.js';
import { patchColumns, runColumns } from '../sqlite/sqlite-rows.js';

/** A statement the server prepares once per connection: its text and a name derived from it. */
export interface PreparedStatement {
  readonly name: string;
  readonly text: string;
}

/**
 * `text` with a name for the server's prepared statement, derived from the text, so the same
 * text always has the same name (stores of several schemas can share a pool) and a connection
 * parses and plans it once instead of on every call.
 *
 * @example
 * ```ts
 * const selectOne = prepared('SELECT 1');
 * await client.query({ ...selectOne, values: [] });
 * ```
 */
export function prepared(text: string): PreparedStatement {
  return { name: `batonjs_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`, text };
}

/** `$1, $2, ...` for `count` parameters starting at `from`. */
function placeholders(count: number, from = 1): string {
  return Array.from({ length: count }, (_, index) => `$${from + index}`).join(', ');
}

const runColumnCount = runColumns.split(',').length;
const journalColumns = 'run_id, key, name, kind, status, result, error, started_at, ended_at, meta';
/** The journal values as typed parameters (an `INSERT ... SELECT` does not infer them from the columns). */
const journalCasts =
  '$1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::double precision, $9::double precision, $10::text';

/** A lease held by `owner` at `now`, for run `$id` (parameter numbers given). */
function leaseHeld(schema: string, id: number, owner: number, now: number): string {
  return `SELECT 1 FROM ${schema}.runs WHERE id = $${id} AND lease_owner = $${owner} AND lease_expires_at > $${now}`;
}

/**
 * Every single-row statement of the store for one (quoted) schema, prepared (`prepared`) except
 * `listStatement`'s. The fenced journal insert checks the lease in the same statement, locking
 * the run row `FOR SHARE` until the transaction ends: a `claimRun` by another process waits for
 * the append to commit, or the append sees its new owner. The multi-row statements a batch uses
 * are in `postgres-write-groups.ts`.
 *
 * @example
 * ```ts
 * const sql = postgresStatements('"baton"');
 * await client.query({ ...sql.selectRun, values: [runId] });
 * ```
 */
export function postgresStatements(schema: string) {
  const runs = `${schema}.runs`;
  const updateStatements = new Map<number, PreparedStatement>();
  const listStatements = new Map<string, string>();
  return {
    insertRun: prepared(
      `INSERT INTO ${runs} (${runColumns}) VALUES (${placeholders(runColumnCount)}) ON CONFLICT (id) DO NOTHING`,
    ),
    selectRun: prepared(`SELECT ${runColumns} FROM ${runs} WHERE id = $1`),
    selectRunExists: prepared(`SELECT 1 FROM ${runs} WHERE id = $1`),
    claimRun:
      prepared(`UPDATE ${runs} SET status = 'running', lease_owner = $2, lease_expires_at = $4, updated_at = $3
      WHERE id = $1
        AND status NOT IN ('completed', 'failed', 'cancelled', 'budget-exceeded')
        AND ($5 OR lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at IS NULL OR lease_expires_at <= $3)
      RETURNING ${runColumns}`),
    renew: prepared(`WITH extended AS (
        UPDATE ${runs} SET lease_expires_at = $2 WHERE lease_owner = $1 AND status = 'running' RETURNING 1
      )
      SELECT id FROM ${runs} WHERE lease_owner = $1 AND status <> 'running' ORDER BY id`),
    selectRecoverable: prepared(`SELECT ${runColumns} FROM (
        SELECT ${runColumns}, lease_expires_at AS due FROM ${runs}
        WHERE status = 'running' AND lease_owner IS NOT NULL AND lease_expires_at <= $1
        UNION ALL
        SELECT ${runColumns}, updated_at AS due FROM ${runs}
        WHERE status = 'running' AND (lease_owner IS NULL OR lease_expires_at IS NULL)
        UNION ALL
        SELECT ${runColumns}, wake_at AS due FROM ${runs}
        WHERE status = 'suspended' AND wake_at <= $1
      ) AS due_runs
      ORDER BY due, id
      LIMIT $2`),
    insertJournal: prepared(`INSERT INTO ${schema}.journal (${journalColumns}) VALUES (${placeholders(10)})
      ON CONFLICT (run_id, key) DO NOTHING`),
    /** Bind the 10 journal values, then owner ($11) and now ($12); returns `held` and `inserted`. */
    insertJournalFenced: prepared(`WITH lease AS (
        ${leaseHeld(schema, 1, 11, 12)} FOR SHARE
      ), inserted AS (
        INSERT INTO ${schema}.journal (${journalColumns})
        SELECT ${journalCasts} WHERE EXISTS (SELECT 1 FROM lease)
        ON CONFLICT (run_id, key) DO NOTHING RETURNING 1
      )
      SELECT EXISTS (SELECT 1 FROM lease) AS held, EXISTS (SELECT 1 FROM inserted) AS inserted`),
    selectJournal: prepared(`SELECT ${journalColumns} FROM ${schema}.journal WHERE run_id = $1 ORDER BY seq`),
    selectJournalFrom: prepared(
      `SELECT ${journalColumns} FROM ${schema}.journal WHERE run_id = $1 ORDER BY seq OFFSET $2`,
    ),
    /** Bind run id, name, payload, now; returns the signal id (none for an unknown run). */
    insertSignal: prepared(`WITH run AS (
        SELECT status FROM ${runs} WHERE id = $1 FOR UPDATE
      ), signal AS (
        INSERT INTO ${schema}.signals (run_id, name, payload, created_at) SELECT $1::text, $2::text, $3::text, $4::double precision FROM run RETURNING id
      ), woken AS (
        UPDATE ${runs} SET wake_at = $4, updated_at = $4 WHERE id = $1 AND status = 'suspended' AND EXISTS (SELECT 1 FROM run)
        RETURNING 1
      )
      SELECT id::double precision AS id FROM signal`),
    selectSignals: prepared(`SELECT id::double precision AS id, run_id, name, payload, created_at
      FROM ${schema}.signals WHERE run_id = $1 ORDER BY id`),
    /** Bind stream, at, data; returns the record's seq. */
    insertRecord: prepared(`WITH head AS (
        INSERT INTO ${schema}.record_heads (stream, seq) VALUES ($1, 1)
        ON CONFLICT (stream) DO UPDATE SET seq = ${schema}.record_heads.seq + 1
        RETURNING seq
      )
      INSERT INTO ${schema}.records (stream, seq, at, data) SELECT $1::text, seq, $2::double precision, $3::text FROM head
      RETURNING seq::double precision AS seq`),
    selectRecords: prepared(`SELECT seq::double precision AS seq, at, data FROM ${schema}.records
      WHERE stream = $1 AND seq > $2 ORDER BY seq LIMIT $3`),

    /**
     * The `updateRun` statement for a patch shape (`patchValues`): bind the patch values, then
     * now, then the run id; `fenced` adds owner and now after them.
     */
    updateStatement(shape: number, fenced: boolean): PreparedStatement {
      const cacheKey = fenced ? -1 - shape : shape;
      let text = updateStatements.get(cacheKey);
      if (text === undefined) {
        let assignments = '';
        let parameter = 1;
        for (const [bit, column] of patchColumns.entries()) {
          if ((shape & (1 << bit)) !== 0) assignments += `${column} = $${parameter++}, `;
        }
        const now = parameter++;
        const id = parameter++;
        const fence = fenced
          ? ` AND lease_owner = $${parameter++} AND lease_expires_at > $${parameter++}`
          : '';
        text = prepared(`UPDATE ${runs} SET ${assignments}updated_at = $${now} WHERE id = $${id}${fence}`);
        updateStatements.set(cacheKey, text);
      }
      return text;
    },

    /**
     * The `listRuns` statement for this filter's shape; bind status, target, threadId,
     * createdBefore, limit in that order. Not prepared: planned for each call's values, so a
     * status the partial indexes cover can use them.
     */
    listStatement(filter: RunFilter): string {
      const conditions: string[] = [];
      let shape = '';
      let parameter = 1;
      if (filter.status !== undefined) {
        shape += typeof filter.status === 'string' ? 's' : 'S';
        conditions.push(
          typeof filter.status === 'string'
            ? `status = $${parameter++}`
            : `status = ANY ($${parameter++}::text[])`,
        );
      }
      if (filter.target !== undefined) {
        shape += 't';
        conditions.push(`target = $${parameter++}`);
      }
      if (filter.threadId !== undefined) {
        shape += 'h';
        conditions.push(`thread_id = $${parameter++}`);
      }
      if (filter.createdBefore !== undefined) {
        shape += 'b';
        conditions.push(`created_at < $${parameter++}`);
      }
      let text = listStatements.get(shape);
      if (text === undefined) {
        const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
        text = `SELECT ${runColumns} FROM ${runs} ${where} ORDER BY created_at DESC, id DESC LIMIT $${parameter}`;
        listStatements.set(shape, text);
      }
      return text;
    },
  };
}

/** The statements of one schema. */
export type PostgresStatements = ReturnType<typeof postgresStatements>;

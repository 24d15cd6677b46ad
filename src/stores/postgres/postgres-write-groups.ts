/** Multi-row statements of the Postgres store: the writes of one kind in a batch, written by one statement over arrays. */

import type { PoolClient } from 'pg';
import { patchColumns, type RunRow, runColumns } from '../sqlite/sqlite-rows.js';
import { prepared } from './postgres-statements.js';

/**
 * Writes of one kind and shape that a batch may write with one statement. Each write brings a
 * row of values; `runMany` binds all the rows as one JSON parameter (`rowsParam`), so a batch
 * of 10,000 writes is one statement, and returns each row's outcome in row order,
 * the same outcome the write's own single-row statement would have given.
 */
export interface PostgresWriteGroup<R> {
  /** Names the statement: writes with the same id in one batch may share it. */
  readonly id: string;
  /**
   * Whether two writes of this group on the same key may share one statement (it keeps their
   * order and gives each its own outcome). When false, the second starts a new statement.
   */
  readonly sameKey: boolean;
  runMany(client: PoolClient, rows: readonly (readonly unknown[])[]): Promise<R[]>;
}

/** The Postgres type of each `runs` column. */
const runColumnTypes: Record<string, string> = {
  id: 'text',
  target: 'text',
  target_version: 'text',
  input: 'text',
  status: 'text',
  output: 'text',
  error: 'text',
  thread_id: 'text',
  source: 'text',
  usage: 'text',
  cost_usd: 'double precision',
  created_at: 'double precision',
  updated_at: 'double precision',
  ended_at: 'double precision',
  wake_at: 'double precision',
  lease_owner: 'text',
  lease_expires_at: 'double precision',
  schema_version: 'integer',
  trace: 'text',
};

const runColumnList = runColumns.split(',').map((column) => column.trim());
const journalColumns = 'run_id, key, name, kind, status, result, error, started_at, ended_at, meta';
const journalTypes = [
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'double precision',
  'double precision',
  'text',
];

function typeOf(column: string): string {
  const type = runColumnTypes[column];
  if (type === undefined) throw new Error(`postgres-write-groups: no type for the runs column ${column}.`);
  return type;
}

/**
 * `SELECT` of the rows bound as `$1` (`rowsParam`): one column per type, named `names`, then
 * `ord`, the row's position from 1.
 */
function rowsOf(types: readonly string[], names: readonly string[]): string {
  const columns = types.map((type, index) => {
    const value = `e.v->>${index}`;
    return `${type === 'text' ? value : `(${value})::${type}`} AS ${names[index]}`;
  });
  return `SELECT ${columns.join(', ')}, e.ord FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(v, ord)`;
}

/**
 * The rows as one JSON array of arrays, for `rowsOf`: `JSON.stringify` is native and an order of
 * magnitude faster than the driver's array literals for long text. Numbers JSON cannot write
 * (`NaN`, `Infinity`) go as the strings Postgres reads them from, as the driver sends them.
 * Text the server refuses in JSON (a NUL character, a lone surrogate) fails the statement,
 * and the batch is then written write by write, as for any value the server refuses.
 */
export function rowsParam(rows: readonly (readonly unknown[])[]): string {
  let copy: unknown[][] | undefined;
  for (let row = 0; row < rows.length; row++) {
    const values = rows[row]!;
    for (let column = 0; column < values.length; column++) {
      const value = values[column];
      if (typeof value === 'number' && !Number.isFinite(value)) {
        copy ??= rows.map((each) => [...each]);
        copy[row]![column] = String(value);
      }
    }
  }
  return JSON.stringify(copy ?? rows); // undefined in an array becomes null, SQL NULL
}

/**
 * The multi-row writes of one (quoted) schema. Each statement gives every row the outcome its
 * single-row statement (`postgresStatements`) would give it, fences included: a row whose
 * lease is not held writes nothing and says so, and the other rows are written.
 *
 * @example
 * ```ts
 * const groups = postgresWriteGroups('"baton"');
 * const changes = await groups.createRun.runMany(client, runs.map(runParams)); // 1 or 0 per run
 * ```
 */
export function postgresWriteGroups(schema: string) {
  const runs = `${schema}.runs`;
  const runTypes = runColumnList.map(typeOf);
  const prefixed = runColumnList.map((column) => `r.${column}`).join(', ');
  const updates = new Map<number, PostgresWriteGroup<number>>();

  /**
   * Bind `runParams` rows; returns the ords of the rows not inserted (usually none, so the
   * answer stays small). Ids are distinct (`sameKey` false).
   */
  const insertRuns = prepared(`WITH input AS (
        ${rowsOf(runTypes, runColumnList)}
      ), inserted AS (
        INSERT INTO ${runs} (${runColumns}) SELECT ${runColumns} FROM input
        ON CONFLICT (id) DO NOTHING RETURNING id
      )
      SELECT ord::integer AS ord FROM input WHERE id NOT IN (SELECT id FROM inserted)`);
  const createRun: PostgresWriteGroup<number> = {
    id: 'createRun',
    sameKey: false,
    async runMany(client, rows) {
      const { rows: refused } = await client.query<{ ord: number }>({
        ...insertRuns,
        values: [rowsParam(rows)],
      });
      // 1: inserted; 0: the id exists.
      const outcomes = new Array<number>(rows.length).fill(1);
      for (const { ord } of refused) outcomes[ord - 1] = 0;
      return outcomes;
    },
  };

  /**
   * Journal entries, fenced or not: bind `journalParams` rows (+ owner and now when fenced).
   * Each entry's lease is checked on its run's row, read `FOR SHARE` as the single-row insert
   * does. Entries with one key go in successive statements of the batch, so the first held one
   * is inserted (unless the key exists) and the others conflict, as one after the other would.
   */
  function journalGroup(fenced: boolean): PostgresWriteGroup<{ held: boolean; inserted: boolean }> {
    const types = fenced ? [...journalTypes, 'text', 'double precision'] : journalTypes;
    const names = journalColumns.split(', ');
    if (fenced) names.push('owner', 'now');
    const insert = (from: string) => `INSERT INTO ${schema}.journal (${journalColumns})
        SELECT ${journalColumns} FROM ${from} ORDER BY ord
        ON CONFLICT (run_id, key) DO NOTHING RETURNING run_id, key`;
    // Only the rows not inserted come back (usually none): their ord and whether the lease was held.
    const statement = prepared(`WITH input AS (
        ${rowsOf(types, names)}
      ), held AS (
        ${
          fenced
            ? `SELECT i.ord FROM input AS i JOIN ${runs} AS r
                ON r.id = i.run_id AND r.lease_owner = i.owner AND r.lease_expires_at > i.now
              FOR SHARE OF r`
            : 'SELECT ord FROM input'
        }
      ), inserted AS (
        ${insert('input WHERE ord IN (SELECT ord FROM held)')}
      )
      SELECT i.ord::integer AS ord, i.ord IN (SELECT ord FROM held) AS held
      FROM input AS i
      WHERE NOT EXISTS (SELECT 1 FROM inserted AS x WHERE x.run_id = i.run_id AND x.key = i.key)`);
    const written = { held: true, inserted: true };
    /** Writes rows whose keys are distinct; returns each row's outcome. */
    async function write(
      client: PoolClient,
      rows: readonly (readonly unknown[])[],
    ): Promise<{ held: boolean; inserted: boolean }[]> {
      const { rows: refused } = await client.query<{ ord: number; held: boolean }>({
        ...statement,
        values: [rowsParam(rows)],
      });
      const outcomes = new Array<{ held: boolean; inserted: boolean }>(rows.length).fill(written);
      for (const { ord, held } of refused) outcomes[ord - 1] = { held, inserted: false };
      return outcomes;
    }
    return {
      id: fenced ? 'appendJournal:fenced' : 'appendJournal',
      sameKey: true,
      async runMany(client, rows) {
        const outcomes = new Array<{ held: boolean; inserted: boolean }>(rows.length);
        let remaining = rows.map((_, index) => index);
        while (remaining.length > 0) {
          // The first of each key now, the next ones in the next statement.
          const seen = new Set<string>();
          const now: number[] = [];
          const later: number[] = [];
          for (const index of remaining) {
            const row = rows[index]!;
            const key = entryKey(row[0] as string, row[1] as string);
            if (seen.has(key)) later.push(index);
            else {
              seen.add(key);
              now.push(index);
            }
          }
          const written = await write(
            client,
            now.map((index) => rows[index]!),
          );
          for (let position = 0; position < now.length; position++)
            outcomes[now[position]!] = written[position]!;
          remaining = later;
        }
        return outcomes;
      },
    };
  }
  const appendJournal = journalGroup(false);
  const appendJournalFenced = journalGroup(true);

  /** Bind id, owner, now, until, force rows; the claimed run's row, or undefined. Ids are distinct. */
  const claimRuns = prepared(`UPDATE ${runs} AS r
      SET status = 'running', lease_owner = v.owner, lease_expires_at = v.until, updated_at = v.now
      FROM (${rowsOf(['text', 'text', 'double precision', 'double precision', 'boolean'], ['id', 'owner', 'now', 'until', 'force'])}) AS v
      WHERE r.id = v.id
        AND r.status NOT IN ('completed', 'failed', 'cancelled', 'budget-exceeded')
        AND (v.force OR r.lease_owner IS NULL OR r.lease_owner = v.owner OR r.lease_expires_at IS NULL OR r.lease_expires_at <= v.now)
      RETURNING ${prefixed}`);
  const claimRun: PostgresWriteGroup<RunRow | undefined> = {
    id: 'claimRun',
    sameKey: false,
    async runMany(client, rows) {
      const { rows: claimed } = await client.query<RunRow>({
        ...claimRuns,
        values: [rowsParam(rows)],
        rowMode: 'array',
      });
      const byId = new Map(claimed.map((row) => [row[0], row]));
      return rows.map((row) => byId.get(row[0] as string));
    },
  };

  /**
   * `updateRun` for one patch shape (`patchValues`), fenced or not: bind the patch values, now
   * and the run id (+ owner and now when fenced). 1: updated; 0: the run is unknown; -1: the
   * fence's owner does not hold the lease. Ids are distinct.
   */
  function updateRun(shape: number, fenced: boolean): PostgresWriteGroup<number> {
    const cacheKey = fenced ? -1 - shape : shape;
    const known = updates.get(cacheKey);
    if (known !== undefined) return known;
    const set = patchColumns.filter((_, bit) => (shape & (1 << bit)) !== 0);
    const types = [...set.map(typeOf), 'double precision', 'text'];
    const names = [...set.map((_, index) => `p${index}`), 'now', 'id'];
    if (fenced) {
      types.push('text', 'double precision');
      names.push('owner', 'fence_now');
    }
    const assignments = set.map((column, index) => `${column} = v.p${index}, `).join('');
    const fence = fenced ? ' AND r.lease_owner = v.owner AND r.lease_expires_at > v.fence_now' : '';
    // Only the rows not updated come back (usually none): their ord and whether the run exists.
    const statement = prepared(`WITH v AS (
        ${rowsOf(types, names)}
      ), updated AS (
        UPDATE ${runs} AS r SET ${assignments}updated_at = v.now FROM v
        WHERE r.id = v.id${fence} RETURNING r.id
      )
      SELECT v.ord::integer AS ord, EXISTS (SELECT 1 FROM ${runs} AS r WHERE r.id = v.id) AS present
      FROM v WHERE v.id NOT IN (SELECT id FROM updated)`);
    const group: PostgresWriteGroup<number> = {
      id: `updateRun:${cacheKey}`,
      sameKey: false,
      async runMany(client, rows) {
        const { rows: refused } = await client.query<{ ord: number; present: boolean }>({
          ...statement,
          values: [rowsParam(rows)],
        });
        const outcomes = new Array<number>(rows.length).fill(1);
        for (const { ord, present } of refused) outcomes[ord - 1] = present && fenced ? -1 : 0;
        return outcomes;
      },
    };
    updates.set(cacheKey, group);
    return group;
  }

  /**
   * Records of any streams: bind stream, at, data rows. Each stream's head (`record_heads`) is
   * moved once, by its number of rows, and its rows take the numbers before it in row order:
   * each row gets the `seq` its single-row insert, run in row order, would have given. Only the
   * heads come back (one row per stream).
   */
  const insertRecords = prepared(`WITH input AS (
        ${rowsOf(['text', 'double precision', 'text'], ['stream', 'at', 'data'])}
      ), counts AS (
        SELECT stream COLLATE "C" AS stream, count(*) AS n FROM input GROUP BY 1
      ), heads AS (
        INSERT INTO ${schema}.record_heads AS h (stream, seq) SELECT stream, n FROM counts
        ON CONFLICT (stream) DO UPDATE SET seq = h.seq + EXCLUDED.seq
        RETURNING h.stream, h.seq
      ), inserted AS (
        INSERT INTO ${schema}.records (stream, seq, at, data)
        SELECT i.stream, h.seq - c.n + row_number() OVER (PARTITION BY i.stream ORDER BY i.ord), i.at, i.data
        FROM input AS i JOIN counts AS c ON c.stream = i.stream JOIN heads AS h ON h.stream = i.stream
      )
      SELECT stream, seq::double precision AS seq FROM heads`);
  const appendRecord: PostgresWriteGroup<number | undefined> = {
    id: 'appendRecord',
    sameKey: true,
    async runMany(client, rows) {
      const { rows: heads } = await client.query<{ stream: string; seq: number }>({
        ...insertRecords,
        values: [rowsParam(rows)],
      });
      // Each stream's rows, in row order, take the numbers up to its new head.
      const next = new Map<string, number>();
      for (const row of rows) next.set(row[0] as string, (next.get(row[0] as string) ?? 0) - 1);
      for (const { stream, seq } of heads) next.set(stream, seq + (next.get(stream) ?? 0) + 1);
      return rows.map((row) => {
        const stream = row[0] as string;
        const seq = next.get(stream)!;
        next.set(stream, seq + 1);
        return seq;
      });
    },
  };

  return { createRun, appendJournal, appendJournalFenced, claimRun, updateRun, appendRecord };
}

/** A journal entry's run id and key as one string (the length first, so no two pairs collide). */
function entryKey(runId: string, key: string): string {
  return `${runId.length}:${runId}${key}`;
}

/** The multi-row writes of one schema. */
export type PostgresWriteGroups = ReturnType<typeof postgresWriteGroups>;

/** The Postgres store's tables: numbered migrations applied once under an advisory lock, with the version checked at open. */

import type { Pool, PoolClient } from 'pg';
import { ConfigError } from '../../core/errors.js';

/**
 * Migration 1. JSON columns hold `JSON.stringify` text (not `jsonb`, which cannot hold the
 * escaped NUL character `\u0000` that JSON strings may carry, and which reorders keys); SQL
 * `NULL` means the value is absent. Times are `double precision` milliseconds, exact for every
 * integer a clock gives, and numbers come back as JavaScript numbers without a type parser.
 * Ids and keys use the `C` collation so ties order by code point as in the other stores,
 * whatever the database's locale.
 *
 * The run indexes mirror the SQLite store's format 3: partial indexes for the recovery scans
 * (`running` by lease expiry, `suspended` by wake time), for `renewLeases` (leased runs that
 * stopped running) and for the statuses other than `running` and `completed`.
 *
 * A record stream's next `seq` comes from `record_heads`: an upsert takes the head row's lock
 * and increments it, so two processes appending to one stream never compute the same `seq`.
 */
const migration1 = (schema: string) => `
CREATE TABLE ${schema}.runs (
  id               text COLLATE "C" PRIMARY KEY,
  target           text COLLATE "C" NOT NULL,
  target_version   text NOT NULL,
  input            text,
  status           text NOT NULL,
  output           text,
  error            text,
  thread_id        text COLLATE "C",
  source           text,
  usage            text NOT NULL,
  cost_usd         double precision NOT NULL,
  created_at       double precision NOT NULL,
  updated_at       double precision NOT NULL,
  ended_at         double precision,
  wake_at          double precision,
  lease_owner      text COLLATE "C",
  lease_expires_at double precision,
  schema_version   integer NOT NULL
);
CREATE INDEX runs_by_created ON ${schema}.runs (created_at, id);
CREATE INDEX runs_by_thread ON ${schema}.runs (thread_id, created_at, id) WHERE thread_id IS NOT NULL;
CREATE INDEX runs_running_by_lease ON ${schema}.runs (lease_expires_at, lease_owner) WHERE status = 'running';
CREATE INDEX runs_suspended_by_wake ON ${schema}.runs (wake_at) WHERE status = 'suspended';
CREATE INDEX runs_stopped_by_owner ON ${schema}.runs (lease_owner) WHERE lease_owner IS NOT NULL AND status <> 'running';
CREATE INDEX runs_by_other_status ON ${schema}.runs (status, created_at, id) WHERE status NOT IN ('running', 'completed');

CREATE TABLE ${schema}.journal (
  seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id     text COLLATE "C" NOT NULL,
  key        text COLLATE "C" NOT NULL,
  name       text NOT NULL,
  kind       text NOT NULL,
  status     text NOT NULL,
  result     text,
  error      text,
  started_at double precision NOT NULL,
  ended_at   double precision NOT NULL,
  meta       text,
  UNIQUE (run_id, key)
);

CREATE TABLE ${schema}.signals (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  run_id     text COLLATE "C" NOT NULL,
  name       text NOT NULL,
  payload    text,
  created_at double precision NOT NULL
);
CREATE INDEX signals_by_run ON ${schema}.signals (run_id, id);

CREATE TABLE ${schema}.record_heads (
  stream text COLLATE "C" PRIMARY KEY,
  seq    bigint NOT NULL
);
CREATE TABLE ${schema}.records (
  stream text COLLATE "C" NOT NULL,
  seq    bigint NOT NULL,
  at     double precision NOT NULL,
  data   text NOT NULL,
  PRIMARY KEY (stream, seq)
);
`;

/**
 * Migration 2: long-term memory (`createPostgresMemoryIndex`). `terms` holds the text's words as
 * Baton's tokenizer splits them (any script, combining marks kept), `length` their number, and
 * `tsv` the same words as a `tsvector` (`array_to_tsvector`, no re-parsing), indexed with GIN:
 * a search finds its candidates with `tsv @@ query` and ranks them by BM25 over the whole index.
 * Embeddings are JSON text (pgvector is not required).
 */
const migration2 = (schema: string) => `
CREATE TABLE ${schema}.memory_items (
  id         text COLLATE "C" PRIMARY KEY,
  scope      text COLLATE "C" NOT NULL,
  text       text NOT NULL,
  created_at double precision NOT NULL,
  embedding  text,
  metadata   text,
  terms      text[] NOT NULL,
  length     integer NOT NULL,
  tsv        tsvector GENERATED ALWAYS AS (array_to_tsvector(terms)) STORED
);
CREATE INDEX memory_items_by_scope ON ${schema}.memory_items (scope, created_at, id);
CREATE INDEX memory_items_by_words ON ${schema}.memory_items USING gin (tsv);
`;

/**
 * Migration 3: a run's trace context (`RunRecord.trace`, a W3C `traceparent`), so a run resumed
 * in another process joins the trace it began in. NULL for runs not traced.
 */
const migration3 = (schema: string) => `
ALTER TABLE ${schema}.runs ADD COLUMN trace text;
`;

/** `migrations[n - 1]` is migration `n`. Append only; never edit a released one. */
const migrations: ReadonlyArray<(schema: string) => string> = [migration1, migration2, migration3];

/** The schema version this code writes. */
export const postgresSchemaVersion = migrations.length;

/** The table recording which migrations ran, one row per version. */
const versionTable = 'baton_schema_versions';

/**
 * Quotes a schema name for SQL after checking it: lower-case letters, digits and `_`, starting
 * with a letter or `_`, at most 63 characters (what Postgres keeps of an identifier).
 *
 * @example
 * ```ts
 * quoteSchema('baton'); // '"baton"'
 * ```
 */
export function quoteSchema(schema: unknown): string {
  if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new ConfigError(
      `createPostgresStore: schema must be 1 to 63 lower-case letters, digits or '_', starting with a letter or '_' (got ${JSON.stringify(schema) ?? String(schema)}).`,
      { code: 'INVALID_OPTION' },
    );
  }
  return `"${schema}"`;
}

/**
 * Brings `schema` to `target` (default: the version this code writes) and returns how many
 * migrations this call applied. A schema already at the version costs one read. Otherwise the
 * migrations run under a session advisory lock keyed by the schema name, each in its own
 * transaction with its row in `baton_schema_versions`, so processes opening a new database
 * together apply each migration exactly once. Throws a `ConfigError` coded
 * `STORE_VERSION_UNSUPPORTED` for a schema a newer Baton wrote.
 *
 * @example
 * ```ts
 * await migrate(pool, 'baton'); // creates the tables on a new database, no-op on a current one
 * ```
 */
export async function migrate(pool: Pool, schema: string, target = postgresSchemaVersion): Promise<number> {
  const quoted = quoteSchema(schema);
  if ((await readVersion(pool, schema)) >= target) return 0;
  const client = await pool.connect();
  let broken: Error | undefined;
  const lost = (error: Error) => {
    broken ??= error;
  };
  client.on('error', lost);
  let applied = 0;
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`batonjs:migrate:${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.${versionTable} (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      const found = await readVersion(client, schema);
      for (let version = found + 1; version <= target; version++) {
        await client.query('BEGIN');
        try {
          await client.query(migrations[version - 1]!(quoted));
          await client.query(`INSERT INTO ${quoted}.${versionTable} (version) VALUES ($1)`, [version]);
          await client.query('COMMIT');
          applied++;
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`batonjs:migrate:${schema}`]);
    }
  } finally {
    client.off('error', lost);
    client.release(broken);
  }
  return applied;
}

/** The schema's version (0 when it has no version table yet); throws for a version newer than this code knows. */
export async function readVersion(client: Pick<Pool | PoolClient, 'query'>, schema: string): Promise<number> {
  const quoted = quoteSchema(schema);
  const table = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [
    `${quoted}.${versionTable}`,
  ]);
  if (table.rows[0]?.found == null) return 0;
  const result = await client.query<{ version: number | null }>(
    `SELECT max(version) AS version FROM ${quoted}.${versionTable}`,
  );
  const found = result.rows[0]?.version ?? 0;
  if (found > postgresSchemaVersion) {
    throw new ConfigError(
      `The Baton schema "${schema}" in this Postgres database has version ${found}, but this Baton only knows versions ` +
        `up to ${postgresSchemaVersion}. Upgrade Baton to open it, or pass createPostgresStore({ schema }) another schema.`,
      { code: 'STORE_VERSION_UNSUPPORTED' },
    );
  }
  return found;
}

/** The SQLite store's file format: versioned schema migrations keyed by `PRAGMA user_version`. */

import type Database from 'better-sqlite3';
import { ConfigError } from '../../core/errors.js';

/**
 * Format version 1. JSON columns hold `JSON.stringify` text; SQL `NULL` means the value is
 * absent (`undefined`), so a stored JSON `null` stays distinguishable from a missing one.
 *
 * The recovery indexes are partial (only live runs) and lead with `status` so the planner
 * prefers them to `runs_by_status` for the `wake_at <= now` and `lease_expires_at <= now` ranges.
 *
 * The journal keeps `(run_id, key)` unique and uses an explicit `seq INTEGER PRIMARY KEY` as
 * its append order: an implicit rowid could be renumbered by `VACUUM`, an explicit one cannot.
 */
const version1 = `
CREATE TABLE runs (
  id               TEXT PRIMARY KEY NOT NULL,
  target           TEXT NOT NULL,
  target_version   TEXT NOT NULL,
  input            TEXT,
  status           TEXT NOT NULL,
  output           TEXT,
  error            TEXT,
  thread_id        TEXT,
  source           TEXT,
  usage            TEXT NOT NULL,
  cost_usd         REAL NOT NULL,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  ended_at         INTEGER,
  wake_at          INTEGER,
  lease_owner      TEXT,
  lease_expires_at INTEGER,
  schema_version   INTEGER NOT NULL
);
CREATE INDEX runs_by_created ON runs (created_at, id);
CREATE INDEX runs_by_status ON runs (status, created_at, id);
CREATE INDEX runs_by_thread ON runs (thread_id, created_at, id) WHERE thread_id IS NOT NULL;
CREATE INDEX runs_running_by_lease ON runs (status, lease_expires_at) WHERE status = 'running';
CREATE INDEX runs_suspended_by_wake ON runs (status, wake_at) WHERE status = 'suspended';
CREATE INDEX runs_by_lease_owner ON runs (lease_owner) WHERE lease_owner IS NOT NULL;

CREATE TABLE journal (
  seq        INTEGER PRIMARY KEY,
  run_id     TEXT NOT NULL,
  key        TEXT NOT NULL,
  name       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  status     TEXT NOT NULL,
  result     TEXT,
  error      TEXT,
  started_at INTEGER NOT NULL,
  ended_at   INTEGER NOT NULL,
  meta       TEXT,
  UNIQUE (run_id, key)
);

CREATE TABLE signals (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id     TEXT NOT NULL,
  name       TEXT NOT NULL,
  payload    TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX signals_by_run ON signals (run_id, id);
`;

/**
 * Format version 2: one index fewer to write for every run created or finished. The index
 * `renewLeases` uses to find an owner's runs that stopped running holds only those (leased
 * runs whose status is not `running`), so a run created with a lease that finishes normally
 * never touches it; the owner's running runs are found in `runs_running_by_lease`, which now
 * carries `lease_owner` so that scan never reads the table for another owner's runs.
 *
 * The status index holds only runs that are neither `running` nor `completed` (the two
 * statuses every run passes through), so creating and finishing a run no longer inserts,
 * deletes and reinserts an entry there. `listRuns` finds running runs through
 * `runs_running_by_lease`, completed ones (most runs) by scanning `runs_by_created` newest
 * first, and the rest through `runs_by_other_status`.
 */
const version2 = `
DROP INDEX runs_by_lease_owner;
CREATE INDEX runs_stopped_by_owner ON runs (lease_owner) WHERE lease_owner IS NOT NULL AND status <> 'running';
DROP INDEX runs_running_by_lease;
CREATE INDEX runs_running_by_lease ON runs (status, lease_expires_at, lease_owner) WHERE status = 'running';
DROP INDEX runs_by_status;
CREATE INDEX runs_by_other_status ON runs (status, created_at, id) WHERE status NOT IN ('running', 'completed');
`;

/**
 * Format version 3: named record streams (`appendRecord`, `readRecords`), append-only state
 * that lives outside runs. A record's `seq` is its position in its stream (1, 2, ...), so the
 * primary key `(stream, seq)` both orders a stream and makes a read of one stream a range
 * scan; `WITHOUT ROWID` stores the rows in that key's b-tree instead of beside it. `data` is
 * the record's JSON text (never NULL: a JSON `null` is the text `null`).
 */
const version3 = `
CREATE TABLE records (
  stream TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  at     INTEGER NOT NULL,
  data   TEXT NOT NULL,
  PRIMARY KEY (stream, seq)
) WITHOUT ROWID;
`;

/**
 * Format version 4: a run's trace context (`RunRecord.trace`, a W3C `traceparent`), so a run
 * resumed in another process joins the trace it began in. NULL for runs not traced.
 */
const version4 = `
ALTER TABLE runs ADD COLUMN trace TEXT;
`;

/** `migrations[n]` takes a file from format version `n` to `n + 1`. Append only; never edit a released one. */
const migrations: readonly string[] = [version1, version2, version3, version4];

/** The format version this code writes. */
export const storeFormatVersion = migrations.length;

/**
 * Brings the database to `storeFormatVersion`, applying pending migrations in one immediate
 * transaction (so two processes opening a new file do not race). Throws a `ConfigError`
 * coded `STORE_VERSION_UNSUPPORTED` when the file was written by a newer Baton.
 *
 * `target` stops at an older format instead; tests use it to build a file as an older
 * Baton wrote it, then check that the store upgrades it.
 *
 * @example
 * ```ts
 * const db = new Database('.baton/baton.db');
 * migrate(db, '.baton/baton.db'); // creates the tables on a new file, no-op on a current one
 * ```
 */
export function migrate(db: Database.Database, path: string, target = storeFormatVersion): void {
  if (!Number.isInteger(target) || target < 1 || target > storeFormatVersion) {
    throw new ConfigError(`migrate(): target must be a format version from 1 to ${storeFormatVersion}.`);
  }
  if (readVersion(db, path) >= target) return;
  db.transaction(() => {
    const found = readVersion(db, path);
    for (let version = found; version < target; version++) db.exec(migrations[version]!);
    if (found < target) db.pragma(`user_version = ${target}`);
  }).immediate();
}

function readVersion(db: Database.Database, path: string): number {
  const found = db.pragma('user_version', { simple: true }) as number;
  if (found > storeFormatVersion || found < 0) {
    throw new ConfigError(
      `The Baton database ${path} has format version ${found}, but this Baton only reads format versions ` +
        `up to ${storeFormatVersion}. Upgrade Baton to open it, or pass createSqliteStore({ path }) another file.`,
      { code: 'STORE_VERSION_UNSUPPORTED' },
    );
  }
  return found;
}

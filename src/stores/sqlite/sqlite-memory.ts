/** createSqliteMemoryIndex(): long-term memory in SQLite, ranked by FTS5 BM25, with vectors kept beside the text. */

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../../core/errors.js';
import type { MemoryHit, MemoryIndex, MemoryItem } from '../../core/memory-index.js';
import { storeClosedError, storeOpenError } from '../../core/store-errors.js';
import { words } from '../../core/words.js';

/** Options of `createSqliteMemoryIndex`. */
export interface SqliteMemoryIndexOptions {
  /**
   * Database file; its directory is created if missing. May be the run store's own file (the
   * default, `.baton/baton.db`): the memory tables are separate from the store's and are not
   * part of its format version. `':memory:'` for a private in-memory database.
   */
  path?: string;
  /** How long a write waits for another connection holding the database lock. Default 5000. */
  busyTimeoutMs?: number;
}

/**
 * Version of the memory tables, kept in `memory_meta` (not in `PRAGMA user_version`, which
 * belongs to the run store's migrations). Version 1: `memory_items` plus the external-content
 * FTS5 table `memory_fts` kept in step by triggers.
 *
 * @example
 * ```ts
 * db.prepare("SELECT value FROM memory_meta WHERE key = 'format'").get(); // { value: '1' }
 * ```
 */
export const memoryFormatVersion = 1;

const schema = `
CREATE TABLE IF NOT EXISTS memory_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memory_items (
  rowid      INTEGER PRIMARY KEY,
  id         TEXT NOT NULL UNIQUE,
  scope      TEXT NOT NULL,
  text       TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  embedding  TEXT,
  metadata   TEXT
);
CREATE INDEX IF NOT EXISTS memory_items_by_scope ON memory_items (scope, created_at, rowid);
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(text, content='memory_items', content_rowid='rowid');
CREATE TRIGGER IF NOT EXISTS memory_items_insert AFTER INSERT ON memory_items BEGIN
  INSERT INTO memory_fts (rowid, text) VALUES (new.rowid, new.text);
END;
CREATE TRIGGER IF NOT EXISTS memory_items_delete AFTER DELETE ON memory_items BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
CREATE TRIGGER IF NOT EXISTS memory_items_update AFTER UPDATE ON memory_items BEGIN
  INSERT INTO memory_fts (memory_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
  INSERT INTO memory_fts (rowid, text) VALUES (new.rowid, new.text);
END;
`;

type Row = {
  id: string;
  scope: string;
  text: string;
  created_at: number;
  embedding: string | null;
  metadata: string | null;
};

const columns = 'memory_items.id, scope, memory_items.text, created_at, embedding, metadata';

function toItem(row: Row): MemoryItem {
  const item: MemoryItem = { id: row.id, text: row.text, scope: row.scope, createdAt: row.created_at };
  if (row.embedding !== null) item.embedding = JSON.parse(row.embedding) as number[];
  if (row.metadata !== null) item.metadata = JSON.parse(row.metadata) as Record<string, unknown>;
  return item;
}

/** The query's words as an FTS5 expression matching any of them (each quoted, so no operator syntax leaks in). */
function matchExpression(query: string): string | undefined {
  const terms = words(query);
  if (terms.length === 0) return undefined;
  return [...new Set(terms)].map((term) => `"${term}"`).join(' OR ');
}

/**
 * A MemoryIndex on SQLite: lexical search with FTS5 ranked by BM25 (`bm25()`, k1 1.2, b 0.75;
 * term statistics over the whole index, results filtered to the scope), vector search by cosine
 * similarity over the scope's stored embeddings (exact, in process). Opens its own connection
 * (WAL mode), so it can share the run store's file or use its own.
 *
 * @example
 * ```ts
 * import { createSqliteMemoryIndex } from 'batonjs/sqlite';
 * const memory = createMemory({ index: createSqliteMemoryIndex({ path: '.baton/baton.db' }) });
 * ```
 */
export function createSqliteMemoryIndex(options: SqliteMemoryIndexOptions = {}): MemoryIndex {
  const path = options.path ?? '.baton/baton.db';
  const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
  if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0)
    throw new ConfigError(
      `createSqliteMemoryIndex: busyTimeoutMs must be a non-negative integer, got ${busyTimeoutMs}.`,
      {
        code: 'INVALID_OPTION',
      },
    );
  const db = open(path, busyTimeoutMs);
  const upsert = db.prepare(
    `INSERT INTO memory_items (id, scope, text, created_at, embedding, metadata) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, text = excluded.text, created_at = excluded.created_at,
       embedding = excluded.embedding, metadata = excluded.metadata`,
  );
  const search = db.prepare(
    `SELECT ${columns}, bm25(memory_fts) AS rank FROM memory_fts JOIN memory_items ON memory_items.rowid = memory_fts.rowid
     WHERE memory_fts MATCH ? AND scope = ? ORDER BY rank, created_at, memory_items.rowid LIMIT ?`,
  );
  const inScope = db.prepare(
    `SELECT ${columns} FROM memory_items WHERE scope = ? ORDER BY created_at, rowid`,
  );
  const remove = db.prepare('DELETE FROM memory_items WHERE id = ?');
  let closed = false;

  function perform<T>(operation: () => T): Promise<T> {
    if (closed) return Promise.reject(storeClosedError(`The SQLite memory index on ${path}`));
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  return {
    put(item) {
      return perform(() => {
        upsert.run(
          item.id,
          item.scope,
          item.text,
          item.createdAt,
          item.embedding === undefined ? null : JSON.stringify(item.embedding),
          item.metadata === undefined ? null : JSON.stringify(item.metadata),
        );
      });
    },
    searchText(query, { scope, limit }) {
      return perform(() => {
        const expression = matchExpression(query);
        if (expression === undefined) return [];
        return (search.all(expression, scope, limit) as (Row & { rank: number })[]).map(
          (row): MemoryHit => ({ ...toItem(row), score: -row.rank, via: 'lexical' }),
        );
      });
    },
    async searchVector(embedding, { scope, limit }) {
      const { cosineSimilarity } = await import('ai');
      const query = embedding as number[];
      return perform(() => {
        const hits: MemoryHit[] = [];
        for (const row of inScope.all(scope) as Row[]) {
          if (row.embedding === null) continue;
          const item = toItem(row);
          // A vector of another length (another embedding model) scores 0 rather than failing the search.
          const vector = item.embedding!;
          const score = vector.length === query.length ? cosineSimilarity(vector, query) : 0;
          hits.push({ ...item, score, via: 'vector' });
        }
        hits.sort((a, b) => b.score - a.score || a.createdAt - b.createdAt);
        return hits.slice(0, limit);
      });
    },
    list(scope) {
      return perform(() => (inScope.all(scope) as Row[]).map(toItem));
    },
    delete(id) {
      return perform(() => remove.run(id).changes > 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}

function open(path: string, busyTimeoutMs: number): Database.Database {
  const inMemory = path === ':memory:' || path === '';
  if (!inMemory) mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database | undefined;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
    db.pragma('journal_mode = WAL');
    const database = db;
    database
      .transaction(() => {
        database.exec(schema);
        const found = database.prepare("SELECT value FROM memory_meta WHERE key = 'format'").get() as
          | { value: string }
          | undefined;
        if (found === undefined)
          database
            .prepare("INSERT INTO memory_meta (key, value) VALUES ('format', ?)")
            .run(String(memoryFormatVersion));
        else if (Number(found.value) > memoryFormatVersion)
          throw new ConfigError(
            `The memory tables in ${path} have format version ${found.value}, but this Baton only reads up to ${memoryFormatVersion}. Upgrade Baton or use another file.`,
            { code: 'STORE_VERSION_UNSUPPORTED' },
          );
      })
      .immediate();
    return db;
  } catch (error) {
    db?.close();
    throw storeOpenError('the memory index', path, error);
  }
}

/** createPostgresMemoryIndex(): long-term memory in Postgres, found through a GIN-indexed tsvector and ranked by BM25. */

import type { Pool } from 'pg';
import { ConfigError } from '../../core/errors.js';
import type { MemoryHit, MemoryIndex, MemoryItem } from '../../core/memory-index.js';
import { storeClosedError } from '../../core/store-errors.js';
import { words } from '../../core/words.js';
import { loadPg } from './postgres-driver.js';
import { migrate, quoteSchema } from './postgres-schema.js';

/** One stored memory: the kernel's `MemoryItem` (core/memory-index.ts). */
export type PostgresMemoryItem = MemoryItem;

/** A memory found by a search: the kernel's `MemoryHit`. */
export type PostgresMemoryHit = MemoryHit;

/** A MemoryIndex (the kernel's contract) on Postgres; `close()` also ends a pool it made. */
export type PostgresMemoryIndex = MemoryIndex;

/** Options of `createPostgresMemoryIndex`. */
export interface PostgresMemoryIndexOptions {
  /** `postgres://…`; the index makes and closes its own pool. */
  connectionString?: string;
  /** A `pg` Pool you made (for example the one under your Postgres store); `close()` leaves it open. */
  pool?: Pool;
  /** The schema of Baton's tables, shared with the run store. Default `baton`. */
  schema?: string;
}

type Row = {
  id: string;
  scope: string;
  text: string;
  created_at: number;
  embedding: string | null;
  metadata: string | null;
  length?: number;
};

const columns = 'id, scope, text, created_at, embedding, metadata';

function toItem(row: Row): PostgresMemoryItem {
  const item: PostgresMemoryItem = {
    id: row.id,
    text: row.text,
    scope: row.scope,
    createdAt: row.created_at,
  };
  if (row.embedding !== null) item.embedding = JSON.parse(row.embedding) as number[];
  if (row.metadata !== null) item.metadata = JSON.parse(row.metadata) as Record<string, unknown>;
  return item;
}

/** BM25 parameters, as SQLite FTS5's `bm25()` and the in-memory index use them. */
const k1 = 1.2;
const b = 0.75;

/**
 * A MemoryIndex on Postgres, in the run store's schema (migration 2 of the Postgres store).
 * Lexical search finds the scope's memories holding a query word through a GIN index on a
 * `tsvector` of the text's words, and ranks them with Okapi BM25 exactly as SQLite FTS5's
 * `bm25()` and `createInMemoryIndex()` do (k1 1.2, b 0.75; term statistics over the whole index,
 * results from the scope only), so every index ranks alike. Words are split by Baton's own
 * tokenizer (any script, combining marks kept), not by a Postgres text search configuration.
 * Vector search is exact cosine similarity over the scope's stored embeddings, in process;
 * pgvector is not used.
 *
 * @example
 * ```ts
 * import { createMemory } from 'batonjs';
 * import { createPostgresMemoryIndex } from 'batonjs/postgres';
 * const memory = createMemory({ index: createPostgresMemoryIndex({ connectionString: process.env.DATABASE_URL }) });
 * ```
 */
export function createPostgresMemoryIndex(options: PostgresMemoryIndexOptions = {}): PostgresMemoryIndex {
  const { connectionString, pool: givenPool, schema = 'baton' } = options;
  const table = `${quoteSchema(schema)}.memory_items`;
  if ((connectionString === undefined) === (givenPool === undefined)) {
    throw new ConfigError('createPostgresMemoryIndex: pass exactly one of connectionString and pool.', {
      code: 'INVALID_OPTION',
    });
  }
  let pool: Pool | undefined;
  let opening: Promise<Pool> | undefined;
  let closed = false;
  const name = `The Postgres memory index (schema "${schema}")`;

  function open(): Promise<Pool> {
    if (closed) return Promise.reject(storeClosedError(name));
    opening ??= (async () => {
      if (pool === undefined) {
        if (givenPool !== undefined) pool = givenPool;
        else pool = new (await loadPg()).Pool({ connectionString, max: 4, connectionTimeoutMillis: 10_000 });
        if (pool.listenerCount('error') === 0) pool.on('error', () => undefined);
      }
      await migrate(pool, schema);
      return pool;
    })().catch((error: unknown) => {
      opening = undefined;
      throw error;
    });
    return opening;
  }

  async function query<R extends Row | Record<string, unknown>>(
    text: string,
    values: unknown[],
  ): Promise<R[]> {
    const connection = await open();
    return (await connection.query<R>(text, values)).rows;
  }

  return {
    async put(item) {
      const terms = words(item.text);
      await query(
        `INSERT INTO ${table} (${columns}, terms, length) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO UPDATE SET scope = excluded.scope, text = excluded.text, created_at = excluded.created_at,
           embedding = excluded.embedding, metadata = excluded.metadata, terms = excluded.terms, length = excluded.length`,
        [
          item.id,
          item.scope,
          item.text,
          item.createdAt,
          item.embedding === undefined ? null : JSON.stringify(item.embedding),
          item.metadata === undefined ? null : JSON.stringify(item.metadata),
          terms,
          terms.length,
        ],
      );
    },

    async searchText(search, { scope, limit }) {
      const terms = [...new Set(words(search))];
      if (terms.length === 0) {
        await open();
        return [];
      }
      // Words hold only letters, marks and digits, so quoting them makes a plain tsquery lexeme.
      const tsquery = terms.map((term) => `'${term}'`).join(' | ');
      const [statistics] = await query<{ total: number; average: number | null; frequencies: number[] }>(
        `SELECT count(*)::double precision AS total, avg(length)::double precision AS average,
           ARRAY(SELECT (SELECT count(*) FROM ${table} WHERE tsv @@ format('%L', term)::tsquery)::double precision
                 FROM unnest($1::text[]) WITH ORDINALITY AS t(term, position) ORDER BY position) AS frequencies
         FROM ${table}`,
        [terms],
      );
      const rows = await query<Row & { terms: string[] }>(
        `SELECT ${columns}, terms, length FROM ${table} WHERE scope = $1 AND tsv @@ $2::tsquery`,
        [scope, tsquery],
      );
      const total = statistics?.total ?? 0;
      const averageLength = statistics?.average || 1;
      const weights = terms.map((term, index) => {
        const containing = statistics?.frequencies[index] ?? 0;
        const idf = Math.log((total - containing + 0.5) / (containing + 0.5));
        return [term, idf > 0 ? idf : 1e-6] as const;
      });
      const hits: PostgresMemoryHit[] = rows.map((row) => {
        const counts = new Map<string, number>();
        for (const term of row.terms) counts.set(term, (counts.get(term) ?? 0) + 1);
        const norm = k1 * (1 - b + (b * (row.length ?? 0)) / averageLength);
        let score = 0;
        for (const [term, idf] of weights) {
          const frequency = counts.get(term) ?? 0;
          if (frequency > 0) score += (idf * (frequency * (k1 + 1))) / (frequency + norm);
        }
        return { ...toItem(row), score, via: 'lexical' };
      });
      hits.sort((x, y) => y.score - x.score || x.createdAt - y.createdAt);
      return hits.slice(0, limit);
    },

    async searchVector(embedding, { scope, limit }) {
      const { cosineSimilarity } = await import('ai');
      const target = embedding as number[];
      const rows = await query<Row>(
        `SELECT ${columns} FROM ${table} WHERE scope = $1 AND embedding IS NOT NULL ORDER BY created_at, id`,
        [scope],
      );
      const hits = rows.map((row): PostgresMemoryHit => {
        const item = toItem(row);
        const vector = item.embedding ?? [];
        // A vector of another length (another embedding model) scores 0 rather than failing the search.
        const score = vector.length === target.length ? cosineSimilarity(vector, target) : 0;
        return { ...item, score, via: 'vector' };
      });
      hits.sort((x, y) => y.score - x.score || x.createdAt - y.createdAt);
      return hits.slice(0, limit);
    },

    async list(scope) {
      const rows = await query<Row>(
        `SELECT ${columns} FROM ${table} WHERE scope = $1 ORDER BY created_at, id`,
        [scope],
      );
      return rows.map(toItem);
    },

    async delete(id) {
      const connection = await open();
      return ((await connection.query(`DELETE FROM ${table} WHERE id = $1`, [id])).rowCount ?? 0) > 0;
    },

    async close() {
      if (closed) return;
      closed = true;
      await opening?.catch(() => undefined);
      if (pool !== undefined && givenPool === undefined) await pool.end();
    },
  };
}

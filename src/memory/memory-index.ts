/** The MemoryIndex contract: where long-term memories are kept and searched (lexical BM25, vectors by cosine). */

import { ConfigError } from '../core/errors.js';

/** Who a memory belongs to: one thread, one user or one agent. Recall never crosses scopes. */
export type MemoryScope = { thread: string } | { user: string } | { agent: string };

/** One stored memory. */
export interface MemoryItem {
  /** Unique per index; remembering again with the same id replaces the item. */
  id: string;
  text: string;
  /** The scope key, as `scopeKey` makes it (`user:u1`). */
  scope: string;
  /** Milliseconds since the epoch. */
  createdAt: number;
  /** The text's embedding, when an embedding model is configured. */
  embedding?: number[];
  /** JSON data kept with the memory. */
  metadata?: Record<string, unknown>;
}

/** A memory found by a search, with its score (higher is better) and how it was found. */
export interface MemoryHit extends MemoryItem {
  score: number;
  /** `lexical` (BM25), `vector` (cosine similarity) or `hybrid` (reciprocal rank fusion of both). */
  via: 'lexical' | 'vector' | 'hybrid';
}

/** A search in one scope. */
export interface MemorySearch {
  scope: string;
  limit: number;
}

/**
 * Storage and search for long-term memory. Implementations: `createInMemoryIndex()` (root) and
 * `createSqliteMemoryIndex()` (`batonjs/sqlite`, FTS5). Both pass one conformance suite.
 *
 * @example
 * ```ts
 * const index: MemoryIndex = createInMemoryIndex();
 * await index.put({ id: 'm1', text: 'Prefers email', scope: 'user:u1', createdAt: Date.now() });
 * const hits = await index.searchText('email', { scope: 'user:u1', limit: 5 });
 * ```
 */
export interface MemoryIndex {
  /** Adds or replaces (same id) an item. */
  put(item: MemoryItem): Promise<void>;
  /** Lexical search ranked by BM25 (best first); items with no query term are not returned. */
  searchText(query: string, search: MemorySearch): Promise<MemoryHit[]>;
  /** Vector search by cosine similarity (best first) over the scope's items that have an embedding. */
  searchVector(embedding: readonly number[], search: MemorySearch): Promise<MemoryHit[]>;
  /** The scope's items, oldest first. */
  list(scope: string): Promise<MemoryItem[]>;
  /** Deletes an item; resolves `true` if it existed. */
  delete(id: string): Promise<boolean>;
  close(): Promise<void>;
}

/**
 * The key a scope is stored under: `thread:<id>`, `user:<id>` or `agent:<name>`. Throws a
 * `ConfigError` coded `INVALID_MEMORY_SCOPE` for anything else.
 *
 * @example
 * ```ts
 * scopeKey({ user: 'u1' }); // 'user:u1'
 * ```
 */
export function scopeKey(scope: MemoryScope): string {
  if (scope !== null && typeof scope === 'object') {
    const entries = Object.entries(scope);
    const [kind, id] = entries[0] ?? [];
    if (
      entries.length === 1 &&
      (kind === 'thread' || kind === 'user' || kind === 'agent') &&
      typeof id === 'string' &&
      id !== ''
    )
      return `${kind}:${id}`;
  }
  throw new ConfigError(
    `Invalid memory scope ${JSON.stringify(scope)}: use exactly one of { thread: id }, { user: id } or { agent: name } with a non-empty string.`,
    { code: 'INVALID_MEMORY_SCOPE' },
  );
}

/**
 * Ranks items by cosine similarity to a query vector (the AI SDK's `cosineSimilarity`, loaded
 * with `ai` on first use; an item whose vector has another length scores 0); shared by the
 * in-memory indexes.
 *
 * @example
 * ```ts
 * const hits = await rankByVector(items, embedding, 5);
 * ```
 */
export async function rankByVector(
  items: readonly MemoryItem[],
  embedding: readonly number[],
  limit: number,
): Promise<MemoryHit[]> {
  const { cosineSimilarity } = await import('ai');
  const query = embedding as number[];
  const hits: MemoryHit[] = [];
  for (const item of items) {
    if (item.embedding === undefined) continue;
    const score = item.embedding.length === query.length ? cosineSimilarity(item.embedding, query) : 0;
    hits.push({ ...item, score, via: 'vector' });
  }
  hits.sort((a, b) => b.score - a.score || a.createdAt - b.createdAt);
  return hits.slice(0, limit);
}

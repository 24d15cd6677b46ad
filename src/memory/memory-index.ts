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
 * Cosine similarity of two vectors (0 when either is all zeros or their lengths differ).
 *
 * @example
 * ```ts
 * cosineSimilarity([1, 0], [1, 1]); // 0.7071...
 * ```
 */
export function cosineSimilarity(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) return 0;
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let index = 0; index < a.length; index++) {
    const x = a[index]!;
    const y = b[index]!;
    dot += x * y;
    normA += x * x;
    normB += y * y;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

/** Ranks items by cosine similarity to a query vector; shared by the indexes. */
export function rankByVector(
  items: readonly MemoryItem[],
  embedding: readonly number[],
  limit: number,
): MemoryHit[] {
  const hits: MemoryHit[] = [];
  for (const item of items) {
    if (item.embedding === undefined) continue;
    hits.push({ ...item, score: cosineSimilarity(item.embedding, embedding), via: 'vector' });
  }
  hits.sort((a, b) => b.score - a.score || a.createdAt - b.createdAt);
  return hits.slice(0, limit);
}

/** Lower-cased word tokens (letters and digits of any script), as both indexes split text. */
export function tokenize(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

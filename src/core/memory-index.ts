/** The MemoryIndex contract: where long-term memories are kept and searched. Adapters (memory/, stores/sqlite/) implement it. */

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

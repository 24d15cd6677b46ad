/** createInMemoryIndex(): a MemoryIndex in process memory with Okapi BM25 ranking, for tests and the memory store. */

import { words } from '../core/words.js';
import { type Bm25Document, bm25Corpus, bm25Document, bm25Scores, termCounts } from '../tools/bm25.js';
import { type MemoryHit, type MemoryIndex, type MemoryItem, rankByVector } from './memory-index.js';

/** Options of `createInMemoryIndex`. */
export interface InMemoryIndexOptions {
  /** BM25 term-frequency saturation. Default 1.2 (as SQLite FTS5). */
  k1?: number;
  /** BM25 length normalisation. Default 0.75 (as SQLite FTS5). */
  b?: number;
}

interface Entry {
  item: MemoryItem;
  document: Bm25Document;
}

/**
 * A MemoryIndex kept in memory. Lexical search ranks with Okapi BM25 exactly as SQLite FTS5's
 * `bm25()` does (k1 1.2, b 0.75, term statistics over the whole index, results from the scope
 * only), vector search by cosine similarity. Nothing survives
 * the process: pair it with `createMemoryStore()`; use `createSqliteMemoryIndex` to keep memories.
 *
 * @example
 * ```ts
 * const memory = createMemory({ index: createInMemoryIndex() });
 * ```
 */
export function createInMemoryIndex(options: InMemoryIndexOptions = {}): MemoryIndex {
  const { k1, b } = { k1: 1.2, b: 0.75, ...options };
  const entries = new Map<string, Entry>();
  const inScope = (scope: string) => [...entries.values()].filter((entry) => entry.item.scope === scope);
  const copy = (item: MemoryItem): MemoryItem => structuredClone(item);
  return {
    async put(item) {
      entries.delete(item.id);
      entries.set(item.id, { item: copy(item), document: bm25Document(termCounts(words(item.text))) });
    },
    async searchText(query, { scope, limit }) {
      // Term statistics over the whole index, as SQLite FTS5 computes them; results from the scope only.
      const all = [...entries.values()];
      const corpus = bm25Corpus(all.map((entry) => entry.document));
      const hits: MemoryHit[] = [];
      for (const { position, score } of bm25Scores(corpus, words(query), { k1, b, idf: 'fts5' })) {
        const { item } = all[position]!;
        if (item.scope === scope) hits.push({ ...copy(item), score, via: 'lexical' });
      }
      hits.sort((x, y) => y.score - x.score || x.createdAt - y.createdAt);
      return hits.slice(0, limit);
    },
    async searchVector(embedding, { scope, limit }) {
      return rankByVector(
        inScope(scope).map((entry) => copy(entry.item)),
        embedding,
        limit,
      );
    },
    async list(scope) {
      return inScope(scope)
        .map((entry) => copy(entry.item))
        .sort((x, y) => x.createdAt - y.createdAt);
    },
    async delete(id) {
      return entries.delete(id);
    },
    async close() {
      entries.clear();
    },
  };
}

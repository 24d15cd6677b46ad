/** createInMemoryIndex(): a MemoryIndex in process memory with Okapi BM25 ranking, for tests and the memory store. */

import { type MemoryHit, type MemoryIndex, type MemoryItem, rankByVector, tokenize } from './memory-index.js';

/** Options of `createInMemoryIndex`. */
export interface InMemoryIndexOptions {
  /** BM25 term-frequency saturation. Default 1.2 (as SQLite FTS5). */
  k1?: number;
  /** BM25 length normalisation. Default 0.75 (as SQLite FTS5). */
  b?: number;
}

interface Entry {
  item: MemoryItem;
  terms: Map<string, number>;
  length: number;
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
      const terms = new Map<string, number>();
      const tokens = tokenize(item.text);
      for (const token of tokens) terms.set(token, (terms.get(token) ?? 0) + 1);
      entries.delete(item.id);
      entries.set(item.id, { item: copy(item), terms, length: tokens.length });
    },
    async searchText(query, { scope, limit }) {
      // Term statistics over the whole index, as SQLite FTS5 computes them; results from the scope only.
      const all = [...entries.values()];
      const queryTerms = [...new Set(tokenize(query))];
      if (all.length === 0 || queryTerms.length === 0) return [];
      const candidates = all.filter((entry) => entry.item.scope === scope);
      const averageLength = all.reduce((sum, entry) => sum + entry.length, 0) / all.length || 1;
      const idf = new Map<string, number>();
      for (const term of queryTerms) {
        const containing = all.filter((entry) => entry.terms.has(term)).length;
        const value = Math.log((all.length - containing + 0.5) / (containing + 0.5));
        idf.set(term, value > 0 ? value : 1e-6);
      }
      const hits: MemoryHit[] = [];
      for (const entry of candidates) {
        let score = 0;
        let matched = false;
        for (const term of queryTerms) {
          const frequency = entry.terms.get(term) ?? 0;
          if (frequency === 0) continue;
          matched = true;
          score +=
            (idf.get(term)! * (frequency * (k1 + 1))) /
            (frequency + k1 * (1 - b + (b * entry.length) / averageLength));
        }
        if (matched) hits.push({ ...copy(entry.item), score, via: 'lexical' });
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

/** createMemory(): long-term memory with remember/recall, lexical by default and vector search with an embedding model. */

import type { EmbeddingModel } from 'ai';
import { ConfigError } from '../core/errors.js';
import { createInMemoryIndex } from './in-memory-index.js';
import {
  type MemoryHit,
  type MemoryIndex,
  type MemoryItem,
  type MemoryScope,
  scopeKey,
} from './memory-index.js';

/** How `recall` searches. */
export type RecallMode = 'lexical' | 'vector' | 'hybrid';

/** Options of `createMemory`. */
export interface MemoryOptions {
  /** Where memories live. Default `createInMemoryIndex()`; `createSqliteMemoryIndex()` from `batonjs/sqlite` keeps them. */
  index?: MemoryIndex;
  /** An AI SDK embedding model: memories are embedded on `remember` and `recall` can search by vector. */
  embeddingModel?: EmbeddingModel;
  /** Default search: `vector` when an embedding model is set, else `lexical`. `hybrid` fuses both rankings. */
  mode?: RecallMode;
  /** Default number of memories `recall` returns. Default 5. */
  limit?: number;
  /** The clock for `createdAt`. Default `Date.now`. */
  now?: () => number;
}

/** Options of `remember`. */
export interface RememberOptions {
  scope: MemoryScope;
  /** Remembering again with the same id replaces the memory (tools pass their idempotency key). */
  id?: string;
  metadata?: Record<string, unknown>;
  abortSignal?: AbortSignal;
}

/** Options of `recall`. */
export interface RecallOptions {
  scope: MemoryScope;
  limit?: number;
  mode?: RecallMode;
  abortSignal?: AbortSignal;
}

/** Long-term memory: what `createMemory` returns. */
export interface Memory {
  readonly index: MemoryIndex;
  /** Stores a memory in a scope and returns it. */
  remember(text: string, options: RememberOptions): Promise<MemoryItem>;
  /** The memories of a scope that best match `query`, best first. */
  recall(query: string, options: RecallOptions): Promise<MemoryHit[]>;
  /** Every memory of a scope, oldest first. */
  list(scope: MemoryScope): Promise<MemoryItem[]>;
  /** Deletes a memory by id; `true` if it existed. */
  forget(id: string): Promise<boolean>;
}

/** Reciprocal rank fusion constant (the usual 60). */
const fusionK = 60;

/**
 * Creates long-term memory over an index. Recall searches one scope only (a thread, a user or
 * an agent). Without an embedding model it ranks by BM25; with one, memories are embedded
 * (AI SDK `embed`) and recall ranks by cosine similarity, or fuses both rankings (`hybrid`).
 * Give agents the `remember`/`recall` tools with `memoryTools(memory, ...)`.
 *
 * @example
 * ```ts
 * const memory = createMemory({ index: createSqliteMemoryIndex({ path: '.baton/baton.db' }) });
 * await memory.remember('Prefers invoices by email', { scope: { user: 'u1' } });
 * const hits = await memory.recall('how to send the invoice', { scope: { user: 'u1' }, limit: 3 });
 * ```
 */
export function createMemory(options: MemoryOptions = {}): Memory {
  const index = options.index ?? createInMemoryIndex();
  const model = options.embeddingModel;
  const defaultMode: RecallMode = options.mode ?? (model === undefined ? 'lexical' : 'vector');
  const defaultLimit = options.limit ?? 5;
  const now = options.now ?? Date.now;
  if (model === undefined && defaultMode !== 'lexical')
    throw new ConfigError(`createMemory(): mode "${defaultMode}" needs an embeddingModel.`, {
      code: 'INVALID_OPTION',
    });
  if (!Number.isInteger(defaultLimit) || defaultLimit < 1)
    throw new ConfigError(`createMemory(): limit must be a positive integer, got ${defaultLimit}.`, {
      code: 'INVALID_OPTION',
    });

  const embedding = async (value: string, abortSignal: AbortSignal | undefined) => {
    if (model === undefined) return undefined;
    // Loaded on first use: the AI SDK's root costs ~100 ms to import, and most runs never embed.
    const { embed } = await import('ai');
    const result = await embed({ model, value, ...(abortSignal === undefined ? {} : { abortSignal }) });
    return result.embedding;
  };

  return {
    index,
    async remember(text, rememberOptions) {
      if (typeof text !== 'string' || text.trim() === '')
        throw new ConfigError('remember(): text must be a non-empty string.', { code: 'INVALID_MEMORY' });
      const scope = scopeKey(rememberOptions?.scope);
      const item: MemoryItem = {
        id: rememberOptions.id ?? crypto.randomUUID(),
        text,
        scope,
        createdAt: now(),
      };
      const vector = await embedding(text, rememberOptions.abortSignal);
      if (vector !== undefined) item.embedding = vector;
      if (rememberOptions.metadata !== undefined) item.metadata = rememberOptions.metadata;
      await index.put(item);
      return item;
    },
    async recall(query, recallOptions) {
      const scope = scopeKey(recallOptions?.scope);
      const limit = recallOptions.limit ?? defaultLimit;
      if (!Number.isInteger(limit) || limit < 1)
        throw new ConfigError(`recall(): limit must be a positive integer, got ${limit}.`, {
          code: 'INVALID_OPTION',
        });
      const mode = recallOptions.mode ?? defaultMode;
      if (mode === 'lexical') return index.searchText(query, { scope, limit });
      const vector = await embedding(query, recallOptions.abortSignal);
      if (vector === undefined)
        throw new ConfigError(`recall(): mode "${mode}" needs createMemory({ embeddingModel }).`, {
          code: 'INVALID_OPTION',
        });
      if (mode === 'vector') return index.searchVector(vector, { scope, limit });
      const pool = Math.max(limit * 4, 20);
      const [lexical, semantic] = await Promise.all([
        index.searchText(query, { scope, limit: pool }),
        index.searchVector(vector, { scope, limit: pool }),
      ]);
      return fuse([lexical, semantic], limit);
    },
    list(scope) {
      return index.list(scopeKey(scope));
    },
    forget(id) {
      return index.delete(id);
    },
  };
}

/** Reciprocal rank fusion: each list adds 1 / (60 + rank) to an item's score. */
function fuse(rankings: readonly MemoryHit[][], limit: number): MemoryHit[] {
  const fused = new Map<string, MemoryHit>();
  for (const ranking of rankings) {
    for (const [rank, hit] of ranking.entries()) {
      const score = 1 / (fusionK + rank + 1);
      const existing = fused.get(hit.id);
      if (existing === undefined) fused.set(hit.id, { ...hit, score, via: 'hybrid' });
      else existing.score += score;
    }
  }
  return [...fused.values()].sort((a, b) => b.score - a.score || a.createdAt - b.createdAt).slice(0, limit);
}

/** Memory scopes and vector ranking for the MemoryIndex contract (declared in core/memory-index.ts, re-exported here). */

import { ConfigError } from '../core/errors.js';
import type { MemoryHit, MemoryItem } from '../core/memory-index.js';

export type { MemoryHit, MemoryIndex, MemoryItem, MemorySearch } from '../core/memory-index.js';

/** Who a memory belongs to: one thread, one user or one agent. Recall never crosses scopes. */
export type MemoryScope = { thread: string } | { user: string } | { agent: string };

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

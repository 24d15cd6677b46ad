/** A response cache kept in a Baton store's record stream, shared by the processes that share the store. */

import { recordTail } from '../core/record-tail.js';
import type { Store } from '../core/store.js';
import type { CachedModelResponse, ResponseCacheStore } from './response-cache.js';

/** Options of {@link createStoreResponseCache}. */
export interface StoreResponseCacheOptions {
  /** The record stream the answers go to. Default `baton:response-cache`. */
  stream?: string;
}

/**
 * A cache kept in a Baton store's record stream, so processes that share the store (SQLite
 * file, Postgres) share answers. Each process tails the stream into an in-memory index on
 * every lookup; `set` appends an entry and `delete` a tombstone. The stream only grows: give it
 * its own name and drop it when it gets large.
 *
 * @example
 * ```ts
 * const store = createSqliteStore({ path: '.baton/baton.db' });
 * const cache = createStoreResponseCache(store);
 * const faq = agent({ name: 'faq', model, instructions: 'Answer FAQs.', cache: { ttlMs: 3_600_000, store: cache } });
 * ```
 */
export function createStoreResponseCache(
  store: Pick<Store, 'appendRecord' | 'readRecords'>,
  options: StoreResponseCacheOptions = {},
): ResponseCacheStore {
  const stream = options.stream ?? 'baton:response-cache';
  const index = new Map<string, CachedModelResponse>();
  const sync = recordTail(store, stream, (record) => {
    const data = record as { key?: unknown; entry?: CachedModelResponse; deleted?: boolean };
    if (typeof data?.key !== 'string') return;
    if (data.deleted === true || data.entry === undefined) index.delete(data.key);
    else index.set(data.key, data.entry);
  });
  return {
    async get(key) {
      await sync();
      return index.get(key);
    },
    async set(key, entry) {
      await store.appendRecord(stream, { key, entry });
      index.set(key, entry);
    },
    async delete(key) {
      if (!index.has(key)) return;
      await store.appendRecord(stream, { key, deleted: true });
      index.delete(key);
    },
  };
}

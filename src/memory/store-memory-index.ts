/** A memory index kept in a record stream of any store, so processes that share the store share memories. */

import { recordTail } from '../core/record-tail.js';
import type { Store } from '../core/store.js';
import { createInMemoryIndex } from './in-memory-index.js';
import type { MemoryIndex, MemoryItem } from './memory-index.js';

/**
 * The record stream `createStoreMemoryIndex` uses by default.
 *
 * @example
 * ```ts
 * const items = await store.readRecords(defaultMemoryStream); // { item } and { deleted } records
 * ```
 */
export const defaultMemoryStream = 'baton:memory';

/**
 * A memory index kept in a store's record stream, so processes that share the store (a SQLite
 * file, Postgres) share memories: each search first tails the stream into an in-memory BM25
 * index; `put` appends the item and `delete` a tombstone.
 *
 * @example
 * ```ts
 * const memory = createMemory({ index: createStoreMemoryIndex(createSqliteStore({ path: '.baton/baton.db' })) });
 * ```
 */
export function createStoreMemoryIndex(
  store: Pick<Store, 'appendRecord' | 'readRecords'>,
  options: { stream?: string } = {},
): MemoryIndex {
  const stream = options.stream ?? defaultMemoryStream;
  const index = createInMemoryIndex();
  const ids = new Set<string>();
  const sync = recordTail(store, stream, async (record) => {
    const data = record as { item?: MemoryItem; deleted?: string };
    if (typeof data?.deleted === 'string') {
      ids.delete(data.deleted);
      await index.delete(data.deleted);
    } else if (typeof data?.item?.id === 'string') {
      ids.add(data.item.id);
      await index.put(data.item);
    }
  });
  return {
    async put(item) {
      await store.appendRecord(stream, { item });
      ids.add(item.id);
      await index.put(item);
    },
    async searchText(query, search) {
      await sync();
      return index.searchText(query, search);
    },
    async searchVector(embedding, search) {
      await sync();
      return index.searchVector(embedding, search);
    },
    async list(scope) {
      await sync();
      return index.list(scope);
    },
    async delete(id) {
      await sync();
      if (!ids.has(id)) return false;
      await store.appendRecord(stream, { deleted: id });
      ids.delete(id);
      await index.delete(id);
      return true;
    },
    close: () => index.close(),
  };
}

/** The long-term memory of a loaded team: kept in a record stream of the runtime's store, or in process memory. */

import {
  createInMemoryIndex,
  createMemory,
  type Memory,
  type MemoryIndex,
  type MemoryItem,
  type Store,
} from '../index.js';

/** The record stream team-file memories go to. */
export const teamMemoryStream = 'baton:memory';

/**
 * A memory index kept in a store's record stream, so processes that share the store (a SQLite
 * file, Postgres) share memories: each search first tails the stream into an in-memory BM25
 * index; `put` appends the item and `delete` a tombstone.
 *
 * @example
 * ```ts
 * const memory = createMemory({ index: storeMemoryIndex(createSqliteStore({ path: '.baton/baton.db' })) });
 * ```
 */
export function storeMemoryIndex(
  store: Pick<Store, 'appendRecord' | 'readRecords'>,
  stream = teamMemoryStream,
): MemoryIndex {
  const index = createInMemoryIndex();
  const ids = new Set<string>();
  let seen = 0;
  let catchingUp: Promise<void> | undefined;
  const catchUp = async () => {
    for (;;) {
      const records = await store.readRecords(stream, { after: seen, limit: 500 });
      for (const record of records) {
        seen = record.seq;
        const data = record.data as { item?: MemoryItem; deleted?: string };
        if (typeof data?.deleted === 'string') {
          ids.delete(data.deleted);
          await index.delete(data.deleted);
        } else if (typeof data?.item?.id === 'string') {
          ids.add(data.item.id);
          await index.put(data.item);
        }
      }
      if (records.length < 500) return;
    }
  };
  const sync = () => {
    catchingUp ??= catchUp().finally(() => {
      catchingUp = undefined;
    });
    return catchingUp;
  };
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

/**
 * The memory the agents of one loaded team share: in the store's `baton:memory` stream when the
 * loader was given the runtime's store, else in process memory (gone when the process exits).
 *
 * @example
 * ```ts
 * const memory = teamMemory(options.store);
 * ```
 */
export function teamMemory(store: Store | undefined): Memory {
  return createMemory({ index: store === undefined ? createInMemoryIndex() : storeMemoryIndex(store) });
}

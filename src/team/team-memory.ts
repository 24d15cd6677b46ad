/** The long-term memory of a loaded team: kept in a record stream of the runtime's store, or in process memory. */

import {
  createInMemoryIndex,
  createMemory,
  createStoreMemoryIndex,
  type Memory,
  type Store,
} from '../index.js';

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
  return createMemory({ index: store === undefined ? createInMemoryIndex() : createStoreMemoryIndex(store) });
}

/** The in-memory store: `createMemoryStore()`, for tests and single-process runs that need no persistence. */

export { createMemoryStore } from './memory-store.js';

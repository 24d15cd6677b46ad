/** The `batonjs/sqlite` entry point: the default durable store on one SQLite file. */

export type { SqliteMemoryIndexOptions } from './sqlite-memory.js';
export { createSqliteMemoryIndex, memoryFormatVersion } from './sqlite-memory.js';
export type { SqliteStore, SqliteStoreOptions, SqliteStoreStats } from './sqlite-store.js';
export { createSqliteStore } from './sqlite-store.js';

/** The `batonjs/postgres` entry point: the Store on Postgres (the `pg` driver, an optional peer dependency). */

export type {
  PostgresMemoryHit,
  PostgresMemoryIndex,
  PostgresMemoryIndexOptions,
  PostgresMemoryItem,
} from './postgres-memory.js';
export { createPostgresMemoryIndex } from './postgres-memory.js';
export { postgresSchemaVersion } from './postgres-schema.js';
export type { PostgresStore, PostgresStoreOptions, PostgresStoreStats } from './postgres-store.js';
export { createPostgresStore } from './postgres-store.js';

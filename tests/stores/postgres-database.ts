/** The local Postgres the Postgres store's tests use: one schema per store, dropped afterwards. Missing server: the tests fail. */

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createPostgresStore, type PostgresStoreOptions } from '../../src/stores/postgres/index.js';

/** `BATON_TEST_POSTGRES_URL`, else the local server CI starts (trust auth, database `test`). */
export const postgresUrl = process.env.BATON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const prefix = `baton_test_${randomBytes(4).toString('hex')}`;
let schemas = 0;

/** A pool for the test's own queries on the server. */
export const admin = new pg.Pool({ connectionString: postgresUrl, max: 2 });
admin.on('error', () => undefined);

afterAll(async () => {
  const { rows } = await admin.query<{ name: string }>(
    'SELECT nspname AS name FROM pg_namespace WHERE nspname LIKE $1',
    [`${prefix}%`],
  );
  for (const { name } of rows) await admin.query(`DROP SCHEMA "${name}" CASCADE`);
  await admin.end();
});

/**
 * A fresh schema name under this file's prefix (dropped after the file's tests).
 *
 * @example
 * ```ts
 * const store = createPostgresStore({ connectionString: postgresUrl, schema: freshSchema() });
 * ```
 */
export function freshSchema(): string {
  return `${prefix}_${schemas++}`;
}

/**
 * A store on a fresh schema of the local server.
 *
 * @example
 * ```ts
 * const store = testStore();
 * ```
 */
export function testStore(options: Omit<PostgresStoreOptions, 'connectionString' | 'pool'> = {}) {
  return createPostgresStore({ connectionString: postgresUrl, schema: freshSchema(), ...options });
}

/** The advisory lock that keeps the restart test from restarting the server under other test files. */
export const serverLock = 0x6261746f; // 'bato'

/** Holds `serverLock` (shared or exclusive) on a connection of its own from `beforeAll` to `afterAll`. */
function holdServerLock(mode: 'shared' | 'exclusive'): void {
  let client: pg.Client | undefined;
  beforeAll(async () => {
    // A restart by the restart test ends a waiting connection: wait for the server and try again.
    const deadline = Date.now() + 25_000;
    for (;;) {
      client = new pg.Client({ connectionString: postgresUrl });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query(
          mode === 'shared' ? 'SELECT pg_advisory_lock_shared($1)' : 'SELECT pg_advisory_lock($1)',
          [serverLock],
        );
        return;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  });
  afterAll(async () => {
    // Ending the session releases the lock (the restart may have released it already).
    await client?.end().catch(() => undefined);
  });
}

/**
 * For a test file that uses the server: while it runs, the restart test waits to restart it.
 *
 * @example
 * ```ts
 * useSharedServer();
 * ```
 */
export function useSharedServer(): void {
  holdServerLock('shared');
}

/**
 * For the test file that restarts the server: waits until no other test file uses it, and keeps
 * them waiting until the restart ends the lock's session.
 *
 * @example
 * ```ts
 * useServerAlone();
 * ```
 */
export function useServerAlone(): void {
  holdServerLock('exclusive');
}

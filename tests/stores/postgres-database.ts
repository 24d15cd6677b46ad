/** The local Postgres the Postgres store's tests use: one schema per store, dropped afterwards. Missing server: the tests fail. */

import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll } from 'vitest';
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

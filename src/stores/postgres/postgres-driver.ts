/** Loads `pg`, an optional peer dependency of batonjs, on first use, with an error that says how to install it. */

import { ConfigError } from '../../core/errors.js';

/** The parts of the `pg` module the store uses. */
export type PgModule = typeof import('pg');

let loaded: Promise<PgModule> | undefined;

/**
 * Imports `pg` once per process (`load` replaces the import, uncached, for tests). When it is not installed, rejects with a `ConfigError` coded
 * `STORE_OPEN_FAILED` that says to install it.
 *
 * @example
 * ```ts
 * const { Pool } = await loadPg();
 * ```
 */
export function loadPg(load?: () => Promise<PgModule>): Promise<PgModule> {
  if (load !== undefined) return importDriver(load);
  loaded ??= importDriver(() => import('pg')).catch((error: unknown) => {
    loaded = undefined;
    throw error;
  });
  return loaded;
}

function importDriver(load: () => Promise<PgModule>): Promise<PgModule> {
  return load().then(
    (module) => ((module as PgModule & { default?: PgModule }).default ?? module) as PgModule,
    (error: unknown) => {
      throw new ConfigError(
        `The Postgres store needs the package pg, an optional peer dependency of batonjs that is not installed (or failed to load): run \`npm install pg\`. (${String(error)})`,
        { code: 'STORE_OPEN_FAILED', cause: error },
      );
    },
  );
}

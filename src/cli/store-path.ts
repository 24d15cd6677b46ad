/** Where the CLI's store is: `--store`, else `BATON_STORE`, else `.baton/baton.db` in the working folder; a `postgres://` URL selects Postgres. */

import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { isPostgresUrl } from '../runtime.js';

/** What chose the store's path. */
export type StoreOrigin = '--store' | 'BATON_STORE' | 'default';

/** The variable that sets the store when `--store` is not given. */
export const storeVariable = 'BATON_STORE';

/** The store file when neither `--store` nor `BATON_STORE` names one, relative to the working folder. */
export const defaultStorePath = '.baton/baton.db';

/**
 * The absolute path of the store and what chose it: the `--store` flag, else the
 * `BATON_STORE` variable (an empty value counts as unset), else `.baton/baton.db`; relative
 * paths are resolved against `cwd`; a `postgres://` (`postgresql://`) URL is kept as it is.
 *
 * @example
 * ```ts
 * resolveStorePath(undefined, { BATON_STORE: '/var/baton/runs.db' }, '/app'); // { path: '/var/baton/runs.db', origin: 'BATON_STORE' }
 * ```
 */
export function resolveStorePath(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): { path: string; origin: StoreOrigin } {
  const place = (value: string) => (isPostgresUrl(value) ? value : resolve(cwd, value));
  if (flag !== undefined && flag !== '') return { path: place(flag), origin: '--store' };
  const variable = env[storeVariable];
  if (variable !== undefined && variable !== '') return { path: place(variable), origin: 'BATON_STORE' };
  return { path: resolve(cwd, defaultStorePath), origin: 'default' };
}

/**
 * Creates the folder of the store file, with an error that names the path, what chose it
 * and why the folder cannot be made (a file in the way, no permission).
 *
 * @example
 * ```ts
 * ensureStoreFolder('/app/.baton/baton.db', 'default');
 * ```
 */
export function ensureStoreFolder(path: string, origin: StoreOrigin): void {
  const folder = dirname(path);
  try {
    mkdirSync(folder, { recursive: true });
  } catch (error) {
    throw new ConfigError(
      `Cannot create the folder ${folder} for the store ${path} (${originText(origin)}): ${reason(error)}. Pass --store <path> (or set ${storeVariable}) to a file in a folder you can write.`,
      { cause: error },
    );
  }
}

/**
 * Says where the store path came from, for messages.
 *
 * @example
 * ```ts
 * originText('BATON_STORE'); // 'set by BATON_STORE'
 * ```
 */
export function originText(origin: StoreOrigin): string {
  if (origin === '--store') return 'given with --store';
  if (origin === 'BATON_STORE') return `set by ${storeVariable}`;
  return 'the default';
}

function reason(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code === 'ENOTDIR' || code === 'EEXIST') return 'a file is in the way of a folder on that path';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EROFS') return 'the file system is read-only';
  return typeof message === 'string' ? message : String(error);
}

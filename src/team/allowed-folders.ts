/** Where code named by a team file or the run store may be loaded from: inside allowed folders only. */

import { existsSync, realpathSync } from 'node:fs';
import { delimiter, isAbsolute, relative, resolve, sep } from 'node:path';

/**
 * The environment variable that allows more folders to load code from: paths separated by the
 * platform's path delimiter (`:` on Linux and macOS, `;` on Windows), relative to the working
 * directory.
 *
 * @example
 * ```sh
 * BATON_ALLOW_MODULES_FROM=../shared-tools baton run team.yaml "hello"
 * ```
 */
export const allowModulesVariable = 'BATON_ALLOW_MODULES_FROM';

/**
 * The folders named by {@link allowModulesVariable} in `env`, resolved against `cwd`.
 *
 * @example
 * ```ts
 * allowedFoldersFromEnv({ BATON_ALLOW_MODULES_FROM: '../shared' }, '/app/teams'); // ['/app/shared']
 * ```
 */
export function allowedFoldersFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  cwd: string,
): string[] {
  const value = env[allowModulesVariable];
  if (value === undefined || value.trim() === '') return [];
  return value
    .split(delimiter)
    .filter((entry) => entry.trim() !== '')
    .map((entry) => resolve(cwd, entry.trim()));
}

/** The path with symlinks resolved when it exists (so a link cannot point out of a folder). */
function realPath(path: string): string {
  return existsSync(path) ? realpathSync(path) : resolve(path);
}

/**
 * True when `file` (an absolute path; symlinks followed) lies inside one of `folders`.
 *
 * @example
 * ```ts
 * isInsideFolders('/app/team/tools.ts', ['/app/team']); // true
 * isInsideFolders('/etc/evil.js', ['/app/team']); // false
 * ```
 */
export function isInsideFolders(file: string, folders: readonly string[]): boolean {
  const target = realPath(file);
  return folders.some((folder) => {
    const shown = relative(realPath(folder), target);
    return shown !== '' && shown.split(sep)[0] !== '..' && !isAbsolute(shown);
  });
}

/** Imports a user's .ts or .js module at runtime: TypeScript through tsx (an optional peer), JavaScript natively. */

import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';

const typeScript = new Set(['.ts', '.mts', '.cts', '.tsx']);
const javaScript = new Set(['.js', '.mjs', '.cjs', '.jsx']);

/** The part of tsx's ESM API that `importModule` uses. */
export interface TypeScriptLoader {
  tsImport(specifier: string, parentURL: string): Promise<unknown>;
}

/**
 * File extensions `importModule` accepts.
 *
 * @example
 * ```ts
 * moduleExtensions.includes(extname(file)); // true for tools.ts, flow.mjs, ...
 * ```
 */
export const moduleExtensions: readonly string[] = [...typeScript, ...javaScript];

/**
 * Imports the module at an absolute path and returns its namespace. TypeScript files go
 * through tsx, an optional peer dependency loaded only here; without it a TypeScript file
 * is refused with a `ConfigError` that names the file and says to install tsx. Each call of
 * a TypeScript file gets a fresh module instance, so module-level state is not shared with
 * other importers.
 *
 * @example
 * ```ts
 * const tools = await importModule('/work/app/tools.ts');
 * console.log(Object.keys(tools));
 * ```
 */
export async function importModule(file: string): Promise<Record<string, unknown>> {
  const extension = extname(file);
  const url = pathToFileURL(file).href;
  if (typeScript.has(extension)) {
    const { tsImport } = await loadTypeScriptLoader(file);
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  if (javaScript.has(extension)) return (await import(url)) as Record<string, unknown>;
  throw new TypeError(`cannot import "${file}": expected one of ${moduleExtensions.join(', ')}.`);
}

/**
 * Loads tsx to import the TypeScript module `file`. `load` is the import itself (tests pass
 * one that fails); a missing tsx becomes a `ConfigError` naming `file` and the install command,
 * any other failure of tsx is rethrown as it is.
 *
 * @example
 * ```ts
 * const { tsImport } = await loadTypeScriptLoader('/app/tools.ts');
 * ```
 */
export async function loadTypeScriptLoader(
  file: string,
  load: () => Promise<TypeScriptLoader> = () => import('tsx/esm/api'),
): Promise<TypeScriptLoader> {
  try {
    return await load();
  } catch (error) {
    if (!isMissingTsx(error)) throw error;
    throw new ConfigError(
      `${file} is a TypeScript module, and loading TypeScript needs tsx, an optional peer dependency of batonjs that is not installed. Install it in your project (npm install -D tsx), or use a JavaScript module (.js, .mjs).`,
      { cause: error },
    );
  }
}

/** True when importing tsx failed because the package is not installed (not for a broken tsx). */
function isMissingTsx(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    /['"]tsx['"/]/.test(message)
  );
}

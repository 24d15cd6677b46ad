/** Imports a user's .ts or .js module at runtime: TypeScript through tsx, JavaScript natively. */

import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';

const typeScript = new Set(['.ts', '.mts', '.cts', '.tsx']);
const javaScript = new Set(['.js', '.mjs', '.cjs', '.jsx']);

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
 * through tsx (loaded only when needed); each call of a TypeScript file gets a fresh module
 * instance, so module-level state is not shared with other importers.
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
    const { tsImport } = await import('tsx/esm/api');
    return (await tsImport(url, import.meta.url)) as Record<string, unknown>;
  }
  if (javaScript.has(extension)) return (await import(url)) as Record<string, unknown>;
  throw new TypeError(`cannot import "${file}": expected one of ${moduleExtensions.join(', ')}.`);
}

/** Stream entries as JSON: checked before they are written, refused when what comes back holds a forbidden key. */

import { BatonError, errorMessage } from '../../core/errors.js';
import { findForbiddenKey, forbiddenKeyMessage } from '../../core/forbidden-keys.js';
import { jsonProblem } from '../../core/json-value.js';

/** The JSON text of `value`, or an `INVALID_RECORD` error naming the path that is not JSON, or `FORBIDDEN_KEY`. */
export function encodeEntry(value: unknown, where: string): string {
  const problem = jsonProblem(value, 'event');
  if (problem !== undefined)
    throw new BatonError(`${where}: ${problem}.`, { code: 'INVALID_RECORD', fault: 'user' });
  const path = findForbiddenKey(value);
  if (path !== undefined)
    throw new BatonError(`${where}: ${forbiddenKeyMessage(path)}.`, { code: 'FORBIDDEN_KEY', fault: 'user' });
  return JSON.stringify(value);
}

/** The value of a stream entry, or the reason it is refused (not JSON, or a forbidden key such as `__proto__`). */
export function decodeEntry(text: string | undefined): { value: unknown } | { refused: string } {
  if (text === undefined) return { refused: 'the entry has no JSON field' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { refused: `the entry is not JSON (${errorMessage(error)})` };
  }
  const path = findForbiddenKey(value);
  if (path !== undefined) return { refused: forbiddenKeyMessage(path) };
  return { value };
}

/** A raw stream reply entry: `[id, [field, value, ...]]`. */
export type RawEntry = [string, string[]];

/** The value of `field` in a raw entry's field list. */
export function fieldOf(fields: readonly string[], field: string): string | undefined {
  for (let index = 0; index + 1 < fields.length; index += 2)
    if (fields[index] === field) return fields[index + 1];
  return undefined;
}

/** Reports a refused entry on stderr, once per reporter. */
export function refusalReporter(where: string): (id: string, reason: string) => void {
  let warned = false;
  return (id, reason) => {
    if (warned) return;
    warned = true;
    process.stderr.write(`baton: ${where} skipped stream entry ${id}: ${reason}\n`);
  };
}

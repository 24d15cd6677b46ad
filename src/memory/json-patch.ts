/** A small JSON Patch (RFC 6902: add, remove, replace) and field-set applier for blackboard changes. */

import { findForbiddenKey, forbiddenKeyMessage, isForbiddenKey } from '../core/forbidden-keys.js';

/** One JSON Patch operation; `path` is a JSON Pointer (`/plan/steps/0`, `-` appends to an array). */
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace';
  path: string;
  value?: unknown;
}

function parsePointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`path "${path}" must be "" or start with "/"`);
  const parts = path
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'));
  const forbidden = parts.findIndex(isForbiddenKey);
  if (forbidden !== -1) throw new Error(forbiddenKeyMessage(parts.slice(0, forbidden + 1)));
  return parts;
}

/** Throws when a value to store holds a forbidden key; `at` is where it goes. */
function assertSafeValue(value: unknown, at: readonly string[]): void {
  const found = findForbiddenKey(value);
  if (found !== undefined) throw new Error(forbiddenKeyMessage([...at, ...found]));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Applies JSON Patch operations to a copy of `document` and returns the copy. Throws an `Error`
 * naming the operation when a path does not exist (or, for `add`, its parent does not), or when a
 * path or value uses a forbidden key (`__proto__`, `constructor`, `prototype`).
 *
 * @example
 * ```ts
 * applyJsonPatch({ steps: ['a'] }, [{ op: 'add', path: '/steps/-', value: 'b' }]); // { steps: ['a', 'b'] }
 * ```
 */
export function applyJsonPatch(document: unknown, operations: readonly JsonPatchOperation[]): unknown {
  let root = structuredClone(document);
  for (const [index, operation] of operations.entries()) {
    const where = `patch[${index}] (${operation.op} ${operation.path})`;
    let parts: string[];
    try {
      parts = parsePointer(operation.path);
    } catch (error) {
      throw new Error(`${where}: ${(error as Error).message}`);
    }
    if (operation.op !== 'remove' && !('value' in operation))
      throw new Error(`${where}: "value" is required`);
    const unsafe = findForbiddenKey(operation.value);
    if (unsafe !== undefined) throw new Error(`${where}: ${forbiddenKeyMessage([...parts, ...unsafe])}`);
    const value = structuredClone(operation.value);
    if (parts.length === 0) {
      if (operation.op === 'remove') throw new Error(`${where}: cannot remove the whole document`);
      root = value;
      continue;
    }
    let parent: unknown = root;
    for (const part of parts.slice(0, -1)) {
      if (Array.isArray(parent)) parent = parent[Number(part)];
      else if (isObject(parent)) parent = parent[part];
      else parent = undefined;
      if (parent === undefined) throw new Error(`${where}: no value at "${part}"`);
    }
    const last = parts.at(-1)!;
    if (Array.isArray(parent)) {
      const position = last === '-' ? parent.length : Number(last);
      const limit = operation.op === 'add' ? parent.length : parent.length - 1;
      if (!Number.isInteger(position) || position < 0 || position > limit)
        throw new Error(`${where}: index "${last}" is out of range (length ${parent.length})`);
      if (operation.op === 'add') parent.splice(position, 0, value);
      else if (operation.op === 'replace') parent[position] = value;
      else parent.splice(position, 1);
    } else if (isObject(parent)) {
      if (operation.op !== 'add' && !(last in parent)) throw new Error(`${where}: no field "${last}"`);
      if (operation.op === 'remove') delete parent[last];
      else parent[last] = value;
    } else {
      throw new Error(`${where}: the parent is not an object or array`);
    }
  }
  return root;
}

/**
 * Sets top-level fields of an object document (a shallow merge) on a copy; `null` is stored as is.
 * Throws when a field (at any depth) uses a forbidden key (`__proto__`, `constructor`, `prototype`).
 *
 * @example
 * ```ts
 * setFields({ a: 1, b: 2 }, { b: 3 }); // { a: 1, b: 3 }
 * ```
 */
export function setFields(document: unknown, fields: Record<string, unknown>): unknown {
  if (!isObject(document)) throw new Error('"set" needs the blackboard value to be an object; use "patch"');
  assertSafeValue(fields, []);
  return { ...structuredClone(document), ...structuredClone(fields) };
}

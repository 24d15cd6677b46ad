/** The keys model or user JSON may not use where it meets an object (`__proto__`, `constructor`, `prototype`): one guard against prototype pollution. */

import { BatonError } from './errors.js';

const forbidden: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * True for `__proto__`, `constructor` and `prototype`: keys that reach or replace an object's
 * prototype when data is assigned or merged by key. `JSON.parse` makes them own keys, harmless
 * until some code copies them into another object; Baton refuses them where JSON comes in.
 *
 * @example
 * ```ts
 * isForbiddenKey('__proto__'); // true
 * isForbiddenKey('name'); // false
 * ```
 */
export function isForbiddenKey(key: string): boolean {
  return forbidden.has(key);
}

/**
 * The path to the first forbidden key (see {@link isForbiddenKey}) in a JSON-like value, or
 * `undefined` when there is none. Walks own enumerable keys of plain objects and arrays once.
 *
 * @example
 * ```ts
 * findForbiddenKey(JSON.parse('{"a":[{"__proto__":{}}]}')); // ['a', 0, '__proto__']
 * findForbiddenKey({ a: 1 }); // undefined
 * ```
 */
export function findForbiddenKey(value: unknown): (string | number)[] | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  // Most values hold no such key: a walk that allocates nothing says so (this runs on every
  // tool call's arguments); the search that builds the path runs only when it cannot.
  if (clean(value, 0)) return undefined;
  const seen = new Set<object>();
  const stack: { value: object; path: (string | number)[] }[] = [{ value, path: [] }];
  while (stack.length > 0) {
    const { value: current, path } = stack.pop()!;
    if (seen.has(current)) continue;
    seen.add(current);
    if (Array.isArray(current)) {
      for (let index = 0; index < current.length; index++) {
        const item: unknown = current[index];
        if (typeof item === 'object' && item !== null) stack.push({ value: item, path: [...path, index] });
      }
      continue;
    }
    for (const key of Object.keys(current)) {
      if (forbidden.has(key)) return [...path, key];
      const item: unknown = (current as Record<string, unknown>)[key];
      if (typeof item === 'object' && item !== null) stack.push({ value: item, path: [...path, key] });
    }
  }
  return undefined;
}

/** Nesting beyond which `clean` gives up (a cycle, or a value deep enough to search the slow way). */
const cleanDepth = 64;

/** True when `value` certainly holds no forbidden key (as `findForbiddenKey` would find none), without allocating. */
function clean(value: object, depth: number): boolean {
  if (depth >= cleanDepth) return false;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      if (typeof item === 'object' && item !== null && !clean(item, depth + 1)) return false;
    }
    return true;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) {
    if (!Object.hasOwn(record, key)) continue;
    if (forbidden.has(key)) return false;
    const item = record[key];
    if (typeof item === 'object' && item !== null && !clean(item, depth + 1)) return false;
  }
  return true;
}

/** A path as a JSON Pointer-like string for messages: `/a/0/__proto__`. */
export function formatKeyPath(path: readonly (string | number)[]): string {
  return `/${path.join('/')}`;
}

/**
 * The sentence every refusal uses: which key, where, and what to do.
 *
 * @example
 * ```ts
 * forbiddenKeyMessage(['settings', '__proto__']); // 'the key "__proto__" at /settings/__proto__ is not allowed ...'
 * ```
 */
export function forbiddenKeyMessage(path: readonly (string | number)[]): string {
  return `the key "${String(path.at(-1))}" at ${formatKeyPath(path)} is not allowed (__proto__, constructor and prototype are refused to prevent prototype pollution); rename it`;
}

/**
 * Throws a `FORBIDDEN_KEY` {@link BatonError} (fault `user` unless told) when `value` holds a
 * forbidden key anywhere; `where` names the input in the message.
 *
 * @example
 * ```ts
 * assertNoForbiddenKeys(JSON.parse(body), 'the signal payload'); // throws on {"__proto__": ...}
 * ```
 */
export function assertNoForbiddenKeys(
  value: unknown,
  where: string,
  options: { fault?: 'user' | 'model'; runId?: string } = {},
): void {
  const path = findForbiddenKey(value);
  if (path === undefined) return;
  throw new BatonError(`${where}: ${forbiddenKeyMessage(path)}.`, {
    code: 'FORBIDDEN_KEY',
    fault: options.fault ?? 'user',
    runId: options.runId,
  });
}

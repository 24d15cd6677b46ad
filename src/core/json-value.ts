/** jsonProblem: whether a value survives a JSON round trip as itself, and if not, where and why. */

/**
 * Why `value` is not a JSON value that reads back as itself, as a sentence about `path` (for
 * example `result.at is a Date; convert it ...`), or `undefined` when it is: plain objects,
 * arrays, strings, finite numbers, booleans and `null`; object properties that are
 * `undefined` are allowed (JSON drops them, as `undefined` reads back). Paths are built only
 * for a value that fails, so checking a good value allocates next to nothing.
 *
 * @example
 * ```ts
 * jsonProblem({ at: new Date() }, 'result'); // 'result.at is a Date; convert it to a plain value first (...)'
 * jsonProblem({ total: 3 }, 'result'); // undefined
 * ```
 */
/**
 * The text inside a Markdown code fence that wraps all of `text` (```json … ``` or ``` … ```),
 * else `text` itself: models often fence the JSON they were asked for.
 *
 * @example
 * ```ts
 * JSON.parse(withoutCodeFence('```json\n{"ok": true}\n```')); // { ok: true }
 * ```
 */
export function withoutCodeFence(text: string): string {
  return /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text)?.[1] ?? text;
}

export function jsonProblem(value: unknown, path: string): string | undefined {
  // Most values are fine: a walk that allocates nothing says so; only a value it cannot vouch
  // for (a problem, or nesting deep enough to be a cycle) is walked again to say where and why.
  if (plainJson(value, 0)) return undefined;
  const fault = nonJson(value, []);
  if (fault === undefined) return undefined;
  let at = path;
  for (let index = fault.trail.length - 1; index >= 0; index--) {
    const part = fault.trail[index]!;
    at +=
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `.${part}`
          : `[${JSON.stringify(part)}]`;
  }
  return `${at} ${fault.problem}`;
}

/** Nesting beyond which `plainJson` gives up (a cycle, or a value deep enough to check the slow way). */
const plainDepth = 64;

/** True when `value` is certainly a JSON value that reads back as itself (as `nonJson` finds nothing), without allocating. */
function plainJson(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth >= plainDepth) return false;
      if (Array.isArray(value)) {
        for (let index = 0; index < value.length; index++) {
          const item: unknown = value[index];
          if (item === undefined || !plainJson(item, depth + 1)) return false;
        }
        return true;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) return false;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        const item = record[key];
        if (item !== undefined && !plainJson(item, depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Where a value stops being JSON: the problem and the way to it, innermost part first. */
interface JsonFault {
  readonly trail: Array<string | number>;
  readonly problem: string;
}

function nonJson(value: unknown, ancestors: object[]): JsonFault | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : { trail: [], problem: `is ${value}, which JSON cannot hold` };
    case 'object': {
      if (value === null) return undefined;
      if (ancestors.includes(value))
        return { trail: [], problem: 'refers back to one of its parents (a cycle)' };
      const isArray = Array.isArray(value);
      if (!isArray) {
        const prototype = Object.getPrototypeOf(value) as unknown;
        if (prototype !== Object.prototype && prototype !== null) {
          const kind = (value as object).constructor?.name ?? 'object';
          return {
            trail: [],
            problem: `is a ${kind}; convert it to a plain value first (a Date with toISOString(), a Map with Object.fromEntries())`,
          };
        }
      }
      ancestors.push(value);
      try {
        if (isArray) {
          const items = value as unknown[];
          for (let index = 0; index < items.length; index++) {
            const item = items[index];
            if (typeof item === 'string' || typeof item === 'boolean') continue;
            const fault =
              item === undefined
                ? { trail: [], problem: 'is undefined, which JSON turns into null' }
                : nonJson(item, ancestors);
            if (fault !== undefined) {
              fault.trail.push(index);
              return fault;
            }
          }
          return undefined;
        }
        const record = value as Record<string, unknown>;
        // for-in with an own-key check: no array of keys per object (this runs on every step result).
        for (const key in record) {
          if (!Object.hasOwn(record, key)) continue;
          const item = record[key];
          if (item === undefined || typeof item === 'string' || typeof item === 'boolean') continue;
          const fault = nonJson(item, ancestors);
          if (fault !== undefined) {
            fault.trail.push(key);
            return fault;
          }
        }
        return undefined;
      } finally {
        ancestors.pop();
      }
    }
    default:
      return {
        trail: [],
        problem: `is ${value === undefined ? 'undefined' : `a ${typeof value}`}, which JSON cannot hold`,
      };
  }
}

/** Canonical JSON (keys sorted, no spaces): the text audit hashes and argument hashes are computed over. */

/**
 * JSON with object keys sorted at every level and `undefined` properties dropped: the same
 * value always gives the same text, before and after a JSON round trip.
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, undefined);
}

/** `canonicalJson`, leaving out the top-level key `skip` (the hash of an entry is over everything but `hash`). */
export function canonical(value: unknown, skip: string | undefined): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ',';
      text += canonical(value[index] ?? null, undefined);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = sortedKeys(record);
  let text = '{';
  for (const key of keys) {
    const item = record[key];
    if (item === undefined || key === skip) continue;
    if (text.length > 1) text += ',';
    text += `${JSON.stringify(key)}:${canonical(item, undefined)}`;
  }
  return `${text}}`;
}

/** Own enumerable keys in default sort order, without sorting when they already are (the usual case after a canonical round trip). */
export function sortedKeys(record: object): string[] {
  const keys = Object.keys(record);
  for (let index = 1; index < keys.length; index++) {
    if ((keys[index - 1] as string) > (keys[index] as string)) return keys.sort();
  }
  return keys;
}

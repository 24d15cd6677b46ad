/** Parses YAML with positions, finding duplicate keys in linear time (the `yaml` package's own check compares each key with every earlier one). */

import { isPair, isScalar, type LineCounter, parseDocument, visit, YAMLParseError } from 'yaml';

/**
 * A parsed YAML document whose `errors` also name every key that appears twice in one mapping
 * (code `DUPLICATE_KEY`, message `Map keys must be unique`, at the repeated key), earliest first.
 *
 * @example
 * ```ts
 * const lines = new LineCounter();
 * const document = parseYaml('a: 1\na: 2\n', lines);
 * document.errors[0]?.code; // 'DUPLICATE_KEY'
 * ```
 */
export function parseYaml(text: string, lineCounter: LineCounter): ReturnType<typeof parseDocument> {
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const keysOf = new WeakMap<object, Set<unknown>>();
  visit(document, {
    Pair(_key, pair, path) {
      const map = path.at(-1);
      if (!isPair(pair) || typeof map !== 'object' || map === null || !isScalar(pair.key)) return;
      let keys = keysOf.get(map);
      if (keys === undefined) {
        keys = new Set();
        keysOf.set(map, keys);
      }
      const value = pair.key.value;
      if (!keys.has(value)) {
        keys.add(value);
        return;
      }
      const start = pair.key.range?.[0] ?? 0;
      document.errors.push(
        new YAMLParseError([start, start + 1], 'DUPLICATE_KEY', 'Map keys must be unique'),
      );
    },
  });
  document.errors.sort((first, second) => first.pos[0] - second.pos[0]);
  return document;
}

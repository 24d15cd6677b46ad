/** BM25 index over tools: names, descriptions and JSON Schema property names and descriptions. */

import type { Tool } from './tool.js';

const k1 = 1.2;
const b = 0.75;
/** Field weights: a word in the name counts more than one in a parameter description. */
const nameWeight = 3;
const descriptionWeight = 2;
const schemaWeight = 1;

/** A BM25 index of a tool registry. */
export interface ToolIndex {
  /** Per tool: term -> weighted frequency. */
  documents: Map<string, number>[];
  lengths: number[];
  averageLength: number;
  /** Term -> inverse document frequency. */
  idf: Map<string, number>;
}

/**
 * Indexes tools for BM25 search, weighting name over description over schema text.
 *
 * @example
 * ```ts
 * const index = buildIndex(registry);
 * rank(index, tokenize('delete a shipment'))[0]; // { position: 17, score: 9.3 }
 * ```
 */
export function buildIndex(
  registry: readonly Pick<Tool, 'name' | 'description' | 'jsonSchema'>[],
): ToolIndex {
  const documents = registry.map((entry) => {
    const terms = new Map<string, number>();
    const add = (text: string, weight: number) => {
      for (const term of tokenize(text)) terms.set(term, (terms.get(term) ?? 0) + weight);
    };
    add(entry.name, nameWeight);
    add(entry.description, descriptionWeight);
    add(schemaText(entry.jsonSchema), schemaWeight);
    return terms;
  });
  const lengths = documents.map((terms) => [...terms.values()].reduce((sum, count) => sum + count, 0));
  const averageLength = lengths.reduce((sum, length) => sum + length, 0) / Math.max(1, lengths.length);
  const frequency = new Map<string, number>();
  for (const terms of documents)
    for (const term of terms.keys()) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  const idf = new Map<string, number>();
  const total = documents.length;
  for (const [term, count] of frequency) idf.set(term, Math.log(1 + (total - count + 0.5) / (count + 0.5)));
  return { documents, lengths, averageLength, idf };
}

/**
 * Tools with a positive BM25 score, best first; ties keep registry order (deterministic).
 *
 * @example
 * ```ts
 * rank(buildIndex(registry), tokenize('convert euros to dollars')).slice(0, 3);
 * ```
 */
export function rank(index: ToolIndex, query: readonly string[]): { position: number; score: number }[] {
  const terms = [...new Set(query)].filter((term) => index.idf.has(term));
  if (terms.length === 0) return [];
  const scored: { position: number; score: number }[] = [];
  index.documents.forEach((document, position) => {
    let score = 0;
    const length = index.lengths[position]!;
    for (const term of terms) {
      const frequency = document.get(term);
      if (frequency === undefined) continue;
      score +=
        (index.idf.get(term)! * (frequency * (k1 + 1))) /
        (frequency + k1 * (1 - b + (b * length) / (index.averageLength || 1)));
    }
    if (score > 0) scored.push({ position, score });
  });
  return scored.sort((left, right) => right.score - left.score || left.position - right.position);
}

const stopWords = new Set(
  'a an and are as at be by can do for from has have how i in is it its me my of on or please the this to was what when with you your'.split(
    ' ',
  ),
);

/**
 * Lower-case words of a text, splitting camelCase, snake_case and kebab-case; drops stop words
 * and strips a plural `s`.
 *
 * @example
 * ```ts
 * tokenize('getSum of the api_keys'); // ['get', 'sum', 'api', 'key']
 * ```
 */
export function tokenize(text: string): string[] {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const terms: string[] = [];
  for (const word of words) {
    if (word.length < 2 || stopWords.has(word)) continue;
    terms.push(word.length > 3 && word.endsWith('s') && !word.endsWith('ss') ? word.slice(0, -1) : word);
  }
  return terms;
}

/**
 * Property names and descriptions of a JSON Schema, nested ones included.
 *
 * @example
 * ```ts
 * schemaText({ type: 'object', properties: { id: { type: 'string', description: 'Order id' } } }); // 'id Order id'
 * ```
 */
export function schemaText(schema: unknown, depth = 0): string {
  if (schema === null || typeof schema !== 'object' || depth > 4) return '';
  const node = schema as { properties?: Record<string, unknown>; items?: unknown; description?: unknown };
  const parts: string[] = [];
  if (depth > 0 && typeof node.description === 'string') parts.push(node.description);
  for (const [name, child] of Object.entries(node.properties ?? {}))
    parts.push(name, schemaText(child, depth + 1));
  if (node.items !== undefined) parts.push(schemaText(node.items, depth + 1));
  return parts.join(' ');
}

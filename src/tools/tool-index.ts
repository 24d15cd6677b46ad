/** Tool search: a BM25 index over names, descriptions and JSON Schema property names and descriptions. */

import { words } from '../core/words.js';
import { type Bm25Corpus, bm25Corpus, bm25Document, bm25Scores, termCounts } from './bm25.js';
import type { Tool } from './tool.js';

/** Field weights: a word in the name counts more than one in a parameter description. */
const nameWeight = 3;
const descriptionWeight = 2;
const schemaWeight = 1;

/** A BM25 index of a tool registry. */
export type ToolIndex = Bm25Corpus;

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
  return bm25Corpus(
    registry.map((entry) => {
      const terms = termCounts(tokenize(entry.name), nameWeight);
      termCounts(tokenize(entry.description), descriptionWeight, terms);
      termCounts(tokenize(schemaText(entry.jsonSchema)), schemaWeight, terms);
      return bm25Document(terms);
    }),
  );
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
  return bm25Scores(index, query).sort(
    (left, right) => right.score - left.score || left.position - right.position,
  );
}

const stopWords = new Set(
  'a an and are as at be by can do for from has have how i in is it its me my of on or please the this to was what when with you your'.split(
    ' ',
  ),
);

const camelCase = /(\p{Ll}|\p{N})(\p{Lu})/gu;
const singleLatin = /^[a-z0-9]$/;

/**
 * The search terms of a text: its words in any script (`words()`, the tokenizer memory search
 * uses too), with camelCase, snake_case and kebab-case split, stop words and single Latin
 * letters dropped, and a plural `s` stripped.
 *
 * @example
 * ```ts
 * tokenize('getSum of the api_keys'); // ['get', 'sum', 'api', 'key']
 * tokenize('Возврат платежа'); // ['возврат', 'платежа']
 * ```
 */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  for (const word of words(text.replace(camelCase, '$1 $2'))) {
    if (singleLatin.test(word) || stopWords.has(word)) continue;
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

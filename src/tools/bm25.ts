/** Okapi BM25: the one ranking function of tool search and of the in-memory long-term memory index. */

/** One indexed document: its terms with their (possibly weighted) counts, and its length. */
export interface Bm25Document {
  readonly terms: ReadonlyMap<string, number>;
  readonly length: number;
}

/** Parameters of the ranking. */
export interface Bm25Options {
  /** Term-frequency saturation. Default 1.2 (as SQLite FTS5). */
  k1?: number;
  /** Length normalisation. Default 0.75 (as SQLite FTS5). */
  b?: number;
  /**
   * Inverse document frequency: `'smoothed'` (default) is `ln(1 + (N - n + 0.5) / (n + 0.5))`,
   * never negative, for small corpora such as a tool registry; `'fts5'` is
   * `ln((N - n + 0.5) / (n + 0.5))` floored at 1e-6, exactly as SQLite FTS5's `bm25()`.
   */
  idf?: 'smoothed' | 'fts5';
}

/** A scored document, by its position in the corpus. */
export interface Bm25Hit {
  position: number;
  score: number;
}

/** Documents with their statistics (average length, document frequency of each term), computed once. */
export interface Bm25Corpus {
  readonly documents: readonly Bm25Document[];
  readonly averageLength: number;
  /** Term -> number of documents holding it. */
  readonly frequency: ReadonlyMap<string, number>;
}

/**
 * Counts terms into a map, each occurrence adding `weight`.
 *
 * @example
 * ```ts
 * termCounts(['refund', 'order', 'refund']); // Map { 'refund' => 2, 'order' => 1 }
 * ```
 */
export function termCounts(
  terms: Iterable<string>,
  weight = 1,
  into: Map<string, number> = new Map(),
): Map<string, number> {
  for (const term of terms) into.set(term, (into.get(term) ?? 0) + weight);
  return into;
}

/**
 * A document of terms: its counts and its length (the sum of the counts).
 *
 * @example
 * ```ts
 * bm25Document(termCounts(words('Send the invoice by email'))).length; // 5
 * ```
 */
export function bm25Document(terms: ReadonlyMap<string, number>): Bm25Document {
  let length = 0;
  for (const count of terms.values()) length += count;
  return { terms, length };
}

/**
 * The statistics BM25 needs over a set of documents.
 *
 * @example
 * ```ts
 * const corpus = bm25Corpus(texts.map((text) => bm25Document(termCounts(words(text)))));
 * ```
 */
export function bm25Corpus(documents: readonly Bm25Document[]): Bm25Corpus {
  let total = 0;
  const frequency = new Map<string, number>();
  for (const document of documents) {
    total += document.length;
    for (const term of document.terms.keys()) frequency.set(term, (frequency.get(term) ?? 0) + 1);
  }
  return { documents, averageLength: total / Math.max(1, documents.length) || 1, frequency };
}

/**
 * The documents holding at least one query term, scored by BM25, in corpus order (callers sort:
 * ties break differently for tools and memories). Repeated query terms count once.
 *
 * @example
 * ```ts
 * bm25Scores(corpus, words('invoice email'), { idf: 'fts5' }).sort((a, b) => b.score - a.score);
 * ```
 */
export function bm25Scores(
  corpus: Bm25Corpus,
  query: readonly string[],
  options: Bm25Options = {},
): Bm25Hit[] {
  const k1 = options.k1 ?? 1.2;
  const b = options.b ?? 0.75;
  const total = corpus.documents.length;
  const weights: [string, number][] = [];
  for (const term of new Set(query)) {
    const containing = corpus.frequency.get(term);
    if (containing === undefined) continue;
    const ratio = (total - containing + 0.5) / (containing + 0.5);
    const idf = options.idf === 'fts5' ? positiveOr(Math.log(ratio), 1e-6) : Math.log(1 + ratio);
    weights.push([term, idf]);
  }
  const hits: Bm25Hit[] = [];
  if (weights.length === 0) return hits;
  corpus.documents.forEach((document, position) => {
    let score = 0;
    // The length normalisation, computed only for documents that hold a query term.
    let norm = -1;
    for (const [term, idf] of weights) {
      const frequency = document.terms.get(term);
      if (frequency === undefined || frequency === 0) continue;
      if (norm < 0) norm = k1 * (1 - b + (b * document.length) / corpus.averageLength);
      score += (idf * (frequency * (k1 + 1))) / (frequency + norm);
    }
    if (norm >= 0) hits.push({ position, score });
  });
  return hits;
}

function positiveOr(value: number, floor: number): number {
  return value > 0 ? value : floor;
}

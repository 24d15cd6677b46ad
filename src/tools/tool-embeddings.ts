/** Vector ranking of tools for capability routing: AI SDK embeddings fused with the BM25 ranking. */

import type { EmbeddingModel } from 'ai';

/** The AI SDK's root, loaded on first use (it costs ~100 ms to import and most agents never embed). */
const aiSdk = () => import('ai');

/** Embedding settings of `toolRouting`. */
export interface ToolEmbeddingOptions {
  /** Any AI SDK embedding model (`openai.embedding('text-embedding-3-small')`, ...). */
  model: EmbeddingModel;
}

/** Ranks registry positions for a query by embeddings and BM25 together. */
export interface ToolEmbedder {
  /**
   * Registry positions, best first: reciprocal rank fusion of the vector ranking and `lexical`
   * (positions in BM25 order). Tool vectors are computed once, on first use.
   */
  rank(query: string, lexical: readonly number[], limit: number, signal: AbortSignal): Promise<number[]>;
}

/** The constant of reciprocal rank fusion: higher flattens the weight of the top ranks. */
const fusionConstant = 60;

/**
 * An embedder over the documents (one text per tool, in registry order).
 *
 * @example
 * ```ts
 * const embedder = createToolEmbedder({ model: openai.embedding('text-embedding-3-small') }, ['add: adds numbers']);
 * const best = await embedder.rank('sum two values', [], 1, AbortSignal.timeout(10_000)); // [0]
 * ```
 */
export function createToolEmbedder(
  options: ToolEmbeddingOptions,
  documents: readonly string[],
): ToolEmbedder {
  let vectors: Promise<number[][]> | undefined;
  const toolVectors = (signal: AbortSignal) => {
    vectors ??= aiSdk()
      .then(({ embedMany }) =>
        embedMany({ model: options.model, values: [...documents], abortSignal: signal }),
      )
      .then(
        (result) => result.embeddings,
        (error: unknown) => {
          vectors = undefined;
          throw error;
        },
      );
    return vectors;
  };
  return {
    async rank(query, lexical, limit, signal) {
      if (query.trim() === '') return lexical.slice(0, limit);
      const [all, { embedding }, { cosineSimilarity }] = await Promise.all([
        toolVectors(signal),
        aiSdk().then(({ embed }) => embed({ model: options.model, value: query, abortSignal: signal })),
        aiSdk(),
      ]);
      const byVector = all
        .map((vector, position) => ({ position, score: cosineSimilarity(embedding, vector) }))
        .sort((left, right) => right.score - left.score || left.position - right.position);
      const fused = new Map<number, number>();
      const add = (position: number, rank: number) =>
        fused.set(position, (fused.get(position) ?? 0) + 1 / (fusionConstant + rank));
      for (const [rank, { position }] of byVector.entries()) add(position, rank);
      for (const [rank, position] of lexical.entries()) add(position, rank);
      return [...fused.entries()]
        .sort((left, right) => right[1] - left[1] || left[0] - right[0])
        .slice(0, limit)
        .map(([position]) => position);
    },
  };
}

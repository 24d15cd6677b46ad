/** A deterministic EmbeddingModelV3 for tests: one dimension per concept, synonyms share a dimension. */

import type { EmbeddingModelV3 } from '@ai-sdk/provider';

const concepts: readonly (readonly string[])[] = [
  ['email', 'mail', 'inbox', 'e-mail'],
  ['invoice', 'invoices', 'bill', 'billing', 'payment', 'receipt'],
  ['parcel', 'package', 'delivery', 'shipping', 'courier'],
  ['tea', 'coffee', 'drink', 'beverage'],
  ['phone', 'call', 'telephone', 'ring'],
];

/** The model and the number of `doEmbed` calls and values it received. */
export function conceptEmbeddingModel(): EmbeddingModelV3 & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    specificationVersion: 'v3',
    provider: 'test',
    modelId: 'concepts',
    maxEmbeddingsPerCall: 100,
    supportsParallelCalls: true,
    calls,
    async doEmbed({ values }) {
      calls.push([...values]);
      return {
        embeddings: values.map((value) => {
          const words = value.toLowerCase().match(/[a-z-]+/g) ?? [];
          return concepts.map((synonyms) => words.filter((word) => synonyms.includes(word)).length);
        }),
        usage: { tokens: values.join(' ').length },
        warnings: [],
      };
    },
  };
}

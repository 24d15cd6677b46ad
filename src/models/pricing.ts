/** The price table: USD per million tokens by `provider:model`, extendable by users. */

import { ConfigError } from '../core/errors.js';
import type { Usage } from '../stores/store.js';

/** Prices in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of cached input tokens, when the provider reports them. */
  cachedInput?: number;
}

// List prices published by the providers (USD per 1M tokens), checked 2026-11; extend or
// override with registerPrices() for your contract.
const table = new Map<string, ModelPrice>(
  Object.entries({
    'openai:gpt-4o': { input: 2.5, output: 10, cachedInput: 1.25 },
    'openai:gpt-4o-mini': { input: 0.15, output: 0.6, cachedInput: 0.075 },
    'openai:gpt-4.1': { input: 2, output: 8, cachedInput: 0.5 },
    'openai:gpt-4.1-mini': { input: 0.4, output: 1.6, cachedInput: 0.1 },
    'openai:gpt-4.1-nano': { input: 0.1, output: 0.4, cachedInput: 0.025 },
    'openai:o4-mini': { input: 1.1, output: 4.4, cachedInput: 0.275 },
    'anthropic:claude-sonnet-4-5': { input: 3, output: 15, cachedInput: 0.3 },
    'anthropic:claude-haiku-4-5': { input: 1, output: 5, cachedInput: 0.1 },
    'anthropic:claude-opus-4-1': { input: 15, output: 75, cachedInput: 1.5 },
    'google:gemini-2.5-pro': { input: 1.25, output: 10, cachedInput: 0.31 },
    'google:gemini-2.5-flash': { input: 0.3, output: 2.5, cachedInput: 0.075 },
    // Baton's own offline models cost nothing but are listed so demos show a cost line.
    'scripted:scripted': { input: 0, output: 0 },
  }),
);

/**
 * Adds or overrides prices (USD per million tokens).
 *
 * @example
 * ```ts
 * registerPrices({ 'openai:gpt-4o-mini': { input: 0.15, output: 0.6 } });
 * ```
 */
export function registerPrices(prices: Record<string, ModelPrice>): void {
  for (const [model, price] of Object.entries(prices)) {
    if (!model.includes(':')) throw new ConfigError(`registerPrices(): "${model}" must be "provider:model".`);
    for (const field of ['input', 'output'] as const) {
      if (typeof price[field] !== 'number' || !(price[field] >= 0)) {
        throw new ConfigError(
          `registerPrices(): ${model}.${field} must be a non-negative number of USD per million tokens.`,
        );
      }
    }
    table.set(model, price);
  }
  resolved.clear();
}

/** Lookups by model name, including misses and dated-name fallbacks; cleared when prices change. */
const resolved = new Map<string, ModelPrice | undefined>();

/**
 * The price of a model, if known. Dated model ids fall back to their undated family (`gpt-4o-2024-08-06` → `gpt-4o`).
 *
 * @example
 * ```ts
 * priceOf('openai:gpt-4o-mini'); // { input: 0.15, output: 0.6, cachedInput: 0.075 }
 * ```
 */
export function priceOf(model: string): ModelPrice | undefined {
  if (resolved.has(model)) return resolved.get(model);
  const price = table.get(model) ?? table.get(model.replace(/-\d{4}-?\d{2}-?\d{2}$|-\d{8}$|-latest$/, ''));
  resolved.set(model, price);
  return price;
}

/**
 * Cost in USD of one call, or `undefined` when the model has no price.
 *
 * @example
 * ```ts
 * costOf('openai:gpt-4o-mini', { inputTokens: 1000, outputTokens: 200, totalTokens: 1200 }); // 0.00027
 * ```
 */
export function costOf(model: string, usage: Usage, cachedInputTokens = 0): number | undefined {
  const price = priceOf(model);
  if (price === undefined) return undefined;
  const cached = Math.min(cachedInputTokens, usage.inputTokens);
  const cachedPrice = price.cachedInput ?? price.input;
  return (
    ((usage.inputTokens - cached) * price.input + cached * cachedPrice + usage.outputTokens * price.output) /
    1_000_000
  );
}

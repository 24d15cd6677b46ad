/** Model prices: USD per million tokens by `provider:model`, from the user's table, else the maintained catalogue. */

import { ConfigError } from '../core/errors.js';
import type { Usage } from '../stores/store.js';
import { catalogueCost, catalogueRates } from './price-catalogue.js';

/** Prices in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of cached input tokens, when the provider reports them. */
  cachedInput?: number;
}

/**
 * Prices users registered (`registerPrices`), which win over the catalogue. Every other model is
 * priced from the maintained catalogue (`@pydantic/genai-prices`, see price-catalogue.ts).
 */
const table = new Map<string, ModelPrice>();

/** Baton's own offline models (`scriptedModel`) cost nothing unless a price is registered. */
const free: ModelPrice = Object.freeze({ input: 0, output: 0 });

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
 * The price of a model, if known: a registered price (dated ids fall back to their undated
 * family, `gpt-4o-2024-08-06` → `gpt-4o`), else the catalogue's list price (the first tier of a
 * tiered price), else undefined. A model of `scriptedModel` (`scripted:*`) costs 0.
 *
 * @example
 * ```ts
 * priceOf('openai:gpt-4o-mini'); // { input: 0.15, output: 0.6, cachedInput: 0.075 }
 * priceOf('ollama:llama3'); // undefined: give it one with registerPrices
 * ```
 */
export function priceOf(model: string): ModelPrice | undefined {
  if (resolved.has(model)) return resolved.get(model);
  const price = registeredPrice(model) ?? catalogueRates(model);
  resolved.set(model, price);
  return price;
}

/** A price from the user's table (exact, then the undated family), or 0 for Baton's scripted models. */
function registeredPrice(model: string): ModelPrice | undefined {
  return (
    table.get(model) ??
    table.get(model.replace(/-\d{4}-?\d{2}-?\d{2}$|-\d{8}$|-latest$/, '')) ??
    (model.startsWith('scripted:') ? free : undefined)
  );
}

/**
 * Cost in USD of one call, or `undefined` when the model has no price. A registered price is
 * applied per token; a catalogue price also applies the provider's tiers (long prompts).
 *
 * @example
 * ```ts
 * costOf('openai:gpt-4o-mini', { inputTokens: 1000, outputTokens: 200, totalTokens: 1200 }); // 0.00027
 * ```
 */
export function costOf(model: string, usage: Usage, cachedInputTokens = 0): number | undefined {
  const price = registeredPrice(model);
  if (price === undefined) return catalogueCost(model, usage, cachedInputTokens);
  const cached = Math.min(cachedInputTokens, usage.inputTokens);
  const cachedPrice = price.cachedInput ?? price.input;
  return (
    ((usage.inputTokens - cached) * price.input + cached * cachedPrice + usage.outputTokens * price.output) /
    1_000_000
  );
}

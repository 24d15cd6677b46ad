/** The maintained price catalogue (`@pydantic/genai-prices`), loaded on first use: prices and context windows of providers' models, offline. */

import { createRequire } from 'node:module';
import type { PriceCalculation } from '@pydantic/genai-prices';
import type { Usage } from '../core/store.js';

type Catalogue = typeof import('@pydantic/genai-prices');

/**
 * The catalogue ships its data inside the package (no network at run time) and weighs about
 * 0.5 MB of JavaScript: it is required on the first price lookup, not when Baton is imported.
 */
let catalogue: Catalogue | undefined;

function load(): Catalogue {
  catalogue ??= createRequire(import.meta.url)('@pydantic/genai-prices') as Catalogue;
  return catalogue;
}

/** `provider:model` split at the first colon; a bare id has no provider. */
function split(model: string): { provider: string | undefined; id: string } {
  const colon = model.indexOf(':');
  return colon < 0
    ? { provider: undefined, id: model }
    : { provider: model.slice(0, colon), id: model.slice(colon + 1) };
}

/** Whether the catalogue knows a provider; for one it does not (`ollama`, a gateway) the model id alone decides. */
const knownProviders = new Map<string, boolean>();

function knownProvider(library: Catalogue, provider: string): boolean {
  let known = knownProviders.get(provider);
  if (known === undefined) {
    known = library.findProvider({ providerId: provider }) !== undefined;
    knownProviders.set(provider, known);
  }
  return known;
}

/** What the catalogue says about one model, looked up once. */
interface Entry {
  /** Its calculation for an empty call: the matched model, provider and current prices. */
  found: PriceCalculation;
  /** Per-token rates when its prices are flat (no tiers, no dated changes): costed without the catalogue. */
  flat: Rates | undefined;
}

interface Rates {
  input: number;
  output: number;
  cachedInput?: number;
}

/** Entries by `provider:model`, misses included (`null`); the catalogue's data never changes in a process. */
const entries = new Map<string, Entry | null>();

/**
 * The catalogue's entry for `model` (`provider:model`). A provider the catalogue knows is
 * searched alone (so a local `ollama:llama3` is never priced as some cloud provider's llama);
 * an unknown one falls back to the model id.
 */
function entryOf(model: string): Entry | undefined {
  const known = entries.get(model);
  if (known !== undefined) return known ?? undefined;
  const library = load();
  const { provider, id } = split(model);
  const scoped = provider !== undefined && knownProvider(library, provider);
  const found = library.calcPrice(
    { input_tokens: 0, output_tokens: 0 },
    id,
    scoped ? { providerId: provider } : {},
  );
  const entry = found === null ? null : { found, flat: flatRates(found) };
  entries.set(model, entry);
  return entry ?? undefined;
}

function flatRates(found: PriceCalculation): Rates | undefined {
  if (Array.isArray(found.model.prices)) return undefined;
  const prices = found.model_price;
  const input = prices.input_mtok;
  const output = prices.output_mtok;
  const cached = prices.cache_read_mtok;
  if (typeof input !== 'number' || typeof output !== 'number') return undefined;
  if (cached !== undefined && typeof cached !== 'number') return undefined;
  return cached === undefined ? { input, output } : { input, output, cachedInput: cached };
}

/**
 * The catalogue's cost in USD of one call of `model` (`provider:model`), with tiered prices
 * (long prompts) and cached input applied; undefined when the catalogue has no price for it.
 *
 * @example
 * ```ts
 * catalogueCost('openai:gpt-5', { inputTokens: 1000, outputTokens: 100, totalTokens: 1100 }); // 0.00225
 * ```
 */
export function catalogueCost(model: string, usage: Usage, cachedInputTokens = 0): number | undefined {
  const entry = entryOf(model);
  if (entry === undefined) return undefined;
  const cached = Math.min(cachedInputTokens, usage.inputTokens);
  const { flat } = entry;
  if (flat !== undefined)
    return (
      ((usage.inputTokens - cached) * flat.input +
        cached * (flat.cachedInput ?? flat.input) +
        usage.outputTokens * flat.output) /
      1_000_000
    );
  // Tiered or dated prices: the catalogue applies them (the price of a tier depends on the prompt's size).
  const { provider, id } = split(model);
  const library = load();
  const scoped = provider !== undefined && knownProvider(library, provider);
  const tokens = {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    cache_read_tokens: cached,
  };
  return library.calcPrice(tokens, id, scoped ? { providerId: provider } : {})?.total_price;
}

/**
 * The catalogue's base prices of `model` in USD per million tokens (the first tier when prices
 * are tiered), or undefined when it has none.
 *
 * @example
 * ```ts
 * catalogueRates('anthropic:claude-opus-4-1'); // { input: 15, output: 75, cachedInput: 1.5 }
 * ```
 */
export function catalogueRates(model: string): Rates | undefined {
  const entry = entryOf(model);
  if (entry === undefined) return undefined;
  if (entry.flat !== undefined) return entry.flat;
  const prices = entry.found.model_price;
  const input = baseRate(prices.input_mtok);
  const output = baseRate(prices.output_mtok);
  if (input === undefined && output === undefined) return undefined;
  const cachedInput = baseRate(prices.cache_read_mtok);
  return { input: input ?? 0, output: output ?? 0, ...(cachedInput === undefined ? {} : { cachedInput }) };
}

function baseRate(rate: PriceCalculation['model_price'][string]): number | undefined {
  if (typeof rate === 'number') return rate;
  return typeof rate?.base === 'number' ? rate.base : undefined;
}

/**
 * The context window (tokens) the catalogue gives for `model`, or undefined.
 *
 * @example
 * ```ts
 * catalogueContextWindow('deepseek:deepseek-chat'); // 64000
 * ```
 */
export function catalogueContextWindow(model: string): number | undefined {
  return entryOf(model)?.found.model.context_window;
}

/** Model prices: USD per million tokens by `provider:model`, from the user's table, else the maintained catalogue. */

import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { Usage } from '../core/store.js';
import { catalogueCost, catalogueRates } from './price-catalogue.js';

declare module '../core/run-context.js' {
  interface Tenant {
    /** Prices of this runtime (`createRuntime({ prices: createPriceTable(...) })`). */
    readonly prices: PriceTable | undefined;
  }
}

declare module '../core/runtime-options.js' {
  interface RuntimeOptions {
    /**
     * This runtime's prices, made with `createPriceTable`: its runs are priced from this table (then
     * the catalogue) and never see `registerPrices` or another runtime's table. Default: the
     * process table that `registerPrices` fills.
     */
    prices?: PriceTable;
  }
}

/** Prices in USD per million tokens. */
export interface ModelPrice {
  input: number;
  output: number;
  /** Price of cached input tokens, when the provider reports them. */
  cachedInput?: number;
}

/** Baton's own offline models (`scriptedModel`) cost nothing unless a price is registered. */
const free: ModelPrice = Object.freeze({ input: 0, output: 0 });

/**
 * A table of prices (USD per million tokens by `provider:model`) that wins over the catalogue;
 * every other model is priced from the maintained catalogue (`@pydantic/genai-prices`, see
 * price-catalogue.ts). A runtime given one (`createRuntime({ prices })`) prices its runs from it
 * alone; the others share the process table that `registerPrices` fills.
 *
 * @example
 * ```ts
 * const prices = createPriceTable({ 'ollama:llama3': { input: 0, output: 0 } });
 * prices.costOf('ollama:llama3', { inputTokens: 100, outputTokens: 20, totalTokens: 120 }); // 0
 * ```
 */
export class PriceTable {
  readonly #table = new Map<string, ModelPrice>();
  /** Lookups by model name, including misses and dated-name fallbacks; cleared when prices change. */
  readonly #resolved = new Map<string, ModelPrice | undefined>();
  /** This table's own price by model name (`null`: none, the catalogue decides); cleared when prices change. */
  readonly #own = new Map<string, ModelPrice | null>();

  /** Adds or overrides prices; see `registerPrices`. */
  register(prices: Readonly<Record<string, ModelPrice>>, where = 'registerPrices()'): void {
    for (const [model, price] of Object.entries(prices)) {
      if (!model.includes(':')) throw new ConfigError(`${where}: "${model}" must be "provider:model".`);
      for (const field of ['input', 'output'] as const) {
        if (typeof price[field] !== 'number' || !(price[field] >= 0)) {
          throw new ConfigError(
            `${where}: ${model}.${field} must be a non-negative number of USD per million tokens.`,
          );
        }
      }
      this.#table.set(model, price);
    }
    this.#resolved.clear();
    this.#own.clear();
  }

  /** The price of a model, if known; see `priceOf`. */
  priceOf(model: string): ModelPrice | undefined {
    if (this.#resolved.has(model)) return this.#resolved.get(model);
    const price = this.#registered(model) ?? catalogueRates(model);
    this.#resolved.set(model, price);
    return price;
  }

  /** Cost in USD of one call, or `undefined` when the model has no price; see `costOf`. */
  costOf(model: string, usage: Usage, cachedInputTokens = 0): number | undefined {
    // Looked up once per model name: every call would otherwise run the dated-name pattern.
    let price = this.#own.get(model);
    if (price === undefined) {
      price = this.#registered(model) ?? null;
      this.#own.set(model, price);
    }
    if (price === null) return catalogueCost(model, usage, cachedInputTokens);
    const cached = Math.min(cachedInputTokens, usage.inputTokens);
    const cachedPrice = price.cachedInput ?? price.input;
    return (
      ((usage.inputTokens - cached) * price.input +
        cached * cachedPrice +
        usage.outputTokens * price.output) /
      1_000_000
    );
  }

  /** A price from this table (exact, then the undated family), or 0 for Baton's scripted models. */
  #registered(model: string): ModelPrice | undefined {
    return (
      this.#table.get(model) ??
      this.#table.get(model.replace(/-\d{4}-?\d{2}-?\d{2}$|-\d{8}$|-latest$/, '')) ??
      (model.startsWith('scripted:') ? free : undefined)
    );
  }
}

/**
 * A runtime's own price table: pass it as `createRuntime({ prices })`. Its runs are priced from
 * these prices, then the catalogue; `registerPrices` does not reach them.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ prices: createPriceTable({ 'ollama:llama3': { input: 0, output: 0 } }) });
 * ```
 */
export function createPriceTable(prices: Readonly<Record<string, ModelPrice>> = {}): PriceTable {
  const table = new PriceTable();
  table.register(prices, 'createPriceTable()');
  return table;
}

/** The process table: prices of runtimes created without their own `prices`. */
const processPrices = new PriceTable();

/**
 * The prices that apply to the run behind `ctx`: its runtime's table, else the process table.
 *
 * @example
 * ```ts
 * const cost = pricesOf(ctx).costOf(response.model, response.usage);
 * ```
 */
export function pricesOf(ctx: RunContext): PriceTable {
  return ctx.services.tenant.prices ?? processPrices;
}

/**
 * Adds or overrides prices (USD per million tokens) in the process table, used by every
 * runtime created without its own `prices` (`createPriceTable`).
 *
 * @example
 * ```ts
 * registerPrices({ 'openai:gpt-4o-mini': { input: 0.15, output: 0.6 } });
 * ```
 */
export function registerPrices(prices: Record<string, ModelPrice>): void {
  processPrices.register(prices);
}

/**
 * The price of a model in the process table, if known: a registered price (dated ids fall back
 * to their undated family, `gpt-4o-2024-08-06` → `gpt-4o`), else the catalogue's list price (the
 * first tier of a tiered price), else undefined. A model of `scriptedModel` (`scripted:*`) costs 0.
 *
 * @example
 * ```ts
 * priceOf('openai:gpt-4o-mini'); // { input: 0.15, output: 0.6, cachedInput: 0.075 }
 * priceOf('ollama:llama3'); // undefined: give it one with registerPrices
 * ```
 */
export function priceOf(model: string): ModelPrice | undefined {
  return processPrices.priceOf(model);
}

/**
 * Cost in USD of one call by the process table, or `undefined` when the model has no price. A
 * registered price is applied per token; a catalogue price also applies the provider's tiers
 * (long prompts).
 *
 * @example
 * ```ts
 * costOf('openai:gpt-4o-mini', { inputTokens: 1000, outputTokens: 200, totalTokens: 1200 }); // 0.00027
 * ```
 */
export function costOf(model: string, usage: Usage, cachedInputTokens = 0): number | undefined {
  return processPrices.costOf(model, usage, cachedInputTokens);
}

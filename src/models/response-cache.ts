/** Response cache for model calls: a stable key over model, messages, tools and settings; TTL; pluggable stores. */

import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { type Clock, systemClock } from '../core/clock.js';
import { ConfigError } from '../core/errors.js';
import { nodeCrypto } from '../core/node-crypto.js';
import type { RunContext, Tenant } from '../core/run-context.js';
import type { StepMeta, Usage } from '../core/store.js';
import type { DeltaListener, ModelResponse } from './call-model.js';

/** One cached model answer. */
export interface CachedModelResponse {
  response: ModelResponse;
  /** Milliseconds since the epoch (by the cache's clock) after which the entry is stale. */
  expiresAt: number;
}

/**
 * Where cached answers live. The default is one in-memory LRU per process
 * ({@link createMemoryResponseCache}); implement this to share a cache (Redis, a database).
 *
 * @example
 * ```ts
 * const shared = new Map<string, CachedModelResponse>();
 * const store: ResponseCacheStore = {
 *   get: (key) => shared.get(key),
 *   set: (key, entry) => void shared.set(key, entry),
 *   delete: (key) => void shared.delete(key),
 * };
 * agent({ name: 'faq', model, instructions: '...', cache: { ttlMs: 60_000, store } });
 * ```
 */
export interface ResponseCacheStore {
  get(key: string): CachedModelResponse | undefined | Promise<CachedModelResponse | undefined>;
  set(key: string, entry: CachedModelResponse): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** Options of an agent's `cache`. */
export interface ResponseCacheOptions {
  /** How long an answer stays fresh. Default one hour. */
  ttlMs?: number;
  /** Where answers live. Default: an in-memory LRU of the runtime running the agent (one per runtime). */
  store?: ResponseCacheStore;
  /** The clock that dates entries (tests pass the fake clock). Default the system clock. */
  clock?: Clock;
}

/** An agent's cache settings, checked and filled in. */
export interface ResolvedResponseCache {
  readonly ttlMs: number;
  /** The agent's own store; `undefined` for the runtime's LRU (one per runtime, never shared). */
  readonly store: ResponseCacheStore | undefined;
  readonly clock: Clock;
}

/** Options of {@link createMemoryResponseCache}. */
export interface MemoryResponseCacheOptions {
  /** Entries kept before the least recently used is evicted. Default 1000. */
  maxEntries?: number;
}

/**
 * An in-memory LRU cache of model answers, local to this process.
 *
 * @example
 * ```ts
 * const store = createMemoryResponseCache({ maxEntries: 200 });
 * const faq = agent({ name: 'faq', model, instructions: 'Answer FAQs.', cache: { ttlMs: 600_000, store } });
 * ```
 */
export function createMemoryResponseCache(options: MemoryResponseCacheOptions = {}): ResponseCacheStore & {
  readonly size: number;
} {
  const maxEntries = options.maxEntries ?? 1000;
  if (!Number.isInteger(maxEntries) || maxEntries < 1)
    throw new ConfigError(
      `createMemoryResponseCache: maxEntries must be an integer >= 1, got ${maxEntries}.`,
    );
  const entries = new Map<string, CachedModelResponse>();
  return {
    get size() {
      return entries.size;
    },
    get(key) {
      const entry = entries.get(key);
      if (entry !== undefined) {
        // Move to the end: the Map's insertion order is the recency order.
        entries.delete(key);
        entries.set(key, entry);
      }
      return entry;
    },
    set(key, entry) {
      entries.delete(key);
      entries.set(key, entry);
      while (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest === undefined) break;
        entries.delete(oldest);
      }
    },
    delete(key) {
      entries.delete(key);
    },
  };
}

/**
 * The cache of each runtime, for agents given no `store`: keyed by the runtime's tenant object,
 * so one runtime never serves another's answers, and dropped with the runtime.
 */
const tenantCaches = new WeakMap<Tenant, ResponseCacheStore>();

/**
 * The response cache agents without their own `store` use in the run behind `ctx`: an in-memory
 * LRU of its runtime, made on first use.
 *
 * @example
 * ```ts
 * const store = agent.cache?.store ?? runtimeResponseCache(ctx);
 * ```
 */
export function runtimeResponseCache(ctx: RunContext): ResponseCacheStore {
  const tenant = ctx.services.tenant;
  let store = tenantCaches.get(tenant);
  if (store === undefined) {
    store = createMemoryResponseCache();
    tenantCaches.set(tenant, store);
  }
  return store;
}

const defaultTtlMs = 3_600_000;

/**
 * Checks an agent's `cache` option; `false` or undefined turns caching off.
 *
 * @example
 * ```ts
 * resolveResponseCache({ ttlMs: 60_000 }, 'agent("faq")'); // { ttlMs: 60000, store: undefined (the runtime's LRU), clock }
 * ```
 */
export function resolveResponseCache(
  option: ResponseCacheOptions | false | undefined,
  where: string,
): ResolvedResponseCache | undefined {
  if (option === undefined || option === false) return undefined;
  if (typeof option !== 'object' || option === null)
    throw new ConfigError(`${where}: cache must be { ttlMs?, store?, clock? } or false.`);
  const ttlMs = option.ttlMs ?? defaultTtlMs;
  if (!(ttlMs > 0)) throw new ConfigError(`${where}: cache.ttlMs must be positive, got ${option.ttlMs}.`);
  const store = option.store;
  for (const method of ['get', 'set', 'delete'] as const) {
    if (store !== undefined && typeof store[method] !== 'function')
      throw new ConfigError(
        `${where}: cache.store must have get, set and delete methods (missing ${method}).`,
      );
  }
  return { ttlMs, store, clock: option.clock ?? systemClock };
}

/** Call settings that change the answer; everything else in the call options is ignored by the key. */
const keyedSettings = [
  'maxOutputTokens',
  'temperature',
  'stopSequences',
  'topP',
  'topK',
  'presencePenalty',
  'frequencyPenalty',
  'seed',
  'responseFormat',
  'tools',
  'toolChoice',
  'includeRawChunks',
] as const;

/**
 * The cache key of a call: a SHA-256 over the model name, the prompt, the tools and the settings,
 * with object keys sorted so equal calls hash the same. Baton's own `providerOptions.baton`
 * (run id, turn) is left out, so identical calls in different runs share an answer.
 *
 * @example
 * ```ts
 * const key = responseCacheKey('openai:gpt-4o', { prompt, temperature: 0 });
 * ```
 */
export function responseCacheKey(model: string, options: LanguageModelV3CallOptions): string {
  const keyed: Record<string, unknown> = { model, prompt: options.prompt };
  for (const setting of keyedSettings) {
    if (options[setting] !== undefined) keyed[setting] = options[setting];
  }
  const { baton: _ignored, ...providerOptions } = options.providerOptions ?? {};
  if (Object.keys(providerOptions).length > 0) keyed.providerOptions = providerOptions;
  if (options.headers !== undefined) keyed.headers = options.headers;
  return nodeCrypto().createHash('sha256').update(stableJson(keyed)).digest('hex');
}

/** A model response served from the cache: no tokens spent; `cached` carries what the original call used. */
type ServedResponse = ModelResponse & { cached?: { usage: Usage } };

const noUsage: Usage = Object.freeze({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/**
 * Runs `call` through the cache: a fresh entry is returned without calling the model (its text
 * goes to `onDelta` in one piece, usage zero, marked `cached`), else the model is called and a
 * complete answer is stored in `store` (default: the cache's own store). Without a cache or a
 * store it just calls.
 *
 * @example
 * ```ts
 * const response = await withResponseCache(cache, 'openai:gpt-4o', options, undefined, () => callModel(model, options));
 * ```
 */
export function withResponseCache(
  cache: ResolvedResponseCache | undefined,
  model: string,
  options: LanguageModelV3CallOptions,
  onDelta: DeltaListener | undefined,
  call: () => Promise<ModelResponse>,
  store: ResponseCacheStore | undefined = cache?.store,
): Promise<ModelResponse> {
  // Off (the default): the call itself, no extra promise.
  if (cache === undefined || store === undefined) return call();
  return cachedCall(cache, store, model, options, onDelta, call);
}

async function cachedCall(
  cache: ResolvedResponseCache,
  store: ResponseCacheStore,
  model: string,
  options: LanguageModelV3CallOptions,
  onDelta: DeltaListener | undefined,
  call: () => Promise<ModelResponse>,
): Promise<ModelResponse> {
  const key = responseCacheKey(model, options);
  const entry = await store.get(key);
  if (entry !== undefined) {
    if (entry.expiresAt > cache.clock.now()) {
      const served: ServedResponse = {
        ...entry.response,
        usage: noUsage,
        cachedInputTokens: 0,
        cached: { usage: entry.response.usage },
      };
      if (onDelta !== undefined && served.text.length > 0) onDelta(served.text);
      return served;
    }
    await store.delete(key);
  }
  const response = await call();
  if (response.finishReason !== 'error' && response.finishReason !== 'other')
    await store.set(key, { response, expiresAt: cache.clock.now() + cache.ttlMs });
  return response;
}

/**
 * Marks a model step's meta when its answer came from the cache: `cached: true` and the usage
 * of the original call as `cachedUsage` (the step's own `usage` is zero).
 *
 * @example
 * ```ts
 * const meta = cacheMeta(response, { agent: 'faq', usage: response.usage });
 * ```
 */
export function cacheMeta(response: ModelResponse, meta: StepMeta): StepMeta {
  const cached = (response as ServedResponse).cached;
  if (cached !== undefined) {
    meta.cached = true;
    meta.cachedUsage = cached.usage;
  }
  return meta;
}

/** JSON with object keys sorted at every level; binary data as base64. */
function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Uint8Array) return { base64: Buffer.from(item).toString('base64') };
    if (item instanceof URL) return item.href;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return item;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(item).sort()) sorted[key] = (item as Record<string, unknown>)[key];
    return sorted;
  });
}

/** Process-wide resilience state: configuration, circuit breakers, bulkheads and observed latencies. */

import type { BulkheadPolicy, CircuitBreakerPolicy, CircuitState } from 'cockatiel';
import { ConfigError } from '../../core/errors.js';
import { checkRetry, type RetryOptions } from '../../core/retry-options.js';
import { cockatiel } from './cockatiel.js';

export type { RetryOptions };

/** A circuit breaker: opens after `threshold` consecutive failures, lets one probe through after `halfOpenAfterMs`. */
export interface BreakerOptions {
  /** Consecutive failures that open the breaker. Default 10. */
  threshold?: number;
  /** Cool-down before a half-open probe. Default 30 s. */
  halfOpenAfterMs?: number;
}

/** A bulkhead: at most `maxConcurrent` calls at once, up to `maxQueue` more waiting (default unbounded). */
export interface LimitOptions {
  maxConcurrent?: number;
  maxQueue?: number;
}

/** Per-provider settings (the `provider` part of `provider:model`). */
export interface ProviderResilience extends LimitOptions {
  /** Breaker settings, or `false` for no breaker. */
  breaker?: BreakerOptions | false;
}

/** Per-tool settings (by tool name). */
export interface ToolResilience extends LimitOptions {
  breaker?: BreakerOptions | false;
  timeoutMs?: number;
}

/** Timeouts derived from observed latency when none is set. */
export interface AdaptiveTimeoutOptions {
  /** Successful calls observed before the derived timeout applies. Default 20. */
  minSamples?: number;
  /** Timeout = p95 × multiplier. Default 3. */
  multiplier?: number;
  /**
   * Clamp of the derived timeout. Defaults: `minMs` 1 s for tools and 30 s for models (a model's
   * latency grows with the length of its answer), `maxMs` 300 s.
   */
  minMs?: number;
  maxMs?: number;
  /** Latest successful calls kept per model or tool. Default 200. */
  window?: number;
}

/** Process-wide resilience settings; see `configureResilience`. */
export interface ResilienceConfig {
  /** By provider name (`openai`, `anthropic`, `stub`, ...). */
  providers?: Record<string, ProviderResilience>;
  /** By `provider:model`: a fixed timeout per model call attempt. */
  models?: Record<string, { timeoutMs?: number }>;
  /** By tool name. */
  tools?: Record<string, ToolResilience>;
  /** By agent name: caps concurrent model calls of that agent across all runs. */
  agents?: Record<string, LimitOptions>;
  /** Default breaker for providers and tools. */
  breaker?: BreakerOptions;
  /** Default model retry policy (an agent's `retry` overrides it). */
  retry?: RetryOptions;
  /** Latency-derived timeouts, or `false` to turn them off. */
  adaptiveTimeout?: AdaptiveTimeoutOptions | false;
  /** Timeout of a model call attempt before enough latency is observed. Default 300 s. */
  modelTimeoutMs?: number;
}

let config: ResilienceConfig = {};
/** Bumped whenever settings, breakers or bulkheads are dropped: per-agent and per-tool plans made before are stale. */
let generation = 0;
const breakers = new Map<string, CircuitBreakerPolicy>();
const bulkheads = new Map<string, BulkheadPolicy | null>();
/** Per key: samples in arrival order (for eviction) and the same samples kept sorted (for p95 in O(1)). */
const latencies = new Map<string, { arrival: number[]; sorted: number[] }>();

/** The index where `value` goes in an ascending array (after equal values). */
function insertionIndex(sorted: readonly number[], value: number): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (sorted[middle]! <= value) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Sets process-wide resilience settings, shared by every run of every runtime in the process.
 * Each call merges into the current settings (maps merge by key) and drops existing breakers and
 * bulkheads so the new limits apply; call it at startup.
 *
 * @example
 * ```ts
 * configureResilience({
 *   providers: { openai: { maxConcurrent: 8, breaker: { threshold: 5, halfOpenAfterMs: 30_000 } } },
 *   tools: { search_web: { maxConcurrent: 2, timeoutMs: 10_000 } },
 *   retry: { maxAttempts: 4 },
 * });
 * ```
 */
export function configureResilience(settings: ResilienceConfig): void {
  checkConfig(settings);
  config = {
    ...config,
    ...settings,
    providers: { ...config.providers, ...settings.providers },
    models: { ...config.models, ...settings.models },
    tools: { ...config.tools, ...settings.tools },
    agents: { ...config.agents, ...settings.agents },
  };
  breakers.clear();
  bulkheads.clear();
  generation++;
}

/**
 * Forgets all resilience settings, breaker states, bulkheads and latency statistics (for tests).
 *
 * @example
 * ```ts
 * afterEach(() => resetResilience());
 * ```
 */
export function resetResilience(): void {
  config = {};
  breakers.clear();
  bulkheads.clear();
  latencies.clear();
  generation++;
}

/**
 * A call plan cached per owner (an agent policy, a tool) and key (a model, a calling agent),
 * built again after `configureResilience` or `resetResilience`.
 */
export function cachedPlan<OWNER extends object, PLAN>(
  plans: WeakMap<OWNER, Map<string, { generation: number; plan: PLAN }>>,
  owner: OWNER,
  key: string,
  build: () => PLAN,
): PLAN {
  let byKey = plans.get(owner);
  if (byKey === undefined) {
    byKey = new Map();
    plans.set(owner, byKey);
  }
  const cached = byKey.get(key);
  if (cached !== undefined && cached.generation === generation) return cached.plan;
  const plan = build();
  byKey.set(key, { generation, plan });
  return plan;
}

/** The current settings. */
export function resilienceConfig(): Readonly<ResilienceConfig> {
  return config;
}

/** State of a breaker as Baton reports it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The state of the process-wide breaker of a provider or tool (`closed` when none was made yet).
 *
 * @example
 * ```ts
 * if (breakerState('provider', 'openai') === 'open') console.log('OpenAI calls fail fast for now');
 * ```
 */
export function breakerState(kind: 'provider' | 'tool', name: string): BreakerState {
  const breaker = breakers.get(`${kind}:${name}`);
  return breaker === undefined ? 'closed' : stateName(breaker.state);
}

export function stateName(state: CircuitState): BreakerState {
  const { CircuitState: states } = cockatiel();
  if (state === states.Open || state === states.Isolated) return 'open';
  if (state === states.HalfOpen) return 'half-open';
  return 'closed';
}

/** The shared breaker of a provider or tool, or undefined when turned off; `counts` decides which failures count. */
export function breakerFor(
  kind: 'provider' | 'tool',
  name: string,
  counts: (error: Error) => boolean,
): CircuitBreakerPolicy | undefined {
  const key = `${kind}:${name}`;
  let breaker = breakers.get(key);
  if (breaker === undefined) {
    const own = kind === 'provider' ? config.providers?.[name]?.breaker : config.tools?.[name]?.breaker;
    if (own === false) return undefined;
    const options = { ...config.breaker, ...own };
    const { circuitBreaker, handleWhen, ConsecutiveBreaker } = cockatiel();
    breaker = circuitBreaker(handleWhen(counts), {
      halfOpenAfter: options.halfOpenAfterMs ?? 30_000,
      breaker: new ConsecutiveBreaker(options.threshold ?? 10),
    });
    breakers.set(key, breaker);
  }
  return breaker;
}

/** The shared bulkhead of a provider, tool or agent; `fallback` is the definition's own limit. */
export function bulkheadFor(
  kind: 'provider' | 'tool' | 'agent',
  name: string,
  fallback?: LimitOptions,
): BulkheadPolicy | undefined {
  const key = `${kind}:${name}`;
  let policy = bulkheads.get(key);
  if (policy === undefined) {
    const configured =
      kind === 'provider'
        ? config.providers?.[name]
        : kind === 'tool'
          ? config.tools?.[name]
          : config.agents?.[name];
    const limit = configured?.maxConcurrent ?? fallback?.maxConcurrent;
    policy =
      limit === undefined
        ? null
        : cockatiel().bulkhead(limit, configured?.maxQueue ?? fallback?.maxQueue ?? Number.POSITIVE_INFINITY);
    bulkheads.set(key, policy);
  }
  return policy ?? undefined;
}

/** Records the duration of a successful model or tool call (`model:<provider:model>` or `tool:<name>`). */
export function recordLatency(key: string, ms: number): void {
  const adaptive = config.adaptiveTimeout;
  const window = (adaptive === false ? undefined : adaptive?.window) ?? 200;
  let samples = latencies.get(key);
  if (samples === undefined) {
    samples = { arrival: [], sorted: [] };
    latencies.set(key, samples);
  }
  samples.arrival.push(ms);
  samples.sorted.splice(insertionIndex(samples.sorted, ms), 0, ms);
  while (samples.arrival.length > window) {
    const oldest = samples.arrival.shift()!;
    samples.sorted.splice(insertionIndex(samples.sorted, oldest) - 1, 1);
  }
}

/** Latency observed in this process for a model or tool. */
export interface LatencyStats {
  /** Successful calls in the window. */
  count: number;
  p95Ms: number | undefined;
  /** The derived timeout, once `count` reaches `minSamples`. */
  timeoutMs: number | undefined;
}

/**
 * Observed latency of a model (`model:<provider:model>`) or tool (`tool:<name>`) and the timeout derived from it.
 *
 * @example
 * ```ts
 * const { count, p95Ms, timeoutMs } = latencyStats('tool:search_web');
 * ```
 */
export function latencyStats(key: string): LatencyStats {
  const sorted = latencies.get(key)?.sorted ?? [];
  if (sorted.length === 0) return { count: 0, p95Ms: undefined, timeoutMs: undefined };
  return { count: sorted.length, p95Ms: p95Of(sorted), timeoutMs: derivedTimeoutMs(key) };
}

function p95Of(sorted: readonly number[]): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

/** The timeout derived from the observed latency of `key`, as `latencyStats(key).timeoutMs`, without allocating (called per call). */
export function derivedTimeoutMs(key: string): number | undefined {
  const adaptive = config.adaptiveTimeout;
  if (adaptive === false) return undefined;
  const sorted = latencies.get(key)?.sorted;
  if (sorted === undefined || sorted.length === 0 || sorted.length < (adaptive?.minSamples ?? 20))
    return undefined;
  const derived = p95Of(sorted) * (adaptive?.multiplier ?? 3);
  const floor = adaptive?.minMs ?? (key.startsWith('model:') ? 30_000 : 1000);
  return Math.round(Math.min(adaptive?.maxMs ?? 300_000, Math.max(floor, derived)));
}

function checkConfig(settings: ResilienceConfig): void {
  const positive = (where: string, value: number | undefined, minimum = 1) => {
    if (value !== undefined && !(typeof value === 'number' && value >= minimum))
      throw new ConfigError(
        `configureResilience: ${where} must be a number >= ${minimum}, got ${String(value)}.`,
      );
  };
  const limits = (
    where: string,
    entry: (LimitOptions & { breaker?: BreakerOptions | false }) | undefined,
  ) => {
    positive(`${where}.maxConcurrent`, entry?.maxConcurrent);
    positive(`${where}.maxQueue`, entry?.maxQueue, 0);
    if (entry?.breaker !== undefined && entry.breaker !== false) breaker(`${where}.breaker`, entry.breaker);
  };
  const breaker = (where: string, entry: BreakerOptions | undefined) => {
    positive(`${where}.threshold`, entry?.threshold);
    positive(`${where}.halfOpenAfterMs`, entry?.halfOpenAfterMs, 0);
  };
  for (const [name, entry] of Object.entries(settings.providers ?? {})) limits(`providers.${name}`, entry);
  for (const [name, entry] of Object.entries(settings.tools ?? {})) {
    limits(`tools.${name}`, entry);
    positive(`tools.${name}.timeoutMs`, entry.timeoutMs);
  }
  for (const [name, entry] of Object.entries(settings.agents ?? {})) limits(`agents.${name}`, entry);
  for (const [name, entry] of Object.entries(settings.models ?? {}))
    positive(`models.${name}.timeoutMs`, entry.timeoutMs);
  breaker('breaker', settings.breaker);
  checkRetry('configureResilience: retry', settings.retry);
  positive('modelTimeoutMs', settings.modelTimeoutMs);
  if (settings.adaptiveTimeout !== undefined && settings.adaptiveTimeout !== false) {
    positive('adaptiveTimeout.minSamples', settings.adaptiveTimeout.minSamples);
    positive('adaptiveTimeout.multiplier', settings.adaptiveTimeout.multiplier, 0);
    positive('adaptiveTimeout.minMs', settings.adaptiveTimeout.minMs);
    positive('adaptiveTimeout.maxMs', settings.adaptiveTimeout.maxMs);
    positive('adaptiveTimeout.window', settings.adaptiveTimeout.window);
  }
}

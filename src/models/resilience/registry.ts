/** Resilience state of a runtime (or of the process, by default): configuration, circuit breakers, bulkheads and observed latencies. */

import type { BulkheadPolicy, CircuitBreakerPolicy, CircuitState, IBreaker } from 'cockatiel';
import { ConfigError } from '../../core/errors.js';
import { checkRetry, type RetryOptions } from '../../core/retry-options.js';
import type { RunContext, Tenant } from '../../core/run-context.js';
import { AttemptDeadlines } from './attempt-deadlines.js';
import { cockatiel } from './cockatiel.js';
import type { SharedLimits } from './shared-limits.js';

declare module '../../core/run-context.js' {
  interface Tenant {
    /** Breakers, bulkheads, latency windows and settings of this runtime (`createRuntime({ resilience: createResilience(...) })`). */
    readonly resilience: Resilience | undefined;
  }
}

declare module '../../core/runtime-options.js' {
  interface RuntimeOptions {
    /**
     * This runtime's resilience settings and state (breakers, bulkheads, latency windows), made with
     * `createResilience`: shared with no other runtime. Default: the process state that
     * `configureResilience` sets and `breakerState`/`latencyStats` read.
     */
    resilience?: Resilience;
  }
}

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

/** Resilience settings of a runtime or of the process; see `createResilience` and `configureResilience`. */
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
  /**
   * Limits that hold across processes (concurrency caps, request and token rates, circuit
   * breakers by provider and `provider:model`), asked around every model call attempt on top of
   * the in-process ones: `createRedisLimits` from `batonjs/redis` makes them. Default: none
   * (nothing is asked).
   */
  sharedLimits?: SharedLimits;
}

/** A cached plan and the generation of settings it was built under. */
interface CachedPlan {
  generation: number;
  plan: unknown;
}

/** An observed call in flight through a breaker (see `Resilience.watchBreaker`). */
export interface BreakerWatcher {
  breakerChanged(state: BreakerState): void;
}

/**
 * Resilience settings and the state they govern: circuit breakers, bulkheads, observed
 * latencies and the call plans built from them. A runtime given one
 * (`createRuntime({ resilience: createResilience(settings) })`) keeps its own; the other
 * runtimes share the process state that `configureResilience` sets.
 *
 * @example
 * ```ts
 * const resilience = createResilience({ tools: { search_web: { timeoutMs: 10_000 } } });
 * resilience.latencyStats('tool:search_web'); // { count: 0, ... } until this runtime calls it
 * ```
 */
export class Resilience {
  #config: ResilienceConfig = {};
  /** The timeouts of this state's calls in flight, under one timer. */
  readonly deadlines = new AttemptDeadlines();
  /** Bumped whenever settings, breakers or bulkheads are dropped: per-agent and per-tool plans made before are stale. */
  #generation = 0;
  readonly #breakers = new Map<string, CircuitBreakerPolicy>();
  /** The failure counter of each breaker in `#breakers`. */
  readonly #counters = new WeakMap<CircuitBreakerPolicy, IBreaker>();
  readonly #bulkheads = new Map<string, BulkheadPolicy | null>();
  /** Per key: the latest samples, and the ones the p95 is read from in O(1) (see `LatencySamples`). */
  readonly #latencies = new Map<string, LatencySamples>();
  /** Per breaker: the observed calls in flight through it, told of its state changes by one listener. */
  readonly #watchers = new WeakMap<CircuitBreakerPolicy, Set<BreakerWatcher>>();
  /** Plans per owner (an agent's model policy, a tool) and key (a model, a calling agent). */
  readonly #plans = new WeakMap<object, Map<string, CachedPlan>>();

  /** Merges `settings` into the current ones (maps merge by key) and drops breakers and bulkheads; see `configureResilience`. */
  configure(settings: ResilienceConfig, where = 'configureResilience'): void {
    checkConfig(settings, where);
    const config = this.#config;
    this.#config = {
      ...config,
      ...settings,
      providers: { ...config.providers, ...settings.providers },
      models: { ...config.models, ...settings.models },
      tools: { ...config.tools, ...settings.tools },
      agents: { ...config.agents, ...settings.agents },
    };
    this.#breakers.clear();
    this.#bulkheads.clear();
    this.#generation++;
  }

  /** Forgets all settings, breaker states, bulkheads and latency statistics. */
  reset(): void {
    this.#config = {};
    this.#breakers.clear();
    this.#bulkheads.clear();
    this.#latencies.clear();
    this.#generation++;
  }

  /** The current settings. */
  get config(): Readonly<ResilienceConfig> {
    return this.#config;
  }

  /** The plan cached for `owner` and `key` by `plan`, unless there is none or settings changed since. */
  cachedPlan<PLAN>(owner: object, key: string): PLAN | undefined {
    const cached = this.#plans.get(owner)?.get(key);
    return cached !== undefined && cached.generation === this.#generation ? (cached.plan as PLAN) : undefined;
  }

  /** A call plan cached per owner and key, built again after `configure` or `reset`. */
  plan<PLAN>(owner: object, key: string, build: () => PLAN): PLAN {
    let byKey = this.#plans.get(owner);
    if (byKey === undefined) {
      byKey = new Map();
      this.#plans.set(owner, byKey);
    }
    const cached = byKey.get(key);
    if (cached !== undefined && cached.generation === this.#generation) return cached.plan as PLAN;
    const plan = build();
    byKey.set(key, { generation: this.#generation, plan });
    return plan;
  }

  /** The state of the breaker of a provider or tool (`closed` when none was made yet). */
  breakerState(kind: 'provider' | 'tool', name: string): BreakerState {
    const breaker = this.#breakers.get(`${kind}:${name}`);
    return breaker === undefined ? 'closed' : stateName(breaker.state);
  }

  /** The breaker of a provider or tool, or undefined when turned off; `counts` decides which failures count. */
  breakerFor(
    kind: 'provider' | 'tool',
    name: string,
    counts: (error: Error) => boolean,
  ): CircuitBreakerPolicy | undefined {
    const key = `${kind}:${name}`;
    let breaker = this.#breakers.get(key);
    if (breaker === undefined) {
      const config = this.#config;
      const own = kind === 'provider' ? config.providers?.[name]?.breaker : config.tools?.[name]?.breaker;
      if (own === false) return undefined;
      const options = { ...config.breaker, ...own };
      const { circuitBreaker, handleWhen, ConsecutiveBreaker } = cockatiel();
      const counter = new ConsecutiveBreaker(options.threshold ?? 10);
      breaker = circuitBreaker(handleWhen(counts), {
        halfOpenAfter: options.halfOpenAfterMs ?? 30_000,
        breaker: counter,
      });
      this.#breakers.set(key, breaker);
      this.#counters.set(breaker, counter);
    }
    return breaker;
  }

  /**
   * The failure counter inside a breaker this registry made: a call that succeeds while the
   * breaker is closed reports to it directly (see run-resilient.ts), as cockatiel would.
   */
  breakerCounter(breaker: CircuitBreakerPolicy): IBreaker | undefined {
    return this.#counters.get(breaker);
  }

  /**
   * Tells `watcher` of every state change of `breaker` until `unwatchBreaker`: an observed call in
   * flight, in the order the calls began (one listener on the breaker serves them all).
   */
  watchBreaker(breaker: CircuitBreakerPolicy, watcher: BreakerWatcher): void {
    let watchers = this.#watchers.get(breaker);
    if (watchers === undefined) {
      const set = new Set<BreakerWatcher>();
      watchers = set;
      this.#watchers.set(breaker, set);
      breaker.onStateChange((state) => {
        const name = stateName(state);
        for (const each of set) each.breakerChanged(name);
      });
    }
    watchers.add(watcher);
  }

  /** Stops telling `watcher` of `breaker`'s changes. */
  unwatchBreaker(breaker: CircuitBreakerPolicy, watcher: BreakerWatcher): void {
    this.#watchers.get(breaker)?.delete(watcher);
  }

  /** The bulkhead of a provider, tool or agent; `fallback` is the definition's own limit. */
  bulkheadFor(
    kind: 'provider' | 'tool' | 'agent',
    name: string,
    fallback?: LimitOptions,
  ): BulkheadPolicy | undefined {
    const key = `${kind}:${name}`;
    let policy = this.#bulkheads.get(key);
    if (policy === undefined) {
      const config = this.#config;
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
          : cockatiel().bulkhead(
              limit,
              configured?.maxQueue ?? fallback?.maxQueue ?? Number.POSITIVE_INFINITY,
            );
      this.#bulkheads.set(key, policy);
    }
    return policy ?? undefined;
  }

  /** Records the duration of a successful model or tool call (`model:<provider:model>` or `tool:<name>`). */
  recordLatency(key: string, ms: number): void {
    const adaptive = this.#config.adaptiveTimeout;
    const window = (adaptive === false ? undefined : adaptive?.window) ?? 200;
    let samples = this.#latencies.get(key);
    if (samples === undefined) {
      samples = { ring: [], next: 0, sorted: [], largest: undefined };
      this.#latencies.set(key, samples);
    }
    const ring = samples.ring;
    if (ring.length === window) {
      // Full (the usual case): the newest sample takes the oldest one's place, with no allocation.
      samples.largest ??= largestOf(samples);
      const oldest = ring[samples.next]!;
      ring[samples.next] = ms;
      samples.next = (samples.next + 1) % window;
      replaceLargest(samples.largest, ring, oldest, ms);
      return;
    }
    if (samples.next !== 0 || ring.length > window) {
      // The window changed (new settings) after the ring wrapped: back to arrival order, keeping
      // the latest samples that fit with this one.
      const arrival = [...ring.slice(samples.next), ...ring.slice(0, samples.next)];
      const kept = arrival.slice(Math.max(0, arrival.length - (window - 1)));
      samples.ring = [...kept, ms];
      samples.next = 0;
      samples.sorted = samples.ring.slice().sort((left, right) => left - right);
      samples.largest = undefined;
    } else {
      // Filling: the ring is in arrival order until it is full.
      samples.sorted ??= ring.slice().sort((left, right) => left - right);
      const sorted = samples.sorted;
      samples.largest = undefined;
      ring.push(ms);
      sorted.splice(insertionIndex(sorted, ms), 0, ms);
    }
    if (samples.ring.length === window) samples.largest = largestOf(samples);
  }

  /** Observed latency of a model (`model:<provider:model>`) or tool (`tool:<name>`) and the timeout derived from it. */
  latencyStats(key: string): LatencyStats {
    const samples = this.#latencies.get(key);
    if (samples === undefined || samples.ring.length === 0)
      return { count: 0, p95Ms: undefined, timeoutMs: undefined };
    return { count: samples.ring.length, p95Ms: p95Of(samples), timeoutMs: this.derivedTimeoutMs(key) };
  }

  /** The timeout derived from the observed latency of `key`, as `latencyStats(key).timeoutMs`, without allocating (called per call). */
  derivedTimeoutMs(key: string): number | undefined {
    const adaptive = this.#config.adaptiveTimeout;
    if (adaptive === false) return undefined;
    const samples = this.#latencies.get(key);
    if (
      samples === undefined ||
      samples.ring.length === 0 ||
      samples.ring.length < (adaptive?.minSamples ?? 20)
    )
      return undefined;
    const derived = p95Of(samples) * (adaptive?.multiplier ?? 3);
    const floor = adaptive?.minMs ?? (key.startsWith('model:') ? 30_000 : 1000);
    return Math.round(Math.min(adaptive?.maxMs ?? 300_000, Math.max(floor, derived)));
  }
}

/**
 * A runtime's own resilience settings and state: pass it as `createRuntime({ resilience })`.
 * Its breakers, bulkheads and latency windows are shared with no other runtime, and
 * `configureResilience` does not reach it (call `resilience.configure(settings)` instead).
 *
 * @example
 * ```ts
 * const resilience = createResilience({ providers: { openai: { maxConcurrent: 8 } } });
 * const runtime = createRuntime({ resilience });
 * resilience.breakerState('provider', 'openai'); // 'closed'
 * ```
 */
export function createResilience(settings: ResilienceConfig = {}): Resilience {
  const resilience = new Resilience();
  resilience.configure(settings, 'createResilience');
  return resilience;
}

/** The process state: resilience of runtimes created without their own `resilience`. */
const processResilience = new Resilience();

/**
 * The resilience that applies to the run behind `ctx`: its runtime's, else the process state.
 *
 * @example
 * ```ts
 * const breaker = resilienceOf(ctx).breakerState('provider', 'openai');
 * ```
 */
export function resilienceOf(ctx: RunContext): Resilience {
  return ctx.services.tenant.resilience ?? processResilience;
}

/** The resilience of a runtime (its tenant state), else the process state. */
export function tenantResilience(tenant: Tenant): Resilience {
  return tenant.resilience ?? processResilience;
}

/**
 * Call durations of one key: `ring` holds the latest `window` samples (the oldest at `next` once
 * full). While it fills, `sorted` holds them in ascending order; once full, `largest` holds only
 * the samples from the p95 up (ascending, about 5% of the window): a new sample then moves a
 * handful of numbers instead of a third of the window, and the p95 is `largest[0]`.
 */
interface LatencySamples {
  ring: number[];
  next: number;
  sorted: number[] | undefined;
  largest: number[] | undefined;
}

/** Where the p95 is in `count` ascending samples. */
function p95Index(count: number): number {
  return Math.min(count - 1, Math.ceil(count * 0.95) - 1);
}

/** The p95 of the samples (at least one). */
function p95Of(samples: LatencySamples): number {
  const largest = samples.largest;
  if (largest !== undefined) return largest[0]!;
  const sorted = samples.sorted as number[];
  return sorted[p95Index(sorted.length)]!;
}

/** The samples from the p95 up, ascending, of a full ring that was filling (`sorted` is dropped). */
function largestOf(samples: LatencySamples): number[] {
  const sorted = samples.sorted ?? samples.ring.slice().sort((left, right) => left - right);
  samples.sorted = undefined;
  return sorted.slice(p95Index(sorted.length));
}

/**
 * `largest` (the samples from the p95 up of a full `ring`, ascending) after `value` took the
 * place of `oldest` in `ring`. The count of `largest` stays as it is; only when `oldest` was one
 * of them and `value` is below the others is the ring read, for the largest sample under them.
 */
function replaceLargest(largest: number[], ring: readonly number[], oldest: number, value: number): void {
  const least = largest[0]!;
  if (oldest < least) {
    // The evicted sample was below the p95: `value` joins the largest only when it is above it.
    if (value > least) {
      let index = 0;
      while (index + 1 < largest.length && largest[index + 1]! < value) {
        largest[index] = largest[index + 1]!;
        index++;
      }
      largest[index] = value;
    }
    return;
  }
  // One copy of `oldest` leaves the largest (every sample above `least`, and at least one equal
  // to it, is among them).
  for (let index = insertionIndex(largest, oldest) - 1; index + 1 < largest.length; index++)
    largest[index] = largest[index + 1]!;
  largest.pop();
  const joining = largest.length > 0 && value >= largest[0]! ? value : largestBelow(ring, largest);
  let index = largest.length;
  largest.push(joining);
  while (index > 0 && largest[index - 1]! > joining) {
    largest[index] = largest[index - 1]!;
    index--;
  }
  largest[index] = joining;
}

/**
 * The largest sample of `ring` not in `largest` (ascending, every sample of `ring` above
 * `largest[0]` among them): a copy of `largest[0]` that is not in it, else the largest sample
 * below it (`ring`'s largest when `largest` is empty).
 */
function largestBelow(ring: readonly number[], largest: readonly number[]): number {
  if (largest.length === 0) {
    let most = ring[0]!;
    for (let index = 1; index < ring.length; index++) if (ring[index]! > most) most = ring[index]!;
    return most;
  }
  const least = largest[0]!;
  let copiesInLargest = 1;
  while (copiesInLargest < largest.length && largest[copiesInLargest] === least) copiesInLargest++;
  let copies = 0;
  let below = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < ring.length; index++) {
    const sample = ring[index]!;
    if (sample === least) copies++;
    else if (sample < least && sample > below) below = sample;
  }
  return copies > copiesInLargest ? least : below;
}

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
 * Sets the process resilience settings, shared by every run of every runtime created without its
 * own `resilience` (`createResilience`). Each call merges into the current settings (maps merge
 * by key) and drops existing breakers and bulkheads so the new limits apply; call it at startup.
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
  processResilience.configure(settings);
}

/**
 * Forgets the process resilience settings, breaker states, bulkheads and latency statistics
 * (for tests; a runtime's own `Resilience` has `reset()`).
 *
 * @example
 * ```ts
 * afterEach(() => resetResilience());
 * ```
 */
export function resetResilience(): void {
  processResilience.reset();
}

/** State of a breaker as Baton reports it. */
export type BreakerState = 'closed' | 'open' | 'half-open';

/**
 * The state of the process breaker of a provider or tool (`closed` when none was made yet); a
 * runtime's own breakers are read with `resilience.breakerState`.
 *
 * @example
 * ```ts
 * if (breakerState('provider', 'openai') === 'open') console.log('OpenAI calls fail fast for now');
 * ```
 */
export function breakerState(kind: 'provider' | 'tool', name: string): BreakerState {
  return processResilience.breakerState(kind, name);
}

export function stateName(state: CircuitState): BreakerState {
  const { CircuitState: states } = cockatiel();
  if (state === states.Open || state === states.Isolated) return 'open';
  if (state === states.HalfOpen) return 'half-open';
  return 'closed';
}

/** Latency observed in the process (or a runtime) for a model or tool. */
export interface LatencyStats {
  /** Successful calls in the window. */
  count: number;
  p95Ms: number | undefined;
  /** The derived timeout, once `count` reaches `minSamples`. */
  timeoutMs: number | undefined;
}

/**
 * Observed latency of a model (`model:<provider:model>`) or tool (`tool:<name>`) in the process
 * state and the timeout derived from it; a runtime's own with `resilience.latencyStats`.
 *
 * @example
 * ```ts
 * const { count, p95Ms, timeoutMs } = latencyStats('tool:search_web');
 * ```
 */
export function latencyStats(key: string): LatencyStats {
  return processResilience.latencyStats(key);
}

function checkConfig(settings: ResilienceConfig, caller: string): void {
  const positive = (where: string, value: number | undefined, minimum = 1) => {
    if (value !== undefined && !(typeof value === 'number' && value >= minimum))
      throw new ConfigError(`${caller}: ${where} must be a number >= ${minimum}, got ${String(value)}.`);
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
  checkRetry(`${caller}: retry`, settings.retry);
  positive('modelTimeoutMs', settings.modelTimeoutMs);
  if (settings.adaptiveTimeout !== undefined && settings.adaptiveTimeout !== false) {
    positive('adaptiveTimeout.minSamples', settings.adaptiveTimeout.minSamples);
    positive('adaptiveTimeout.multiplier', settings.adaptiveTimeout.multiplier, 0);
    positive('adaptiveTimeout.minMs', settings.adaptiveTimeout.minMs);
    positive('adaptiveTimeout.maxMs', settings.adaptiveTimeout.maxMs);
    positive('adaptiveTimeout.window', settings.adaptiveTimeout.window);
  }
}

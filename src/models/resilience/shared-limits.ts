/** SharedLimits: the contract of limits that hold across processes (concurrency caps, request and token rates, circuit breakers), and callWithSharedLimits, the one call the model call path makes. */

import { BatonError } from '../../core/errors.js';
import type { BreakerOptions, BreakerState } from './registry.js';

/** Limits of one key (a provider such as `openai`, or a model such as `openai:gpt-4o`), across every process. */
export interface SharedLimit {
  /** Calls in flight at once. */
  maxConcurrent?: number;
  /** Calls started per `intervalMs`. */
  requests?: number;
  /** Tokens per `intervalMs`: the estimate given to `acquire`, corrected by the count given to `release`. */
  tokens?: number;
  /** The window of `requests` and `tokens`, in whole seconds. Default 60,000 (providers state rates per minute). */
  intervalMs?: number;
  /** This key's circuit breaker settings, or `false` for none. */
  breaker?: BreakerOptions | false;
}

/** Options of `SharedLimits.acquire`. */
export interface SharedAcquireOptions {
  /** Tokens the call is expected to use (prompt plus expected output), for the token rate. */
  tokens?: number;
  /** Longest wait for a slot and for rate budget; then a retryable `LIMIT_TIMEOUT` error. */
  maxWaitMs?: number;
  signal?: AbortSignal;
}

/** What `acquire` granted: release it when the call ends, with the tokens the call really used. */
export interface SharedLease {
  /** Frees the concurrency slot and corrects the token rate by `used.tokens - estimate`. Safe to call twice. */
  release(used?: { tokens?: number }): Promise<void>;
}

/** Whether a call may go now. */
export interface BreakerVerdict {
  allowed: boolean;
  state: BreakerState;
  /** True for the one process that may probe a half-open breaker; report its outcome. */
  probe: boolean;
  /** While open: how long until it half-opens. */
  retryAfterMs?: number;
}

/** A circuit breaker whose state every process shares. */
export interface SharedBreaker {
  /** Asks to make a call: refused while open, and while half-open unless this process won the probe. */
  allow(): Promise<BreakerVerdict>;
  /** A call succeeded: the breaker closes and its failure count resets. */
  success(): Promise<void>;
  /** A call failed in a way that counts: after `threshold` in a row (across processes) the breaker opens. */
  failure(): Promise<void>;
  /** The current state, without taking a probe. */
  state(): Promise<BreakerState>;
}

/**
 * Limits shared by every process that uses the same backing server. The model call path asks
 * `acquire(key)` before a call (provider key, then `provider:model` key) and releases after it;
 * it asks `breaker(provider).allow()` before and reports `success()` or `failure()` after.
 * A key without configured limits is granted at once.
 *
 * @example
 * ```ts
 * const lease = await limits.acquire('openai', { tokens: 1200 });
 * try {
 *   response = await model.doGenerate(options);
 * } finally {
 *   await lease.release({ tokens: response?.usage.totalTokens });
 * }
 * ```
 */
export interface SharedLimits {
  acquire(key: string, options?: SharedAcquireOptions): Promise<SharedLease>;
  breaker(key: string): SharedBreaker;
  /** Stops refreshing held slots' locks and closes connections the limits opened. */
  close(): Promise<void>;
}

/** Options of `callWithSharedLimits`. */
export interface SharedCallOptions<RESULT> {
  /** The provider (`openai`): its breaker and its limits. */
  provider: string;
  /** The model (`gpt-4o`): the limits of `provider:model` apply too. */
  model?: string;
  /** Tokens the call is expected to use, for token rates. */
  tokens?: number;
  /** The tokens the call really used, read from its result, to correct token rates. */
  usedTokens?: (result: RESULT) => number | undefined;
  /** Which failures count against the breaker (default: all). */
  counts?: (error: unknown) => boolean;
  maxWaitMs?: number;
  signal?: AbortSignal;
}

/**
 * Makes `call` under shared limits: refused with a transient `CIRCUIT_OPEN` while the provider's
 * breaker is open (or half-open and another process probes), then waits for the provider's and
 * the model's slots and rate budget, and reports the outcome to the breaker. Leases are released
 * however the call ends. This is the one place the model call path needs to call.
 *
 * @example
 * ```ts
 * const response = await callWithSharedLimits(
 *   limits,
 *   { provider: 'openai', model: 'gpt-4o', tokens: 1200, usedTokens: (r) => r.usage.totalTokens },
 *   () => model.doGenerate(options),
 * );
 * ```
 */
export async function callWithSharedLimits<RESULT>(
  limits: SharedLimits,
  options: SharedCallOptions<RESULT>,
  call: () => Promise<RESULT>,
): Promise<RESULT> {
  const breaker = limits.breaker(options.provider);
  const verdict = await breaker.allow();
  if (!verdict.allowed)
    throw Object.assign(
      new BatonError(
        `Circuit breaker for provider "${options.provider}" is ${verdict.state} (shared by every process through Redis)${verdict.state === 'half-open' ? ' and another process is probing it' : ' after repeated failures'}; the call was not made.`,
        { code: 'CIRCUIT_OPEN', fault: 'provider' },
      ),
      {
        errorClass: 'transient' as const,
        retryAfterMs: verdict.retryAfterMs ?? 1000,
        /** The shared breaker's state that refused the call. */
        breakerState: verdict.state,
      },
    );
  const acquire = { tokens: options.tokens, maxWaitMs: options.maxWaitMs, signal: options.signal };
  const leases: SharedLease[] = [];
  let result: RESULT | undefined;
  let outcome: 'success' | 'failure' | undefined;
  try {
    leases.push(await limits.acquire(options.provider, definedOnly(acquire)));
    if (options.model !== undefined)
      leases.push(await limits.acquire(`${options.provider}:${options.model}`, definedOnly(acquire)));
    try {
      result = await call();
      outcome = 'success';
    } catch (error) {
      if (options.counts?.(error) ?? true) outcome = 'failure';
      throw error;
    }
    return result;
  } finally {
    const used = outcome === 'success' ? options.usedTokens?.(result as RESULT) : undefined;
    await Promise.all([
      ...leases.map((lease) => lease.release(used === undefined ? {} : { tokens: used })),
      outcome === 'success' ? breaker.success() : outcome === 'failure' ? breaker.failure() : undefined,
    ]);
  }
}

function definedOnly(options: {
  tokens: number | undefined;
  maxWaitMs: number | undefined;
  signal: AbortSignal | undefined;
}): SharedAcquireOptions {
  const out: SharedAcquireOptions = {};
  if (options.tokens !== undefined) out.tokens = options.tokens;
  if (options.maxWaitMs !== undefined) out.maxWaitMs = options.maxWaitMs;
  if (options.signal !== undefined) out.signal = options.signal;
  return out;
}

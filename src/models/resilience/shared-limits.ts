/** SharedLimits: the contract of limits that hold across processes (concurrency caps, request and token rates, circuit breakers), for the model call path to call. */

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

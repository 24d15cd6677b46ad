/** The retry options shared by agents, tools and `configureResilience`, and their definition-time check. */

import { ConfigError } from './errors.js';

/** Retry policy of model calls (per agent) or tools: total attempts and exponential backoff with jitter. */
export interface RetryOptions {
  /** Attempts in all, including the first call. Default 3 for models and idempotent tools, 1 for other tools. */
  maxAttempts?: number;
  /** First backoff delay; later ones grow exponentially with decorrelated jitter. Default 250 ms. */
  initialDelayMs?: number;
  /** Cap on a computed backoff delay. Default 10 s. */
  maxDelayMs?: number;
  /** Cap on a provider's `retry-after` that is honoured. Default 60 s. */
  maxRetryAfterMs?: number;
}

/** Checks a retry option; `where` names it in the error (e.g. `agent("a"): retry`). */
export function checkRetry(where: string, retry: RetryOptions | undefined): void {
  if (retry === undefined) return;
  if (retry.maxAttempts !== undefined && !(Number.isInteger(retry.maxAttempts) && retry.maxAttempts >= 1))
    throw new ConfigError(`${where}.maxAttempts must be an integer >= 1, got ${String(retry.maxAttempts)}.`);
  for (const field of ['initialDelayMs', 'maxDelayMs', 'maxRetryAfterMs'] as const) {
    const value = retry[field];
    if (value !== undefined && !(typeof value === 'number' && value >= 0))
      throw new ConfigError(`${where}.${field} must be a number >= 0, got ${String(value)}.`);
  }
}

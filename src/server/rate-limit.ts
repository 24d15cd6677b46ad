/** Per-key request limits of the HTTP API: a token bucket per key, in this server process. */

/** What one request's check answers. */
export interface RateVerdict {
  allowed: boolean;
  /** Whole requests left in the bucket after this one. */
  remaining: number;
  /** When refused: how long until one request is allowed again. */
  retryAfterMs: number;
}

/** Token buckets by key id. */
export interface RateLimiter {
  /** Takes one request from `id`'s bucket of `perMinute` (full at first, refilled evenly over a minute). */
  take(id: string, perMinute: number, now?: number): RateVerdict;
}

/**
 * Token buckets that allow bursts up to the per-minute limit and refill continuously, so a key
 * at its limit gets one request every `60 000 / perMinute` ms. Held in this process: several
 * servers behind a load balancer each allow the limit.
 *
 * @example
 * ```ts
 * const limiter = createRateLimiter();
 * limiter.take('key_1', 60).allowed; // true, 59 remaining
 * ```
 */
export function createRateLimiter(): RateLimiter {
  const buckets = new Map<string, { tokens: number; at: number; perMinute: number }>();
  return {
    take(id, perMinute, now = Date.now()) {
      let bucket = buckets.get(id);
      if (bucket === undefined || bucket.perMinute !== perMinute) {
        bucket = { tokens: perMinute, at: now, perMinute };
        buckets.set(id, bucket);
      }
      const perMs = perMinute / 60_000;
      bucket.tokens = Math.min(perMinute, bucket.tokens + (now - bucket.at) * perMs);
      bucket.at = now;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true, remaining: Math.floor(bucket.tokens), retryAfterMs: 0 };
      }
      return { allowed: false, remaining: 0, retryAfterMs: Math.ceil((1 - bucket.tokens) / perMs) };
    },
  };
}

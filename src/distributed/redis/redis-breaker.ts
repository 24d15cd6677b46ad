/** A circuit breaker whose state lives in Redis keys with TTLs, shared by every process; the half-open probe goes to one process (SET NX PX). */

import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { BreakerVerdict, SharedBreaker } from '../../models/resilience/shared-limits.js';

/** Settings of one shared breaker. */
export interface RedisBreakerSettings {
  threshold: number;
  halfOpenAfterMs: number;
  /** How long the process that won the half-open probe has before another may probe. */
  probeTimeoutMs: number;
  /** Failures older than this (with no success since) are forgotten. */
  forgetAfterMs: number;
}

/**
 * The breaker of `key`. Three keys: `failures` (consecutive failures, expiring `forgetAfterMs`
 * after the last), `open` (present while open: it expires `halfOpenAfterMs` after opening, so no
 * process's clock is read) and `probe` (the half-open probe, taken with `SET NX PX`). Open: `open`
 * exists. Half-open: no `open` but `failures` at the threshold. Closed: otherwise.
 */
export function redisBreaker(client: Redis, key: string, settings: RedisBreakerSettings): SharedBreaker {
  const failures = `${key}:failures`;
  const open = `${key}:open`;
  const probe = `${key}:probe`;
  // Failures must outlive the open period and a probe, or a breaker would close without one.
  const forgetMs = Math.max(
    settings.forgetAfterMs,
    settings.halfOpenAfterMs + settings.probeTimeoutMs + 1000,
  );
  const token = randomUUID();

  async function look(): Promise<{ openMs: number; count: number }> {
    const replies = await client.multi().pttl(open).get(failures).exec();
    const openMs = Number(replies?.[0]?.[1] ?? -2);
    const count = Number(replies?.[1]?.[1] ?? 0);
    return { openMs, count };
  }

  return {
    async allow(): Promise<BreakerVerdict> {
      const { openMs, count } = await look();
      if (openMs > 0 || openMs === -1)
        return { allowed: false, state: 'open', probe: false, retryAfterMs: Math.max(openMs, 0) };
      if (count < settings.threshold) return { allowed: true, state: 'closed', probe: false };
      const won = await client.set(probe, token, 'PX', settings.probeTimeoutMs, 'NX');
      return { allowed: won === 'OK', state: 'half-open', probe: won === 'OK' };
    },
    async success() {
      await client.del(failures, probe);
    },
    async failure() {
      const replies = await client.multi().incr(failures).pexpire(failures, forgetMs).exec();
      const count = Number(replies?.[0]?.[1] ?? 0);
      if (count >= settings.threshold)
        await client.multi().set(open, '1', 'PX', settings.halfOpenAfterMs).del(probe).exec();
    },
    async state() {
      const { openMs, count } = await look();
      if (openMs > 0 || openMs === -1) return 'open';
      return count >= settings.threshold ? 'half-open' : 'closed';
    },
  };
}

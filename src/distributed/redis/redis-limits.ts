/** createRedisLimits: concurrency caps (redis-semaphore), request and token rates (rate-limiter-flexible) and circuit breakers shared by every process through Redis. */

import { BatonError, ConfigError } from '../../core/errors.js';
import type { BreakerOptions } from '../../models/resilience/registry.js';
import type {
  SharedBreaker,
  SharedLease,
  SharedLimit,
  SharedLimits,
} from '../../models/resilience/shared-limits.js';
import { redisBreaker } from './redis-breaker.js';
import { definedOnly } from './redis-event-bus.js';
import {
  closeConnection,
  connect,
  loadRateLimiter,
  loadSemaphore,
  type RedisSource,
} from './redis-packages.js';

/** Options of `createRedisLimits`. */
export interface RedisLimitsOptions {
  /** A `redis://` URL (opened and closed by Baton) or an ioredis client you own. */
  redis: RedisSource;
  /** Prefix of every key. Default `baton:`. */
  prefix?: string;
  /** Limits by key: a provider (`openai`) or a model (`openai:gpt-4o`). Keys not listed are not limited. */
  limits?: Record<string, SharedLimit>;
  /** Breaker settings of keys without their own. Defaults as in-process: threshold 10, half-open after 30 s. */
  breaker?: RedisBreakerOptions;
  /**
   * A held slot expires this long after its last refresh (refreshed every third of it while held),
   * so the slots of a process that died come back within this time. Default 10 s.
   */
  lockTimeoutMs?: number;
  /** Longest wait in `acquire` for a slot and rate budget. Default 60 s. */
  maxWaitMs?: number;
  /** How often a waiting process asks again for a concurrency slot. Default 20 ms. */
  retryIntervalMs?: number;
  /** Told when a held slot's lock expired before it was released (the process stalled past `lockTimeoutMs`); default: a line on stderr. */
  onLockLost?: (key: string, error: Error) => void;
}

/** A shared breaker's settings. */
export interface RedisBreakerOptions extends BreakerOptions {
  /** How long the process holding the half-open probe has before another may probe. Default 60 s. */
  probeTimeoutMs?: number;
  /** Consecutive failures are forgotten this long after the last one. Default 10 min. */
  forgetAfterMs?: number;
}

/** Limits shared through Redis; see `createRedisLimits`. */
export interface RedisLimits extends SharedLimits {
  /** Slots of `key` held now, across every process. */
  inFlight(key: string): Promise<number>;
}

const defaults = {
  prefix: 'baton:',
  lockTimeoutMs: 10_000,
  maxWaitMs: 60_000,
  retryIntervalMs: 20,
} satisfies Partial<RedisLimitsOptions>;

const noLease: SharedLease = { release: async () => undefined };

/** A rate limiter as used here: the part of rate-limiter-flexible's RateLimiterRedis Baton calls. */
interface RateLimiter {
  points: number;
  consume(key: string, points: number): Promise<unknown>;
  penalty(key: string, points: number): Promise<unknown>;
  reward(key: string, points: number): Promise<unknown>;
}

/** A held concurrency slot: redis-semaphore's Semaphore. */
interface Slot {
  acquire(signal?: AbortSignal): Promise<void>;
  release(): Promise<void>;
}

/**
 * Limits that hold across processes and machines, through one Redis. `acquire(key)` waits (up to
 * `maxWaitMs`) for rate budget (rate-limiter-flexible's `RateLimiterRedis`: fixed windows of
 * `intervalMs`) and then for a concurrency slot (redis-semaphore's `Semaphore`: a slot is a lock
 * with a timeout, refreshed while held, so a killed process's slots come back after
 * `lockTimeoutMs`); past the wait it fails with `LIMIT_TIMEOUT`, a transient error that says when
 * to retry. `breaker(key)` is a circuit breaker whose state every process shares.
 *
 * @example
 * ```ts
 * const limits = await createRedisLimits({
 *   redis: 'redis://127.0.0.1:6379',
 *   limits: { openai: { maxConcurrent: 8, requests: 500, tokens: 200_000, intervalMs: 60_000 } },
 * });
 * const lease = await limits.acquire('openai', { tokens: 1200 });
 * try { await callTheModel(); } finally { await lease.release({ tokens: 1350 }); }
 * ```
 */
export async function createRedisLimits(options: RedisLimitsOptions): Promise<RedisLimits> {
  const where = 'createRedisLimits';
  if (typeof options !== 'object' || options === null)
    throw new ConfigError(
      `${where}: pass { redis: 'redis://host:6379', limits: { openai: { maxConcurrent: 8 } } }.`,
    );
  const settings = { ...defaults, ...definedOnly(options) };
  const limits = options.limits ?? {};
  checkLimits(where, limits, settings.lockTimeoutMs);
  const needsRate = Object.values(limits).some(
    (limit) => limit.requests !== undefined || limit.tokens !== undefined,
  );
  const needsCap = Object.values(limits).some((limit) => limit.maxConcurrent !== undefined);
  // Packages are loaded only for the limits configured, so a missing one is reported at once.
  const semaphores = needsCap ? await loadSemaphore() : undefined;
  const rates = needsRate ? await loadRateLimiter() : undefined;
  const connection = await connect(options.redis, where);
  const { client } = connection;
  const prefix = settings.prefix;
  const limiters = new Map<string, RateLimiter>();
  const breakers = new Map<string, SharedBreaker>();
  const held = new Set<Slot>();
  const lockLost =
    options.onLockLost ??
    ((key: string, error: Error) =>
      process.stderr.write(
        `baton: ${where}: a concurrency slot of "${key}" expired while held: ${error.message}\n`,
      ));
  let closed = false;

  function limiter(
    kind: 'requests' | 'tokens',
    key: string,
    points: number,
    intervalMs: number,
  ): RateLimiter {
    const id = `${kind}:${key}`;
    let found = limiters.get(id);
    if (found === undefined) {
      found = new rates!.RateLimiterRedis({
        storeClient: client,
        keyPrefix: `${prefix}rate:${kind}`,
        points,
        duration: intervalMs / 1000,
      }) as unknown as RateLimiter;
      limiters.set(id, found);
    }
    return found;
  }

  /** Consumes `points` of `key`, waiting for the next window while the current one is spent. */
  async function consume(
    rate: RateLimiter,
    kind: string,
    key: string,
    points: number,
    deadline: number,
    started: number,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (;;) {
      let rejection: unknown;
      try {
        await rate.consume(key, points);
        return;
      } catch (caught) {
        rejection = caught;
      }
      if (!(rejection instanceof rates!.RateLimiterRes)) throw rejection;
      // A refused consume still counted its points: give them back, so a big refused call does not
      // starve smaller ones for the rest of the window.
      await rate.reward(key, points);
      // Waiters of one window spread over 25 ms rather than all asking at its first instant.
      const waitMs = rejection.msBeforeNext + Math.floor(Math.random() * 25);
      if (Date.now() + waitMs > deadline)
        throw limitTimeout(key, `${kind} rate budget`, Date.now() - started, rejection.msBeforeNext);
      await sleep(waitMs, signal);
    }
  }

  async function acquire(
    key: string,
    acquireOptions: { tokens?: number; maxWaitMs?: number; signal?: AbortSignal } = {},
  ): Promise<SharedLease> {
    if (closed) throw new ConfigError(`${where}: the limits are closed.`);
    const limit = limits[key];
    if (limit === undefined) return noLease;
    const started = Date.now();
    const deadline = started + (acquireOptions.maxWaitMs ?? settings.maxWaitMs);
    const { signal } = acquireOptions;
    const intervalMs = limit.intervalMs ?? 60_000;
    const estimate = Math.ceil(acquireOptions.tokens ?? 0);
    const tokenRate =
      limit.tokens === undefined ? undefined : limiter('tokens', key, limit.tokens, intervalMs);
    if (tokenRate !== undefined && estimate > tokenRate.points)
      throw new ConfigError(
        `${where}: a call to "${key}" expects ${estimate} tokens, more than its whole token rate (${tokenRate.points} per ${intervalMs} ms); it could never be made. Raise limits["${key}"].tokens.`,
      );
    // Both rates at once (one round trip when both have budget).
    const rates: Array<Promise<void>> = [];
    if (limit.requests !== undefined) {
      const requestRate = limiter('requests', key, limit.requests, intervalMs);
      rates.push(consume(requestRate, 'request', key, 1, deadline, started, signal));
    }
    if (tokenRate !== undefined && estimate > 0)
      rates.push(consume(tokenRate, 'token', key, estimate, deadline, started, signal));
    if (rates.length === 1) await rates[0];
    else if (rates.length > 1) {
      const outcomes = await Promise.allSettled(rates);
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed !== undefined) {
        // The token budget taken for a call that is not made goes back.
        if (outcomes[1]?.status === 'fulfilled')
          await tokenRate?.reward(key, estimate).catch(() => undefined);
        throw failed.reason;
      }
    }
    let slot: Slot | undefined;
    if (limit.maxConcurrent !== undefined) {
      const lockTimeout = settings.lockTimeoutMs;
      slot = new semaphores!.Semaphore(client, `${prefix}cap:${key}`, limit.maxConcurrent, {
        lockTimeout,
        acquireTimeout: Math.max(1, deadline - Date.now()),
        retryInterval: settings.retryIntervalMs,
        refreshInterval: Math.round(lockTimeout / 3),
        onLockLost: (error) => lockLost(key, error),
      });
      try {
        await slot.acquire(signal);
      } catch (error) {
        if (tokenRate !== undefined && estimate > 0)
          await tokenRate.reward(key, estimate).catch(() => undefined);
        if (error instanceof semaphores!.TimeoutError)
          throw limitTimeout(key, 'a concurrency slot', Date.now() - started, settings.retryIntervalMs);
        throw error;
      }
      held.add(slot);
    }
    let released = false;
    return {
      async release(used = {}) {
        if (released) return;
        released = true;
        const pending: Array<Promise<unknown>> = [];
        if (slot !== undefined) {
          held.delete(slot);
          pending.push(slot.release());
        }
        const actual = used.tokens === undefined ? undefined : Math.ceil(used.tokens);
        if (tokenRate !== undefined && actual !== undefined && actual !== estimate)
          pending.push(
            actual > estimate
              ? tokenRate.penalty(key, actual - estimate)
              : tokenRate.reward(key, estimate - actual),
          );
        await Promise.all(pending);
      },
    };
  }

  function breaker(key: string): SharedBreaker {
    let found = breakers.get(key);
    if (found === undefined) {
      const own = limits[key]?.breaker;
      found =
        own === false
          ? alwaysClosed
          : redisBreaker(client, `${prefix}breaker:${key}`, {
              threshold: own?.threshold ?? options.breaker?.threshold ?? 10,
              halfOpenAfterMs: own?.halfOpenAfterMs ?? options.breaker?.halfOpenAfterMs ?? 30_000,
              probeTimeoutMs: options.breaker?.probeTimeoutMs ?? 60_000,
              forgetAfterMs: options.breaker?.forgetAfterMs ?? 600_000,
            });
      breakers.set(key, found);
    }
    return found;
  }

  return {
    acquire,
    breaker,
    async inFlight(key) {
      // The semaphore's sorted set (redis-semaphore puts `semaphore:` before the key it is given):
      // a member per slot, scored by its last refresh.
      const slotKey = `semaphore:${prefix}cap:${key}`;
      const replies = await client
        .multi()
        .zremrangebyscore(slotKey, '-inf', Date.now() - settings.lockTimeoutMs)
        .zcard(slotKey)
        .exec();
      return Number(replies?.[1]?.[1] ?? 0);
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.allSettled([...held].map((slot) => slot.release()));
      held.clear();
      if (connection.owned) await closeConnection(client);
    },
  };
}

const alwaysClosed: SharedBreaker = {
  allow: async () => ({ allowed: true, state: 'closed', probe: false }),
  success: async () => undefined,
  failure: async () => undefined,
  state: async () => 'closed',
};

/** A transient error: the wait for a slot or rate budget ran out; the call was not made. */
function limitTimeout(key: string, what: string, waitedMs: number, retryAfterMs: number): BatonError {
  return Object.assign(
    new BatonError(
      `Waited ${waitedMs} ms for ${what} of "${key}" (a limit shared through Redis) without getting it; the call was not made. It can be retried after about ${retryAfterMs} ms; or raise maxWaitMs or the limit.`,
      { code: 'LIMIT_TIMEOUT', fault: 'system' },
    ),
    { errorClass: 'transient' as const, retryAfterMs },
  );
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts first. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function checkLimits(where: string, limits: Record<string, SharedLimit>, lockTimeoutMs: number): void {
  const positive = (field: string, value: unknown) => {
    if (value !== undefined && !(typeof value === 'number' && Number.isInteger(value) && value >= 1))
      throw new ConfigError(`${where}: ${field} must be a whole number >= 1, got ${String(value)}.`);
  };
  for (const [key, limit] of Object.entries(limits)) {
    if (typeof limit !== 'object' || limit === null)
      throw new ConfigError(
        `${where}: limits["${key}"] must be { maxConcurrent?, requests?, tokens?, intervalMs? }.`,
      );
    positive(`limits["${key}"].maxConcurrent`, limit.maxConcurrent);
    positive(`limits["${key}"].requests`, limit.requests);
    positive(`limits["${key}"].tokens`, limit.tokens);
    if (
      limit.intervalMs !== undefined &&
      !(Number.isInteger(limit.intervalMs / 1000) && limit.intervalMs >= 1000)
    )
      throw new ConfigError(
        `${where}: limits["${key}"].intervalMs must be whole seconds (1000, 60000, ...), got ${String(limit.intervalMs)}; the rate windows are kept in seconds.`,
      );
  }
  positive('lockTimeoutMs', lockTimeoutMs);
}

/** Limits shared through the real local Redis by several worker processes: a concurrency cap, a slot coming back from a killed process, a request rate, a breaker. */

import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisLimits, type RedisLimits } from '../../src/distributed/redis/index.js';
import { BatonError } from '../../src/index.js';
import {
  exitOf,
  kill,
  killStarted,
  startWorker,
  type WorkerProcess,
  waitForLine,
} from '../crash/crash-harness.js';
import { dropKeys, redisUrl, requireRedis, sleep, testPrefix } from './redis-test-kit.js';

const prefix = testPrefix('limits');
const script = join(import.meta.dirname, 'cap-worker.ts');
let client: Redis;

beforeAll(async () => {
  client = await requireRedis();
});

afterAll(async () => {
  // Worker processes a failed test left running.
  await killStarted();
  if (client !== undefined) {
    await dropKeys(client, prefix);
    // redis-semaphore puts `semaphore:` before the keys it is given.
    await dropKeys(client, `semaphore:${prefix}`);
    client.disconnect();
  }
});

/** Starts worker processes and waits until each has connected. */
async function workers(count: number, args: readonly string[]): Promise<WorkerProcess[]> {
  const started = Array.from({ length: count }, () => startWorker(script, [redisUrl, ...args], ''));
  await Promise.all(started.map((worker) => waitForLine(worker, 'READY')));
  return started;
}

/** The most intervals open at one instant. */
function maxOverlap(intervals: ReadonlyArray<{ start: number; end: number }>): number {
  const points = intervals.flatMap(({ start, end }) => [
    [start, 1],
    [end, -1],
  ]);
  // An end and a start at the same millisecond: the end first (the slot was released before it was taken).
  points.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let open = 0;
  let most = 0;
  for (const [, change] of points) {
    open += change!;
    most = Math.max(most, open);
  }
  return most;
}

describe('createRedisLimits across processes', () => {
  it('never lets more than N calls of 3 worker processes run at once, and reaches N', async () => {
    const cap = 4;
    const own = `${prefix}cap:`;
    const started = await workers(3, [own, 'calls', '20', String(cap), '2000']);
    await Promise.all(started.map((worker) => waitForLine(worker, 'DONE', 30_000)));
    await Promise.all(started.map(exitOf));
    const calls = (await client.lrange(`${own}calls`, 0, -1)).map(
      (line) => JSON.parse(line) as { pid: number; holders: number; start: number; end: number },
    );
    expect(calls).toHaveLength(60);
    expect(new Set(calls.map((call) => call.pid)).size).toBe(3);
    const holders = Math.max(...calls.map((call) => call.holders));
    expect(holders).toBeLessThanOrEqual(cap);
    expect(holders).toBe(cap);
    expect(maxOverlap(calls)).toBeLessThanOrEqual(cap);
    expect(maxOverlap(calls)).toBe(cap);
    // 60 calls of 50 ms through 4 slots take at least 15 rounds.
    const wall = Math.max(...calls.map((call) => call.end)) - Math.min(...calls.map((call) => call.start));
    expect(wall).toBeGreaterThanOrEqual(14 * 50);
  });

  it('gives back the slots of a process killed with SIGKILL after the lock timeout, not before', async () => {
    const cap = 4;
    const lockTimeoutMs = 1500;
    const own = `${prefix}kill:`;
    const [hog] = await workers(1, [own, 'hog', String(cap), String(cap), String(lockTimeoutMs)]);
    await waitForLine(hog!, 'HELD');
    const limits = await createRedisLimits({
      redis: client,
      prefix: own,
      limits: { stub: { maxConcurrent: cap } },
      lockTimeoutMs,
      retryIntervalMs: 5,
    });
    // Held past its lock timeout: the living process refreshes its slots.
    await sleep(lockTimeoutMs + 300);
    expect(await limits.inFlight('stub')).toBe(cap);
    const refused = await limits.acquire('stub', { maxWaitMs: 200 }).catch((error: unknown) => error);
    expect(BatonError.isInstance(refused) && refused.code).toBe('LIMIT_TIMEOUT');
    expect(refused).toMatchObject({ errorClass: 'transient' });

    await kill(hog!);
    const killedAt = Date.now();
    const lease = await limits.acquire('stub', { maxWaitMs: 10_000 });
    const waited = Date.now() - killedAt;
    // The last refresh was at most a third of the timeout before the kill.
    expect(waited).toBeGreaterThanOrEqual((lockTimeoutMs * 2) / 3 - 50);
    expect(waited).toBeLessThanOrEqual(lockTimeoutMs + 500);
    // The dead process's other slots expire too (their refreshes were a few ms apart): only ours is left.
    await expect.poll(() => limits.inFlight('stub'), { timeout: lockTimeoutMs }).toBe(1);
    await lease.release();
    expect(await limits.inFlight('stub')).toBe(0);
    await limits.close();
  });

  it('holds a request rate of 10 per second across 2 processes, waiting rather than failing', async () => {
    const own = `${prefix}rate:`;
    const started = await workers(2, [own, 'rate', '15', '1', '2000']);
    await Promise.all(started.map((worker) => waitForLine(worker, 'DONE', 30_000)));
    await Promise.all(started.map(exitOf));
    const times = (await client.lrange(`${own}rated`, 0, -1)).map(Number).sort((a, b) => a - b);
    expect(times).toHaveLength(30);
    // Fixed windows of 1 s hold at most 10 each: any 21 calls in a row span more than one second.
    for (let index = 0; index + 20 < times.length; index++)
      expect(times[index + 20]! - times[index]!).toBeGreaterThanOrEqual(1000 - 30);
    // 30 calls need 3 windows; waiting for the next one (not failing) finishes within about 3 s.
    const wall = times.at(-1)! - times[0]!;
    expect(wall).toBeGreaterThanOrEqual(2000 - 30);
    expect(wall).toBeLessThan(3500);
  });
});

describe('createRedisLimits', () => {
  let limits: RedisLimits;
  let other: RedisLimits;
  beforeAll(async () => {
    const options = {
      prefix: `${prefix}unit:`,
      limits: { slow: { requests: 1, intervalMs: 1000 }, metered: { tokens: 100, intervalMs: 60_000 } },
      breaker: { threshold: 3, halfOpenAfterMs: 300, probeTimeoutMs: 2000 },
    };
    limits = await createRedisLimits({ redis: redisUrl, ...options });
    other = await createRedisLimits({ redis: redisUrl, ...options });
  });
  afterAll(async () => {
    await limits?.close();
    await other?.close();
  });

  it('fails with a retryable LIMIT_TIMEOUT that says when to retry once the wait would pass maxWaitMs', async () => {
    await limits.acquire('slow');
    const error = (await other
      .acquire('slow', { maxWaitMs: 100 })
      .catch((caught: unknown) => caught)) as BatonError & {
      retryAfterMs: number;
      errorClass: string;
    };
    expect(error.code).toBe('LIMIT_TIMEOUT');
    expect(error.errorClass).toBe('transient');
    expect(error.retryAfterMs).toBeGreaterThan(500);
    expect(error.message).toContain('"slow"');
    // Keys without limits are granted at once.
    await (await limits.acquire('unlisted')).release();
  });

  it('corrects the token rate by what a call really used', async () => {
    const lease = await limits.acquire('metered', { tokens: 60 });
    await lease.release({ tokens: 20 });
    // 20 used: 80 are left, for this process and the other.
    await (await other.acquire('metered', { tokens: 80 })).release({ tokens: 80 });
    const refused = await limits
      .acquire('metered', { tokens: 1, maxWaitMs: 50 })
      .catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: 'LIMIT_TIMEOUT' });
    await expect(limits.acquire('metered', { tokens: 101 })).rejects.toThrow(
      /more than its whole token rate/,
    );
  });

  it('shares breaker state: failures from two processes open it, one process probes when it half-opens', async () => {
    const mine = limits.breaker('flaky');
    const theirs = other.breaker('flaky');
    await mine.failure();
    await theirs.failure();
    expect(await theirs.state()).toBe('closed');
    await mine.failure();
    expect(await theirs.allow()).toMatchObject({ allowed: false, state: 'open' });
    await sleep(350);
    const verdicts = await Promise.all([mine.allow(), theirs.allow(), mine.allow(), theirs.allow()]);
    expect(verdicts.filter((verdict) => verdict.probe)).toHaveLength(1);
    expect(verdicts.every((verdict) => verdict.state === 'half-open')).toBe(true);
    // The probe fails: open again; after the next wait a probe succeeds and it closes for everyone.
    await theirs.failure();
    expect(await mine.state()).toBe('open');
    await sleep(350);
    const probe = await mine.allow();
    expect(probe).toMatchObject({ allowed: true, probe: true });
    await mine.success();
    expect(await theirs.allow()).toMatchObject({ allowed: true, state: 'closed' });
  });
});

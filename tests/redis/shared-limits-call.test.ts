/** callWithSharedLimits over the Redis limits: a breaker opened by one process refuses the call in another, leases come back however a call ends, tokens are corrected. */

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callWithSharedLimits,
  createRedisLimits,
  type RedisLimits,
} from '../../src/distributed/redis/index.js';
import { dropKeys, redisUrl, requireRedis, sleep, testPrefix } from './redis-test-kit.js';

const prefix = testPrefix('shared-call');
let client: Redis;
let one: RedisLimits;
let two: RedisLimits;

beforeAll(async () => {
  client = await requireRedis();
  const options = {
    redis: redisUrl,
    prefix,
    limits: {
      stub: { maxConcurrent: 2, tokens: 1000, intervalMs: 60_000 },
      'stub:small': { maxConcurrent: 1 },
    },
    breaker: { threshold: 2, halfOpenAfterMs: 300 },
  };
  one = await createRedisLimits(options);
  two = await createRedisLimits(options);
});

afterAll(async () => {
  await one?.close();
  await two?.close();
  if (client !== undefined) {
    await dropKeys(client, prefix);
    await dropKeys(client, `semaphore:${prefix}`);
    client.disconnect();
  }
});

describe('callWithSharedLimits', () => {
  it('holds the provider and model slots during the call and gives them back after a success or a failure', async () => {
    let during: number[] = [];
    const result = await callWithSharedLimits(
      one,
      { provider: 'stub', model: 'small', tokens: 100, usedTokens: (text: string) => text.length },
      async () => {
        during = [await one.inFlight('stub'), await two.inFlight('stub:small')];
        return 'x'.repeat(300);
      },
    );
    expect(result).toHaveLength(300);
    expect(during).toEqual([1, 1]);
    expect([await one.inFlight('stub'), await one.inFlight('stub:small')]).toEqual([0, 0]);
    // 300 tokens used (not the 100 estimated): 700 are left in the window.
    await expect(two.acquire('stub', { tokens: 701, maxWaitMs: 50 })).rejects.toMatchObject({
      code: 'LIMIT_TIMEOUT',
    });
    await (await two.acquire('stub', { tokens: 700 })).release({ tokens: 700 });

    const failing = callWithSharedLimits(one, { provider: 'stub', model: 'small' }, async () => {
      throw new Error('provider down');
    });
    await expect(failing).rejects.toThrow('provider down');
    expect([await one.inFlight('stub'), await one.inFlight('stub:small')]).toEqual([0, 0]);
    await one.breaker('stub').success();
  });

  it('refuses the call, without making it, in a process other than the one whose failures opened the breaker', async () => {
    const fail = async () => {
      throw new Error('503');
    };
    await expect(callWithSharedLimits(one, { provider: 'stub' }, fail)).rejects.toThrow('503');
    await expect(callWithSharedLimits(one, { provider: 'stub' }, fail)).rejects.toThrow('503');
    let made = 0;
    const refused = await callWithSharedLimits(two, { provider: 'stub' }, async () => ++made).catch(
      (error: unknown) => error,
    );
    expect(made).toBe(0);
    expect(refused).toMatchObject({ code: 'CIRCUIT_OPEN', errorClass: 'transient' });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(0);
    // Failures that do not count leave it alone; after the cool-down one probe closes it again.
    await sleep(350);
    expect(await callWithSharedLimits(two, { provider: 'stub' }, async () => ++made)).toBe(1);
    expect(await one.breaker('stub').state()).toBe('closed');
    await expect(callWithSharedLimits(one, { provider: 'stub', counts: () => false }, fail)).rejects.toThrow(
      '503',
    );
    await expect(callWithSharedLimits(one, { provider: 'stub', counts: () => false }, fail)).rejects.toThrow(
      '503',
    );
    expect(await two.breaker('stub').state()).toBe('closed');
  });
});

/** What the Redis tests share: the local server (required: a test fails, never skips, without it), a unique key prefix per test file, and cleanup. */

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

/** The server the tests use: `BATON_TEST_REDIS`, else the local one. */
export const redisUrl = process.env.BATON_TEST_REDIS ?? 'redis://127.0.0.1:6379';

/** A prefix no other test file (or run of this one) uses. */
export function testPrefix(file: string): string {
  return `baton-test:${file}:${process.pid}:${randomUUID().slice(0, 8)}:`;
}

/** A client of the test server; fails with a clear message when no server answers. */
export async function requireRedis(): Promise<Redis> {
  const client = new Redis(redisUrl, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    client.disconnect();
    throw new Error(
      `These tests need a Redis server at ${redisUrl} (set BATON_TEST_REDIS to use another): ${String(error)}`,
    );
  }
  return client;
}

/** Deletes every key that starts with `prefix`; resolves with how many there were. */
export async function dropKeys(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) count += await client.unlink(...keys);
  } while (cursor !== '0');
  return count;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

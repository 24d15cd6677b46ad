/**
 * A worker process of the shared-limits tests. `calls <n>`: makes n calls at once, each holding a slot of
 * the key `stub` for 50 ms, and logs when it holds one. `hog <n>`: takes n slots, says HELD, never lets go.
 * `rate <n>`: makes n calls through a request rate, logging when each was let through.
 */

import { createRedisLimits } from '../../src/distributed/redis/index.js';

const [url, prefix, mode, countText, capText, lockTimeoutText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const count = Number(countText);
const limits = await createRedisLimits({
  redis: url,
  prefix,
  limits: { stub: { maxConcurrent: Number(capText) }, rated: { requests: 10, intervalMs: 1000 } },
  lockTimeoutMs: Number(lockTimeoutText),
  retryIntervalMs: 5,
  maxWaitMs: 60_000,
});
const { Redis } = await import('ioredis');
const log = new Redis(url);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
process.stdout.write('READY\n');

if (mode === 'calls') {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const lease = await limits.acquire('stub');
      // Holders right now, counted while this call holds its slot: never more than the cap.
      const holders = await log.incr(`${prefix}holders`);
      const start = Date.now();
      await sleep(50);
      const end = Date.now();
      await log.decr(`${prefix}holders`);
      await lease.release();
      await log.rpush(`${prefix}calls`, JSON.stringify({ pid: process.pid, holders, start, end }));
    }),
  );
  process.stdout.write('DONE\n');
} else if (mode === 'hog') {
  for (let index = 0; index < count; index++) await limits.acquire('stub');
  process.stdout.write('HELD\n');
  await new Promise(() => undefined);
} else if (mode === 'rate') {
  await Promise.all(
    Array.from({ length: count }, async () => {
      await limits.acquire('rated');
      await log.rpush(`${prefix}rated`, String(Date.now()));
    }),
  );
  process.stdout.write('DONE\n');
}
await limits.close();
log.disconnect();

// Overhead of the limits and events shared through Redis, against a plain INCR round trip, in one run.
//
// Usage: npm run build && node bench/redis-overhead.mjs [redis://127.0.0.1:6379]
// Rounds interleave the cases so load on the machine affects them alike; the median per case is reported.

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createRedisEventBus, createRedisLimits } from '../dist/distributed/redis/index.js';

const url = process.argv[2] ?? 'redis://127.0.0.1:6379';
const prefix = `baton-bench:${randomUUID().slice(0, 8)}:`;
const client = new Redis(url);
const limits = await createRedisLimits({
  redis: client,
  prefix,
  limits: {
    capped: { maxConcurrent: 8 },
    rated: { requests: 1_000_000_000, intervalMs: 60_000 },
    both: { maxConcurrent: 8, requests: 1_000_000_000, tokens: 1_000_000_000, intervalMs: 60_000 },
  },
});
const bus = await createRedisEventBus({ redis: client, prefix });
const breaker = limits.breaker('provider');
const event = {
  type: 'step-start',
  runId: 'bench',
  at: Date.now(),
  key: '0/model#1',
  name: 'model',
  kind: 'step',
};

const cases = {
  'INCR round trip': async () => {
    await client.incr(`${prefix}counter`);
  },
  'acquire+release: cap (redis-semaphore)': async () => {
    await (await limits.acquire('capped')).release();
  },
  'acquire+release: request rate (rate-limiter-flexible)': async () => {
    await (await limits.acquire('rated')).release();
  },
  'acquire+release: cap + request rate + token rate': async () => {
    await (await limits.acquire('both', { tokens: 500 })).release({ tokens: 650 });
  },
  'breaker allow + success': async () => {
    await breaker.allow();
    await breaker.success();
  },
  'event publish (2 XADD in MULTI)': async () => {
    await bus.publish('bench', event);
  },
};

const perRound = 500;
const rounds = 7;
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (const run of Object.values(cases)) for (let index = 0; index < 100; index++) await run(); // warm-up
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of Object.entries(cases)) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < perRound; index++) await run();
    samples[name].push(Number(process.hrtime.bigint() - started) / 1000 / perRound);
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const base = median(samples['INCR round trip']);
console.log(`${rounds} interleaved rounds of ${perRound} sequential calls each; median µs per call`);
for (const [name, values] of Object.entries(samples)) {
  const value = median(values);
  console.log(`${name.padEnd(52)} ${value.toFixed(1).padStart(8)} µs  ${(value / base).toFixed(2)}× INCR`);
}

let cursor = '0';
do {
  const [next, keys] = await client.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
  cursor = next;
  if (keys.length > 0) await client.unlink(...keys);
} while (cursor !== '0');
await bus.close();
await limits.close();
client.disconnect();

/** A worker process of the shared-limits test: a BullMQ worker whose runtime's model calls go through limits shared in Redis. */

import { createRedisLimits, createWorker } from '../../src/distributed/redis/index.js';
import { createResilience } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { limitsFlow } from './limits-flow.js';

const [redis, dbPath, queue, prefix, capText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const store = createSqliteStore({ path: dbPath });
const limits = await createRedisLimits({
  redis,
  prefix: `${prefix}limits:`,
  limits: { fake: { maxConcurrent: Number(capText) } },
  retryIntervalMs: 5,
});
const { flow, close } = limitsFlow(redis, prefix);
const worker = await createWorker({
  redis,
  queue,
  store,
  workflows: [flow],
  resilience: createResilience({ sharedLimits: limits }),
  concurrency: 10,
  leaseMs: 5000,
  pollIntervalMs: 200,
});
process.on('SIGTERM', () => {
  void worker.close().then(async () => {
    await limits.close();
    close();
    await store.close();
    process.exit(0);
  });
});
process.stdout.write(`READY ${process.pid}\n`);

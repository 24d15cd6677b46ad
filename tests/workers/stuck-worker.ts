/** A worker process that takes jobs but never gets to claim their runs (its store never answers a read), until it is killed. */

import { createWorker } from '../../src/distributed/redis/index.js';
import type { Store } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { workerFlow } from './worker-flow.js';

const [dbPath, logPath, queue, prefix, leaseMs] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const sqlite = createSqliteStore({ path: dbPath });
const store = new Proxy(sqlite, {
  get(target, property, receiver) {
    if (property === 'getRun') return () => new Promise(() => undefined);
    const value = Reflect.get(target, property, receiver) as unknown;
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  },
}) as Store;
await createWorker({
  redis: 'redis://127.0.0.1:6379',
  queue,
  prefix,
  store,
  workflows: [workerFlow(logPath)],
  leaseMs: Number(leaseMs),
  pollIntervalMs: 200,
});
process.stdout.write(`READY ${process.pid}\n`);

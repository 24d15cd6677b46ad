/** A worker process for the worker tests: takes runs from the queue until it is killed or told to drain (SIGTERM). */

import { createWorker } from '../../src/distributed/redis/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { fanoutFlow, workerFlow } from './worker-flow.js';

const [dbPath, logPath, queue, prefix] = process.argv.slice(2) as [string, string, string, string];
const store = createSqliteStore({ path: dbPath });
const worker = await createWorker({
  redis: 'redis://127.0.0.1:6379',
  queue,
  prefix,
  store,
  workflows: [workerFlow(logPath), ...fanoutFlow(logPath)],
  leaseMs: 1500,
  pollIntervalMs: 200,
  inlineWaitMs: 50,
  concurrency: 20,
});
process.on('SIGTERM', () => {
  void worker.close().then(async () => {
    await store.close();
    process.stdout.write('DRAINED\n');
    process.exit(0);
  });
});
process.stdout.write(`READY ${process.pid}\n`);

/**
 * A worker process for the distributed-supervisor test, on the local Postgres and Redis; it
 * registers only the team (its workers are registered with it). Arguments: <postgres url>
 * <schema> <log path> <queue> <prefix>.
 */

import { createWorker } from '../../src/distributed/redis/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { supervisorTeam } from './supervisor-flow.js';

const [url, schema, logPath, queue, prefix] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const store = createPostgresStore({ connectionString: url, schema, maxConnections: 4 });
const worker = await createWorker({
  redis: 'redis://127.0.0.1:6379',
  queue,
  prefix,
  store,
  workflows: [supervisorTeam(logPath)],
  leaseMs: 1500,
  pollIntervalMs: 200,
  inlineWaitMs: 50,
  concurrency: 5,
});
process.on('SIGTERM', () => {
  void worker.close().then(async () => {
    await store.close();
    process.stdout.write('DRAINED\n');
    process.exit(0);
  });
});
process.stdout.write(`READY ${process.pid}\n`);

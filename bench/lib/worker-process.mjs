// A worker process for the workers bench: takes runs of the `sleepy` agent (two model calls that
// each wait `MODEL_MS`, one tool call) from the queue until it gets SIGTERM.
import { pathToFileURL } from 'node:url';

const [storePath, queue, prefix, concurrency, modelMs] = process.argv.slice(2);
const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const { createWorker } = await dist('distributed/redis/index.js');
const { createSqliteStore } = await dist('stores/sqlite/index.js');
const { sleepyAgent } = await import('./sleepy-agent.mjs');

const store = createSqliteStore({ path: storePath });
const worker = await createWorker({
  redis: 'redis://127.0.0.1:6379',
  queue,
  prefix,
  store,
  workflows: [await sleepyAgent(Number(modelMs))],
  concurrency: Number(concurrency),
  leaseMs: 5000,
  pollIntervalMs: 200,
});
process.on('SIGTERM', () => {
  void worker.close().then(async () => {
    await store.close();
    process.exit(0);
  });
});
process.stdout.write('READY\n');

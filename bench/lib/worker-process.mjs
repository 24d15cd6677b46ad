// A worker process for the workers bench: takes runs of the `sleepy` agent (two model calls that
// each wait `modelMs`, one tool call) from the queue until it gets SIGTERM or its parent goes away
// (stdin closes), so a killed bench never leaves workers behind.
//
// Usage: node worker-process.mjs <json options>
//   { postgresUrl, schema, redisUrl, queue, prefix, concurrency, modelMs }
import { pathToFileURL } from 'node:url';

const options = JSON.parse(process.argv[2]);
const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const { createWorker } = await dist('distributed/redis/index.js');
const { createPostgresStore } = await dist('stores/postgres/index.js');
const { sleepyAgent } = await import('./sleepy-agent.mjs');

const store = createPostgresStore({ connectionString: options.postgresUrl, schema: options.schema });
await store.open();
const worker = await createWorker({
  redis: options.redisUrl,
  queue: options.queue,
  prefix: options.prefix,
  store,
  workflows: [await sleepyAgent(options.modelMs)],
  concurrency: options.concurrency,
  leaseMs: 10_000,
  pollIntervalMs: 1_000,
});

let stopping;
const stop = () => {
  stopping ??= (async () => {
    // A drain that hangs must not keep the process: exit anyway after 10 s.
    setTimeout(() => process.exit(1), 10_000).unref();
    await worker.close();
    await store.close();
    const cpu = process.cpuUsage();
    process.stdout.write(`EXECUTED ${worker.executed} CPU ${(cpu.user + cpu.system) / 1000}\n`, () =>
      process.exit(0),
    );
  })();
  return stopping;
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
// `CPU` on stdin: answers with the CPU ms this process has used so far.
process.stdin.on('data', (chunk) => {
  if (!String(chunk).includes('CPU')) return;
  const cpu = process.cpuUsage();
  process.stdout.write(`CPUNOW ${(cpu.user + cpu.system) / 1000}\n`);
});
process.stdin.resume();
process.stdout.write('READY\n');

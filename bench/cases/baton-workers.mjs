// Workers on BullMQ (Redis): throughput of latency-bound runs on 1 and on 4 worker processes
// sharing one store, started by a process that only dispatches.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { baton, createBatonAgent } from '../lib/baton-agent.mjs';

export const name = 'baton-workers';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics: 160 latency-bound runs (two model calls of 200 ms and a tool call each) started by a dispatch-only process and executed by 1, then 4, worker processes (concurrency 10 each) on the local Redis and one shared SQLite file; wall time from the first start to the last run ended.';
export const importSpecifiers = ['../../dist/index.js', '../../dist/distributed/redis/index.js'];
export const packages = [];

const RUNS = 160;
const CONCURRENCY = 10;
const MODEL_MS = 200;

const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const workerScript = fileURLToPath(new URL('../lib/worker-process.mjs', import.meta.url));

function startWorker(args) {
  const child = spawn(process.execPath, [workerScript, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise((resolve, reject) => {
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
      if (output.includes('READY')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before it was ready`)));
  });
  return { child, ready };
}

async function stopWorkers(workers) {
  await Promise.all(
    workers.map(
      ({ child }) =>
        new Promise((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** Wall ms from the first start to the last run's end, for `RUNS` runs on `workerCount` worker processes. */
async function wallOn(workerCount, directory) {
  const { createBullmqDispatcher } = await dist('distributed/redis/index.js');
  const { createSqliteStore } = await dist('stores/sqlite/index.js');
  const { sleepyAgent } = await import('../lib/sleepy-agent.mjs');
  const queue = `bench-${randomUUID().slice(0, 8)}`;
  const prefix = 'baton-bench';
  const storePath = join(directory, `${queue}.db`);
  const store = createSqliteStore({ path: storePath });
  const dispatcher = createBullmqDispatcher({ redis: 'redis://127.0.0.1:6379', queue, prefix });
  const runtime = baton.createRuntime({
    store,
    dispatcher,
    recover: false,
    pollIntervalMs: 50,
    workflows: [await sleepyAgent(MODEL_MS)],
  });
  const workers = Array.from({ length: workerCount }, () =>
    startWorker([storePath, queue, prefix, String(CONCURRENCY), String(MODEL_MS)]),
  );
  try {
    await Promise.all(workers.map((worker) => worker.ready));
    const started = Date.now();
    const handles = [];
    for (let index = 0; index < RUNS; index++) handles.push(await runtime.start('sleepy', 'What is 2 + 3?'));
    const outputs = await Promise.all(handles.map((handle) => handle.result()));
    if (outputs.some((output) => output !== '5')) throw new Error('baton-workers: a run did not answer 5');
    const records = await Promise.all(handles.map((handle) => runtime.get(handle.runId)));
    return Math.max(...records.map((record) => record.endedAt)) - started;
  } finally {
    await stopWorkers(workers);
    await runtime.close();
    await (await dispatcher.queue()).obliterate({ force: true });
    await dispatcher.close();
    await store.close();
  }
}

export async function setup() {
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  const directory = mkdtempSync(join(tmpdir(), 'baton-workers-bench-'));
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => {
      const one = await wallOn(1, directory);
      const four = await wallOn(4, directory);
      const floor = (RUNS / CONCURRENCY) * 2 * MODEL_MS;
      return {
        'latency floor, 1 worker (runs ÷ concurrency × 2 × model ms)': floor,
        '1 worker: wall ms': one,
        '4 workers: wall ms': four,
        'throughput 4 workers ÷ 1 worker': one / four,
        '1 worker: wall ÷ latency floor': one / floor,
      };
    },
    close: async () => {
      await runtime.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: `throughput on latency-bound runs: 4 workers ÷ 1 worker (${Math.round(metrics['1 worker: wall ms'])} ms ÷ ${Math.round(metrics['4 workers: wall ms'])} ms)`,
    value: metrics['throughput 4 workers ÷ 1 worker'],
    limit: 3.5,
    atLeast: true,
    unit: '×',
  },
];

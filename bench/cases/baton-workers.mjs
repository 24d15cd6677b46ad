// Workers on BullMQ (Redis) sharing one Postgres store: throughput of latency-bound runs on 1 and
// on 4 worker processes, started by a process that only dispatches.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { baton, createBatonAgent } from '../lib/baton-agent.mjs';
import {
  dropSchema,
  freshSchema,
  measureWithRetry,
  POSTGRES_URL,
  REDIS_URL,
  serverOf,
  withAdmin,
  withTimeout,
} from '../lib/postgres-bench.mjs';

export const name = 'baton-workers';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics: 480 latency-bound runs (two model calls of 200 ms and a tool call each), started at once by a dispatch-only process (after an untimed warm-up of two waves) and executed by 1, then 4, worker processes (concurrency 10 each) on the local Redis (BullMQ) and one Postgres schema per measurement; wall time from the first start to the last run ended.';
export const importSpecifiers = ['../../dist/index.js', '../../dist/distributed/redis/index.js'];
export const packages = ['pg', 'bullmq'];
export const localServers = [serverOf(POSTGRES_URL, 5432), serverOf(REDIS_URL, 6379)];

// 480 runs: 12 waves of 40 on 4 workers. Jobs are pulled, so the 4 workers rarely split the runs
// exactly evenly, and the busiest one then needs one wave more than the ideal; with 160 runs
// (4 waves) that alone caps the ratio at 16 ÷ 5 = 3.2, with 480 at 48 ÷ 13 = 3.7.
// `--quick` (the harness passes `quick` to the case process) runs 160, to check that the case works.
const RUNS = Number(process.env.BATON_BENCH_WORKER_RUNS ?? (process.argv.includes('quick') ? 160 : 480));
const CONCURRENCY = 10;
const MODEL_MS = 200;
/** Longest a measurement may take before the case fails (instead of hanging until the harness kills it). */
const MEASUREMENT_TIMEOUT_MS = 120_000;

const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const workerScript = fileURLToPath(new URL('../lib/worker-process.mjs', import.meta.url));

/** Starts a worker process; `ready` resolves once it listens on the queue, `executed` once it exited after a drain. */
function startWorker(options) {
  const child = spawn(process.execPath, [workerScript, JSON.stringify(options)], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  child.stdout.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk) => {
    errors += chunk;
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const ready = withTimeout(
    new Promise((resolve, reject) => {
      child.stdout.on('data', () => {
        if (output.includes('READY')) resolve();
      });
      void exited.then(({ code }) =>
        reject(new Error(`a worker exited (${code}) before it was ready: ${errors.slice(0, 2000)}`)),
      );
    }),
    30_000,
    'a worker process starting',
  );
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    const match = /EXECUTED (\d+) CPU ([\d.]+)/.exec(output);
    return match === null
      ? { executed: undefined, cpuMs: undefined, errors }
      : { executed: Number(match[1]), cpuMs: Number(match[2]), errors };
  };
  /** The CPU ms the worker has used so far (it answers `CPU` on stdin). */
  const cpu = () =>
    withTimeout(
      new Promise((resolve) => {
        const seen = output.split('CPUNOW ').length;
        const onData = () => {
          const parts = output.split('CPUNOW ');
          if (parts.length > seen && parts[parts.length - 1].includes('\n')) {
            child.stdout.off('data', onData);
            resolve(Number.parseFloat(parts[parts.length - 1]));
          }
        };
        child.stdout.on('data', onData);
        child.stdin.write('CPU\n');
      }),
      10_000,
      'a worker reporting its CPU time',
    );
  return { child, ready, stop, cpu };
}

/** Resolves once every run of `ids` has ended, reading the store directly every 100 ms (one query, not one per run). */
async function waitForAll(schema, count) {
  return withAdmin(async (admin) => {
    for (;;) {
      const { rows } = await admin.query(
        `SELECT count(*)::int AS ended FROM "${schema}".runs WHERE status IN ('completed', 'failed', 'cancelled')`,
      );
      if (rows[0].ended >= count) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });
}

/**
 * `RUNS` runs on `workerCount` worker processes, each with its own fresh schema and queue.
 * Returns the wall ms from the first start to the last run's end and what each worker executed.
 */
async function wallOn(workerCount) {
  const { createBullmqDispatcher } = await dist('distributed/redis/index.js');
  const { createPostgresStore } = await dist('stores/postgres/index.js');
  const { sleepyAgent } = await import('../lib/sleepy-agent.mjs');
  const schema = freshSchema('workers');
  const queue = `bench-${randomUUID().slice(0, 8)}`;
  const prefix = 'baton-bench';
  const store = createPostgresStore({ connectionString: POSTGRES_URL, schema });
  await store.open(); // migrations once, before any worker opens the schema
  const dispatcher = createBullmqDispatcher({ redis: REDIS_URL, queue, prefix });
  const runtime = baton.createRuntime({
    store,
    dispatcher,
    recover: false,
    workflows: [await sleepyAgent(MODEL_MS)],
  });
  const workers = Array.from({ length: workerCount }, () =>
    startWorker({
      postgresUrl: POSTGRES_URL,
      schema,
      redisUrl: REDIS_URL,
      queue,
      prefix,
      concurrency: CONCURRENCY,
      modelMs: MODEL_MS,
    }),
  );
  let stopped;
  try {
    await Promise.all(workers.map((worker) => worker.ready));
    await (await dispatcher.queue()).waitUntilReady();
    // `count` runs started at once; resolves with them once all have ended (each checked).
    let ended = 0;
    const batch = async (count) => {
      const started = Date.now();
      const handles = await Promise.all(
        Array.from({ length: count }, () => runtime.start('sleepy', 'What is 2 + 3?')),
      );
      const startsMs = Date.now() - started;
      ended += count;
      await withTimeout(
        waitForAll(schema, ended),
        MEASUREMENT_TIMEOUT_MS,
        `${count} runs on ${workerCount} workers`,
      );
      const records = await Promise.all(handles.map((handle) => runtime.get(handle.runId)));
      const wrong = records.filter((record) => record.status !== 'completed' || record.output !== '5');
      if (wrong.length > 0)
        throw new Error(
          `baton-workers: ${wrong.length} runs did not answer 5 (first: ${wrong[0].status} ${JSON.stringify(wrong[0].output ?? wrong[0].error)})`,
        );
      return { wall: Math.max(...records.map((record) => record.endedAt)) - started, startsMs, records };
    };
    // Warm-up, not timed: two waves, so every worker process has compiled its code paths and
    // opened its connections (a fresh worker's first runs take seconds to be picked up, a fixed
    // cost that would weigh 4 times more on the 4 workers' shorter wall).
    const warmUp = await batch(2 * CONCURRENCY * workerCount);
    const cpuBefore = await Promise.all(workers.map((worker) => worker.cpu()));
    const { wall, startsMs, records } = await batch(RUNS);
    stopped = await Promise.all(workers.map((worker) => worker.stop()));
    const executed = stopped.map((worker) => worker.executed);
    if (executed.reduce((sum, count) => sum + (count ?? 0), 0) < ended)
      throw new Error(
        `baton-workers: the workers report ${executed.join(' + ')} executions for ${ended} runs`,
      );
    const cpuMs = stopped.reduce((sum, worker, index) => sum + (worker.cpuMs ?? 0) - cpuBefore[index], 0);
    // A run's own time, start to end: the 400 ms of model latency plus what the queue, the store
    // and the worker add, plus the time it queued behind other runs.
    const durations = records.map((record) => record.endedAt - record.createdAt).sort((a, b) => a - b);
    return {
      wall,
      warmUpWall: warmUp.wall,
      executed,
      startsMs,
      cpuMsPerRun: cpuMs / RUNS, // the timed runs' share; the drain at stop is included
      firstRunsMs: durations.slice(0, CONCURRENCY * workerCount),
    };
  } finally {
    stopped ??= await Promise.all(workers.map((worker) => worker.stop()));
    await runtime.close();
    await (await dispatcher.queue()).obliterate({ force: true });
    await dispatcher.close();
    await store.close();
    await dropSchema(schema);
  }
}

export async function setup() {
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => {
      const first = await measureWithRetry(() => wallOn(1));
      const second = await measureWithRetry(() => wallOn(4));
      const one = first.value;
      const four = second.value;
      const floor = (RUNS / CONCURRENCY) * 2 * MODEL_MS;
      return {
        runs: RUNS,
        ...(first.retried || second.retried
          ? { note: 'the server restarted during a measurement; it was measured again' }
          : {}),
        'latency floor, 1 worker (runs ÷ concurrency × 2 × model ms)': floor,
        '1 worker: wall ms': one.wall,
        '4 workers: wall ms': four.wall,
        '4 workers: runs executed by each': four.executed.join(' / '),
        '1 worker: ms until every start resolved': one.startsMs,
        '4 workers: ms until every start resolved': four.startsMs,
        '1 worker: median of the shortest (10 × workers) start-to-end ms (model latency 400 ms)':
          one.firstRunsMs[Math.floor(one.firstRunsMs.length / 2)],
        '4 workers: median of the shortest (10 × workers) start-to-end ms (model latency 400 ms)':
          four.firstRunsMs[Math.floor(four.firstRunsMs.length / 2)],
        '1 worker: worker CPU ms per timed run': one.cpuMsPerRun,
        '4 workers: worker CPU ms per timed run': four.cpuMsPerRun,
        '1 worker: warm-up wall ms (2 waves, not timed)': one.warmUpWall,
        '4 workers: warm-up wall ms (2 waves, not timed)': four.warmUpWall,
        'throughput 4 workers ÷ 1 worker': one.wall / four.wall,
        '1 worker: wall ÷ latency floor': one.wall / floor,
        '4 workers: wall ÷ latency floor ÷ 4': four.wall / (floor / 4),
      };
    },
    close: async () => {
      await runtime.close();
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: `throughput on latency-bound runs: 4 workers ÷ 1 worker (${Math.round(metrics['1 worker: wall ms'])} ms ÷ ${Math.round(metrics['4 workers: wall ms'])} ms)`,
    value: metrics['throughput 4 workers ÷ 1 worker'],
    limit: 3.5,
    atLeast: true,
    pass: metrics['throughput 4 workers ÷ 1 worker'] >= 3.5,
    unit: '×',
  },
];

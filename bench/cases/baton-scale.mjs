// Many runs in flight on one runtime: 10,000 latency-bound runs (two model calls of 1 s each and a
// tool call) started at once, on SQLite and on Postgres. Wall time against the 2 s latency floor,
// and heap per run in flight.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baton, batonSqlite, createBatonAgent } from '../lib/baton-agent.mjs';
import { dropSchema, freshSchema, measureWithRetry, POSTGRES_URL, serverOf } from '../lib/postgres-bench.mjs';
import { sleepyAgent } from '../lib/sleepy-agent.mjs';
import { createCounter } from '../lib/workload.mjs';

export const name = 'baton-scale';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics: 10,000 runs (BATON_BENCH_IN_FLIGHT) of an agent whose two model calls each wait 1 s, started together on one runtime without a queue (a worker adds a BullMQ job per run and nothing to what is held per run in flight), on SQLite (WAL, temp file) and on Postgres (fresh schema): wall from the first start to the last result against the 2 s floor (a pass without forced GC), and heap per run in flight (another pass: full GCs before, full GCs once every run waits on its first model call, heapUsed read right after them, with no turn of the event loop between).';
export const importSpecifiers = [
  '../../dist/index.js',
  '../../dist/stores/sqlite/index.js',
  '../../dist/stores/postgres/index.js',
];
export const packages = ['better-sqlite3', 'pg'];
export const localServers = [serverOf(POSTGRES_URL, 5432)];

/** `--quick` (the harness passes `quick` to the case process) only checks that the case works. */
const QUICK = process.argv.includes('quick');
const IN_FLIGHT = Number(process.env.BATON_BENCH_IN_FLIGHT ?? (QUICK ? 2_000 : 10_000));
/** The stores measured: `BATON_BENCH_STORES=postgres` (comma-separated) measures only those; default both. */
const STORES = (process.env.BATON_BENCH_STORES ?? 'sqlite,postgres').split(',').map((label) => label.trim());
const MODEL_MS = 1_000;
const FLOOR_MS = 2 * MODEL_MS;
export const WALL_LIMIT = 1.25;
export const HEAP_LIMIT_BYTES = 5 * 1024;

async function settle() {
  for (let pass = 0; pass < 4; pass++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * heapUsed right after two full GCs, with no turn of the event loop between them and the
 * reading: the runs do not move on meanwhile (a model call whose time is up still waits for its
 * callback), and nothing allocated in a turn after the GC is counted. (Read one turn after the
 * last GC instead, as `settle` leaves it, heapUsed also held what that turn allocated and
 * dropped: tens of MB with 10,000 runs resuming, a heap snapshot showing none of it live.)
 */
function heapUsedNow() {
  globalThis.gc();
  globalThis.gc();
  return process.memoryUsage().heapUsed;
}

/** Resolves once `counter` reaches `count`, checking every 5 ms; rejects after 60 s (runs released by a failing store never get there). */
async function until(counter, count) {
  const deadline = Date.now() + 60_000;
  while (counter.count() < count) {
    if (Date.now() > deadline)
      throw new Error(`baton-scale: ${counter.count()} of ${count} model calls after 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * One pass of `IN_FLIGHT` runs on a fresh store from `open()`. With `heap`, forces a full GC
 * before the starts and once every run waits on its first model call, and samples heapUsed then.
 */
async function pass(open, { heap }) {
  const { store, close } = await open();
  const counters = { modelCalls: createCounter(), toolCalls: createCounter() };
  const agent = await sleepyAgent(MODEL_MS, { name: 'sleepy-scale', counters });
  const runtime = baton.createRuntime({ store, recover: false, workflows: [agent] });
  try {
    // One run first: opens the store, warms the code paths.
    await (await runtime.start(agent, 'What is 2 + 3?')).result();
    const modelBefore = counters.modelCalls.count();
    const toolBefore = counters.toolCalls.count();
    let before = 0;
    let beforeSettled = 0;
    if (heap) {
      await settle();
      beforeSettled = process.memoryUsage().heapUsed;
      before = heapUsedNow();
    }
    let peakSampled = 0;
    const sampler = setInterval(() => {
      peakSampled = Math.max(peakSampled, process.memoryUsage().heapUsed);
    }, 20);
    const started = process.hrtime.bigint();
    const handles = await Promise.all(
      Array.from({ length: IN_FLIGHT }, () => runtime.start(agent, 'What is 2 + 3?')),
    );
    const startedMs = Number(process.hrtime.bigint() - started) / 1e6;
    const results = Promise.all(handles.map((handle) => handle.result()));
    results.catch(() => undefined); // awaited below; a rejection meanwhile is not unhandled
    let atPeak = 0;
    let atPeakSettled = 0;
    let firstCallsMs = 0;
    if (heap) {
      await until(counters.modelCalls, modelBefore + IN_FLIGHT);
      firstCallsMs = Number(process.hrtime.bigint() - started) / 1e6;
      atPeak = heapUsedNow();
      // As measured before (Dec 2026): GCs with event-loop turns between them, read a turn after
      // the last; by then runs may have moved on, and that turn's garbage is counted.
      await settle();
      atPeakSettled = process.memoryUsage().heapUsed;
    }
    const outputs = await results;
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    clearInterval(sampler);
    const wrong = outputs.filter((output) => output !== '5').length;
    if (wrong > 0) throw new Error(`baton-scale: ${wrong} of ${IN_FLIGHT} runs did not answer 5`);
    const modelCalls = counters.modelCalls.count() - modelBefore;
    const toolCalls = counters.toolCalls.count() - toolBefore;
    if (modelCalls !== 2 * IN_FLIGHT || toolCalls !== IN_FLIGHT)
      throw new Error(`baton-scale: ${IN_FLIGHT} runs made ${modelCalls} model and ${toolCalls} tool calls`);
    return {
      wallMs,
      startedMs,
      firstCallsMs,
      heapPerRun: (atPeak - before) / IN_FLIGHT,
      heapPerRunSettled: (atPeakSettled - beforeSettled) / IN_FLIGHT,
      peakSampledMb: peakSampled / 1024 / 1024,
    };
  } finally {
    await runtime.close();
    await close();
  }
}

const stores = {
  sqlite: async () => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-scale-'));
    const store = batonSqlite.createSqliteStore({ path: join(directory, 'baton.db') });
    return {
      store,
      close: async () => {
        await store.close();
        rmSync(directory, { recursive: true, force: true });
      },
    };
  },
  postgres: async () => {
    const { createPostgresStore } = await import(
      new URL('../../dist/stores/postgres/index.js', import.meta.url).href
    );
    const schema = freshSchema('scale');
    const store = createPostgresStore({ connectionString: POSTGRES_URL, schema });
    await store.open();
    return {
      store,
      close: async () => {
        await store.close();
        await dropSchema(schema);
      },
    };
  },
};

export async function setup() {
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => {
      const metrics = { 'runs in flight': IN_FLIGHT, 'latency floor ms': FLOOR_MS };
      for (const label of STORES) {
        const open = stores[label];
        if (open === undefined)
          throw new Error(
            `baton-scale: BATON_BENCH_STORES names "${label}"; the stores are sqlite and postgres.`,
          );
        let timed;
        let measured;
        try {
          const first = await measureWithRetry(() => pass(open, { heap: false }));
          const second = await measureWithRetry(() => pass(open, { heap: true }));
          timed = first.value;
          measured = second.value;
          if (first.retried || second.retried)
            metrics[`${label}: note`] = 'the server restarted during a pass; that pass was measured again';
        } catch (error) {
          // Reported, and its targets fail (NaN); the other store is still measured.
          metrics[`${label}: error`] = String(error?.message ?? error).slice(0, 300);
          continue;
        }
        metrics[`${label}: wall ms`] = timed.wallMs;
        metrics[`${label}: wall ÷ floor`] = timed.wallMs / FLOOR_MS;
        metrics[`${label}: ms until every start resolved`] = timed.startedMs;
        metrics[`${label}: peak heapUsed sampled, MB (garbage included)`] = timed.peakSampledMb;
        metrics[`${label}: heap bytes per run in flight (after GC)`] = measured.heapPerRun;
        metrics[`${label}: heap bytes per run, read a turn after the GC (garbage included)`] =
          measured.heapPerRunSettled;
        metrics[`${label}: ms until every first model call (heap pass)`] = measured.firstCallsMs;
        metrics[`${label}: wall ms (heap pass, GC forced)`] = measured.wallMs;
      }
      return metrics;
    },
    close: async () => {
      await runtime.close();
    },
  };
}

export const targets = ({ metrics }) =>
  STORES.flatMap((label) => [
    {
      label: `${label}: ${IN_FLIGHT} runs in flight, wall ÷ 2 s floor (${Math.round(metrics[`${label}: wall ms`])} ms ÷ ${FLOOR_MS} ms)`,
      value: metrics[`${label}: wall ÷ floor`],
      limit: WALL_LIMIT,
      unit: '×',
    },
    {
      label: `${label}: heap per run in flight (${Math.round((metrics[`${label}: heap bytes per run in flight (after GC)`] * IN_FLIGHT) / 1024 / 1024)} MB ÷ ${IN_FLIGHT} runs)`,
      value: metrics[`${label}: heap bytes per run in flight (after GC)`] / 1024,
      limit: HEAP_LIMIT_BYTES / 1024,
      unit: 'KB',
    },
  ]);

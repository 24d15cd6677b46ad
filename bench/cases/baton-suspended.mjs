// Many suspended runs in one store (SQLite and Postgres): a runtime opening and polling that store
// holds no more memory than with 1,000 of them, and resuming any one by signal stays fast.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baton, batonSqlite, createBatonAgent, Database } from '../lib/baton-agent.mjs';
import {
  dropSchema,
  freshSchema,
  measureWithRetry,
  POSTGRES_URL,
  serverOf,
  withAdmin,
  withTimeout,
} from '../lib/postgres-bench.mjs';

export const name = 'baton-suspended';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics, on SQLite and on Postgres: one run of a workflow (a step, waitFor("go"), a step) genuinely suspended by a runtime, copied with bulk SQL through the store\'s own tables (its runs and journal rows, new run ids) to BATON_BENCH_SUSPENDED runs (default 1,000,000) and to 1,000 in a second store; the heap a fresh runtime holds after opening each store and polling it for 1 s (recover on, 100 ms poll), and the time from runtime.signal() to the resumed run\'s next step-start, over 200 random runs of the big store, each checked to complete.';
export const importSpecifiers = [
  '../../dist/index.js',
  '../../dist/stores/sqlite/index.js',
  '../../dist/stores/postgres/index.js',
];
export const packages = ['better-sqlite3', 'pg'];
export const localServers = [serverOf(POSTGRES_URL, 5432)];

/** `--quick` (the harness passes `quick` to the case process) only checks that the case works. */
const QUICK = process.argv.includes('quick');
const SUSPENDED = Number(process.env.BATON_BENCH_SUSPENDED ?? (QUICK ? 20_000 : 1_000_000));
const SMALL = 1_000;
const SAMPLES = Number(process.env.BATON_BENCH_RESUME_SAMPLES ?? 200);
const POLL_MS = 100;
/** Heap a runtime may hold in addition with SUSPENDED runs in its store instead of SMALL. */
export const HEAP_GROWTH_LIMIT_BYTES = 1024 * 1024;
export const RESUME_P95_LIMIT_MS = 10;

const waiter = baton.workflow({ name: 'waiter', version: '1' }, async (ctx, input) => {
  const before = await ctx.step('before', async () => ({ input, note: 'prepared '.repeat(10) }));
  const payload = await ctx.waitFor('go');
  return ctx.step('after', async () => `${before.input}:${payload}`);
});

async function settle() {
  for (let pass = 0; pass < 4; pass++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/** Starts the template run on `store` and waits until it is suspended; returns its id. */
async function suspendTemplate(store) {
  const runtime = baton.createRuntime({ store, recover: false, workflows: [waiter] });
  try {
    const handle = await runtime.start(waiter, 'order-1');
    for (let tries = 0; ; tries++) {
      const record = await runtime.get(handle.runId);
      if (record.status === 'suspended' && record.leaseOwner === undefined) return handle.runId;
      if (tries > 500)
        throw new Error(`baton-suspended: the template run is ${record.status}, not suspended`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  } finally {
    await runtime.close();
  }
}

const copyId = (template, index) => `${template}-c${index}`;

/** The SQLite store: copies the template's rows to `count` − 1 more runs with one INSERT ... SELECT per table. */
const sqlite = {
  async build(count) {
    const directory = mkdtempSync(join(tmpdir(), 'baton-suspended-'));
    const path = join(directory, 'baton.db');
    const store = batonSqlite.createSqliteStore({ path });
    const template = await suspendTemplate(store);
    await store.close();
    const db = new Database(path);
    const columns = (table) =>
      db
        .prepare(`PRAGMA table_info(${table})`)
        .all()
        .map((column) => column.name);
    const others = db.prepare('SELECT (SELECT count(*) FROM signals WHERE run_id = ?) AS n').get(template).n;
    if (others !== 0) throw new Error('baton-suspended: the template has signals the copy would miss');
    const copy = (table, idColumn) => {
      const names = columns(table).filter((column) => column !== 'seq');
      const select = names.map((column) => (column === idColumn ? `? || '-c' || g.n` : column)).join(', ');
      db.prepare(
        `WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < ?)
         INSERT INTO ${table} (${names.join(', ')}) SELECT ${select} FROM ${table}, g WHERE ${table}.${idColumn} = ?`,
      ).run(count - 1, template, template);
    };
    db.transaction(() => {
      copy('runs', 'id');
      copy('journal', 'run_id');
    })();
    const stored = db.prepare("SELECT count(*) AS n FROM runs WHERE status = 'suspended'").get().n;
    db.close();
    return {
      template,
      suspended: stored,
      open: () => batonSqlite.createSqliteStore({ path }),
      drop: async () => rmSync(directory, { recursive: true, force: true }),
    };
  },
};

/** The Postgres store: the same copy with generate_series, in a fresh schema. */
const postgres = {
  async build(count) {
    const { createPostgresStore } = await import(
      new URL('../../dist/stores/postgres/index.js', import.meta.url).href
    );
    const schema = freshSchema('suspended');
    const store = createPostgresStore({ connectionString: POSTGRES_URL, schema });
    const template = await suspendTemplate(store);
    await store.close();
    const suspended = await withAdmin(async (admin) => {
      const columns = async (table) =>
        (
          await admin.query(
            `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_identity = 'NO' ORDER BY ordinal_position`,
            [schema, table],
          )
        ).rows.map((row) => row.column_name);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS n FROM "${schema}".signals WHERE run_id = $1`,
        [template],
      );
      if (rows[0].n !== 0) throw new Error('baton-suspended: the template has signals the copy would miss');
      const copy = async (table, idColumn) => {
        const names = await columns(table);
        const select = names
          .map((column) => (column === idColumn ? `$1 || '-c' || g` : `t.${column}`))
          .join(', ');
        await admin.query(
          `INSERT INTO "${schema}".${table} (${names.join(', ')}) SELECT ${select} FROM "${schema}".${table} t, generate_series(0, $2 - 2) g WHERE t.${idColumn} = $1`,
          [template, count],
        );
      };
      await admin.query('BEGIN');
      await copy('runs', 'id');
      await copy('journal', 'run_id');
      await admin.query('COMMIT');
      await admin.query(`ANALYZE "${schema}".runs`);
      await admin.query(`ANALYZE "${schema}".journal`);
      return (await admin.query(`SELECT count(*)::int AS n FROM "${schema}".runs WHERE status = 'suspended'`))
        .rows[0].n;
    });
    return {
      template,
      suspended,
      schema,
      open: () => createPostgresStore({ connectionString: POSTGRES_URL, schema }),
      drop: () => dropSchema(schema),
    };
  },
};

/**
 * Postgres only: ms of one durable commit (a one-row INSERT in its own transaction into a logged
 * table of the store's schema, median of 50), the floor under a resume that commits twice (the
 * signal, the claim).
 */
postgres.commitMs = (built) =>
  withAdmin(async (admin) => {
    await admin.query(`CREATE TABLE "${built.schema}".commit_probe (note text)`);
    const samples = [];
    for (let index = 0; index < 50; index++) {
      const started = process.hrtime.bigint();
      await admin.query(`INSERT INTO "${built.schema}".commit_probe VALUES ($1)`, ['x'.repeat(100)]);
      samples.push(Number(process.hrtime.bigint() - started) / 1e6);
    }
    return quantile(
      samples.sort((a, b) => a - b),
      0.5,
    );
  });

/** Heap held by a fresh store + runtime (recover on) after opening it and polling it for 1 s. */
async function heapOfRuntime(built) {
  await settle();
  const before = process.memoryUsage().heapUsed;
  const store = built.open();
  const runtime = baton.createRuntime({ store, recover: true, pollIntervalMs: POLL_MS, workflows: [waiter] });
  await runtime.list({ limit: 1 }); // opens the store
  await new Promise((resolve) => setTimeout(resolve, 10 * POLL_MS));
  await settle();
  const held = process.memoryUsage().heapUsed - before;
  return { held, store, runtime };
}

/** Signals `samples` random copies one at a time: ms from signal() to the run's next step-start; each must complete. */
async function resumeLatencies(runtime, built, samples) {
  const waiting = new Map();
  const off = runtime.on((event) => {
    const waiter = waiting.get(event.runId);
    if (waiter === undefined) return;
    if (event.type === 'step-start' && waiter.at === undefined) waiter.at = process.hrtime.bigint();
    if (event.type === 'run-end') waiter.ended(event);
  });
  const latencies = [];
  const chosen = new Set();
  try {
    while (latencies.length < samples) {
      const index = Math.floor(Math.random() * (built.suspended - 1)); // a copy, never the template
      if (chosen.has(index)) continue;
      chosen.add(index);
      const runId = copyId(built.template, index);
      const waiter = {};
      const ended = new Promise((resolve) => {
        waiter.ended = resolve;
      });
      waiting.set(runId, waiter);
      const started = process.hrtime.bigint();
      await runtime.signal(runId, 'go', 'ok');
      await withTimeout(ended, 10_000, `run ${runId} after its signal`);
      waiting.delete(runId);
      if (waiter.at === undefined) throw new Error(`baton-suspended: ${runId} ended without a step-start`);
      latencies.push(Number(waiter.at - started) / 1e6);
      const record = await runtime.get(runId);
      if (record.status !== 'completed' || record.output !== 'order-1:ok')
        throw new Error(
          `baton-suspended: ${runId} is ${record.status} with ${JSON.stringify(record.output)}`,
        );
    }
  } finally {
    off();
  }
  latencies.sort((a, b) => a - b);
  return {
    p50: quantile(latencies, 0.5),
    p95: quantile(latencies, 0.95),
    max: latencies[latencies.length - 1],
  };
}

async function measure(kindOf) {
  const started = Date.now();
  const small = await kindOf.build(SMALL);
  const big = await kindOf.build(SUSPENDED);
  const buildMs = Date.now() - started;
  const opened = [];
  try {
    // Unmeasured: loads and compiles the store's and runtime's code, so neither side pays for it.
    const warm = await heapOfRuntime(small);
    opened.push(warm);
    await warm.runtime.close();
    await warm.store.close();
    const smallHeap = await heapOfRuntime(small);
    opened.push(smallHeap);
    const bigHeap = await heapOfRuntime(big);
    opened.push(bigHeap);
    const resume = await resumeLatencies(bigHeap.runtime, big, SAMPLES);
    const commitMs = kindOf.commitMs === undefined ? undefined : await kindOf.commitMs(big);
    return { buildMs, small: smallHeap.held, big: bigHeap.held, resume, suspended: big.suspended, commitMs };
  } finally {
    for (const { runtime, store } of opened) {
      await runtime.close();
      await store.close();
    }
    await small.drop();
    await big.drop();
  }
}

export async function setup() {
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => {
      const metrics = { 'suspended runs in the big store': SUSPENDED, 'resumes measured': SAMPLES };
      for (const [label, kindOf] of Object.entries({ sqlite, postgres })) {
        let result;
        try {
          const attempt = await measureWithRetry(() => measure(kindOf));
          result = attempt.value;
          if (attempt.retried)
            metrics[`${label}: note`] = 'the server restarted during the measurement; it was measured again';
        } catch (error) {
          metrics[`${label}: error`] = String(error?.message ?? error).slice(0, 300);
          continue;
        }
        if (result.suspended !== SUSPENDED)
          metrics[`${label}: error`] = `${result.suspended} suspended runs stored`;
        metrics[`${label}: ms to build both stores`] = result.buildMs;
        metrics[`${label}: heap held by a polling runtime, ${SMALL} suspended (KB)`] = result.small / 1024;
        metrics[`${label}: heap held by a polling runtime, ${SUSPENDED} suspended (KB)`] = result.big / 1024;
        metrics[`${label}: heap growth (KB)`] = (result.big - result.small) / 1024;
        metrics[`${label}: signal → next step-start p50 ms`] = result.resume.p50;
        metrics[`${label}: signal → next step-start p95 ms`] = result.resume.p95;
        metrics[`${label}: signal → next step-start max ms`] = result.resume.max;
        if (result.commitMs !== undefined) {
          metrics[`${label}: one durable commit (one-row INSERT), median ms`] = result.commitMs;
          metrics[`${label}: signal → next step-start p50 ÷ one commit`] =
            result.resume.p50 / result.commitMs;
        }
      }
      return metrics;
    },
    close: async () => {
      await runtime.close();
    },
  };
}

export const targets = ({ metrics }) =>
  ['sqlite', 'postgres'].flatMap((label) => {
    const small = metrics[`${label}: heap held by a polling runtime, ${SMALL} suspended (KB)`];
    const big = metrics[`${label}: heap held by a polling runtime, ${SUSPENDED} suspended (KB)`];
    const failed = metrics[`${label}: error`] !== undefined;
    return [
      {
        label: `${label}: heap of a polling runtime, ${SUSPENDED} suspended runs − ${SMALL} (${Math.round(big)} KB − ${Math.round(small)} KB)`,
        value: failed ? Number.NaN : big - small,
        limit: HEAP_GROWTH_LIMIT_BYTES / 1024,
        unit: 'KB',
      },
      {
        label: `${label}: resume by signal among ${SUSPENDED} suspended runs, p95 (p50 ${metrics[`${label}: signal → next step-start p50 ms`]?.toFixed(2)} ms)`,
        value: failed ? Number.NaN : metrics[`${label}: signal → next step-start p95 ms`],
        limit: RESUME_P95_LIMIT_MS,
        unit: 'ms',
      },
    ];
  });

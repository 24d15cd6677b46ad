// Where the time of one resume by signal goes on Postgres: every store call from runtime.signal()
// to the run's next step-start, timed. `node bench/prof-resume.mjs [runs] [samples] [--rebuild]`.
// Keeps its schema (baton_pgwt_resume_<runs>) between invocations unless --rebuild.
import { baton } from './lib/baton-agent.mjs';
import { POSTGRES_URL, withAdmin } from './lib/postgres-bench.mjs';

const { createPostgresStore } = await import(
  new URL('../dist/stores/postgres/index.js', import.meta.url).href
);
const COUNT = Number(process.argv[2] ?? 100_000);
const SAMPLES = Number(process.argv[3] ?? 200);
let schema = `baton_pgwt_resume_${COUNT}`;

const waiter = baton.workflow({ name: 'waiter', version: '1' }, async (ctx, input) => {
  const before = await ctx.step('before', async () => ({ input, note: 'prepared '.repeat(10) }));
  const payload = await ctx.waitFor('go');
  return ctx.step('after', async () => `${before.input}:${payload}`);
});

async function build() {
  await withAdmin((admin) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
  const store = createPostgresStore({ connectionString: POSTGRES_URL, schema });
  const runtime = baton.createRuntime({ store, recover: false, workflows: [waiter] });
  const handle = await runtime.start(waiter, 'order-1');
  for (;;) {
    const record = await runtime.get(handle.runId);
    if (record.status === 'suspended' && record.leaseOwner === undefined) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await runtime.close();
  await store.close();
  await withAdmin(async (admin) => {
    const columns = async (table) =>
      (
        await admin.query(
          `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND is_identity = 'NO' ORDER BY ordinal_position`,
          [schema, table],
        )
      ).rows.map((row) => row.column_name);
    const copy = async (table, idColumn) => {
      const names = await columns(table);
      const select = names.map((c) => (c === idColumn ? `$1 || '-c' || g` : `t.${c}`)).join(', ');
      await admin.query(
        `INSERT INTO "${schema}".${table} (${names.join(', ')}) SELECT ${select} FROM "${schema}".${table} t, generate_series(0, $2 - 2) g WHERE t.${idColumn} = $1`,
        [handle.runId, COUNT],
      );
    };
    await copy('runs', 'id');
    await copy('journal', 'run_id');
    await admin.query(`CREATE TABLE "${schema}".template (id text)`);
    await admin.query(`INSERT INTO "${schema}".template VALUES ($1)`, [handle.runId]);
    await admin.query(`ANALYZE "${schema}".runs`);
    await admin.query(`ANALYZE "${schema}".journal`);
  });
}

/** Builds (once) the schema of one side; returns its suspended run ids (the template excepted). */
async function prepare(side) {
  schema = `baton_pgwt_resume_${COUNT}_${side}`;
  const exists = await withAdmin(
    async (a) =>
      (
        await a.query(
          `SELECT 1 FROM information_schema.tables WHERE table_schema = $1 AND table_name = 'template'`,
          [schema],
        )
      ).rowCount,
  );
  if (!exists || process.argv.includes('--rebuild')) {
    const t = Date.now();
    await build();
    console.log(`built ${schema} in ${Date.now() - t} ms`);
  }
  const template = await withAdmin(
    async (a) => (await a.query(`SELECT id FROM "${schema}".template`)).rows[0].id,
  );
  return withAdmin(async (a) =>
    (
      await a.query(`SELECT id FROM "${schema}".runs WHERE status = 'suspended' AND id <> $1`, [template])
    ).rows.map((r) => r.id),
  );
}
// Sides: this build (dist/) and, with BATON_AB_DIST=<another dist>, that build, interleaved sample by sample.
const dists = [new URL('../dist/', import.meta.url).href];
if (process.env.BATON_AB_DIST) dists.push(`file://${process.env.BATON_AB_DIST.replace(/\/?$/, '/')}`);
let t0 = 0n;
let marks = [];
const now = () => Number(process.hrtime.bigint() - t0) / 1e6;
const sides = [];
// Shared: another side's recovery poll may pick up a signalled run (its wake_at is now).
const waiting = new Map();
for (const [index, dist] of dists.entries()) {
  const available = await prepare(index);
  const side = { dist, latencies: [], traces: [], waiting, available };
  const b = await import(`${dist}index.js`);
  const { createPostgresStore: create } = await import(`${dist}stores/postgres/index.js`);
  const flow = b.workflow({ name: 'waiter', version: '1' }, async (ctx, input) => {
    const before = await ctx.step('before', async () => ({ input, note: 'prepared '.repeat(10) }));
    const payload = await ctx.waitFor('go');
    return ctx.step('after', async () => `${before.input}:${payload}`);
  });
  const store = create({ connectionString: POSTGRES_URL, schema });
  for (const method of [
    'getRun',
    'readRecords',
    'addSignal',
    'claimRun',
    'loadJournal',
    'listSignals',
    'appendJournal',
    'updateRun',
    'appendRecord',
  ]) {
    const original = store[method].bind(store);
    store[method] = async (...args) => {
      if (t0 === 0n) return original(...args);
      const start = now();
      try {
        return await original(...args);
      } finally {
        marks.push(`${method} ${start.toFixed(2)}→${now().toFixed(2)}`);
      }
    };
  }
  side.store = store;
  side.runtime = b.createRuntime({ store, recover: true, pollIntervalMs: 100, workflows: [flow] });
  await side.runtime.list({ limit: 1 });
  side.runtime.on((event) => {
    const w = side.waiting.get(event.runId);
    if (w === undefined) return;
    if (event.type === 'step-start' && w.at === undefined) {
      w.at = process.hrtime.bigint();
      marks.push(`step-start ${now().toFixed(2)}`);
    }
    if (event.type === 'run-end') w.ended();
  });
  sides.push(side);
}
await new Promise((r) => setTimeout(r, 1000));
for (let i = 0; i < SAMPLES * sides.length; i++) {
  const side = sides[i % sides.length];
  const { available } = side;
  if (available.length === 0) break;
  const runId = available.splice(Math.floor(Math.random() * available.length), 1)[0];
  const w = {};
  const ended = new Promise((r) => {
    w.ended = r;
  });
  side.waiting.set(runId, w);
  marks = [];
  t0 = process.hrtime.bigint();
  await side.runtime.signal(runId, 'go', 'ok');
  marks.push(`signal() returned ${now().toFixed(2)}`);
  await ended;
  const ms = Number(w.at - t0) / 1e6;
  t0 = 0n;
  side.latencies.push(ms);
  side.traces.push({ ms, marks });
  side.waiting.delete(runId);
}
for (const side of sides) {
  const latencies = side.latencies.sort((a, b) => a - b);
  const q = (p) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)];
  console.log(
    `${side.dist}: n=${latencies.length} p50=${q(0.5).toFixed(2)} p95=${q(0.95).toFixed(2)} max=${latencies.at(-1).toFixed(2)}`,
  );
  if (process.argv.includes('--traces')) {
    const traces = side.traces.sort((a, b) => a.ms - b.ms);
    for (const t of [traces[Math.floor(traces.length / 2)], traces[Math.floor(traces.length * 0.95)]])
      console.log(t.ms.toFixed(2), `\n  ${t.marks.join('\n  ')}`);
  }
  await side.runtime.close();
  await side.store.close();
}

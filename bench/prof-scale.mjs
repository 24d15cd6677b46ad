// baton-scale's Postgres pass alone, with where the wall goes: `node --expose-gc bench/prof-scale.mjs [runs] [rounds]`.
// With BATON_AB_DIST=<another dist>, the two builds alternate pass by pass (ratios of medians);
// BATON_PROF_STORE=sqlite runs the SQLite pass instead (a temp file).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dropSchema, freshSchema, POSTGRES_URL } from './lib/postgres-bench.mjs';
import { sleepyAgent } from './lib/sleepy-agent.mjs';
import { createCounter } from './lib/workload.mjs';

const RUNS = Number(process.argv[2] ?? 10_000);
const ROUNDS = Number(process.argv[3] ?? 1);
const dists = [new URL('../dist/', import.meta.url).href];
if (process.env.BATON_AB_DIST) dists.push(`file://${process.env.BATON_AB_DIST.replace(/\/?$/, '/')}`);
const sides = [];
for (const dist of dists) {
  const baton = await import(`${dist}index.js`);
  const { createPostgresStore } = await import(`${dist}stores/postgres/index.js`);
  const { createSqliteStore } = await import(`${dist}stores/sqlite/index.js`);
  sides.push({ dist, baton, createPostgresStore, createSqliteStore, walls: [], cpus: [] });
}

const SQLITE = process.env.BATON_PROF_STORE === 'sqlite';

async function pass(side) {
  const schema = freshSchema('pgwt_scale');
  const directory = SQLITE ? mkdtempSync(join(tmpdir(), 'baton-prof-scale-')) : undefined;
  const store = SQLITE
    ? side.createSqliteStore({ path: join(directory, 'baton.db') })
    : side.createPostgresStore({ connectionString: POSTGRES_URL, schema });
  await store.open?.();
  const counters = { modelCalls: createCounter(), toolCalls: createCounter() };
  const agent = await sleepyAgent(1000, { name: 'sleepy-scale', counters });
  const runtime = side.baton.createRuntime({ store, recover: false, workflows: [agent] });
  try {
    await (await runtime.start(agent, 'What is 2 + 3?')).result();
    const stats0 = { ...store.stats };
    const cpuBefore = process.cpuUsage();
    const started = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
    const handles = await Promise.all(
      Array.from({ length: RUNS }, () => runtime.start(agent, 'What is 2 + 3?')),
    );
    const startedMs = ms();
    let firstCalls = 0;
    const poll = setInterval(() => {
      if (firstCalls === 0 && counters.modelCalls.count() >= RUNS + 1) firstCalls = ms();
    }, 5);
    const outputs = await Promise.all(handles.map((handle) => handle.result()));
    const wall = ms();
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    clearInterval(poll);
    if (outputs.some((output) => output !== '5')) throw new Error('wrong output');
    const d = Object.fromEntries(Object.entries(store.stats).map(([k, v]) => [k, v - (stats0[k] ?? 0)]));
    side.walls.push(wall);
    side.cpus.push(cpuMs);
    // Change-feed records (nobody wants the feed here: each one is a write no consumer reads).
    const changes = (await store.readRecords('runs:changes', { after: 0, limit: 100_000 })).length;
    console.log(
      `${side.dist.slice(-20)} wall ${wall.toFixed(0)} ms (÷2000 = ${(wall / 2000).toFixed(2)}), process CPU ${cpuMs.toFixed(0)} ms, started ${startedMs.toFixed(0)}, all first model calls ${firstCalls.toFixed(0)}; tx ${d.transactions} writes ${d.queuedWrites} statements ${d.statements} change records ${changes}`,
    );
  } finally {
    await runtime.close();
    await store.close();
    if (SQLITE) rmSync(directory, { recursive: true, force: true });
    else await dropSchema(schema);
  }
}

for (let round = 0; round < ROUNDS; round++) for (const side of sides) await pass(side);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const side of sides)
  console.log(
    side.dist,
    'median wall',
    median(side.walls).toFixed(0),
    'ms, median process CPU',
    median(side.cpus).toFixed(0),
    'ms, over',
    side.walls.length,
  );

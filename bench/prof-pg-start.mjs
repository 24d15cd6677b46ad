// Start-up of many latency-bound runs on Postgres (issue 11's baton-scale shape, smaller):
// `node bench/prof-pg-start.mjs [runs] [rounds]`. Per pass: ms from the first start() until every
// run is in its first model call (timed in the model) and until every start() resolved, the wall,
// and the store's transactions and writes per run. With BATON_AB_DIST=<another dist>, the two
// builds alternate pass by pass and the medians of each are printed.
import { dropSchema, freshSchema, POSTGRES_URL } from './lib/postgres-bench.mjs';
import { sleepyAgent } from './lib/sleepy-agent.mjs';
import { createCounter } from './lib/workload.mjs';

const RUNS = Number(process.argv[2] ?? 2_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const dists = [new URL('../dist/', import.meta.url).href];
if (process.env.BATON_AB_DIST) dists.push(`file://${process.env.BATON_AB_DIST.replace(/\/?$/, '/')}`);
const sides = [];
for (const dist of dists) {
  const baton = await import(`${dist}index.js`);
  const { createPostgresStore } = await import(`${dist}stores/postgres/index.js`);
  sides.push({ dist, baton, createPostgresStore, passes: [] });
}

async function pass(side) {
  const schema = freshSchema('pg_start');
  const store = side.createPostgresStore({ connectionString: POSTGRES_URL, schema });
  await store.open();
  let started = 0n;
  let calls = 0;
  let target = Number.POSITIVE_INFINITY;
  let inModelMs = 0;
  const modelCalls = {
    increment() {
      calls++;
      if (calls === target) inModelMs = Number(process.hrtime.bigint() - started) / 1e6;
    },
    count: () => calls,
  };
  const agent = await sleepyAgent(1000, {
    name: 'sleepy-start',
    counters: { modelCalls, toolCalls: createCounter() },
  });
  const runtime = side.baton.createRuntime({ store, recover: false, workflows: [agent] });
  try {
    await (await runtime.start(agent, 'What is 2 + 3?')).result();
    target = calls + RUNS;
    const before = { ...store.stats };
    started = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - started) / 1e6;
    const handles = await Promise.all(
      Array.from({ length: RUNS }, () => runtime.start(agent, 'What is 2 + 3?')),
    );
    const startedMs = ms();
    const outputs = await Promise.all(handles.map((handle) => handle.result()));
    const wallMs = ms();
    if (outputs.some((output) => output !== '5')) throw new Error('prof-pg-start: a run did not answer 5');
    const result = {
      inModelMs,
      startedMs,
      wallMs,
      transactionsPerRun: (store.stats.transactions - before.transactions) / RUNS,
      writesPerRun: (store.stats.queuedWrites - before.queuedWrites) / RUNS,
    };
    side.passes.push(result);
    console.log(
      `${side.dist.slice(-22)} every run in its first model call ${inModelMs.toFixed(0)} ms, every start() resolved ${startedMs.toFixed(0)} ms, wall ${wallMs.toFixed(0)} ms; per run ${result.transactionsPerRun.toFixed(3)} transactions, ${result.writesPerRun.toFixed(2)} writes`,
    );
  } finally {
    await runtime.close();
    await store.close();
    await dropSchema(schema);
  }
}

for (let round = 0; round < ROUNDS; round++) for (const side of sides) await pass(side);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const side of sides) {
  const of = (field) => median(side.passes.map((each) => each[field])).toFixed(field.endsWith('Run') ? 3 : 0);
  console.log(
    `${side.dist}: medians of ${side.passes.length}: in model ${of('inModelMs')} ms, started ${of('startedMs')} ms, wall ${of('wallMs')} ms, ${of('transactionsPerRun')} transactions per run`,
  );
}

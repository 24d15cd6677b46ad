// What a run waiting on its model call holds: `node --expose-gc bench/hot-heap.mjs [runs] [memory|sqlite|postgres] [snapshot]`
// starts `runs` runs of the sleepy agent (model calls of 60 s, so that no run gets past its first
// one while the others start, however loaded the machine), waits until every run made its
// first model call, and prints heap bytes per run in flight after full GCs (as baton-scale
// measures it); with `snapshot`, writes heap snapshots before the starts and then (compare them with
// bench/hot-heap-groups.mjs).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { baton, batonSqlite } from './lib/baton-agent.mjs';
import { sleepyAgent } from './lib/sleepy-agent.mjs';
import { createCounter } from './lib/workload.mjs';

const runs = Number(process.argv[2] ?? 1000);
const storeKind = process.argv[3] ?? 'memory';
const directory = mkdtempSync(join(tmpdir(), 'baton-hot-heap-'));
let dropPostgres = async () => undefined;
async function openStore() {
  if (storeKind === 'sqlite') return batonSqlite.createSqliteStore({ path: join(directory, 'baton.db') });
  if (storeKind !== 'postgres') return baton.createMemoryStore();
  const { dropSchema, freshSchema, POSTGRES_URL } = await import('./lib/postgres-bench.mjs');
  const { createPostgresStore } = await import(
    new URL('../dist/stores/postgres/index.js', import.meta.url).href
  );
  const schema = freshSchema('hot_heap');
  const postgres = createPostgresStore({ connectionString: POSTGRES_URL, schema });
  await postgres.open();
  dropPostgres = async () => {
    await postgres.close();
    await dropSchema(schema);
  };
  return postgres;
}
const store = await openStore();
const counters = { modelCalls: createCounter(), toolCalls: createCounter() };
const agent = await sleepyAgent(Number(process.env.HOT_HEAP_MODEL_MS ?? 60_000), {
  name: 'sleepy-heap',
  counters,
});
const runtime = baton.createRuntime({ store, recover: false, workflows: [agent] });
// One run first (opens the store, compiles the code), on a runtime whose model answers at once.
const warm = await sleepyAgent(0, { name: 'sleepy-heap-warm' });
await (await runtime.start(warm, 'What is 2 + 3?')).result();
const settle = async () => {
  for (let pass = 0; pass < 4; pass++) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
};
await settle();
const snapshot = process.argv[4] === 'snapshot';
if (snapshot) console.log(writeHeapSnapshot(join(tmpdir(), `hot-${storeKind}-before.heapsnapshot`)));
await settle();
const before = process.memoryUsage().heapUsed;
const calls = counters.modelCalls.count();
const handles = await Promise.all(Array.from({ length: runs }, () => runtime.start(agent, 'What is 2 + 3?')));
const results = Promise.all(handles.map((handle) => handle.result()));
while (counters.modelCalls.count() < calls + runs) await new Promise((resolve) => setTimeout(resolve, 5));
await settle();
const after = process.memoryUsage().heapUsed;
console.log(
  `${storeKind}: ${((after - before) / runs).toFixed(0)} heap bytes per run in flight (${runs} runs)`,
);
if (snapshot) console.log(writeHeapSnapshot(join(tmpdir(), `hot-${storeKind}.heapsnapshot`)));
// The runs wait another minute: measured, the process ends without them.
results.catch(() => undefined);
rmSync(directory, { recursive: true, force: true });
await runtime.close().catch(() => undefined);
await dropPostgres();
process.exit(0);

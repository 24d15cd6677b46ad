// Where baton-scale's wall goes, phase by phase: `node --expose-gc bench/prof-scale-phases.mjs [sqlite|postgres] [runs]`.
// The pass of cases/baton-scale.mjs (runs started together, two model calls of 1 s and a tool
// call each), with a model and a tool that note when each is reached; prints, for each point,
// the first, median and last time over the runs (ms from the first start), and the process CPU.
// A run's chain is start -> call1 -> (1 s) ret1 -> journal -> tool -> journal -> call2 -> (1 s)
// ret2 -> end; a last `ret1` later than the last `call1` + 1 s is time the event loop was busy.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { baton, batonSqlite } from './lib/baton-agent.mjs';
import { dropSchema, freshSchema, POSTGRES_URL } from './lib/postgres-bench.mjs';

const STORE = process.argv[2] ?? 'sqlite';
const RUNS = Number(process.argv[3] ?? 10_000);
// Baton's own zod (as lib/sleepy-agent.mjs), not the bench's copy.
const rootRequire = createRequire(new URL('../package.json', import.meta.url));
const { z } = await import(pathToFileURL(rootRequire.resolve('zod')).href);

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 3, text: 3, reasoning: 0 },
};
let origin = performance.now();
const points = { call1: [], ret1: [], tool: [], call2: [], ret2: [], result: [] };
const note = (point) => points[point].push(performance.now() - origin);
let calls = 0;
const model = {
  specificationVersion: 'v3',
  provider: 'fake',
  modelId: 'sleepy',
  supportedUrls: {},
  async doGenerate(options) {
    const second = options.prompt[options.prompt.length - 1].role === 'tool';
    note(second ? 'call2' : 'call1');
    await new Promise((resolve) => setTimeout(resolve, 1000));
    note(second ? 'ret2' : 'ret1');
    if (second)
      return {
        content: [{ type: 'text', text: '5' }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
      };
    const input = '{"a":2,"b":3}';
    const content = [{ type: 'tool-call', toolCallId: `call_${++calls}`, toolName: 'add', input }];
    return { content, finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage, warnings: [] };
  },
  async doStream() {
    throw new Error('the bench never streams');
  },
};
const agent = baton.agent({
  name: 'sleepy-scale',
  instructions: 'Use the add tool to add numbers.',
  model,
  tools: [
    baton.tool({
      name: 'add',
      description: 'Add two numbers.',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => {
        note('tool');
        return a + b;
      },
    }),
  ],
});

const directory = mkdtempSync(join(tmpdir(), 'baton-scale-phases-'));
const schema = freshSchema('scale_phases');
const { createPostgresStore } = await import(
  new URL('../dist/stores/postgres/index.js', import.meta.url).href
);
const store =
  STORE === 'sqlite'
    ? batonSqlite.createSqliteStore({ path: join(directory, 'baton.db') })
    : createPostgresStore({ connectionString: POSTGRES_URL, schema });
const runtime = baton.createRuntime({ store, recover: false, workflows: [agent] });
try {
  await (await runtime.start(agent, 'What is 2 + 3?')).result();
  for (const list of Object.values(points)) list.length = 0;
  const cpu = process.cpuUsage();
  origin = performance.now();
  const handles = await Promise.all(
    Array.from({ length: RUNS }, () => runtime.start(agent, 'What is 2 + 3?')),
  );
  const started = performance.now() - origin;
  await Promise.all(handles.map((handle) => handle.result().then(() => note('result'))));
  const wall = performance.now() - origin;
  const used = process.cpuUsage(cpu);
  const at = (values, share) => [...values].sort((a, b) => a - b)[Math.floor(share * (values.length - 1))];
  const spread = Object.entries(points)
    .map(
      ([point, values]) => `${point} ${[0, 0.5, 1].map((share) => at(values, share).toFixed(0)).join('/')}`,
    )
    .join('  ');
  console.log(
    `${STORE}, ${RUNS} runs: wall ${wall.toFixed(0)} ms, process CPU ${((used.user + used.system) / 1000).toFixed(0)} ms, every start resolved ${started.toFixed(0)} ms, load ${loadavg()[0].toFixed(1)}`,
  );
  console.log(`first/median/last ms: ${spread}`);
} finally {
  await runtime.close();
  await store.close();
  rmSync(directory, { recursive: true, force: true });
  if (STORE !== 'sqlite') await dropSchema(schema);
}

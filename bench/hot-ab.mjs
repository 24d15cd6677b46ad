// A/B of two builds of Baton in one process: `node bench/hot-ab.mjs <distA> <distB> [runs] [rounds]`
// runs the baton-memory workload (the add agent on the memory store) on each build, interleaved
// round by round (the order alternating), and prints the medians and the ratio B ÷ A.
// Default A: a copy of an earlier build in /tmp/hot/base/dist; B: this worktree's dist.
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  ADD_ARGUMENTS,
  ADD_TOOL,
  assertFinalOutput,
  createAddTool,
  createCallIds,
  createCounter,
  FINAL_ANSWER,
  PROMPT,
} from './lib/workload.mjs';

const rootRequire = createRequire(new URL('../package.json', import.meta.url));
const { z } = await import(pathToFileURL(rootRequire.resolve('zod')).href);
const distA = resolve(process.argv[2] ?? '/tmp/hot/base/dist');
const distB = resolve(process.argv[3] ?? new URL('../dist', import.meta.url).pathname);
const runs = Number(process.argv[4] ?? 2000);
const rounds = Number(process.argv[5] ?? 15);
const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 3, text: 3, reasoning: 0 },
};

async function side(dist) {
  const baton = await import(pathToFileURL(`${dist}/index.js`).href);
  const add = createAddTool();
  const modelCalls = createCounter();
  const nextCallId = createCallIds();
  const toolInput = JSON.stringify(ADD_ARGUMENTS);
  const model = {
    specificationVersion: 'v3',
    provider: 'fake',
    modelId: 'fake',
    supportedUrls: {},
    async doGenerate(options) {
      modelCalls.increment();
      const last = options.prompt[options.prompt.length - 1];
      if (last.role === 'tool')
        return {
          content: [{ type: 'text', text: FINAL_ANSWER }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        };
      return {
        content: [{ type: 'tool-call', toolCallId: nextCallId(), toolName: ADD_TOOL.name, input: toolInput }],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      };
    },
    async doStream() {
      throw new Error('the bench never streams');
    },
  };
  const calculator = baton.agent({
    name: 'calculator',
    instructions: 'Use the add tool to add numbers.',
    model,
    tools: [
      baton.tool({
        name: ADD_TOOL.name,
        description: ADD_TOOL.description,
        input: z.object({ a: z.number(), b: z.number() }),
        execute: (input) => add.execute(input),
      }),
    ],
  });
  const runtime = baton.createRuntime({ store: baton.createMemoryStore(), recover: false });
  return async () => {
    const handle = await runtime.start(calculator, PROMPT);
    assertFinalOutput('baton', await handle.result());
  };
}

const a = await side(distA);
const b = await side(distB);
const time = async (fn, count) => {
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) await fn();
  return Number(process.hrtime.bigint() - started) / 1000 / count;
};
await time(a, runs * 2);
await time(b, runs * 2);
const samples = { a: [], b: [] };
for (let round = 0; round < rounds; round++) {
  if (round % 2 === 0) {
    samples.a.push(await time(a, runs));
    samples.b.push(await time(b, runs));
  } else {
    samples.b.push(await time(b, runs));
    samples.a.push(await time(a, runs));
  }
}
const med = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];
const ratios = samples.a.map((value, index) => samples.b[index] / value);
console.log(
  `A ${med(samples.a).toFixed(2)} µs, B ${med(samples.b).toFixed(2)} µs, B÷A ${(med(samples.b) / med(samples.a)).toFixed(3)} (median of per-round ratios ${med(ratios).toFixed(3)})`,
);

// Baton's side of the workload: the `add` agent on a fake LanguageModelV3, on any store.
import { createRequire } from 'node:module';
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
} from './workload.mjs';

// Baton and its zod come from the repository root (built by `npm run bench`), not from bench/.
const rootRequire = createRequire(new URL('../../package.json', import.meta.url));
const load = (specifier) => import(pathToFileURL(rootRequire.resolve(specifier)).href);
export const baton = await import(new URL('../../dist/index.js', import.meta.url).href);
export const batonSqlite = await import(new URL('../../dist/stores/sqlite/index.js', import.meta.url).href);
const { z } = await load('zod');
export const Database = (await load('better-sqlite3')).default;

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 3, text: 3, reasoning: 0 },
};

/**
 * The AI SDK model spec without the network: a tool result as the last prompt message means
 * answer, otherwise call the add tool. Baton's agent loop calls `doGenerate` itself.
 */
function createFakeModel(modelCalls) {
  const nextCallId = createCallIds();
  const toolInput = JSON.stringify(ADD_ARGUMENTS);
  return {
    specificationVersion: 'v3',
    provider: 'fake',
    modelId: 'fake',
    supportedUrls: {},
    async doGenerate(options) {
      modelCalls.increment();
      const last = options.prompt[options.prompt.length - 1];
      if (last.role === 'tool') {
        return {
          content: [{ type: 'text', text: FINAL_ANSWER }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        };
      }
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
}

/**
 * The agent, a runtime on `store`, and a `runOnce` that checks the output. `extra.agent` adds
 * agent options (policies), `extra.runtime` runtime options.
 */
export function createBatonAgent(store, extra = {}) {
  const add = createAddTool();
  const modelCalls = createCounter();
  const calculator = baton.agent({
    name: 'calculator',
    instructions: 'Use the add tool to add numbers.',
    model: createFakeModel(modelCalls),
    tools: [
      baton.tool({
        name: ADD_TOOL.name,
        description: ADD_TOOL.description,
        input: z.object({ a: z.number(), b: z.number() }),
        execute: (input) => add.execute(input),
        ...extra.tool,
      }),
    ],
    ...extra.agent,
  });
  const runtime = baton.createRuntime({ store, recover: false, ...extra.runtime });
  const runOnce = async () => {
    const handle = await runtime.start(calculator, PROMPT);
    assertFinalOutput('baton', await handle.result());
    return handle.runId;
  };
  return { runtime, runOnce, toolCalls: add.count, modelCalls: modelCalls.count };
}

/** Median µs per run of `runs` sequential runs, repeated `rounds` times. */
export async function timeSequential(runOnce, runs, rounds = 5) {
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let index = 0; index < runs; index++) await runOnce();
    samples.push(Number(process.hrtime.bigint() - started) / 1000 / runs);
  }
  return median(samples);
}

/** Median µs per run with `inFlight` runs started together, over `batches` batches per round. */
export async function timeInFlight(runOnce, inFlight, batches, rounds = 5) {
  const samples = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let batch = 0; batch < batches; batch++)
      await Promise.all(Array.from({ length: inFlight }, runOnce));
    samples.push(Number(process.hrtime.bigint() - started) / 1000 / (inFlight * batches));
  }
  return median(samples);
}

function median(values) {
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.floor(sorted.length / 2)];
}

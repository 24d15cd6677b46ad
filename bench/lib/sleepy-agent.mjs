// A latency-bound agent: its model answers after `modelMs` (a tool call, then the answer), as a
// remote model does; the add tool runs at once. `counters` (optional) counts model and tool calls.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const rootRequire = createRequire(new URL('../../package.json', import.meta.url));
const baton = await import(new URL('../../dist/index.js', import.meta.url).href);
const { z } = await import(pathToFileURL(rootRequire.resolve('zod')).href);

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 3, text: 3, reasoning: 0 },
};

export async function sleepyAgent(modelMs, { name = 'sleepy', counters } = {}) {
  let calls = 0;
  const model = {
    specificationVersion: 'v3',
    provider: 'fake',
    modelId: 'sleepy',
    supportedUrls: {},
    async doGenerate(options) {
      counters?.modelCalls.increment();
      await new Promise((resolve) => setTimeout(resolve, modelMs));
      const last = options.prompt[options.prompt.length - 1];
      if (last.role === 'tool')
        return {
          content: [{ type: 'text', text: '5' }],
          finishReason: { unified: 'stop', raw: 'stop' },
          usage,
          warnings: [],
        };
      return {
        content: [
          { type: 'tool-call', toolCallId: `call_${++calls}`, toolName: 'add', input: '{"a":2,"b":3}' },
        ],
        finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
        usage,
        warnings: [],
      };
    },
    async doStream() {
      throw new Error('the bench never streams');
    },
  };
  return baton.agent({
    name,
    instructions: 'Use the add tool to add numbers.',
    model,
    tools: [
      baton.tool({
        name: 'add',
        description: 'Add two numbers.',
        input: z.object({ a: z.number(), b: z.number() }),
        execute: ({ a, b }) => {
          counters?.toolCalls.increment();
          return a + b;
        },
      }),
    ],
  });
}

import { defaultSettingsMiddleware, extractReasoningMiddleware } from 'ai';
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createContextWindows,
  createRuntime,
  createTokenizers,
  type RunContext,
  type RunHandle,
  tool,
  workflow,
} from '../src/index.js';
import { scriptedModel } from '../src/testing/index.js';

const model = scriptedModel([]);
const runtime = createRuntime();

describe('type inference', () => {
  it('types tool inputs from the zod schema', () => {
    tool({
      name: 'add',
      description: 'Adds',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: (input) => {
        expectTypeOf(input).toEqualTypeOf<{ a: number; b: number }>();
        return input.a + input.b;
      },
    });
  });

  it('types an agent result from its output schema, and as string without one', async () => {
    const typed = agent({ name: 'typed', instructions: 'x', model, output: z.object({ score: z.number() }) });
    expectTypeOf(await runtime.start(typed, 'hi')).toEqualTypeOf<RunHandle<{ score: number }>>();
    const plain = agent({ name: 'plain', instructions: 'x', model });
    expectTypeOf(await (await runtime.start(plain, 'hi')).result()).toEqualTypeOf<string>();
  });

  it('types workflow input and output, and checks the input given to start', async () => {
    const flow = workflow(
      { name: 'flow' },
      async (_ctx: RunContext, input: { id: string }) => input.id.length,
    );
    expectTypeOf(await (await runtime.start(flow, { id: 'x' })).result()).toEqualTypeOf<number>();
    // @ts-expect-error the input must match the workflow's input type
    await runtime.start(flow, { id: 1 });
  });

  it('types parallel branches as a tuple', () => {
    workflow({ name: 'tuple' }, async (ctx) => {
      const result = await ctx.parallel([async () => 1, async () => 'two'] as const);
      expectTypeOf(result).toEqualTypeOf<readonly [number, string]>();
      return result;
    });
  });

  it("takes the AI SDK's middleware on an agent, and a runtime's own context windows and tokenizers", () => {
    agent({
      name: 'tuned',
      instructions: 'Help.',
      model,
      middleware: [
        defaultSettingsMiddleware({ settings: { temperature: 0 } }),
        extractReasoningMiddleware({ tagName: 'think' }),
      ],
    });
    // @ts-expect-error a middleware is an object with specificationVersion 'v3', not a function
    agent({ name: 'wrong', instructions: 'Help.', model, middleware: [() => undefined] });
    createRuntime({
      contextWindows: createContextWindows({ 'qwen2.5': 32_768 }),
      tokenizers: createTokenizers({ 'my-finetune': { encoding: 'cl100k_base', margin: 1.1 } }),
    });
    // @ts-expect-error contextWindows is a table made by createContextWindows, not a record
    createRuntime({ contextWindows: { 'qwen2.5': 32_768 } });
  });
});

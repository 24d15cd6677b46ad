import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent, createMemoryStore, createRuntime, tool, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

describe('runtime.fork', () => {
  it('shares the journal before the step and runs that step and the rest live', async () => {
    const calls: string[] = [];
    const flow = workflow({ name: 'pipeline' }, async (ctx, input: { topic: string }) => {
      const a = await ctx.step('research', () => {
        calls.push('research');
        return `notes on ${input.topic}`;
      });
      const b = await ctx.step('draft', () => {
        calls.push('draft');
        return `draft from ${a}`;
      });
      return ctx.step('polish', () => {
        calls.push('polish');
        return `${b}, polished`;
      });
    });
    const runtime = createRuntime({ store: createMemoryStore(), workflows: [flow] });
    const original = await runtime.start(flow, { topic: 'owls' });
    expect(await original.result()).toBe('draft from notes on owls, polished');
    expect(calls).toEqual(['research', 'draft', 'polish']);

    const fork = await runtime.fork(original.runId, { at: 'r#1' });
    expect(await fork.result()).toBe('draft from notes on owls, polished');
    // research replayed from the shared journal; draft and polish ran again.
    expect(calls).toEqual(['research', 'draft', 'polish', 'draft', 'polish']);
    expect(await runtime.forkOrigin(fork.runId)).toEqual({ runId: original.runId, at: 'r#1', step: 2 });
    expect(await runtime.forkOrigin(original.runId)).toBeUndefined();
    // The original is untouched.
    expect((await runtime.journal(original.runId)).map((entry) => entry.runId)).toEqual([
      original.runId,
      original.runId,
      original.runId,
    ]);
    // With another input: steps before the cut still replay as recorded.
    const other = await runtime.fork(original.runId, { at: 'r#2', input: { topic: 'bats' } });
    expect(await other.result()).toBe('draft from notes on owls, polished');
    await runtime.close();
  });

  it('re-asks the model at a model step: what if it had answered differently', async () => {
    const add = tool({
      name: 'add',
      description: 'Adds.',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: async ({ a, b }) => a + b,
    });
    let answer = '5';
    const model = scriptedModel(({ turn }) =>
      turn === 0 ? { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] } : { text: answer },
    );
    const calc = agent({ name: 'calc', model, instructions: 'Add.', tools: [add] });
    const runtime = createRuntime({ store: createMemoryStore(), workflows: [calc] });
    const original = await runtime.start(calc, 'What is 2 + 3?');
    expect(await original.result()).toBe('5');
    answer = 'five';
    const fork = await runtime.fork(original.runId, { at: 'r#2' });
    expect(await fork.result()).toBe('five');
    expect(model.calls).toHaveLength(3);
    await runtime.close();
  });

  it('names the steps it has when asked for one it does not, and refuses unknown options', async () => {
    const flow = workflow({ name: 'one' }, async (ctx) => ctx.step('only', () => 1));
    const runtime = createRuntime({ store: createMemoryStore(), workflows: [flow] });
    const handle = await runtime.start(flow, {});
    await handle.result();
    await expect(runtime.fork(handle.runId, { at: 'r#7' })).rejects.toThrow(
      `runtime.fork("${handle.runId}"): the run has no step at "r#7"; its steps are at r#0 (see baton show).`,
    );
    await expect(runtime.fork(handle.runId, { at: 'r#0', atStep: 1 } as never)).rejects.toThrow('atStep');
    await expect(runtime.fork('run_missing', { at: 'r#0' })).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    await runtime.close();
  });
});

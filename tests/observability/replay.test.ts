import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent, createMemoryStore, createRuntime, tool, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

describe('runtime.replay', () => {
  it('replays an ended agent run with no model or tool call and reports it identical', async () => {
    let executions = 0;
    const add = tool({
      name: 'add',
      description: 'Adds.',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: async ({ a, b }) => {
        executions += 1;
        return a + b;
      },
    });
    const model = scriptedModel([{ toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] }, { text: '5' }]);
    const calc = agent({ name: 'calc', model, instructions: 'Add.', tools: [add] });
    const store = createMemoryStore();
    const runtime = createRuntime({ store, workflows: [calc] });
    const handle = await runtime.start(calc, 'What is 2 + 3?');
    expect(await handle.result()).toBe('5');
    const journalBefore = await runtime.journal(handle.runId);
    const recordBefore = await runtime.get(handle.runId);

    const report = await runtime.replay(handle.runId);
    expect(report).toMatchObject({
      identical: true,
      status: 'completed',
      output: '5',
      recorded: 3,
      replayed: 3,
    });
    expect(report.difference).toBeUndefined();
    expect(model.calls).toHaveLength(2);
    expect(executions).toBe(1);
    // Nothing was written.
    expect(await runtime.journal(handle.runId)).toEqual(journalBefore);
    expect(await runtime.get(handle.runId)).toEqual(recordBefore);
    await runtime.close();
  });

  it('names the first step where changed code asks for something else, without running it', async () => {
    const store = createMemoryStore();
    let charged = 0;
    const before = workflow({ name: 'order' }, async (ctx) => {
      const total = await ctx.step('price', () => 40);
      return ctx.step('charge', () => {
        charged += 1;
        return { charged: total };
      });
    });
    const first = createRuntime({ store, workflows: [before] });
    const handle = await first.start(before, {});
    await handle.result();
    await first.close();

    // The code now sends an email between pricing and charging.
    const after = workflow({ name: 'order' }, async (ctx) => {
      const total = await ctx.step('price', () => 40);
      await ctx.step('email', () => 'sent');
      return ctx.step('charge', () => {
        charged += 1;
        return { charged: total };
      });
    });
    const second = createRuntime({ store, workflows: [after] });
    const report = await second.replay(handle.runId);
    expect(report.identical).toBe(false);
    expect(report.difference).toMatchObject({ key: 'r#1', recorded: 'charge', requested: 'email' });
    expect(charged).toBe(1);
    await second.close();

    // A code that stops earlier, and one that returns something else.
    const shorter = workflow({ name: 'order' }, async (ctx) => ctx.step('price', () => 40));
    const third = createRuntime({ store, workflows: [shorter] });
    const early = await third.replay(handle.runId);
    expect(early.identical).toBe(false);
    expect(early.difference?.message).toContain('returns another output');
    await third.close();
    const other = workflow({ name: 'order' }, async (ctx) => {
      await ctx.step('price', () => 40);
      await ctx.step('charge', () => ({ charged: 40 }));
      return 'done';
    });
    const fourth = createRuntime({ store, workflows: [other] });
    expect((await fourth.replay(handle.runId)).difference?.message).toBe(
      "Today's code makes the recorded steps but returns another output.",
    );
    await fourth.close();
  });

  it('finds a divergence even when the code catches the error it raises', async () => {
    const store = createMemoryStore();
    const original = workflow({ name: 'careful' }, async (ctx) => ctx.step('a', () => 1));
    const runtime = createRuntime({ store, workflows: [original] });
    const handle = await runtime.start(original, {});
    await handle.result();
    await runtime.close();
    const catching = workflow({ name: 'careful' }, async (ctx) => {
      try {
        await ctx.step('b', () => 2);
      } catch {
        // swallowed by user code
      }
      return 1;
    });
    const replaying = createRuntime({ store, workflows: [catching] });
    const report = await replaying.replay(handle.runId);
    expect(report.identical).toBe(false);
    expect(report.difference).toMatchObject({ key: 'r#0', recorded: 'a', requested: 'b' });
    await replaying.close();
  });

  it('refuses a run that has not ended, and an unknown one', async () => {
    const store = createMemoryStore();
    const waiting = workflow({ name: 'waiting' }, async (ctx) => ctx.waitFor('go'));
    const runtime = createRuntime({ store, workflows: [waiting] });
    const handle = await runtime.start(waiting, {});
    await expect.poll(async () => (await runtime.get(handle.runId)).status).toBe('suspended');
    await expect(runtime.replay(handle.runId)).rejects.toMatchObject({ code: 'RUN_NOT_ENDED' });
    await expect(runtime.replay('run_missing')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
    await runtime.close();
  });
});

/** The workflow the crash test kills: steps, parallel branches, a wait, and an agent with a tool. */

import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { agent, type RunContext, tool, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

/** Appends one side-effect line; `hang` blocks forever after telling the parent it is in flight. */
export function effects(logPath: string, killAt: string | undefined) {
  return async (tag: string, value: unknown): Promise<unknown> => {
    appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, tag, phase: 'start' })}\n`);
    if (tag === killAt) {
      process.stdout.write(`IN-FLIGHT ${tag}\n`);
      await new Promise(() => undefined);
    }
    appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, tag, phase: 'done' })}\n`);
    return value;
  };
}

export function crashFlow(logPath: string, killAt: string | undefined) {
  const effect = effects(logPath, killAt);
  const add = tool({
    name: 'add',
    description: 'Adds two numbers',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => effect('tool:add', a + b),
  });
  const model = scriptedModel(async ({ turn }) => {
    await effect(`model#${turn}`, null);
    return turn === 0 ? { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] } : { text: '5' };
  });
  const calculator = agent({ name: 'calc', instructions: 'Add.', model, tools: [add] });
  return workflow({ name: 'crash-flow', version: '1' }, async (ctx: RunContext, input: { order: string }) => {
    const fetched = await ctx.step('fetch', () => effect('fetch', `order ${input.order}`));
    const [left, right] = await ctx.parallel([
      async (branch: RunContext) => {
        const one = await branch.step('left-1', () => effect('left-1', 1));
        const two = await branch.step('left-2', () => effect('left-2', 2));
        return (one as number) + (two as number);
      },
      async (branch: RunContext) => {
        const one = await branch.step('right-1', () => effect('right-1', 10));
        const two = await branch.step('right-2', () => effect('right-2', 20));
        return (one as number) + (two as number);
      },
    ]);
    const approval = await ctx.waitFor<{ approvedBy: string }>('approve');
    const charge = await ctx.step('charge', () => effect('charge', `charged ${input.order}`));
    const answer = await ctx.run(calculator, 'What is 2+3?');
    return { fetched, left, right, approvedBy: approval.approvedBy, charge, answer };
  });
}

/** The workflow the worker tests run: steps that take time, parallel branches, a sleep, a signal and an agent with a tool. */

import { appendFileSync } from 'node:fs';
import { z } from 'zod';
import { agent, type RunContext, tool, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

/** One side-effect line per execution of a step: which process ran it, for which run. */
export function effectLog(logPath: string, stepMs: number) {
  return async (runId: string, tag: string, value: unknown): Promise<unknown> => {
    appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, runId, tag, phase: 'start' })}\n`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
    appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, runId, tag, phase: 'done' })}\n`);
    return value;
  };
}

export interface FlowInput {
  n: number;
  /** Wait for the signal `go` before the last step. */
  waitSignal: boolean;
  /** Sleep this long (a durable timer when longer than the runtime's inline wait). */
  sleepMs: number;
}

export function workerFlow(logPath: string, stepMs = 30) {
  const effect = effectLog(logPath, stepMs);
  {
    const add = tool({
      name: 'add',
      description: 'Adds two numbers',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }, context) => effect(context.runId, 'tool:add', a + b),
    });
    const model = scriptedModel(async ({ turn }) =>
      turn === 0 ? { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] } : { text: '5' },
    );
    const calculator = agent({ name: 'calc', instructions: 'Add.', model, tools: [add] });
    return workflow({ name: 'worker-flow', version: '1' }, async (ctx: RunContext, input: FlowInput) => {
      const runId = ctx.runId;
      const first = (await ctx.step('first', () => effect(runId, 'first', input.n))) as number;
      const [left, right] = await ctx.parallel([
        (branch: RunContext) =>
          branch.step('left', () => effect(runId, 'left', first + 1)) as Promise<number>,
        (branch: RunContext) =>
          branch.step('right', () => effect(runId, 'right', first + 2)) as Promise<number>,
      ]);
      if (input.sleepMs > 0) await ctx.sleep(input.sleepMs);
      let signalled = 'none';
      if (input.waitSignal) signalled = (await ctx.waitFor<{ by: string }>('go')).by;
      const answer = await ctx.run(calculator, 'What is 2+3?');
      const last = await ctx.step('last', () => effect(runId, 'last', left + right));
      return { n: input.n, left, right, signalled, answer, last };
    });
  }
}

/** A unit of the fan-out: one step that takes a little time. */
export function fanoutUnit(logPath: string, stepMs = 30) {
  const effect = effectLog(logPath, stepMs);
  return workflow({ name: 'fanout-unit', version: '1' }, async (ctx: RunContext, n: number) => {
    const doubled = (await ctx.step('double', () => effect(ctx.runId, 'double', n * 2))) as number;
    return doubled + 1;
  });
}

/** A parent that dispatches `count` units as runs of their own and sums their outputs. */
export function fanoutFlow(logPath: string, stepMs = 30) {
  const unit = fanoutUnit(logPath, stepMs);
  const parent = workflow({ name: 'fanout', version: '1' }, async (ctx: RunContext, count: number) => {
    const outputs = await ctx.parallel(
      Array.from(
        { length: count },
        (_, n) => (branch: RunContext) => branch.run(unit, n, { distribute: true }) as Promise<number>,
      ),
    );
    return outputs.reduce((sum, value) => sum + value, 0);
  });
  return [parent, unit] as const;
}

/**
 * The workflows of the chaos test: steps, parallel branches, durable sleeps, signals, a child
 * workflow and an agent with a tool, mixed per run; every step appends to a side-effect log.
 */

import { appendFileSync } from 'node:fs';
import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { z } from 'zod';
import { agent, type RunContext, tool, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

/** One line of the side-effect log: a process started or finished a step, or saw a run end. */
export interface ChaosEffect {
  pid: number;
  runId: string;
  tag: string;
  phase: 'start' | 'done' | 'end';
  /** Wall-clock time of the line (ms since the epoch). */
  at: number;
}

/** What one run does; every field is a function of `n`, so the expected output is too. */
export interface ChaosInput {
  n: number;
  /** Sequential steps after the branches. */
  steps: number;
  /** A durable sleep of this many ms (0: none). */
  sleepMs: number;
  /** Waits for the signal `go` (sent by the test). */
  waitSignal: boolean;
  /** Runs the child workflow `chaos-child` with `ctx.run`. */
  child: boolean;
  /** Runs the agent `adder` (a model turn calling the tool `add`, then an answer). */
  agent: boolean;
}

/** The input of run number `n`: a mix that covers every feature many times over 200 runs. */
export function chaosInput(n: number): ChaosInput {
  return {
    n,
    steps: 1 + (n % 3),
    sleepMs: n % 4 === 1 ? 400 + (n % 7) * 100 : 0,
    waitSignal: n % 3 === 0,
    child: n % 2 === 0,
    agent: n % 5 !== 4,
  };
}

/** What an uncrashed run of `input` returns. */
export function expectedOutput(input: ChaosInput) {
  const { n } = input;
  const sequence = Array.from({ length: input.steps }, (_, index) => n * 10 + index);
  return {
    n,
    branches: [n + 1, n + 2],
    sequence,
    signalled: input.waitSignal ? `go-${n}` : 'none',
    child: input.child ? { doubled: 2 * n, squared: n * n } : null,
    answer: input.agent ? String(n + 7) : null,
    last: 2 * n + 3 + sequence.length,
  };
}

/** The step tags (journal names) a run of `input` executes. */
export function expectedTags(input: ChaosInput): string[] {
  return [
    'first',
    'left',
    'right',
    ...Array.from({ length: input.steps }, (_, index) => `seq:${index}`),
    ...(input.child ? ['child:double', 'child:square'] : []),
    ...(input.agent ? ['tool:add'] : []),
    'last',
  ];
}

/** The text of the first user message of a prompt. */
function userText(prompt: LanguageModelV3Prompt): string {
  for (const message of prompt) {
    if (message.role !== 'user') continue;
    for (const part of message.content) if (part.type === 'text') return part.text;
  }
  return '';
}

/** The workflows, logging their effects to `logPath`; each step takes about `stepMs`. */
export function chaosFlows(logPath: string, stepMs = 20) {
  const effect = async <T>(runId: string, tag: string, value: T): Promise<T> => {
    const line = (phase: ChaosEffect['phase']) =>
      `${JSON.stringify({ pid: process.pid, runId, tag, phase, at: Date.now() } satisfies ChaosEffect)}\n`;
    appendFileSync(logPath, line('start'));
    await new Promise((resolve) => setTimeout(resolve, stepMs));
    appendFileSync(logPath, line('done'));
    return value;
  };
  const add = tool({
    name: 'add',
    description: 'Adds two numbers',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }, context) => effect(context.runId, 'tool:add', a + b),
  });
  // Turn 0 asks for the tool with the numbers of the prompt, turn 1 answers their sum.
  const model = scriptedModel(({ turn, prompt }) => {
    const [a = 0, b = 0] = (/add (\d+) and (\d+)/.exec(userText(prompt)) ?? []).slice(1).map(Number);
    return turn === 0 ? { toolCalls: [{ tool: 'add', input: { a, b } }] } : { text: String(a + b) };
  });
  const adder = agent({ name: 'adder', instructions: 'Add with the tool.', model, tools: [add] });
  const child = workflow({ name: 'chaos-child', version: '1' }, async (ctx: RunContext, n: number) => {
    const doubled = await ctx.step('child:double', () => effect(ctx.runId, 'child:double', 2 * n));
    const squared = await ctx.step('child:square', () => effect(ctx.runId, 'child:square', n * n));
    return { doubled, squared };
  });
  const flow = workflow({ name: 'chaos-flow', version: '1' }, async (ctx: RunContext, input: ChaosInput) => {
    const { runId } = ctx;
    const { n } = input;
    const first = await ctx.step('first', () => effect(runId, 'first', n));
    const branches = await ctx.parallel([
      (branch: RunContext) => branch.step('left', () => effect(runId, 'left', first + 1)),
      (branch: RunContext) => branch.step('right', () => effect(runId, 'right', first + 2)),
    ]);
    const sequence: number[] = [];
    for (let index = 0; index < input.steps; index++) {
      sequence.push(await ctx.step(`seq:${index}`, () => effect(runId, `seq:${index}`, n * 10 + index)));
    }
    if (input.sleepMs > 0) await ctx.sleep(input.sleepMs);
    let signalled = 'none';
    if (input.waitSignal) signalled = (await ctx.waitFor<{ by: string }>('go')).by;
    const childOutput = input.child ? await ctx.run(child, n) : null;
    const answer = input.agent ? await ctx.run(adder, `Please add ${n} and 7.`) : null;
    const last = await ctx.step('last', () =>
      effect(runId, 'last', branches[0] + branches[1] + sequence.length),
    );
    return { n, branches, sequence, signalled, child: childOutput, answer, last };
  });
  return [flow, child];
}

import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { concurrent } from './concurrent.js';
import { handoff } from './handoff.js';
import { sequential } from './sequential.js';

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });
const upper = workflow({ name: 'upper' }, async (ctx, text: string) =>
  ctx.step('upper', () => text.toUpperCase()),
);
const exclaim = workflow({ name: 'exclaim' }, async (_ctx, text: string) => `${text}!`);
const fail = workflow({ name: 'broken' }, async () => {
  throw new Error('stage exploded');
});
const slow = (name: string, ms: number, value: string) =>
  workflow({ name }, async (ctx) =>
    ctx.step('work', () => new Promise<string>((resolve) => setTimeout(() => resolve(value), ms))),
  );

describe('sequential', () => {
  it('passes each output to the next stage, with optional input mapping', async () => {
    const rt = runtime();
    const pipeline = sequential({
      name: 'pipe',
      stages: [
        upper,
        { run: exclaim, input: (previous, { input }) => `${previous as string} (from ${input as string})` },
      ],
    });
    expect(await (await rt.start(pipeline, 'hi')).result()).toBe('HI (from hi)!');
    await rt.close();
  });

  it('stops at a failing stage with an error naming it', async () => {
    const rt = runtime();
    const pipeline = sequential({ name: 'pipe-fail', stages: [upper, fail, exclaim] });
    const error = (await (
      await rt.start(pipeline, 'x')
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('STAGE_FAILED');
    expect(error.message).toContain('stage 2 "broken": stage exploded');
    await rt.close();
  });

  it('lets a stage that waits for a signal suspend the run instead of failing the pipeline', async () => {
    const rt = runtime();
    const approve = workflow({ name: 'approve' }, async (ctx, text: string) => {
      const decision = await ctx.waitFor<string>('decision');
      return `${text} (${decision})`;
    });
    const pipeline = sequential({ name: 'pipe-wait', stages: [upper, approve, exclaim] });
    const handle = await rt.start(pipeline, 'memo');
    while ((await rt.get(handle.runId)).status !== 'suspended')
      await new Promise((resolve) => setTimeout(resolve, 2));
    await rt.signal(handle.runId, 'decision', 'approved');
    expect(await handle.result()).toBe('MEMO (approved)!');
    await rt.close();
  });

  it('rejects an empty pipeline and non-runnable stages', () => {
    expect(() => sequential({ name: 'empty', stages: [] })).toThrow(/stages must be a non-empty array/);
    expect(() => sequential({ name: 'bad', stages: [{} as never] })).toThrow(/stages\[0\] is not an agent/);
  });
});

describe('concurrent', () => {
  it('fans out in parallel and collects outputs by unit name', async () => {
    const rt = runtime();
    const timeline: string[] = [];
    const unit = (name: string) =>
      workflow({ name }, async (ctx) =>
        ctx.step('work', async () => {
          timeline.push(`start ${name}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
          timeline.push(`end ${name}`);
          return name.toUpperCase();
        }),
      );
    const fan = concurrent({ name: 'fan', units: [unit('a'), unit('b'), unit('c')] });
    expect(await (await rt.start(fan, null)).result()).toEqual({ a: 'A', b: 'B', c: 'C' });
    // All three were in flight together: every start comes before the first end.
    expect(timeline.slice(0, 3).every((entry) => entry.startsWith('start'))).toBe(true);
    await rt.close();
  });

  it('aggregates with a function and enforces "at least K" with partial failures', async () => {
    const rt = runtime();
    const vote = concurrent<unknown, string>({
      name: 'vote',
      units: [slow('x', 1, 'yes'), slow('y', 1, 'yes'), fail],
      require: 2,
      aggregate: (results) =>
        results.filter((result) => result.output === 'yes').length >= 2 ? 'approved' : 'rejected',
    });
    expect(await (await rt.start(vote, null)).result()).toBe('approved');
    const strict = concurrent({ name: 'strict', units: [slow('p', 1, 'ok'), fail] });
    await expect((await rt.start(strict, null)).result()).rejects.toThrow(
      /1 of 2 units succeeded, 2 required. broken: stage exploded/,
    );
    await rt.close();
  });

  it('synthesizes with an agent that receives every unit result', async () => {
    const rt = runtime();
    const model = scriptedModel({ synth: [{ text: 'combined view' }] });
    const synth = agent({ name: 'synth', instructions: 'Combine.', model });
    const analysis = concurrent({
      name: 'analysis',
      units: [slow('fundamental', 1, 'cheap'), slow('technical', 1, 'rising')],
      aggregate: synth,
    });
    expect(await (await rt.start(analysis, 'ACME')).result()).toBe('combined view');
    const prompt = JSON.stringify(model.calls[0]?.prompt);
    expect(prompt).toContain('## fundamental');
    expect(prompt).toContain('rising');
    await rt.close();
  });
});

describe('handoff', () => {
  it('stops agents that pass the conversation back and forth with HANDOFF_LIMIT', async () => {
    const rt = runtime();
    const model = scriptedModel({
      triage: Array.from({ length: 10 }, () => ({ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] })),
      billing: Array.from({ length: 10 }, () => ({ toolCalls: [{ tool: 'transfer_to_triage', input: {} }] })),
    });
    const billing = agent({ name: 'billing', instructions: 'Billing.', model });
    const triage = agent({ name: 'triage', instructions: 'Route.', model });
    const team = handoff({
      name: 'ping-pong',
      entry: triage,
      agents: [billing],
      allowReturn: true,
      maxHandoffs: 3,
    });
    const error = (await (
      await rt.start(team, 'help')
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('HANDOFF_LIMIT');
    expect(error.message).toContain('more than 3 handoffs');
    await rt.close();
  });

  it('validates its options', () => {
    const model = scriptedModel([]);
    const solo = agent({ name: 'solo', instructions: 'x', model });
    expect(() => handoff({ name: 'h', entry: solo, agents: [] })).toThrow(/agents must be a non-empty array/);
    expect(() => handoff({ name: 'h', entry: upper as never, agents: [solo] })).toThrow(
      /entry must be an agent/,
    );
  });
});

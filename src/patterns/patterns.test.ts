import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { type BatonError, ConfigError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { type AggregateInfo, concurrent, type LowConsistencyReport, type VoteResult } from './concurrent.js';
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

  it('lists its units as distributed children only with distribute: true, which must be a boolean', () => {
    const units = [slow('a', 1, 'x'), slow('b', 1, 'y')];
    expect(concurrent({ name: 'spread', units, distribute: true }).distributedChildren).toEqual(units);
    expect(concurrent({ name: 'local', units }).distributedChildren).toBeUndefined();
    expect(() => concurrent({ name: 'bad', units, distribute: 1 as unknown as boolean })).toThrow(
      'concurrent("bad"): distribute must be true or false, got 1.',
    );
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
      loopCycles: 0, // the loop guard would stop this ping-pong first; this test is about the count
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

const answer = (name: string, value: unknown) => workflow({ name }, async () => value);

describe('concurrent votes and consistency', () => {
  it("'vote' picks the majority of normalized outputs and reports tallies and consistency", async () => {
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const jury = concurrent({
      name: 'jury',
      units: [answer('a', 'no'), answer('b', ' Yes'), answer('c', 'YES  '), answer('d', 'maybe')],
      aggregate: 'vote',
    });
    const handle = await rt.start(jury, 'guilty?');
    const verdict: VoteResult = await handle.result();
    // The winner is given as its first voter wrote it; 'no' came first but has fewer votes.
    expect(verdict.winner).toBe(' Yes');
    expect(verdict.votes).toEqual([
      { value: ' Yes', key: 'yes', weight: 2, units: ['b', 'c'] },
      { value: 'no', key: 'no', weight: 1, units: ['a'] },
      { value: 'maybe', key: 'maybe', weight: 1, units: ['d'] },
    ]);
    expect(verdict.consistency).toBe(0.5);
    const decision = events.find((event) => event.type === 'pattern-decision');
    expect(decision).toMatchObject({ pattern: 'concurrent', name: 'jury', decision: 'vote' });
    expect(decision?.type === 'pattern-decision' && decision.reasons[0]).toBe(
      '"yes" got 2 of 4 votes (b, c)',
    );
    const journal = await rt.journal(handle.runId);
    expect(journal.find((entry) => entry.name === 'decision:concurrent')?.result).toMatchObject({
      decision: 'vote',
      data: { winner: ' Yes', consistency: 0.5, measure: 'agreement' },
    });
    await rt.close();
  });

  it('compares objects by value whatever their key order, and breaks ties by unit order', async () => {
    const rt = runtime();
    const objects = concurrent({
      name: 'objects',
      units: [answer('a', { x: 1, y: [2, 3] }), answer('b', { y: [2, 3], x: 1 }), answer('c', { x: 2 })],
      aggregate: 'vote',
    });
    const byValue = await (await rt.start(objects, null)).result();
    expect(byValue.winner).toEqual({ x: 1, y: [2, 3] });
    expect(byValue.votes[0]?.units).toEqual(['a', 'b']);
    expect(byValue.consistency).toBeCloseTo(2 / 3);
    const tie = (first: string, second: string) =>
      concurrent({
        name: `tie-${first}`,
        units: [answer('p', first), answer('q', second)],
        aggregate: 'vote',
      });
    expect((await (await rt.start(tie('left', 'right'), null)).result()).winner).toBe('left');
    expect((await (await rt.start(tie('right', 'left'), null)).result()).winner).toBe('right');
    await rt.close();
  });

  it('weighs votes by unit; units not listed weigh 1; failed units do not vote', async () => {
    const rt = runtime();
    const weighted = concurrent<unknown, string>({
      name: 'weighted',
      units: [answer('senior', 'approve'), answer('junior1', 'reject'), answer('junior2', 'reject'), fail],
      aggregate: { weighted: { senior: 3, junior2: 1 } },
      require: 'best-effort',
    });
    const result = await (await rt.start(weighted, null)).result();
    expect(result.winner).toBe('approve');
    expect(result.votes.map((tally) => [tally.key, tally.weight])).toEqual([
      ['approve', 3],
      ['reject', 2],
    ]);
    expect(result.consistency).toBeCloseTo(0.6);
    await rt.close();
  });

  it('gives function aggregators the consistency: token-set similarity for text, and the vote', async () => {
    const rt = runtime();
    const seen: AggregateInfo[] = [];
    const summaries = concurrent<unknown, string>({
      name: 'summaries',
      units: [answer('a', 'The cat sat.'), answer('b', 'the CAT ran'), answer('c', 'the cat sat')],
      aggregate: (results, _ctx, info) => {
        seen.push(info);
        return `${results.length} summaries, consistency ${info.consistency.toFixed(3)}`;
      },
    });
    // Pairs: a-b {the,cat} of {the,cat,sat,ran} = 0.5; a-c 1; b-c 0.5. Mean 2/3.
    expect(await (await rt.start(summaries, null)).result()).toBe('3 summaries, consistency 0.667');
    expect(seen[0]).toMatchObject({ measure: 'similarity', agreement: 1 / 3 });
    expect(seen[0]?.similarity).toBeCloseTo(2 / 3);
    expect(seen[0]?.vote.winner).toBe('The cat sat.');
    await rt.close();
  });

  it('reroutes to onLowConsistency (a workflow gets the report) below minConsistency, and aggregates above it', async () => {
    const rt = runtime();
    const reports: LowConsistencyReport[] = [];
    const referee = workflow({ name: 'referee' }, async (_ctx, report: LowConsistencyReport) => {
      reports.push(report);
      return `referee chose ${report.results.find((result) => result.unit === 'b')?.output as string}`;
    });
    let aggregated = 0;
    const panel = (second: string) =>
      concurrent<string, string, string>({
        name: `panel-${second}`,
        units: [answer('a', 'red'), answer('b', second), answer('c', 'blue')],
        aggregate: (_results, _ctx, info) => {
          aggregated++;
          return `majority ${info.vote.winner as string}`;
        },
        consistencyMeasure: 'agreement',
        minConsistency: 0.5,
        onLowConsistency: referee,
      });
    expect(await (await rt.start(panel('green'), 'colour?')).result()).toBe('referee chose green');
    expect(aggregated).toBe(0);
    expect(reports[0]).toMatchObject({ input: 'colour?', minConsistency: 0.5, measure: 'agreement' });
    expect(reports[0]?.consistency).toBeCloseTo(1 / 3);
    expect(reports[0]?.results.map((result) => result.unit)).toEqual(['a', 'b', 'c']);
    expect(await (await rt.start(panel('red'), 'colour?')).result()).toBe('majority red');
    expect(aggregated).toBe(1);
    expect(reports).toHaveLength(1);
    await rt.close();
  });

  it('gives an agent onLowConsistency the results as text and records the decision', async () => {
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const model = scriptedModel({ judge: [{ text: 'the judge decides: 4' }] });
    const judge = agent({ name: 'judge', instructions: 'Settle disagreements.', model });
    const vote = concurrent({
      name: 'estimates',
      units: [answer('a', 3), answer('b', 4), answer('c', 5)],
      aggregate: 'vote',
      minConsistency: 0.5,
      onLowConsistency: judge,
    });
    expect(await (await rt.start(vote, 'how many?')).result()).toBe('the judge decides: 4');
    const prompt = JSON.stringify(model.calls[0]?.prompt);
    expect(prompt).toContain('The results disagree: consistency 0.33 (agreement) is below 0.5');
    expect(prompt).toContain('## b\\n4');
    const decision = events.find((event) => event.type === 'pattern-decision');
    expect(decision).toMatchObject({ decision: 'low-consistency' });
    expect(decision?.type === 'pattern-decision' && decision.reasons.at(-1)).toBe('rerouted to judge');
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'low consistency: judge',
    });
    await rt.close();
  });

  it('fails with LOW_CONSISTENCY below minConsistency when nothing handles it', async () => {
    const rt = runtime();
    const strict = concurrent({
      name: 'strict-vote',
      units: [answer('a', 'x'), answer('b', 'y')],
      aggregate: 'vote',
      minConsistency: 0.75,
    });
    const error = (await (
      await rt.start(strict, null)
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('LOW_CONSISTENCY');
    expect(error.message).toContain('consistency 0.5 (agreement) is below minConsistency 0.75');
    await rt.close();
  });

  it('rejects bad vote and consistency options with ConfigError', () => {
    const units = [answer('a', 1), answer('b', 2)];
    const bad: Array<[() => unknown, RegExp]> = [
      [
        () => concurrent({ name: 'w', units, aggregate: { weighted: { a: 1, z: 2 } } }),
        /aggregate\.weighted names unit "z", which is not one of the units \(a, b\)/,
      ],
      [
        () => concurrent({ name: 'w', units, aggregate: { weighted: { a: 0 } } }),
        /weighted\["a"\] must be a positive/,
      ],
      [
        () => concurrent({ name: 'w', units, aggregate: 'majority' as never }),
        /aggregate must be 'collect', 'vote'/,
      ],
      [
        () => concurrent({ name: 'w', units, minConsistency: 1.5 }),
        /minConsistency must be a number from 0 to 1/,
      ],
      [
        () => concurrent({ name: 'w', units, onLowConsistency: upper }),
        /onLowConsistency needs minConsistency/,
      ],
      [
        () => concurrent({ name: 'w', units, minConsistency: 0.5, onLowConsistency: {} as never }),
        /onLowConsistency is not an agent/,
      ],
      [
        () => concurrent({ name: 'w', units, consistencyMeasure: 'cosine' as never }),
        /consistencyMeasure must be/,
      ],
    ];
    for (const [make, message] of bad) expect(make).toThrow(message);
    for (const [make] of bad) expect(make).toThrow(ConfigError);
  });
});

describe('handoff loop guard', () => {
  const pingPong = () =>
    scriptedModel({
      triage: Array.from({ length: 10 }, () => ({ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] })),
      billing: Array.from({ length: 10 }, () => ({ toolCalls: [{ tool: 'transfer_to_triage', input: {} }] })),
      desk: [{ text: 'A person will call you back today.' }],
    });

  it('stops a ping-pong between two agents with HANDOFF_LOOP naming the cycle', async () => {
    const rt = runtime();
    const model = pingPong();
    const team = handoff({
      name: 'support',
      entry: agent({ name: 'triage', instructions: 'Route.', model }),
      agents: [agent({ name: 'billing', instructions: 'Billing.', model })],
      allowReturn: true,
    });
    const error = (await (
      await rt.start(team, 'help')
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('HANDOFF_LOOP');
    expect(error.fault).toBe('model');
    expect(error.message).toContain(
      'loop: triage -> billing -> triage, 2 times in a row (triage -> billing -> triage -> billing)',
    );
    // Stopped at the third handoff, long before maxHandoffs (8).
    expect(model.calls).toHaveLength(3);
    await rt.close();
  });

  it('does not trip when control comes back but goes elsewhere', async () => {
    const rt = runtime();
    const model = scriptedModel({
      triage: [
        { toolCalls: [{ tool: 'transfer_to_billing', input: {} }] },
        { toolCalls: [{ tool: 'transfer_to_technical', input: {} }] },
      ],
      billing: [{ toolCalls: [{ tool: 'transfer_to_triage', input: {} }] }],
      technical: [{ text: 'Reset your router.' }],
    });
    const team = handoff({
      name: 'support',
      entry: agent({ name: 'triage', instructions: 'Route.', model }),
      agents: [
        agent({ name: 'billing', instructions: 'Billing.', model }),
        agent({ name: 'technical', instructions: 'Tech.', model }),
      ],
      allowReturn: true,
    });
    expect(await (await rt.start(team, 'internet down')).result()).toBe('Reset your router.');
    await rt.close();
  });

  it('hands a ping-pong to the fallback agent with the conversation instead of failing', async () => {
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const model = pingPong();
    const desk = agent({ name: 'desk', instructions: 'Take over stuck conversations.', model });
    const team = handoff({
      name: 'support',
      entry: agent({ name: 'triage', instructions: 'Route.', model }),
      agents: [agent({ name: 'billing', instructions: 'Billing.', model })],
      allowReturn: true,
      fallback: desk,
    });
    expect(await (await rt.start(team, 'refund my order A-7')).result()).toBe(
      'A person will call you back today.',
    );
    const handoffs = events.flatMap((event) =>
      event.type === 'handoff' ? [`${event.from}->${event.to}`] : [],
    );
    expect(handoffs).toEqual(['triage->billing', 'billing->triage', 'triage->desk']);
    const deskCall = model.calls.find(
      (call) => (call.providerOptions?.baton as { agent?: string } | undefined)?.agent === 'desk',
    );
    expect(deskCall?.prompt[0]).toEqual({ role: 'system', content: 'Take over stuck conversations.' });
    expect(JSON.stringify(deskCall?.prompt)).toContain('refund my order A-7');
    expect(events.find((event) => event.type === 'pattern-decision')).toMatchObject({
      pattern: 'handoff',
      decision: 'fallback after handoff loop',
      data: { cycle: ['triage', 'billing'], fallback: 'desk' },
    });
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'answered by fallback desk',
    });
    await rt.close();
  });

  it('lets the fallback take over only once', async () => {
    const rt = runtime();
    const model = scriptedModel({
      triage: Array.from({ length: 5 }, () => ({ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] })),
      billing: Array.from({ length: 5 }, () => ({ toolCalls: [{ tool: 'transfer_to_triage', input: {} }] })),
      desk: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
    });
    const billing = agent({ name: 'billing', instructions: 'Billing.', model });
    const desk = agent({ name: 'desk', instructions: 'Desk.', model, handoffs: [billing] });
    const team = handoff({
      name: 'support',
      entry: agent({ name: 'triage', instructions: 'Route.', model }),
      agents: [billing],
      allowReturn: true,
      maxHandoffs: 3,
      fallback: desk,
    });
    const error = (await (
      await rt.start(team, 'help')
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('HANDOFF_LIMIT');
    expect(error.message).toContain('more than 3 handoffs in one run (last desk -> billing)');
    await rt.close();
  });

  it('takes the same path when resumed after a crash in the fallback', async () => {
    const store = createMemoryStore();
    let hang = true;
    let calls = 0;
    const escalate = tool({
      name: 'escalate',
      description: 'Opens a ticket',
      input: z.object({}),
      execute: async () => {
        calls++;
        if (hang) await new Promise(() => undefined);
        return 'ticket T-1';
      },
    });
    const model = scriptedModel({
      triage: Array.from({ length: 4 }, () => ({ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] })),
      billing: Array.from({ length: 4 }, () => ({ toolCalls: [{ tool: 'transfer_to_triage', input: {} }] })),
      desk: [{ toolCalls: [{ tool: 'escalate', input: {} }] }, { text: 'Escalated.' }],
    });
    const team = handoff({
      name: 'support-durable',
      entry: agent({ name: 'triage', instructions: 'Route.', model }),
      agents: [agent({ name: 'billing', instructions: 'Billing.', model })],
      allowReturn: true,
      fallback: agent({ name: 'desk', instructions: 'Desk.', model, tools: [escalate] }),
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(team, 'help');
    while (calls === 0 && (await first.get(handle.runId)).status === 'running')
      await new Promise((resolve) => setTimeout(resolve, 1));
    expect(calls).toBe(1);
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [team] });
    expect(await (await second.resume(handle.runId, { force: true })).result()).toBe('Escalated.');
    // triage 2 + billing 1 + desk 2: the replay went through the guard to the fallback again without new model calls.
    expect(model.calls).toHaveLength(5);
    await second.close();
  });

  it('validates loopCycles and fallback', () => {
    const model = scriptedModel([]);
    const solo = agent({ name: 'solo', instructions: 'x', model });
    const other = agent({ name: 'other', instructions: 'x', model });
    expect(() => handoff({ name: 'h', entry: solo, agents: [other], loopCycles: 1 })).toThrow(
      /loopCycles must be 0 \(guard off\) or at least 2/,
    );
    expect(() => handoff({ name: 'h', entry: solo, agents: [other], fallback: upper as never })).toThrow(
      /fallback must be an agent/,
    );
  });
});

import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../../src/agents/agent.js';
import type { BatonError } from '../../src/core/errors.js';
import type { Runnable } from '../../src/core/runnable.js';
import { createRuntime, type Runtime } from '../../src/core/runtime.js';
import type { Store } from '../../src/core/store.js';
import type { Budget, BudgetPartialResult } from '../../src/governance/budget.js';
import { registerPrices } from '../../src/models/pricing.js';
import { adaptive } from '../../src/patterns/adaptive.js';
import { concurrent } from '../../src/patterns/concurrent.js';
import { eventDriven } from '../../src/patterns/event-driven.js';
import { evolving } from '../../src/patterns/evolving.js';
import { groupChat } from '../../src/patterns/group-chat.js';
import { handoff } from '../../src/patterns/handoff.js';
import { human } from '../../src/patterns/human.js';
import { loop } from '../../src/patterns/loop.js';
import { magentic } from '../../src/patterns/magentic.js';
import { makerChecker } from '../../src/patterns/maker-checker.js';
import { sequential } from '../../src/patterns/sequential.js';
import { supervisor } from '../../src/patterns/supervisor.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { createFakeClock, type FakeClock } from '../../src/testing/fake-clock.js';
import { type ScriptedRequest, type ScriptedTurn, scriptedModel } from '../../src/testing/scripted-model.js';
import { waitForStatus } from '../../src/testing/wait-until.js';
import { tool } from '../../src/tools/tool.js';

// Every pattern (and a human member) under every limit of a run budget: the run must end
// `budget-exceeded`, and the model calls it made must stay within the limit. Each pattern is
// built so that, unbounded, it makes more model calls than any limit below allows.

/**
 * Tokens every model call reports (all input): under any prompt's estimate (the instructions
 * alone are about 450 tokens), so what a call reserves covers what it spends.
 */
const tokensPerCall = 300;
/** $0.001 per token. */
registerPrices({ 'scripted:budget-table': { input: 1000, output: 1000 } });
const costPerCall = tokensPerCall * 0.001;
/** The fake clock moves this far during every model call. */
const callDurationMs = 60_000;

const limits: Record<string, { budget: Budget; check: (calls: Call[]) => void }> = {
  turns: {
    budget: { maxTurns: 2 },
    check: (calls) => expect(calls.length).toBeLessThanOrEqual(2),
  },
  tokens: {
    budget: { maxTokens: 1_000 },
    check: (calls) => expect(calls.length * tokensPerCall).toBeLessThanOrEqual(1_000),
  },
  cost: {
    budget: { maxCostUsd: 1 },
    check: (calls) => expect(calls.length * costPerCall).toBeLessThanOrEqual(1),
  },
  'wall time': {
    budget: { maxWallTimeMs: 90_000 },
    // No call starts after the limit (calls run in parallel may all start in time).
    check: (calls) => expect(Math.max(...calls.map((call) => call.elapsedMs))).toBeLessThanOrEqual(90_000),
  },
};

interface Call {
  agent: string;
  elapsedMs: number;
}

/** A long, fixed instruction text, so every prompt's token estimate is far above `tokensPerCall`. */
const brief = `Work on the task step by step. ${'Keep every answer short and specific to the request. '.repeat(40)}`;

function textOf(prompt: LanguageModelV3Prompt): string {
  return prompt
    .flatMap((message) =>
      message.role === 'system'
        ? [message.content]
        : message.content.map((part) => (part.type === 'text' ? part.text : '')),
    )
    .join('\n');
}

const progressLedger = JSON.stringify({
  requestSatisfied: { answer: false, reason: 'not yet' },
  inLoop: { answer: false, reason: 'no repetition' },
  progressBeingMade: { answer: true, reason: 'new results' },
  nextSpeaker: { answer: 'worker', reason: 'worker can do it' },
  instruction: { answer: 'do the next step', reason: 'next step of the plan' },
});
const taskLedger = JSON.stringify({
  facts: { given: ['the task'], toLookUp: [], toDerive: [], guesses: [] },
  plan: ['worker: do it'],
});
const plan = JSON.stringify({
  tasks: ['a', 'b', 'c', 'd'].map((id) => ({ id, description: `do ${id}`, dependsOn: [] })),
});

/** What each agent of the tables says: enough to keep every pattern going. */
function reply(request: ScriptedRequest, turn: number): ScriptedTurn {
  const name = request.agent ?? '?';
  if (name === 'manager') {
    const text = textOf(request.prompt);
    if (text.includes('# Task ledger') || text.includes('# Replan')) return { text: taskLedger };
    if (text.includes('# Final answer')) return { text: 'final answer' };
    return { text: progressLedger };
  }
  if (name === 'team-planner') return { text: plan };
  if (name === 'boss') return { toolCalls: [{ tool: 'helper', input: { input: `part ${turn}` } }] };
  if (name === 'checker') return { text: `REJECTED: add more (${turn})` };
  if (name === 'critic') return { text: `{"score": 0.1, "feedback": "more, round ${turn}"}` };
  if (name === 'triage') return { toolCalls: [{ tool: 'transfer_to_looper', input: {} }] };
  if (name === 'looper') return { toolCalls: [{ tool: 'lookup', input: { query: `q${turn}` } }] };
  return { text: `${name} says ${turn}` };
}

const lookup = tool({
  name: 'lookup',
  description: 'Looks something up',
  input: z.object({ query: z.string() }),
  capabilities: ['read'],
  execute: ({ query }) => `result for ${query}`,
});

interface Case {
  target: Runnable<never, unknown>;
  input: string;
  /** Answers a human member while the run waits. */
  human?: string;
}

type Build = (make: (name: string, description?: string) => ReturnType<typeof agent>, store: Store) => Case;

const patterns: Record<string, Build> = {
  sequential: (make) => ({
    target: sequential({ name: 'pipeline', stages: [make('a'), make('b'), make('c'), make('d')] }),
    input: 'go',
  }),
  concurrent: (make) => ({
    target: concurrent({
      name: 'fan',
      units: [make('a'), make('b'), make('c'), make('d')],
      aggregate: make('e'),
    }),
    input: 'go',
  }),
  supervisor: (make) => ({
    target: supervisor({ name: 'team', manager: make('boss'), workers: [make('helper', 'Helps')] }),
    input: 'go',
  }),
  handoff: (make) => ({
    target: handoff({ name: 'desk', entry: make('triage'), agents: [make('looper', 'Looks things up')] }),
    input: 'go',
  }),
  groupChat: (make) => ({
    target: groupChat({ name: 'chat', members: [make('a'), make('b')], maxRounds: 6 }),
    input: 'go',
  }),
  makerChecker: (make) => ({
    target: makerChecker({
      name: 'review',
      maker: make('maker'),
      checker: make('checker'),
      criteria: 'Be complete',
      maxRounds: 4,
    }),
    input: 'go',
  }),
  loop: (make) => ({
    target: loop({
      name: 'polish',
      generator: make('writer'),
      evaluator: make('critic'),
      threshold: 0.9,
      maxIterations: 4,
    }),
    input: 'go',
  }),
  magentic: (make) => ({
    target: magentic({
      name: 'orchestra',
      manager: make('manager'),
      members: [make('worker', 'Does the work')],
      maxRounds: 6,
    }),
    input: 'go',
  }),
  eventDriven: (make) => ({
    target: eventDriven({
      name: 'bus',
      subscribers: [
        { member: make('a'), topics: ['input'], publishes: 'one' },
        { member: make('b'), topics: ['one'], publishes: 'two' },
        { member: make('c'), topics: ['two'], publishes: 'three' },
        { member: make('d'), topics: ['three'], publishes: 'final' },
      ],
      until: 'final',
    }),
    input: 'go',
  }),
  adaptive: (make) => ({
    target: adaptive({ name: 'team', planner: make('team-planner'), agents: [make('a'), make('b')] }),
    input: 'go',
  }),
  evolving: (make, store) => ({
    target: evolving({
      name: 'router',
      candidates: [sequential({ name: 'pipeline', stages: [make('a'), make('b'), make('c'), make('d')] })],
      store,
      score: () => 1,
    }),
    input: 'go',
  }),
  human: (make) => ({
    target: sequential({
      name: 'with-a-person',
      stages: [make('a'), human({ name: 'reviewer' }), make('b'), make('c'), make('d')],
    }),
    input: 'go',
    human: 'reviewer',
  }),
};

async function runCase(build: Build, budget: Budget) {
  const clock: FakeClock = createFakeClock(1_000_000);
  const store = createMemoryStore();
  const runtime: Runtime = createRuntime({ store, recover: false, clock });
  const calls: Call[] = [];
  const turns = new Map<string, number>();
  const model = scriptedModel(
    (request) => {
      const name = request.agent ?? '?';
      const turn = turns.get(name) ?? 0;
      turns.set(name, turn + 1);
      calls.push({ agent: name, elapsedMs: clock.now() - 1_000_000 });
      clock.advance(callDurationMs);
      return { ...reply(request, turn), usage: { inputTokens: tokensPerCall, outputTokens: 0 } };
    },
    { modelId: 'budget-table' },
  );
  const make = (name: string, description?: string) =>
    agent({
      name,
      instructions: brief,
      model,
      tools: name === 'looper' ? [lookup] : [],
      maxTurns: 20,
      ...(description === undefined ? {} : { description }),
    });
  const { target, input, human: person } = build(make, store);
  const handle = await runtime.start(target as Runnable<string, unknown>, input, { budget });
  if (person !== undefined) {
    // The person is asked after the first agent's one call, within every limit.
    await waitForStatus(runtime, handle.runId, 'suspended');
    await runtime.signal(handle.runId, `human:${person}`, 'looks good');
  }
  const error = (await handle.result().then(
    () => undefined,
    (caught: unknown) => caught,
  )) as BatonError | undefined;
  const record = await runtime.get(handle.runId);
  await runtime.close();
  return { error, record, calls };
}

describe('run budgets stop every pattern', () => {
  for (const [pattern, build] of Object.entries(patterns)) {
    for (const [limit, { budget, check }] of Object.entries(limits)) {
      it(`${pattern} stops at the ${limit} limit with status budget-exceeded`, async () => {
        const { error, record, calls } = await runCase(build, budget);
        expect(error?.code, `${pattern}: ${error?.message}`).toBe('BUDGET_EXCEEDED');
        expect(record.status).toBe('budget-exceeded');
        expect((record.output as BudgetPartialResult).spend).toBeDefined();
        check(calls);
      });
    }
  }
});

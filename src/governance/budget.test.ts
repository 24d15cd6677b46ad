import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { runAgent } from '../agents/run-agent.js';
import type { BatonError } from '../core/errors.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { registerPrices } from '../models/pricing.js';
import { concurrent } from '../patterns/concurrent.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { type BudgetPartialResult, checkBudget, estimatePromptTokens } from './budget.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-budget-'));
afterAll(() => fs.rmSync(directory, { recursive: true, force: true }));

let lookups = 0;
const lookup = tool({
  name: 'lookup',
  description: 'Looks something up',
  input: z.object({ query: z.string() }),
  execute: ({ query }) => {
    lookups++;
    return `result for ${query}`;
  },
});

type BudgetError = BatonError & { limit: string; partial: BudgetPartialResult; budgetScope: string };

async function failure(promise: Promise<unknown>): Promise<BudgetError> {
  return (await promise.then(
    () => {
      throw new Error('expected the run to stop');
    },
    (error: unknown) => error,
  )) as BudgetError;
}

describe('budgets', () => {
  it('stops by tokens before the call that would pass the agent budget, with status budget-exceeded and the partial result', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel([
      {
        text: 'Looking it up.',
        toolCalls: [{ tool: 'lookup', input: { query: 'a' } }],
        usage: { inputTokens: 80, outputTokens: 10 },
      },
      { text: 'never reached' },
    ]);
    const researcher = agent({
      name: 'researcher',
      instructions: 'Research.',
      model,
      tools: [lookup],
      budget: { maxTokens: 100 },
    });
    const handle = await runtime.start(researcher, 'Find a');
    const error = await failure(handle.result());
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.limit).toBe('tokens');
    expect(error.budgetScope).toBe('agent');
    expect(error.message).toContain('Agent "researcher"');
    expect(model.calls).toHaveLength(1);
    const record = await runtime.get(handle.runId);
    expect(record.status).toBe('budget-exceeded');
    expect(record.output).toEqual({
      agent: 'researcher',
      text: 'Looking it up.',
      turns: 1,
      spend: { turns: 1, tokens: 90, costUsd: 0 },
    });
    expect(error.partial).toEqual(record.output);
    expect(record.usage.totalTokens).toBe(90);
    expect(await runtime.list({ status: 'budget-exceeded' })).toHaveLength(1);
    await runtime.close();
  });

  it('stops by cost (run budget from runtime.start) using the price of the estimated prompt', async () => {
    registerPrices({ 'scripted:priced': { input: 1000, output: 1000 } }); // $0.001 per token
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(
      [
        {
          toolCalls: [{ tool: 'lookup', input: { query: 'b' } }],
          usage: { inputTokens: 40, outputTokens: 10 },
        },
        { text: 'done' },
      ],
      { modelId: 'priced' },
    );
    const researcher = agent({ name: 'researcher', instructions: 'Research.', model, tools: [lookup] });
    const handle = await runtime.start(researcher, 'Find b', { budget: { maxCostUsd: 0.05 } });
    const error = await failure(handle.result());
    expect(error.limit).toBe('cost');
    expect(error.budgetScope).toBe('run');
    expect(error.partial.spend.costUsd).toBeCloseTo(0.05, 9);
    expect(model.calls).toHaveLength(1);
    const record = await runtime.get(handle.runId);
    expect(record.status).toBe('budget-exceeded');
    expect(record.costUsd).toBeCloseTo(0.05, 9);
    await runtime.close();
  });

  it('stops after the allowed turns across agents of the run, and lets a run under budget complete', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(({ turn }) =>
      turn < 5 ? { toolCalls: [{ tool: 'lookup', input: { query: `q${turn}` } }] } : { text: 'done' },
    );
    const researcher = agent({ name: 'researcher', instructions: 'Research.', model, tools: [lookup] });
    const before = lookups;
    const stopped = await runtime.start(researcher, 'Dig', { budget: { maxTurns: 2 } });
    const error = await failure(stopped.result());
    expect(error.limit).toBe('turns');
    expect(error.partial.turns).toBe(2);
    expect(lookups - before).toBe(2);
    expect((await runtime.get(stopped.runId)).status).toBe('budget-exceeded');

    const roomy = await runtime.start(researcher, 'Dig', { budget: { maxTurns: 6, maxTokens: 1_000_000 } });
    expect(await roomy.result()).toBe('done');
    expect((await runtime.get(roomy.runId)).status).toBe('completed');
    await runtime.close();
  });

  it('stops by wall time on a fake clock', async () => {
    const clock = createFakeClock(1_000_000);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false, clock });
    const slowLookup = tool({
      name: 'slow_lookup',
      description: 'Takes a minute',
      input: z.object({}),
      execute: () => {
        clock.advance(60_000);
        return 'slow result';
      },
    });
    const model = scriptedModel([{ toolCalls: [{ tool: 'slow_lookup', input: {} }] }, { text: 'done' }]);
    const researcher = agent({ name: 'researcher', instructions: 'Research.', model, tools: [slowLookup] });
    const handle = await runtime.start(researcher, 'Go', { budget: { maxWallTimeMs: 30_000 } });
    const error = await failure(handle.result());
    expect(error.limit).toBe('wall-time');
    expect(error.message).toContain('60000 ms have passed of 30000 ms');
    expect(model.calls).toHaveLength(1);
    expect((await runtime.get(handle.runId)).status).toBe('budget-exceeded');
    await runtime.close();
  });

  it('on SQLite: keeps the run budget across a restart and recomputes spend from the journal on replay', async () => {
    const file = path.join(directory, 'budget.db');
    const model = scriptedModel(({ turn }) =>
      turn === 0
        ? { text: 'first answer', usage: { inputTokens: 50, outputTokens: 10 } }
        : { text: 'second answer', usage: { inputTokens: 50, outputTokens: 10 } },
    );
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    const flow = workflow({ name: 'two-drafts' }, async (ctx, topic: string) => {
      const first = await runAgent(ctx, writer, topic);
      await ctx.waitFor('go');
      const second = await runAgent(ctx, writer, first.text, { turnCounter: new Map([['writer', 1]]) });
      return second.text;
    });
    const firstRuntime = createRuntime({
      store: createSqliteStore({ path: file }),
      workflows: [flow],
      recover: false,
    });
    const handle = await firstRuntime.start(flow, 'cats', { budget: { maxTokens: 62 } });
    await expect.poll(async () => (await firstRuntime.get(handle.runId)).status).toBe('suspended');
    await firstRuntime.close();

    // A new process: the budget comes back from the store, the first agent's 60 tokens from the journal.
    const secondRuntime = createRuntime({
      store: createSqliteStore({ path: file }),
      workflows: [flow],
      recover: false,
    });
    await secondRuntime.signal(handle.runId, 'go');
    const error = await failure((await secondRuntime.resume(handle.runId)).result());
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.partial.spend.tokens).toBe(60);
    expect(model.calls).toHaveLength(1);
    const record = await secondRuntime.get(handle.runId);
    expect(record.status).toBe('budget-exceeded');
    expect((record.output as BudgetPartialResult).spend.tokens).toBe(60);
    expect((await secondRuntime.list({ status: 'budget-exceeded' })).map((run) => run.id)).toEqual([
      handle.runId,
    ]);
    expect(
      (await secondRuntime.list({ status: ['completed', 'budget-exceeded'] })).map((run) => run.id),
    ).toEqual([handle.runId]);
    // Terminal: it cannot be claimed or resumed again.
    await expect((await secondRuntime.resume(handle.runId)).result()).rejects.toMatchObject({
      code: 'BUDGET_EXCEEDED',
    });
    await secondRuntime.close();
  });

  it('on SQLite: counts the model calls of a parallel unit that finished before a restart, so the resumed run stops at the same total', async () => {
    const file = path.join(directory, 'budget-parallel.db');
    const model = scriptedModel(({ agent: name, turn }) =>
      name === 'quick'
        ? { text: 'quick answer' }
        : { toolCalls: [{ tool: 'lookup', input: { query: `slow ${turn}` } }] },
    );
    const quick = agent({ name: 'quick', instructions: 'Answer.', model });
    const slow = agent({ name: 'slow', instructions: 'Dig.', model, tools: [lookup] });
    const later = workflow({ name: 'later' }, async (ctx, input: string) => {
      await ctx.waitFor('go');
      return (await runAgent(ctx, slow, input)).text;
    });
    const fan = concurrent({ name: 'fan', units: [quick, later] });
    const first = createRuntime({
      store: createSqliteStore({ path: file }),
      workflows: [fan],
      recover: false,
    });
    const handle = await first.start(fan, 'go', { budget: { maxTurns: 3 } });
    await expect.poll(async () => (await first.get(handle.runId)).status).toBe('suspended');
    await first.close();
    expect(model.calls).toHaveLength(1);

    // The unit "quick" is a recorded child run: the replay returns its output without running it,
    // and its model call still counts, so "slow" gets the 2 turns that remain (not 3).
    const second = createRuntime({
      store: createSqliteStore({ path: file }),
      workflows: [fan],
      recover: false,
    });
    await second.signal(handle.runId, 'go');
    const error = await failure((await second.resume(handle.runId)).result());
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.limit).toBe('turns');
    expect(model.calls.filter((call) => call.providerOptions?.baton?.agent === 'slow')).toHaveLength(2);
    const record = await second.get(handle.runId);
    expect(record.status).toBe('budget-exceeded');
    expect((record.output as BudgetPartialResult).spend.turns).toBe(3);
    await second.close();
  });

  it('gives back the turn a failed model call held, so the calls after it still fit the budget', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel(({ agent: name }) =>
      name === 'flaky' ? { error: 'provider rejected the request' } : { text: `${name} done` },
    );
    const flaky = agent({ name: 'flaky', instructions: 'Try.', model });
    const steady = agent({ name: 'steady', instructions: 'Answer.', model });
    const flow = workflow({ name: 'recovering' }, async (ctx, input: string) => {
      const failed = await runAgent(ctx, flaky, input).then(
        () => false,
        () => true,
      );
      const first = await runAgent(ctx, steady, input);
      const second = await runAgent(ctx, steady, first.text, { turnCounter: new Map([['steady', 1]]) });
      return `${failed ? 'recovered' : 'no failure'}: ${second.text}`;
    });
    const handle = await runtime.start(flow, 'go', { budget: { maxTurns: 2 } });
    expect(await handle.result()).toBe('recovered: steady done');
    expect((await runtime.get(handle.runId)).status).toBe('completed');
    await runtime.close();
  });

  it('counts the cost of a model the old price table missed (gpt-5) and stops the run at maxCostUsd', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = Object.assign(
      scriptedModel(({ turn }) => ({
        toolCalls: [{ tool: 'lookup', input: { query: `q${turn}` } }],
        usage: { inputTokens: 100_000, outputTokens: 0 },
      })),
      { provider: 'openai.responses', modelId: 'gpt-5' },
    );
    const researcher = agent({ name: 'researcher', instructions: 'Research.', model, tools: [lookup] });
    // gpt-5 input costs $1.25 per million tokens: $0.125 a call, so a $0.3 budget allows two or three calls.
    const handle = await runtime.start(researcher, 'Dig', { budget: { maxCostUsd: 0.3 } });
    const error = await failure(handle.result());
    expect(error.code).toBe('BUDGET_EXCEEDED');
    expect(error.limit).toBe('cost');
    expect(model.calls.length).toBeLessThanOrEqual(3);
    expect((await runtime.get(handle.runId)).costUsd).toBeGreaterThan(0.2);
    await runtime.close();
  });

  it('fails a run with UNPRICED_MODEL before calling a model without a price under maxCostUsd, unless allowUnpricedModels', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = Object.assign(
      scriptedModel(() => ({ text: 'local answer' })),
      {
        provider: 'ollama',
        modelId: 'llama3',
      },
    );
    const local = agent({ name: 'local', instructions: 'Answer.', model });
    const refused = await runtime.start(local, 'hi', { budget: { maxCostUsd: 1 } });
    const error = await failure(refused.result());
    expect(error.code).toBe('UNPRICED_MODEL');
    expect(error.message).toContain('"ollama:llama3"');
    expect(error.message).toContain('registerPrices');
    expect(error.message).toContain('allowUnpricedModels');
    expect(model.calls).toHaveLength(0);
    expect((await runtime.get(refused.runId)).status).toBe('failed');

    const allowed = await runtime.start(local, 'hi', {
      budget: { maxCostUsd: 1, allowUnpricedModels: true },
    });
    expect(await allowed.result()).toBe('local answer');
    registerPrices({ 'ollama:llama3': { input: 0, output: 0 } });
    const priced = await runtime.start(local, 'hi', { budget: { maxCostUsd: 1 } });
    expect(await priced.result()).toBe('local answer');
    await runtime.close();

    // An agent's own cost budget is checked when the agent is defined.
    expect(() =>
      agent({ name: 'edge', instructions: 'x', model: 'lmstudio:qwen2.5', budget: { maxCostUsd: 1 } }),
    ).toThrow(/model "lmstudio:qwen2.5" has no price.*registerPrices.*allowUnpricedModels/s);
    expect(() =>
      agent({
        name: 'edge',
        instructions: 'x',
        model: 'lmstudio:qwen2.5',
        budget: { maxCostUsd: 1, allowUnpricedModels: true },
      }),
    ).not.toThrow();
  });

  it('checks budgets when defined', () => {
    expect(() =>
      agent({ name: 'a', instructions: 'x', model: 'openai:gpt-4o', budget: { maxTokens: 0 } }),
    ).toThrow(/budget\.maxTokens must be a finite number > 0/);
    expect(() => checkBudget({ maxDollars: 1 }, 'here')).toThrow(/unknown budget field "maxDollars"/);
    expect(estimatePromptTokens([{ role: 'user', content: [{ type: 'text', text: 'x'.repeat(40) }] }])).toBe(
      10,
    );
  });
});

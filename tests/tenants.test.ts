import type { ModelMessage } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../src/agents/agent.js';
import { runAgent } from '../src/agents/run-agent.js';
import {
  contextWindowOf,
  createContextWindows,
  registerContextWindow,
} from '../src/context/context-windows.js';
import { createTokenizers, tokenizerFor } from '../src/context/tokens.js';
import type { RunContext } from '../src/core/run-context.js';
import { workflow } from '../src/core/runnable.js';
import { createRuntime } from '../src/core/runtime.js';
import type { JournalEntry } from '../src/core/store.js';
import { modelJudge } from '../src/governance/guardrails.js';
import { createModelProviders } from '../src/models/model-providers.js';
import { createPriceTable, priceOf } from '../src/models/pricing.js';
import {
  breakerState,
  createResilience,
  latencyStats,
  resetResilience,
} from '../src/models/resilience/registry.js';
import { resolveModel } from '../src/models/resolve-model.js';
import { groupChat } from '../src/patterns/group-chat.js';
import { createMemoryStore } from '../src/stores/memory/index.js';
import { scriptedModel } from '../src/testing/scripted-model.js';
import { tool } from '../src/tools/tool.js';

// One runtime per tenant (docs/decisions/0008-per-run-slot.md): two runtimes in one process, each
// with its own prices, resilience and store, run the same definitions side by side; neither sees
// the other's state, and the process defaults (registerPrices, configureResilience) see neither.

afterEach(() => resetResilience());

/** Every call reports 110 tokens: $0.11 at $1000 per million tokens. */
const usage = { inputTokens: 100, outputTokens: 10 };

function modelCosts(entries: readonly JournalEntry[]): unknown[] {
  return entries.filter((entry) => entry.kind === 'model').map((entry) => entry.meta?.costUsd);
}

describe('two runtimes in one process', () => {
  it('keep their own prices, breakers, latency windows, budgets and stores', async () => {
    const executions = new Map<string, number>();
    const inventory = tool({
      name: 'inventory',
      description: 'Stock levels',
      input: z.object({}),
      execute: (_input, { runId }) => {
        executions.set(runId, (executions.get(runId) ?? 0) + 1);
        throw Object.assign(new Error('inventory service unavailable'), { errorClass: 'transient' });
      },
    });
    // One definition for both tenants: plans cached per definition must not carry one tenant's breaker to the other.
    const shop = agent({
      name: 'shop',
      instructions: 'Check the stock.',
      model: scriptedModel(
        ({ turn }) =>
          turn < 2
            ? { toolCalls: [{ tool: 'inventory', input: {} }], usage }
            : { text: 'no stock data', usage },
        { modelId: 'tenant-model' },
      ),
      tools: [inventory],
      maxToolErrors: 5,
    });
    const strict = createResilience({
      tools: { inventory: { breaker: { threshold: 1, halfOpenAfterMs: 60_000 } } },
    });
    const lenient = createResilience();
    const storeA = createMemoryStore();
    const storeB = createMemoryStore();
    const tenantA = createRuntime({
      store: storeA,
      recover: false,
      prices: createPriceTable({ 'scripted:tenant-model': { input: 1000, output: 1000 } }),
      resilience: strict,
    });
    const tenantB = createRuntime({
      store: storeB,
      recover: false,
      prices: createPriceTable({ 'scripted:tenant-model': { input: 0, output: 0 } }),
      resilience: lenient,
    });

    const [runA, runB] = await Promise.all([tenantA.start(shop, 'go'), tenantB.start(shop, 'go')]);
    expect(await Promise.all([runA.result(), runB.result()])).toEqual(['no stock data', 'no stock data']);

    // Prices: each runtime's table, not the other's and not the process table's.
    expect(modelCosts(await tenantA.journal(runA.runId))).toEqual([0.11, 0.11, 0.11]);
    expect(modelCosts(await tenantB.journal(runB.runId))).toEqual([0, 0, 0]);
    expect(priceOf('scripted:tenant-model')).toEqual({ input: 0, output: 0 });

    // Breakers: A's opened after one failure, so its second call failed fast; B's stayed closed.
    expect(executions.get(runA.runId)).toBe(1);
    expect(executions.get(runB.runId)).toBe(2);
    expect(strict.breakerState('tool', 'inventory')).toBe('open');
    expect(lenient.breakerState('tool', 'inventory')).toBe('closed');
    expect(breakerState('tool', 'inventory')).toBe('closed');

    // Latency windows: each runtime observed its own three model calls; the process none.
    expect(strict.latencyStats('model:scripted:tenant-model').count).toBe(3);
    expect(lenient.latencyStats('model:scripted:tenant-model').count).toBe(3);
    expect(latencyStats('model:scripted:tenant-model').count).toBe(0);

    // Budgets: the same cost limit stops the run of the tenant whose model costs money.
    const budget = { maxCostUsd: 0.15 };
    const [limitedA, limitedB] = await Promise.all([
      tenantA.start(shop, 'again', { budget }),
      tenantB.start(shop, 'again', { budget }),
    ]);
    await Promise.allSettled([limitedA.result(), limitedB.result()]);
    expect((await limitedA.status()).status).toBe('budget-exceeded');
    expect((await limitedB.status()).status).toBe('completed');

    // Stores: each runtime lists its own runs only.
    expect((await tenantA.list()).map((run) => run.id).sort()).toEqual([runA.runId, limitedA.runId].sort());
    expect((await tenantB.list()).map((run) => run.id).sort()).toEqual([runB.runId, limitedB.runId].sort());
    await Promise.all([tenantA.close(), tenantB.close()]);
  });
});

describe('context windows and tokenizers per runtime', () => {
  it('fit the same conversation to each runtime window and tokenizer, unseen by the other runtime and the process', async () => {
    const sent = new Map<string, number>();
    const model = scriptedModel(
      ({ prompt, options }) => {
        sent.set(String(options.providerOptions?.baton?.runId), prompt.length);
        return { text: 'ok' };
      },
      { modelId: 'tenant-window' },
    );
    const helper = agent({ name: 'helper', instructions: 'Help.', model });
    // Twenty turns of about 60 tokens each: about 1,200 tokens in all.
    const filler = 'the order was shipped on time and the customer was told about it twice '.repeat(4);
    const history: ModelMessage[] = Array.from({ length: 21 }, (_, index) =>
      index % 2 === 0
        ? { role: 'user', content: `${index}: ${filler}` }
        : { role: 'assistant', content: `${index}: ${filler}` },
    );
    const runtime = (options: Parameters<typeof createRuntime>[0] = {}) =>
      createRuntime({ store: createMemoryStore(), recover: false, ...options });
    // A window of 800 tokens (650 for the prompt, 150 kept for the answer) in A and C; C counts
    // tokens twice as heavily; B knows a large window; the process knows none.
    const small = runtime({ contextWindows: createContextWindows({ 'tenant-window': 800 }) });
    const large = runtime({ contextWindows: createContextWindows({ 'tenant-window': 100_000 }) });
    const heavy = runtime({
      contextWindows: createContextWindows({ 'tenant-window': 800 }),
      tokenizers: createTokenizers({ 'tenant-window': { encoding: 'o200k_base', margin: 2 } }),
    });
    const bare = runtime();
    const handles = await Promise.all([small, large, heavy, bare].map((each) => each.start(helper, history)));
    for (const handle of handles) expect(await handle.result()).toBe('ok');
    const [inSmall = 0, inLarge, inHeavy = 0, inBare] = handles.map((handle) => sent.get(handle.runId) ?? 0);
    // The system prompt plus the 21 messages where nothing was trimmed.
    expect(inLarge).toBe(22);
    expect(inBare).toBe(22);
    expect(inSmall).toBeLessThan(22);
    expect(inHeavy).toBeLessThan(inSmall);
    expect(inHeavy).toBeGreaterThan(1);
    // Neither runtime's tables reached the process's.
    expect(contextWindowOf('scripted:tenant-window')).toBeUndefined();
    expect(tokenizerFor('scripted:tenant-window').margin).toBe(1.2);
    // Nor does the process table reach a runtime with its own: registering a window now trims bare's runs only.
    registerContextWindow('tenant-window', 400);
    const [again, againBare] = await Promise.all([large.start(helper, history), bare.start(helper, history)]);
    await Promise.all([again.result(), againBare.result()]);
    expect(sent.get(again.runId)).toBe(22);
    expect(sent.get(againBare.runId)).toBeLessThan(inSmall);
    await Promise.all([small, large, heavy, bare].map((each) => each.close()));
  });
});

describe('model providers per runtime', () => {
  it('resolve a prefix with the own factory of the runtime, unseen by the other runtime and the process', async () => {
    const made: string[] = [];
    const providers = (tenant: string) =>
      createModelProviders({
        acme: (id) => {
          made.push(`${tenant}:${id}`);
          const text = id === 'judge' ? '{"verdict": "pass"}' : `answered for ${tenant}`;
          return scriptedModel(() => ({ text }), { modelId: id });
        },
      });
    // The agent and its model judge both name the tenant's prefix.
    const judge = modelJudge({
      name: 'polite',
      on: 'input',
      model: 'acme:judge',
      instructions: 'Pass polite text.',
    });
    const helper = agent({
      name: 'helper',
      instructions: 'Help.',
      model: 'acme:assistant',
      guardrails: [judge],
    });
    const tenantA = createRuntime({ store: createMemoryStore(), recover: false, models: providers('a') });
    const tenantB = createRuntime({ store: createMemoryStore(), recover: false, models: providers('b') });
    const bare = createRuntime({ store: createMemoryStore(), recover: false });
    const [runA, runB, runBare] = await Promise.all([
      tenantA.start(helper, 'hi'),
      tenantB.start(helper, 'hi'),
      bare.start(helper, 'hi'),
    ]);
    expect(await runA.result()).toBe('answered for a');
    expect(await runB.result()).toBe('answered for b');
    await expect(runBare.result()).rejects.toThrow(/Unknown model provider "acme"/);
    // Each runtime made its models once, for its own runs.
    expect(made.sort()).toEqual(['a:assistant', 'a:judge', 'b:assistant', 'b:judge']);
    expect(() => resolveModel('acme:assistant')).toThrow(/Unknown model provider "acme"/);
    await Promise.all([tenantA.close(), tenantB.close(), bare.close()]);
  });
});

describe('a pattern that wraps ctx', () => {
  it('keeps the run budget and the runtime prices (groupChat meters usage through its own view of ctx)', async () => {
    const model = scriptedModel(({ agent: name }) => ({ text: `${name} speaks`, usage }), {
      modelId: 'chat',
    });
    const chat = groupChat({
      name: 'chat',
      members: [
        agent({ name: 'a', instructions: 'Discuss.', model }),
        agent({ name: 'b', instructions: 'Discuss.', model }),
      ],
      maxRounds: 6,
    });
    const runtime = createRuntime({
      store: createMemoryStore(),
      recover: false,
      prices: createPriceTable({ 'scripted:chat': { input: 1000, output: 1000 } }),
    });
    const handle = await runtime.start(chat, 'Pick a name.', { budget: { maxCostUsd: 0.23 } });
    await handle.result().catch(() => undefined);
    // Priced by the runtime's table (the process table prices scripted models at 0), and
    // stopped by the run's budget after two calls of $0.11: six rounds would cost $0.66.
    expect((await handle.status()).status).toBe('budget-exceeded');
    expect(modelCosts(await runtime.journal(handle.runId))).toEqual([0.11, 0.11]);
    await runtime.close();
  });

  it('keeps them in a workflow wrapper that forwards ctx.services (agents run on the view)', async () => {
    const model = scriptedModel(() => ({ text: 'done', usage }), { modelId: 'wrapped' });
    const worker = agent({ name: 'worker', instructions: 'Work.', model });
    let seen: RunContext['services'] | undefined;
    const steps: string[] = [];
    const flow = workflow({ name: 'wrapping', version: '1' }, async (ctx, input: string) => {
      // A view that logs steps: it delegates everything and forwards the slot as it is.
      const view: RunContext = {
        ...delegate(ctx),
        step: (name, fn, options) => {
          steps.push(name);
          return ctx.step(name, fn, options);
        },
        services: ctx.services,
      };
      seen = view.services;
      const first = await runAgent(view, worker, input);
      const second = await runAgent(view, worker, input);
      return [first.output, second.output];
    });
    const prices = createPriceTable({ 'scripted:wrapped': { input: 1000, output: 1000 } });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false, prices });
    const handle = await runtime.start(flow, 'go', { budget: { maxCostUsd: 0.12 } });
    await handle.result().catch(() => undefined);
    expect(seen?.tenant.prices).toBe(prices);
    expect(seen?.governance.budget).toEqual({ maxCostUsd: 0.12 });
    // The first call ($0.11) passed through the view; the second would pass $0.12.
    expect((await handle.status()).status).toBe('budget-exceeded');
    expect(steps).toEqual(['model:worker']);
    expect(modelCosts(await runtime.journal(handle.runId))).toEqual([0.11]);
    await runtime.close();
  });
});

/** Everything of `ctx` but the slot, delegated (what a hand-written wrapper writes out). */
function delegate(ctx: RunContext): Omit<RunContext, 'services'> {
  return {
    get runId() {
      return ctx.runId;
    },
    get threadId() {
      return ctx.threadId;
    },
    get scope() {
      return ctx.scope;
    },
    get signal() {
      return ctx.signal;
    },
    get idempotencyKey() {
      return ctx.idempotencyKey;
    },
    get replaying() {
      return ctx.replaying;
    },
    get observed() {
      return ctx.observed;
    },
    get streaming() {
      return ctx.streaming;
    },
    step: (name, fn, options) => ctx.step(name, fn, options),
    run: (target, input) => ctx.run(target, input),
    parallel: (branches) => ctx.parallel(branches),
    parallelSettled: (branches) => ctx.parallelSettled(branches),
    waitFor: (name, options) => ctx.waitFor(name, options),
    sleep: (ms) => ctx.sleep(ms),
    now: () => ctx.now(),
    random: () => ctx.random(),
    uuid: () => ctx.uuid(),
    emit: (event) => ctx.emit(event),
    emitEvent: (event) => ctx.emitEvent(event),
  };
}

import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { agent } from './agent.js';
import { handoffFilters, transfer } from './handoff.js';
import { runAgent } from './run-agent.js';

function setup() {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

let additions = 0;
const add = tool({
  name: 'add',
  description: 'Adds two numbers',
  input: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => {
    additions++;
    return a + b;
  },
  idempotent: true,
});

describe('agent loop', () => {
  it('calls the model, runs the tool, feeds the result back and returns the final text', async () => {
    const { runtime } = setup();
    const model = scriptedModel([
      { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }], usage: { inputTokens: 10, outputTokens: 5 } },
      { text: '5', usage: { inputTokens: 20, outputTokens: 1 } },
    ]);
    const calculator = agent({ name: 'calculator', instructions: 'Add numbers.', model, tools: [add] });
    const before = additions;
    const handle = await runtime.start(calculator, 'What is 2+3?');
    expect(await handle.result()).toBe('5');
    expect(additions - before).toBe(1);
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual(['model:calculator', 'tool:add', 'model:calculator']);
    const run = await runtime.get(handle.runId);
    expect(run.usage).toEqual({ inputTokens: 30, outputTokens: 6, totalTokens: 36 });
    // The second model call saw the tool result.
    const secondPrompt = JSON.stringify(model.calls[1]?.prompt);
    expect(secondPrompt).toContain('tool-result');
    expect(model.calls[0]?.tools?.map((entry) => entry.name)).toEqual(['add']);
    expect(model.calls[0]?.prompt[0]).toEqual({ role: 'system', content: 'Add numbers.' });
    await runtime.close();
  });

  it('runs several tool calls of one response concurrently and returns results in the model order', async () => {
    const { runtime } = setup();
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = tool({
      name: 'slow',
      description: 'Echo after a delay',
      input: z.object({ value: z.string(), ms: z.number() }),
      execute: async ({ value, ms }) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setTimeout(resolve, ms));
        inFlight--;
        return value;
      },
    });
    const model = scriptedModel([
      {
        toolCalls: [
          { tool: 'slow', input: { value: 'first', ms: 40 } },
          { tool: 'slow', input: { value: 'second', ms: 1 } },
          { tool: 'slow', input: { value: 'third', ms: 20 } },
        ],
      },
      { text: 'done' },
    ]);
    const handle = await runtime.start(
      agent({ name: 'echo', instructions: 'x', model, tools: [slow] }),
      'go',
    );
    expect(await handle.result()).toBe('done');
    expect(maxInFlight).toBe(3);
    const toolMessage = model.calls[1]?.prompt.at(-1);
    expect(toolMessage?.role).toBe('tool');
    const values = ((toolMessage?.content ?? []) as Array<{ output: { value: unknown } }>).map(
      (part) => part.output.value,
    );
    expect(values).toEqual(['first', 'second', 'third']);
    await runtime.close();
  });

  it('sends invalid arguments, unknown tools and tool failures back to the model, which corrects itself', async () => {
    const { runtime } = setup();
    const failing = tool({
      name: 'lookup',
      description: 'Look up',
      input: z.object({ id: z.string() }),
      execute: () => {
        throw new Error('database offline');
      },
    });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'add', input: { a: 'two', b: 3 } }] },
      { toolCalls: [{ tool: 'multiply', input: { a: 2, b: 3 } }] },
      { toolCalls: [{ tool: 'lookup', input: { id: 'x' } }] },
      { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] },
      { text: '5' },
    ]);
    const handle = await runtime.start(
      agent({ name: 'fixer', instructions: 'x', model, tools: [add, failing], maxToolErrors: 4 }),
      'add',
    );
    expect(await handle.result()).toBe('5');
    const feedback = model.calls.slice(1, 4).map((call) => JSON.stringify(call.prompt.at(-1)));
    expect(feedback[0]).toContain('Invalid arguments for add: a:');
    expect(feedback[1]).toContain('Unknown tool \\"multiply\\". Available tools: add, lookup');
    expect(feedback[2]).toContain('Tool lookup failed: database offline');
    await runtime.close();
  });

  it('tells the model when its arguments are not JSON, and records the raw text in the conversation', async () => {
    const { runtime } = setup();
    const model = scriptedModel([
      { toolCalls: [{ tool: 'add', input: '{"a": 2, "b":' }] },
      { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] },
      { text: '5' },
    ]);
    const handle = await runtime.start(
      agent({ name: 'sloppy', instructions: 'x', model, tools: [add] }),
      'add',
    );
    expect(await handle.result()).toBe('5');
    const [assistant, feedback] = model.calls[1]?.prompt.slice(-2) ?? [];
    expect(JSON.stringify(assistant)).toContain('"input":"{\\"a\\": 2, \\"b\\":"');
    expect(JSON.stringify(feedback)).toContain('Invalid arguments for add: arguments are not valid JSON');
    await runtime.close();
  });

  it('stops with MODEL_BEHAVIOR error after too many failing tool turns in a row', async () => {
    const { runtime } = setup();
    const model = scriptedModel(() => ({ toolCalls: [{ tool: 'add', input: { a: 'bad' } }] }));
    const handle = await runtime.start(
      agent({ name: 'stubborn', instructions: 'x', model, tools: [add], maxToolErrors: 2 }),
      'add',
    );
    const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('TOOL_CALLS_FAILING');
    expect(error.fault).toBe('model');
    expect(error.message).toContain('stubborn');
    expect(model.calls).toHaveLength(2);
    await runtime.close();
  });

  it('fails a tool call that exceeds its timeout and tells the model', async () => {
    const { runtime } = setup();
    const hanging = tool({
      name: 'hang',
      description: 'Never returns',
      input: z.object({}),
      timeoutMs: 20,
      execute: () => new Promise(() => undefined),
    });
    const model = scriptedModel([{ toolCalls: [{ tool: 'hang', input: {} }] }, { text: 'gave up' }]);
    const handle = await runtime.start(
      agent({ name: 'patient', instructions: 'x', model, tools: [hanging] }),
      'go',
    );
    expect(await handle.result()).toBe('gave up');
    expect(JSON.stringify(model.calls[1]?.prompt.at(-1))).toContain('timed out after 20 ms');
    await runtime.close();
  });

  it('fails the run with a ModelCallError naming the model when a result is not shaped as the spec says, or the call throws at once (streamed or not)', async () => {
    const broken = (modelId: string, fail: () => unknown) =>
      agent({
        name: modelId,
        instructions: 'Answer.',
        model: {
          specificationVersion: 'v3',
          provider: 'fake',
          modelId,
          supportedUrls: {},
          doGenerate: fail as never,
          doStream: fail as never,
        },
        retry: { maxAttempts: 1 },
      });
    const unshaped = broken('unshaped', () =>
      Promise.resolve({ content: null, finishReason: { unified: 'stop', raw: 'stop' }, warnings: [] }),
    );
    const throwing = broken('throwing', () => {
      throw new Error('socket closed');
    });
    // Without a listener the model is called with doGenerate; with one, it streams (doStream).
    for (const listening of [false, true]) {
      const runtime = createRuntime({ store: createMemoryStore(), recover: false });
      if (listening) runtime.on(() => undefined);
      for (const [target, message] of [
        [unshaped, /^Model fake:unshaped failed: /],
        [throwing, /^Model fake:throwing failed: socket closed/],
      ] as const) {
        const handle = await runtime.start(target, 'hi');
        const error = (await handle.result().catch((failure: unknown) => failure)) as BatonError;
        expect(error.name).toBe('ModelCallError');
        expect(error.message).toMatch(message);
        const [entry] = await runtime.journal(handle.runId);
        expect(entry?.status).toBe('failed');
        expect(entry?.error?.message).toMatch(message);
      }
      await runtime.close();
    }
  });

  it('stops at maxTurns with an error naming the agent', async () => {
    const { runtime } = setup();
    const model = scriptedModel(() => ({ toolCalls: [{ tool: 'add', input: { a: 1, b: 1 } }] }));
    const handle = await runtime.start(
      agent({ name: 'looper', instructions: 'x', model, tools: [add], maxTurns: 3 }),
      'go',
    );
    await expect(handle.result()).rejects.toThrow(/"looper" reached maxTurns \(3\)/);
    await runtime.close();
  });

  it('returns a typed, validated output and repairs a bad answer within the bound', async () => {
    const { runtime } = setup();
    const model = scriptedModel([
      { text: '{"sentiment": "great"}' },
      { text: '```json\n{"sentiment": "positive", "score": 0.9}\n```' },
    ]);
    const classifier = agent({
      name: 'classifier',
      instructions: 'Classify.',
      model,
      output: z.object({ sentiment: z.enum(['positive', 'negative']), score: z.number() }),
    });
    const handle = await runtime.start(classifier, 'I love it');
    const result = await handle.result();
    expect(result).toEqual({ sentiment: 'positive', score: 0.9 });
    expect(model.calls[0]?.responseFormat).toMatchObject({ type: 'json' });
    expect(JSON.stringify(model.calls[1]?.prompt.at(-1))).toContain(
      'does not match the required output schema',
    );
    await runtime.close();
  });

  it('gives up on a bad structured answer with OUTPUT_INVALID carrying the raw output', async () => {
    const { runtime } = setup();
    const model = scriptedModel(() => ({ text: 'not json at all' }));
    const strict = agent({
      name: 'strict',
      instructions: 'x',
      model,
      output: z.object({ ok: z.boolean() }),
      maxRepairs: 1,
    });
    const handle = await runtime.start(strict, 'go');
    const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError & {
      rawOutput: unknown;
    };
    expect(error.code).toBe('OUTPUT_INVALID');
    expect(error.rawOutput).toBe('not json at all');
    await runtime.close();
  });

  it('hands off with a typed payload and an input filter, emitting handoff events', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel({
      triage: [
        { toolCalls: [{ tool: 'lookup_order', input: { id: 'A-1' } }] },
        { toolCalls: [{ tool: 'transfer_to_billing', input: { orderId: 'A-1' } }] },
      ],
      billing: [{ text: 'Refunded A-1' }],
    });
    const lookup = tool({
      name: 'lookup_order',
      description: 'Find an order',
      input: z.object({ id: z.string() }),
      execute: ({ id }) => ({ id, total: 20 }),
    });
    const billing = agent({
      name: 'billing',
      description: 'Refunds',
      instructions: ({ payload }) => `Handle order ${(payload as { orderId: string }).orderId}`,
      model,
    });
    const triage = agent({
      name: 'triage',
      instructions: 'Route.',
      model,
      tools: [lookup],
      handoffs: [
        transfer(billing, {
          payload: z.object({ orderId: z.string() }),
          inputFilter: handoffFilters.removeToolHistory,
        }),
      ],
    });
    const handle = await runtime.start(triage, 'Refund my order');
    expect(await handle.result()).toBe('Refunded A-1');
    const billingCall = model.calls.find(
      (call) => (call.providerOptions?.baton as { agent?: string })?.agent === 'billing',
    );
    expect(billingCall?.prompt[0]).toEqual({ role: 'system', content: 'Handle order A-1' });
    expect(billingCall?.prompt.some((message) => message.role === 'tool')).toBe(false);
    const handoff = events.find((event) => event.type === 'handoff');
    expect(handoff).toMatchObject({ from: 'triage', to: 'billing', payload: { orderId: 'A-1' } });
    await runtime.close();
  });

  it('runs an agent used as a tool as a child in its own scope', async () => {
    const { runtime } = setup();
    const model = scriptedModel({
      lead: [
        { toolCalls: [{ tool: 'researcher', input: { input: 'find X' } }] },
        { text: 'Summary: X is 42' },
      ],
      researcher: [{ text: 'X is 42' }],
    });
    const researcher = agent({
      name: 'researcher',
      description: 'Finds facts',
      instructions: 'Research.',
      model,
    });
    const lead = agent({ name: 'lead', instructions: 'Delegate.', model, tools: [researcher.asTool()] });
    const handle = await runtime.start(lead, 'What is X?');
    expect(await handle.result()).toBe('Summary: X is 42');
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => `${entry.key} ${entry.name}`)).toEqual([
      'r#0 model:lead',
      'r/1#0 model:researcher',
      'r#1 run:researcher',
      'r#2 model:lead',
    ]);
    await runtime.close();
  });

  it('never repeats a finished model or tool call when resumed after a crash mid-tool', async () => {
    const store = createMemoryStore();
    let hang = true;
    let executions = 0;
    const flaky = tool({
      name: 'charge',
      description: 'Charge',
      input: z.object({ amount: z.number() }),
      execute: async ({ amount }) => {
        executions++;
        if (hang) await new Promise(() => undefined);
        return `charged ${amount}`;
      },
    });
    const model = scriptedModel([{ toolCalls: [{ tool: 'charge', input: { amount: 5 } }] }, { text: 'ok' }]);
    const cashier = agent({ name: 'cashier', instructions: 'x', model, tools: [flaky] });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(cashier, 'charge 5');
    while (executions === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [cashier] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('ok');
    // The model's first call was journaled: not repeated. The tool was in flight: run again (at-least-once).
    expect(model.calls).toHaveLength(2);
    expect(executions).toBe(2);
  });

  it('is usable from workflow code through runAgent, which reports the answering agent', async () => {
    const { runtime } = setup();
    const model = scriptedModel([{ text: 'hello' }]);
    const greeter = agent({ name: 'greeter', instructions: 'Greet.', model });
    const flow = workflow({ name: 'greet-flow' }, async (ctx, name: string) => {
      const result = await runAgent(ctx, greeter, `Greet ${name}`);
      return `${result.agent}: ${result.output} (${result.turns} turn)`;
    });
    const handle = await runtime.start(flow, 'Ada');
    expect(await handle.result()).toBe('greeter: hello (1 turn)');
    await runtime.close();
  });

  it('rejects bad definitions with errors that name the agent and the field', () => {
    const model = scriptedModel([]);
    expect(() => agent({ name: 'x', instructions: 'y', model, tools: [add, add] })).toThrow(
      /agent\("x"\): two tools are named "add"/,
    );
    expect(() => agent({ name: 'x', instructions: 'y', model, maxTurns: 0 })).toThrow(
      /maxTurns must be an integer >= 1/,
    );
    expect(() => agent({ name: 'x', instructions: 'y', model: '' })).toThrow(/model is required/);
    expect(() => agent({ name: 'x', instructions: 'y', model, tools: [{} as never] })).toThrow(
      /tools\[0\] is not a tool/,
    );
    expect(() => tool({ name: 'bad name', description: 'd', input: z.object({}), execute: () => 1 })).toThrow(
      /name must be 1-64/,
    );
    expect(() => tool({ name: 'ok', description: '', input: z.object({}), execute: () => 1 })).toThrow(
      /description is required/,
    );
  });
});

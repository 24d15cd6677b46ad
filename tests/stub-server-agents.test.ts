import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModelMiddleware, ModelMessage, UIMessage } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  type BatonError,
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  handoff,
  registerPrices,
  tool,
} from '../src/index.js';
import { createStubServer, type StubServer } from '../src/testing/index.js';

// These tests drive the real AI SDK OpenAI-compatible client over HTTP against Baton's stub server.
let stub: StubServer;
beforeAll(async () => {
  stub = await createStubServer();
});
afterAll(async () => {
  await stub.close();
});

function model() {
  return createOpenAICompatible({ baseURL: stub.url, name: 'stub', includeUsage: true }).chatModel(
    'stub-model',
  );
}

const lookups: string[] = [];
const lookupOrder = tool({
  name: 'lookup_order',
  description: 'Find an order by id',
  input: z.object({ orderId: z.string() }),
  execute: ({ orderId }) => {
    lookups.push(orderId);
    return { orderId, total: 42.5, charges: 2 };
  },
});

describe('agents over HTTP against the stub server', () => {
  it('runs a tool-using agent, records usage and cost, and sends the tool result back', async () => {
    stub.reset();
    registerPrices({ 'stub:stub-model': { input: 1, output: 2 } });
    stub.enqueue(
      {
        toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'A-1' } }],
        usage: { promptTokens: 100, completionTokens: 10 },
      },
      { text: 'Order A-1 was charged twice.', usage: { promptTokens: 150, completionTokens: 20 } },
    );
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const support = agent({ name: 'support', instructions: 'Help.', model: model(), tools: [lookupOrder] });
    const handle = await runtime.start(support, 'Check order A-1');
    expect(await handle.result()).toBe('Order A-1 was charged twice.');
    expect(lookups).toContain('A-1');
    const run = await runtime.get(handle.runId);
    expect(run.usage).toEqual({ inputTokens: 250, outputTokens: 30, totalTokens: 280 });
    expect(run.costUsd).toBeCloseTo((250 * 1 + 30 * 2) / 1_000_000, 12);
    const second = stub.requests[1]?.body;
    expect(JSON.stringify(second?.messages)).toContain('"role":"tool"');
    expect(second?.tools?.[0]).toMatchObject({ type: 'function', function: { name: 'lookup_order' } });
    await runtime.close();
  });

  it('takes AI SDK ModelMessages and useChat UIMessages as input, end to end over the real client', async () => {
    stub.reset();
    stub.enqueue({ text: 'Answer one.' }, { text: 'Answer two.' });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const support = agent({ name: 'support', instructions: 'Help.', model: model() });
    const modelMessages: ModelMessage[] = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello, how can I help?' },
      { role: 'user', content: 'Where is A-1?' },
    ];
    expect(await (await runtime.start(support, modelMessages)).result()).toBe('Answer one.');
    const uiMessages: UIMessage[] = [
      { id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Refund A-1' }] },
    ];
    expect(await (await runtime.start(support, { messages: uiMessages })).result()).toBe('Answer two.');
    expect(stub.requests[0]?.body?.messages).toEqual([
      { role: 'system', content: 'Help.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello, how can I help?' },
      { role: 'user', content: 'Where is A-1?' },
    ]);
    expect(stub.requests[1]?.body?.messages).toEqual([
      { role: 'system', content: 'Help.' },
      { role: 'user', content: 'Refund A-1' },
    ]);
    await runtime.close();
  });

  it('streams model text as model-delta events when someone listens', async () => {
    stub.reset();
    stub.enqueue({ text: 'Hello there, how can I help you today?' });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const deltas: string[] = [];
    runtime.on((event: BatonEvent) => {
      if (event.type === 'model-delta') deltas.push(event.text);
    });
    const handle = await runtime.start(
      agent({ name: 'greeter', instructions: 'Greet.', model: model() }),
      'hi',
    );
    expect(await handle.result()).toBe('Hello there, how can I help you today?');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Hello there, how can I help you today?');
    expect(stub.requests[0]?.body.stream).toBe(true);
    await runtime.close();
  });

  it('fails with a provider-fault ModelCallError carrying the HTTP status', async () => {
    stub.reset();
    // A 503 is transient: it is retried (3 attempts by default), so the stub answers 503 every time.
    stub.setHandler(() => ({ fault: 'status', status: 503, body: { error: { message: 'overloaded' } } }));
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(
      agent({
        name: 'unlucky',
        instructions: 'x',
        model: model(),
        retry: { initialDelayMs: 1, maxDelayMs: 5 },
      }),
      'hi',
    );
    const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError & {
      statusCode?: number;
    };
    expect(error.code).toBe('MODEL_CALL_FAILED');
    expect(error.fault).toBe('provider');
    expect(error.statusCode).toBe(503);
    expect(error.runId).toBe(handle.runId);
    const stored = await runtime.get(handle.runId);
    expect(stored.status).toBe('failed');
    expect(stored.error?.data?.statusCode).toBe(503);
    expect(stored.error?.data).toMatchObject({ errorClass: 'transient', attempts: 3 });
    expect(stub.requests).toHaveLength(3);
    await runtime.close();
  });

  it('fails clearly on a malformed response body', async () => {
    stub.reset();
    stub.enqueue({ fault: 'malformed' });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(agent({ name: 'confused', instructions: 'x', model: model() }), 'hi');
    await expect(handle.result()).rejects.toThrow(/Model stub:stub-model failed/);
    await runtime.close();
  });

  it('hands off from triage to a specialist across HTTP calls', async () => {
    stub.reset();
    stub.enqueue(
      { toolCalls: [{ name: 'transfer_to_billing', arguments: {} }] },
      { toolCalls: [{ name: 'lookup_order', arguments: { orderId: 'B-2' } }] },
      { text: 'Billing here: B-2 has two charges.' },
    );
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const billing = agent({
      name: 'billing',
      description: 'Billing questions',
      instructions: 'Billing.',
      model: model(),
      tools: [lookupOrder],
    });
    const triage = agent({ name: 'triage', instructions: 'Route.', model: model() });
    const team = handoff({ name: 'support-team', entry: triage, agents: [billing] });
    const handle = await runtime.start(team, 'Why was I charged twice for B-2?');
    expect(await handle.result()).toBe('Billing here: B-2 has two charges.');
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual([
      'model:triage',
      'model:billing',
      'tool:lookup_order',
      'model:billing',
    ]);
    // The triage call offered the transfer tool; billing's system prompt is its own.
    expect(stub.requests[0]?.body.tools?.map((entry) => entry.function.name)).toEqual([
      'transfer_to_billing',
    ]);
    expect(JSON.stringify(stub.requests[1]?.body.messages?.[0])).toContain('Billing.');
    await runtime.close();
  });

  it('sends the call through the agent middleware: params rewritten on the wire, the answer wrapped', async () => {
    stub.reset();
    stub.enqueue({ text: 'refund issued' });
    const wrapped: string[] = [];
    const middleware: LanguageModelMiddleware[] = [
      {
        specificationVersion: 'v3',
        transformParams: async ({ params }) => ({
          ...params,
          temperature: 0.2,
          prompt: [{ role: 'system', content: 'Be terse.' }, ...params.prompt],
        }),
      },
      {
        specificationVersion: 'v3',
        wrapGenerate: async ({ doGenerate, params }) => {
          wrapped.push(`calling with ${params.prompt.length} messages`);
          const result = await doGenerate();
          return {
            ...result,
            content: result.content.map((part) =>
              part.type === 'text' ? { ...part, text: `[checked] ${part.text}` } : part,
            ),
          };
        },
      },
    ];
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const support = agent({ name: 'support', instructions: 'Help.', model: model(), middleware });
    expect(await (await runtime.start(support, 'Refund A-1')).result()).toBe('[checked] refund issued');
    const body = stub.requests[0]?.body as { temperature?: number; messages?: unknown[] } | undefined;
    expect(body?.temperature).toBe(0.2);
    expect(body?.messages?.slice(0, 2)).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'system', content: 'Help.' },
    ]);
    expect(wrapped).toEqual(['calling with 3 messages']);
    await runtime.close();
  });
});

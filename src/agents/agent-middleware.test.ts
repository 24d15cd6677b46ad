import type { LanguageModelV3Middleware, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { defaultSettingsMiddleware, type LanguageModelMiddleware } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { BatonEvent } from '../core/events.js';
import { createRuntime } from '../core/runtime.js';
import { createModelProviders } from '../models/model-providers.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { agent } from './agent.js';

const lookup = tool({
  name: 'lookup',
  description: 'Looks an order up',
  input: z.object({ id: z.string() }),
  execute: ({ id }) => `order ${id}: shipped`,
});

/** Rewrites the call: a lower temperature and a note appended to the system prompt. */
function rewriteParams(log: string[]): LanguageModelMiddleware {
  return {
    specificationVersion: 'v3',
    transformParams: async ({ params, type }) => {
      log.push(`rewrite ${type}`);
      const [system, ...rest] = params.prompt;
      const prompt =
        system?.role === 'system'
          ? [{ ...system, content: `${system.content} Answer in French.` }, ...rest]
          : params.prompt;
      return { ...params, prompt, temperature: 0.1 };
    },
  };
}

/** Wraps the provider's call: logs around it and upper-cases the text the model answered. */
function shout(log: string[]): LanguageModelMiddleware {
  return {
    specificationVersion: 'v3',
    wrapGenerate: async ({ doGenerate }) => {
      log.push('shout before');
      const result = await doGenerate();
      log.push('shout after');
      return {
        ...result,
        content: result.content.map((part) =>
          part.type === 'text' ? { ...part, text: part.text.toUpperCase() } : part,
        ),
      };
    },
    wrapStream: async ({ doStream }) => {
      log.push('shout stream');
      const { stream, ...rest } = await doStream();
      const upper = new TransformStream<LanguageModelV3StreamPart, LanguageModelV3StreamPart>({
        transform: (part, controller) =>
          controller.enqueue(
            part.type === 'text-delta' ? { ...part, delta: part.delta.toUpperCase() } : part,
          ),
      });
      return { ...rest, stream: stream.pipeThrough(upper) };
    },
  };
}

describe('agent middleware (AI SDK LanguageModelMiddleware)', () => {
  it('rewrites the params the model gets and wraps its call, in the order given, on every turn', async () => {
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'lookup', input: { id: 'A-1' } }] },
      { text: 'order a-1 has shipped' },
    ]);
    const support = agent({
      name: 'support',
      instructions: 'Help with orders.',
      model,
      tools: [lookup],
      settings: { temperature: 0.7 },
      middleware: [rewriteParams(log), shout(log)],
    });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(support, 'Where is A-1?');
    expect(await handle.result()).toBe('ORDER A-1 HAS SHIPPED');
    // The first middleware transforms first; the last one sits next to the model.
    expect(log).toEqual([
      'rewrite generate',
      'shout before',
      'shout after',
      'rewrite generate',
      'shout before',
      'shout after',
    ]);
    expect(model.calls.map((call) => call.temperature)).toEqual([0.1, 0.1]);
    expect(model.calls[0]?.prompt[0]).toEqual({
      role: 'system',
      content: 'Help with orders. Answer in French.',
    });
    // Baton's own call options (tools, the turn for scripted models) pass through the middleware.
    expect(model.calls[1]?.tools?.map((offered) => offered.name)).toEqual(['lookup']);
    expect(model.calls[1]?.providerOptions?.baton).toMatchObject({ agent: 'support', turn: 1 });
    // The journal records what the middleware returned.
    const journal = await runtime.journal(handle.runId);
    const last = journal.filter((entry) => entry.kind === 'model').at(-1);
    expect((last?.result as { text: string } | undefined)?.text).toBe('ORDER A-1 HAS SHIPPED');
    await runtime.close();
  });

  it('wraps the streamed call of an observed run (wrapStream) and streams what it returns', async () => {
    const log: string[] = [];
    const model = scriptedModel([{ text: 'all good here' }]);
    const support = agent({ name: 'support', instructions: 'Help.', model, middleware: [shout(log)] });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    const handle = await runtime.start(support, 'hi');
    expect(await handle.result()).toBe('ALL GOOD HERE');
    expect(log).toEqual(['shout stream']);
    const deltas = events.flatMap((event) => (event.type === 'model-delta' ? [event.text] : []));
    expect(deltas.join('')).toBe('ALL GOOD HERE');
    await runtime.close();
  });

  it("takes the AI SDK's own middleware (defaultSettingsMiddleware) and leaves agents without middleware untouched", async () => {
    const model = scriptedModel(() => ({ text: 'ok' }));
    const tuned = agent({
      name: 'tuned',
      instructions: 'Help.',
      model,
      middleware: [defaultSettingsMiddleware({ settings: { maxOutputTokens: 77, topK: 3 } })],
    });
    const plain = agent({ name: 'plain', instructions: 'Help.', model });
    expect(plain.middleware).toEqual([]);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    await (await runtime.start(tuned, 'hi')).result();
    await (await runtime.start(plain, 'hi')).result();
    expect(model.calls.map((call) => [call.maxOutputTokens, call.topK])).toEqual([
      [77, 3],
      [undefined, undefined],
    ]);
    await runtime.close();
  });

  it('wraps each model once per runtime (the runtime that makes its own model gets its own wrapped one), not per turn', async () => {
    let wraps = 0;
    const counting: LanguageModelV3Middleware = {
      specificationVersion: 'v3',
      // Called when a model is wrapped, not on calls.
      overrideModelId: ({ model }) => {
        wraps++;
        return model.modelId;
      },
    };
    const providers = () =>
      createModelProviders({ acme: (id) => scriptedModel(() => ({ text: `from ${id}` }), { modelId: id }) });
    const helper = agent({
      name: 'helper',
      instructions: 'Help.',
      model: 'acme:assistant',
      middleware: [counting],
    });
    const tenantA = createRuntime({ store: createMemoryStore(), recover: false, models: providers() });
    const tenantB = createRuntime({ store: createMemoryStore(), recover: false, models: providers() });
    for (let round = 0; round < 3; round++) {
      expect(await (await tenantA.start(helper, 'hi')).result()).toBe('from assistant');
      expect(await (await tenantB.start(helper, 'hi')).result()).toBe('from assistant');
    }
    expect(wraps).toBe(2);
    await Promise.all([tenantA.close(), tenantB.close()]);
  });

  it('runs inside the retries: a retried attempt goes through the middleware again', async () => {
    const log: string[] = [];
    let calls = 0;
    const model = scriptedModel(() => {
      calls++;
      return calls === 1
        ? { error: Object.assign(new Error('overloaded'), { statusCode: 503, isRetryable: true }) }
        : { text: 'done' };
    });
    const flaky = agent({
      name: 'flaky',
      instructions: 'Help.',
      model,
      retry: { maxAttempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      classifyError: () => 'transient',
      middleware: [shout(log)],
    });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    expect(await (await runtime.start(flaky, 'hi')).result()).toBe('DONE');
    expect(log.filter((entry) => entry === 'shout before')).toHaveLength(2);
    await runtime.close();
  });

  it('refuses what is not v3 middleware when the agent is defined', () => {
    const model = scriptedModel([{ text: 'ok' }]);
    expect(() =>
      agent({
        name: 'old',
        instructions: 'Help.',
        model,
        middleware: [{ specificationVersion: 'v2' } as unknown as LanguageModelMiddleware],
      }),
    ).toThrow(/middleware\[0\] has specificationVersion "v2".*v3/);
    expect(() =>
      agent({
        name: 'bad',
        instructions: 'Help.',
        model,
        middleware: [
          { specificationVersion: 'v3', wrapGenerate: 'yes' } as unknown as LanguageModelMiddleware,
        ],
      }),
    ).toThrow(/middleware\[0\]\.wrapGenerate must be a function/);
    expect(() =>
      agent({
        name: 'single',
        instructions: 'Help.',
        model,
        middleware: { specificationVersion: 'v3' } as unknown as LanguageModelMiddleware[],
      }),
    ).toThrow(/middleware must be a list/);
  });
});

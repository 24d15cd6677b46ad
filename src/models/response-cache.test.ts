import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type Agent, type AgentOptions, agent } from '../agents/agent.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import {
  type CachedModelResponse,
  createMemoryResponseCache,
  type ResponseCacheStore,
  responseCacheKey,
} from './response-cache.js';
import { createStoreResponseCache } from './store-response-cache.js';

/** A model that answers `answer <n>` with the number of calls it has seen, so a cache hit is visible. */
function countingModel() {
  let count = 0;
  return scriptedModel(() => ({ text: `answer ${++count}`, usage: { inputTokens: 100, outputTokens: 10 } }));
}

async function runTwice(
  definition: Agent<string>,
  inputs: [string, string] = ['What is Baton?', 'What is Baton?'],
) {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const results: string[] = [];
  const runIds: string[] = [];
  for (const input of inputs) {
    const handle = await runtime.start(definition, input);
    results.push(await handle.result());
    runIds.push(handle.runId);
  }
  return { runtime, results, runIds };
}

function faq(options: Partial<AgentOptions<string>> & Pick<AgentOptions<string>, 'model'>) {
  return agent({ name: 'faq', instructions: 'Answer questions about Baton.', ...options });
}

describe('response cache', () => {
  it('serves a second identical call from the cache, marks it in the journal and spends no tokens', async () => {
    const model = countingModel();
    const store = createMemoryResponseCache();
    const { runtime, results, runIds } = await runTwice(faq({ model, cache: { ttlMs: 60_000, store } }));
    expect(results).toEqual(['answer 1', 'answer 1']);
    expect(model.calls).toHaveLength(1);
    const [first, second] = await Promise.all(runIds.map((runId) => runtime.journal(runId)));
    expect(first![0]!.meta).not.toHaveProperty('cached');
    expect(first![0]!.meta?.usage).toEqual({ inputTokens: 100, outputTokens: 10, totalTokens: 110 });
    expect(second![0]!.meta).toMatchObject({
      cached: true,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      cachedUsage: { inputTokens: 100, outputTokens: 10, totalTokens: 110 },
    });
    expect((await runtime.get(runIds[1]!)).usage).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      totalTokens: 0,
    });
    await runtime.close();
  });

  it('calls the model again once the entry is older than ttlMs', async () => {
    const model = countingModel();
    const clock = createFakeClock(1_000);
    const definition = faq({ model, cache: { ttlMs: 5_000, clock, store: createMemoryResponseCache() } });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const ask = async () => (await runtime.start(definition, 'same question')).result();
    expect(await ask()).toBe('answer 1');
    clock.advance(4_999);
    expect(await ask()).toBe('answer 1');
    clock.advance(1);
    expect(await ask()).toBe('answer 2');
    expect(await ask()).toBe('answer 2');
    expect(model.calls).toHaveLength(2);
    await runtime.close();
  });

  it('is off with cache: false (and by default)', async () => {
    for (const cache of [false, undefined] as const) {
      const model = countingModel();
      const { runtime, results } = await runTwice(faq({ model, ...(cache === undefined ? {} : { cache }) }));
      expect(results).toEqual(['answer 1', 'answer 2']);
      expect(model.calls).toHaveLength(2);
      await runtime.close();
    }
  });

  it('misses when the messages, settings or tools differ', async () => {
    const store = createMemoryResponseCache();
    const model = countingModel();
    const cold = faq({ model, cache: { store }, settings: { temperature: 0 } });
    const warm = faq({ name: 'faq_warm', model, cache: { store }, settings: { temperature: 0.7 } });
    const lookup = tool({
      name: 'lookup',
      description: 'Looks up a document',
      input: z.object({ id: z.string() }),
      execute: ({ id }) => id,
    });
    const withTool = faq({
      name: 'faq_tools',
      model,
      cache: { store },
      settings: { temperature: 0 },
      tools: [lookup],
    });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const ask = async (definition: Agent<string>, input: string) =>
      (await runtime.start(definition, input)).result();
    expect(await ask(cold, 'question A')).toBe('answer 1');
    expect(await ask(cold, 'question B')).toBe('answer 2');
    expect(await ask(warm, 'question A')).toBe('answer 3');
    expect(await ask(withTool, 'question A')).toBe('answer 4');
    expect(await ask(cold, 'question A')).toBe('answer 1');
    // The agent's name is not part of the model call: the same call from another agent is a hit.
    const twin = faq({ name: 'faq_twin', model, cache: { store }, settings: { temperature: 0 } });
    expect(await ask(twin, 'question B')).toBe('answer 2');
    expect(model.calls).toHaveLength(4);
    await runtime.close();
  });

  it('uses a pluggable store', async () => {
    const entries = new Map<string, CachedModelResponse>();
    const operations: string[] = [];
    const store: ResponseCacheStore = {
      get: async (key) => {
        operations.push('get');
        return entries.get(key);
      },
      set: async (key, entry) => {
        operations.push('set');
        entries.set(key, entry);
      },
      delete: (key) => {
        entries.delete(key);
      },
    };
    const model = countingModel();
    const { runtime, results } = await runTwice(faq({ model, cache: { store } }));
    expect(results).toEqual(['answer 1', 'answer 1']);
    expect(operations).toEqual(['get', 'set', 'get']);
    expect(entries.size).toBe(1);
    await runtime.close();
  });

  it('shares answers between processes through a SQLite store record stream', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-cache-'));
    const path = join(directory, 'baton.db');
    // Two store instances on one file stand for two processes.
    const first = createSqliteStore({ path });
    const second = createSqliteStore({ path });
    try {
      const model = countingModel();
      const ask = async (store: ResponseCacheStore, input: string) => {
        const runtime = createRuntime({ store: createMemoryStore(), recover: false });
        const answer = await (await runtime.start(faq({ model, cache: { store } }), input)).result();
        await runtime.close();
        return answer;
      };
      const here = createStoreResponseCache(first);
      const there = createStoreResponseCache(second);
      expect(await ask(here, 'shared question')).toBe('answer 1');
      expect(await ask(there, 'shared question')).toBe('answer 1');
      expect(await ask(there, 'other question')).toBe('answer 2');
      expect(await ask(here, 'other question')).toBe('answer 2');
      expect(model.calls).toHaveLength(2);
      // A delete in one process is seen by the other.
      const key = (await first.readRecords('baton:response-cache'))[0]!.data as { key: string };
      await there.delete(key.key);
      expect(await here.get(key.key)).toBeUndefined();
    } finally {
      await first.close();
      await second.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('rejects bad options when the agent is defined', () => {
    const model = countingModel();
    expect(() => faq({ model, cache: { ttlMs: 0 } })).toThrow(/agent\("faq"\): cache.ttlMs must be positive/);
    expect(() => faq({ model, cache: { store: {} as ResponseCacheStore } })).toThrow(/cache.store must have/);
    expect(() => createMemoryResponseCache({ maxEntries: 0 })).toThrow(/maxEntries/);
  });
});

describe('responseCacheKey', () => {
  const prompt: LanguageModelV3CallOptions['prompt'] = [
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: [{ type: 'text', text: 'hi' }] },
  ];

  it('ignores key order, the abort signal and Baton run data, but not provider options', () => {
    const base = responseCacheKey('openai:gpt-4o', {
      prompt,
      temperature: 0,
      topP: 1,
      providerOptions: { baton: { runId: 'run_1', turn: 0 } },
    });
    expect(
      responseCacheKey('openai:gpt-4o', {
        topP: 1,
        temperature: 0,
        prompt,
        abortSignal: new AbortController().signal,
        providerOptions: { baton: { runId: 'run_2', turn: 3 } },
      }),
    ).toBe(base);
    expect(responseCacheKey('openai:gpt-4o-mini', { prompt, temperature: 0, topP: 1 })).not.toBe(base);
    expect(responseCacheKey('openai:gpt-4o', { prompt, temperature: 0, topP: 1, seed: 7 })).not.toBe(base);
    expect(
      responseCacheKey('openai:gpt-4o', {
        prompt,
        temperature: 0,
        topP: 1,
        providerOptions: { openai: { reasoningEffort: 'high' } },
      }),
    ).not.toBe(base);
  });
});

describe('createMemoryResponseCache', () => {
  it('evicts the least recently used entry', () => {
    const cache = createMemoryResponseCache({ maxEntries: 2 });
    const entry = (text: string): CachedModelResponse => ({
      expiresAt: Number.POSITIVE_INFINITY,
      response: {
        text,
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
        cachedInputTokens: 0,
        model: 'm',
      },
    });
    cache.set('a', entry('a'));
    cache.set('b', entry('b'));
    cache.get('a');
    cache.set('c', entry('c'));
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect((cache.get('a') as CachedModelResponse).response.text).toBe('a');
  });
});

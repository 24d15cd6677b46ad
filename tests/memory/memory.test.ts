import { describe, expect, it } from 'vitest';
import { agent } from '../../src/agents/agent.js';
import { createRuntime } from '../../src/core/runtime.js';
import { createInMemoryIndex } from '../../src/memory/in-memory-index.js';
import { createMemory } from '../../src/memory/memory.js';
import { memoryTools } from '../../src/memory/memory-tools.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { createSqliteMemoryIndex } from '../../src/stores/sqlite/sqlite-memory.js';
import { type ScriptedTurn, scriptedModel } from '../../src/testing/scripted-model.js';
import { conceptEmbeddingModel } from './concept-embedding-model.js';

describe('createMemory', () => {
  it('remembers and recalls by BM25 within one scope only', async () => {
    const memory = createMemory({ index: createSqliteMemoryIndex({ path: ':memory:' }) });
    await memory.remember('Prefers invoices by email', { scope: { user: 'ada' } });
    await memory.remember('Ships parcels to Lyon', { scope: { user: 'ada' } });
    await memory.remember('Prefers invoices by post', { scope: { user: 'bob' } });
    await memory.remember('Agent note: invoices are monthly', { scope: { agent: 'billing' } });

    const ada = await memory.recall('invoice email', { scope: { user: 'ada' } });
    expect(ada.map((hit) => hit.text)).toEqual(['Prefers invoices by email']);
    const bob = await memory.recall('invoices', { scope: { user: 'bob' } });
    expect(bob.map((hit) => hit.text)).toEqual(['Prefers invoices by post']);
    expect((await memory.recall('invoices', { scope: { agent: 'billing' } })).map((hit) => hit.text)).toEqual(
      ['Agent note: invoices are monthly'],
    );
    expect(await memory.recall('invoices', { scope: { thread: 't1' } })).toEqual([]);
    expect((await memory.list({ user: 'ada' })).map((item) => item.text)).toEqual([
      'Prefers invoices by email',
      'Ships parcels to Lyon',
    ]);
    await memory.index.close();
  });

  it('recalls by meaning with an embedding model (AI SDK embed) where words do not match', async () => {
    const model = conceptEmbeddingModel();
    const memory = createMemory({ embeddingModel: model });
    const scope = { user: 'ada' } as const;
    await memory.remember('Send invoices by email', { scope });
    await memory.remember('Likes green tea', { scope });
    await memory.remember('Parcels go to the courier desk', { scope });
    await memory.remember('Call her on the phone for payment questions', { scope: { user: 'bob' } });

    // No word of the query appears in the memory: lexical search finds nothing, vectors do.
    expect(await memory.recall('mail my bill', { scope, mode: 'lexical' })).toEqual([]);
    const hits = await memory.recall('mail my bill', { scope, limit: 2 });
    expect(hits.map((hit) => [hit.text, hit.via])).toEqual([
      ['Send invoices by email', 'vector'],
      ['Likes green tea', 'vector'],
    ]);
    expect(hits[0]!.score).toBeCloseTo(1, 6);
    expect(hits[1]!.score).toBe(0);
    const delivery = await memory.recall('where does the package delivery go', { scope, limit: 1 });
    expect(delivery.map((hit) => hit.text)).toEqual(['Parcels go to the courier desk']);
    // Each remember and recall embedded its text once.
    expect(model.calls.flat()).toContain('mail my bill');
    expect(model.calls).toHaveLength(6);
  });

  it('fuses lexical and vector rankings in hybrid mode', async () => {
    const memory = createMemory({ embeddingModel: conceptEmbeddingModel(), mode: 'hybrid' });
    const scope = { thread: 't1' } as const;
    await memory.remember('Order A-1001 arrived damaged', { scope });
    await memory.remember('The courier lost the package', { scope });
    await memory.remember('Likes coffee', { scope });
    // `A-1001` matches only lexically, `parcel` only by meaning: hybrid returns both, the one
    // ranked by both searches first.
    const hits = await memory.recall('parcel A-1001', { scope, limit: 3 });
    expect(
      hits
        .slice(0, 2)
        .map((hit) => hit.text)
        .sort(),
    ).toEqual(['Order A-1001 arrived damaged', 'The courier lost the package']);
    expect(hits.every((hit) => hit.via === 'hybrid')).toBe(true);
  });

  it('rejects bad scopes and options with errors that name them', async () => {
    const memory = createMemory();
    await expect(memory.remember('x', { scope: { team: 'a' } as never })).rejects.toMatchObject({
      code: 'INVALID_MEMORY_SCOPE',
    });
    await expect(memory.remember('x', { scope: { user: 'a', agent: 'b' } as never })).rejects.toThrow(
      /exactly one of/,
    );
    await expect(memory.remember('  ', { scope: { user: 'a' } })).rejects.toMatchObject({
      code: 'INVALID_MEMORY',
    });
    await expect(memory.recall('x', { scope: { user: 'a' }, mode: 'vector' })).rejects.toThrow(
      /embeddingModel/,
    );
    expect(() => createMemory({ mode: 'hybrid' })).toThrow(/needs an embeddingModel/);
    expect(() => memoryTools(memory, { scope: { user: '' } })).toThrow(/non-empty string/);
  });
});

describe('memory tools', () => {
  it('remember and recall as journaled tool steps, scoped to the thread, replay-safe across runs', async () => {
    const store = createMemoryStore();
    const memory = createMemory({ index: createInMemoryIndex() });
    const { remember, recall } = memoryTools(memory, { scope: 'thread' });
    // One script for the three runs below: each run's turns by its first user message.
    const plays: Record<string, ScriptedTurn[]> = {
      'I want invoices by email': [
        { toolCalls: [{ tool: 'remember', input: { text: 'The customer prefers invoices by email' } }] },
        { text: 'Noted.' },
      ],
      'How do I get invoices?': [
        { toolCalls: [{ tool: 'recall', input: { query: 'invoices' } }] },
        { text: 'By email.' },
      ],
      'Invoices?': [{ toolCalls: [{ tool: 'recall', input: { query: 'invoices' } }] }, { text: 'none' }],
    };
    const model = scriptedModel(({ prompt, turn }) => {
      const asked = prompt.filter((message) => message.role === 'user').at(-1);
      const text = asked?.role === 'user' && asked.content[0]?.type === 'text' ? asked.content[0].text : '';
      return plays[text]?.[turn] ?? { text: `unscripted: ${text} turn ${turn}` };
    });
    const assistant = agent({ name: 'assistant', instructions: 'Help.', model, tools: [remember, recall] });
    const runtime = createRuntime({ store, recover: false });
    const first = await runtime.start(assistant, 'I want invoices by email', { threadId: 'case-7' });
    expect(await first.result()).toBe('Noted.');
    expect(await memory.list({ thread: 'case-7' })).toMatchObject([
      {
        text: 'The customer prefers invoices by email',
        metadata: { runId: first.runId, agent: 'assistant' },
      },
    ]);

    const second = await runtime.start(assistant, 'How do I get invoices?', { threadId: 'case-7' });
    expect(await second.result()).toBe('By email.');
    const journal = await runtime.journal(second.runId);
    const recallStep = journal.find((entry) => entry.name === 'tool:recall');
    expect(recallStep).toMatchObject({
      kind: 'tool',
      status: 'completed',
      result: { memories: [{ text: 'The customer prefers invoices by email' }] },
    });
    // The same tools in a run of another thread see nothing.
    const third = await runtime.start(assistant, 'Invoices?', { threadId: 'case-8' });
    await third.result();
    const thirdJournal = await runtime.journal(third.runId);
    expect(thirdJournal.find((entry) => entry.name === 'tool:recall')?.result).toEqual({ memories: [] });

    // A remember step re-run (as after a crash mid-call) replaces its memory instead of adding one.
    await memory.remember('The customer prefers invoices by email', {
      scope: { thread: 'case-7' },
      id: (await memory.list({ thread: 'case-7' }))[0]!.id,
    });
    expect(await memory.list({ thread: 'case-7' })).toHaveLength(1);
    await runtime.close();
  });

  it('fails fast, naming the fix, when thread-scoped tools run without a thread', async () => {
    const memory = createMemory();
    const { remember } = memoryTools(memory, { scope: 'thread' });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'remember', input: { text: 'x' } }] },
      { text: 'ok' },
    ]);
    const lonely = agent({ name: 'lonely', instructions: 'Help.', model, tools: [remember] });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(lonely, 'hi');
    await expect(handle.result()).rejects.toThrow(/this run has no thread: start it with .*threadId/);
    expect(await memory.list({ agent: 'lonely' })).toEqual([]);
    await runtime.close();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../../src/agents/agent.js';
import { type Message, userMessage } from '../../src/context/messages.js';
import { createRuntime } from '../../src/core/runtime.js';
import {
  appendThread,
  clearThread,
  listThreadRuns,
  readThread,
  readThreadTurns,
} from '../../src/memory/threads.js';
import { sequential } from '../../src/patterns/sequential.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { scriptedModel } from '../../src/testing/scripted-model.js';
import { tool } from '../../src/tools/tool.js';

const directory = mkdtempSync(join(tmpdir(), 'baton-threads-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const texts = (messages: readonly (Message | { role: 'system'; content: string })[]) =>
  messages.map((message) => {
    if (message.role === 'system') return `system: ${message.content}`;
    if (message.role === 'tool') return 'tool';
    return `${message.role}: ${message.content.map((part) => (part.type === 'text' ? part.text : part.type)).join('')}`;
  });

describe('threads', () => {
  it('continues a conversation across runs and processes: the second run sees the first run’s messages', async () => {
    const path = join(directory, 'continuity.db');
    const model = scriptedModel([{ text: 'Nice to meet you, Ada.' }]);
    const concierge = agent({ name: 'concierge', instructions: 'Be helpful.', model });
    const first = createRuntime({ store: createSqliteStore({ path }), recover: false });
    const one = await first.start(concierge, 'Hi, my name is Ada.', { threadId: 'ada' });
    expect(await one.result()).toBe('Nice to meet you, Ada.');
    await first.close();

    // A new process: a new store on the same file, a new model.
    const later = scriptedModel([{ text: 'Your name is Ada.' }]);
    const sameConcierge = agent({ name: 'concierge', instructions: 'Be helpful.', model: later });
    const store = createSqliteStore({ path });
    const second = createRuntime({ store, recover: false });
    const two = await second.start(sameConcierge, 'What is my name?', { threadId: 'ada' });
    expect(await two.result()).toBe('Your name is Ada.');
    expect(texts(later.calls[0]!.prompt)).toEqual([
      'system: Be helpful.',
      'user: Hi, my name is Ada.',
      'assistant: Nice to meet you, Ada.',
      'user: What is my name?',
    ]);
    expect(texts(await readThread(store, 'ada'))).toEqual([
      'user: Hi, my name is Ada.',
      'assistant: Nice to meet you, Ada.',
      'user: What is my name?',
      'assistant: Your name is Ada.',
    ]);
    expect((await listThreadRuns(store, 'ada')).map((run) => run.id)).toEqual([two.runId, one.runId]);
    expect((await second.journal(two.runId)).map((entry) => entry.name)).toEqual([
      'thread:load',
      'model:concierge',
      'thread:append',
    ]);
    // Another thread starts empty.
    const fresh = scriptedModel([{ text: 'Hello!' }]);
    const other = agent({ name: 'concierge-b', instructions: 'Be helpful.', model: fresh });
    await (await second.start(other, 'Hello', { threadId: 'bob' })).result();
    expect(texts(fresh.calls[0]!.prompt)).toEqual(['system: Be helpful.', 'user: Hello']);
    await second.close();
  });

  it('replays the history it loaded and appends once when a run resumes after a crash', async () => {
    const store = createMemoryStore();
    await appendThread(store, 'case', 'import', [userMessage('Order A-1 is late.')]);
    let hang = true;
    let executions = 0;
    const track = tool({
      name: 'track',
      description: 'Tracks an order',
      input: z.object({ order: z.string() }),
      execute: async () => {
        executions++;
        if (hang) await new Promise(() => undefined);
        return 'in transit';
      },
    });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'track', input: { order: 'A-1' } }] },
      { text: 'In transit.' },
    ]);
    const support = agent({ name: 'support', instructions: 'Help.', model, tools: [track] });
    const crashed = createRuntime({ store, recover: false });
    const handle = await crashed.start(support, 'Where is it?', { threadId: 'case' });
    while (executions === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    // Meanwhile the thread grows; the resumed run must still see what it loaded the first time.
    await appendThread(store, 'case', 'other-run', [userMessage('Unrelated later message')]);
    hang = false;
    const resumed = await createRuntime({ store, recover: false, workflows: [support] }).resume(
      handle.runId,
      {
        force: true,
      },
    );
    expect(await resumed.result()).toBe('In transit.');
    expect(texts(model.calls[1]!.prompt).slice(0, 3)).toEqual([
      'system: Help.',
      'user: Order A-1 is late.',
      'user: Where is it?',
    ]);
    expect(texts(await readThread(store, 'case'))).toEqual([
      'user: Order A-1 is late.',
      'user: Unrelated later message',
      'user: Where is it?',
      'assistant: tool-call',
      'tool',
      'assistant: In transit.',
    ]);
  });

  it('clears a thread and reads each run’s messages once', async () => {
    const store = createMemoryStore();
    await appendThread(store, 't', 'r1', [userMessage('one')]);
    await appendThread(store, 't', 'r1', [userMessage('one')]);
    expect(texts(await readThread(store, 't'))).toEqual(['user: one']);
    await clearThread(store, 't');
    expect(await readThread(store, 't')).toEqual([]);
    await appendThread(store, 't', 'r2', [userMessage('two')]);
    expect(texts(await readThread(store, 't'))).toEqual(['user: two']);
    await expect(readThread(store, '')).rejects.toMatchObject({ code: 'INVALID_THREAD' });
  });

  it('reads the same messages grouped by the run that added them, each run once, since the last clear', async () => {
    const store = createMemoryStore();
    await appendThread(store, 't', 'r0', [userMessage('zero')]);
    await clearThread(store, 't');
    await appendThread(store, 't', 'r1', [userMessage('one'), userMessage('one again')]);
    await appendThread(store, 't', 'r2', [userMessage('two')]);
    await appendThread(store, 't', 'r1', [userMessage('one')]);
    const turns = await readThreadTurns(store, 't');
    expect(turns.map((turn) => [turn.runId, texts(turn.messages)])).toEqual([
      ['r1', ['user: one', 'user: one again']],
      ['r2', ['user: two']],
    ]);
    expect(turns.flatMap((turn) => turn.messages)).toEqual(await readThread(store, 't'));
  });

  it('leaves members of a pattern out of the thread (only the run’s own agent takes part)', async () => {
    const store = createMemoryStore();
    await appendThread(store, 'p', 'earlier', [userMessage('earlier message')]);
    const model = scriptedModel({ drafter: [{ text: 'draft' }], reviewer: [{ text: 'ok' }] });
    const drafter = agent({ name: 'drafter', instructions: 'Draft.', model });
    const reviewer = agent({ name: 'reviewer', instructions: 'Review.', model });
    const runtime = createRuntime({ store, recover: false });
    const handle = await runtime.start(
      sequential({ name: 'pipeline', stages: [drafter, reviewer] }),
      'write',
      {
        threadId: 'p',
      },
    );
    expect(await handle.result()).toBe('ok');
    expect(JSON.stringify(model.calls[0]!.prompt)).not.toContain('earlier message');
    expect(texts(await readThread(store, 'p'))).toEqual(['user: earlier message']);
    await runtime.close();
  });
});

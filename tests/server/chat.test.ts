/** The chat endpoint consumed by the AI SDK's own chat client (AbstractChat + DefaultChatTransport, what useChat runs): text streamed, tool parts, handoffs as data parts, the conversation kept as a thread. */

import { AbstractChat, type ChatState, type ChatStatus, DefaultChatTransport, type UIMessage } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent, createMemoryStore, type Store, tool } from '../../src/index.js';
import { readThread } from '../../src/memory/threads.js';
import type { ServerOptions } from '../../src/server/index.js';
import { scriptedModel } from '../../src/testing/index.js';
import { call, keyWith, startServer } from './server-fixtures.js';

/** A chat client as useChat builds it, with plain state instead of React's. */
class TestChat extends AbstractChat<UIMessage> {
  constructor(url: string, key: string, id: string) {
    const state: ChatState<UIMessage> & { messages: UIMessage[] } = {
      status: 'ready' as ChatStatus,
      error: undefined,
      messages: [],
      pushMessage(message) {
        state.messages = [...state.messages, message];
      },
      popMessage() {
        state.messages = state.messages.slice(0, -1);
      },
      replaceMessage(index, message) {
        state.messages = state.messages.map((current, at) => (at === index ? message : current));
      },
      snapshot: (thing) => structuredClone(thing),
    };
    super({
      id,
      state,
      transport: new DefaultChatTransport({ api: url, headers: { authorization: `Bearer ${key}` } }),
    });
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function serve(store: Store, targets: ServerOptions['targets']) {
  const started = await startServer(store, { targets });
  stops.push(() => started.stop());
  return started;
}

describe('POST /v1/chat/:target (useChat)', () => {
  it('streams text, tool calls and a handoff to the AI SDK chat client, and keeps the conversation as a thread', async () => {
    const store = createMemoryStore();
    const lookup = tool({
      name: 'lookup',
      description: 'Finds an order',
      input: z.object({ orderId: z.string() }),
      execute: ({ orderId }) => ({ orderId, status: 'shipped' }),
    });
    const billing = agent({
      name: 'billing',
      instructions: 'Answer billing questions.',
      tools: [lookup],
      // Turns count per run: the second chat turn (a new run) answers the thanks it finds last.
      model: scriptedModel(({ prompt, turn }) => {
        const lastUser = prompt.filter((message) => message.role === 'user').at(-1);
        if (JSON.stringify(lastUser).includes('Thanks!')) return { text: 'You are welcome, anything else?' };
        return turn === 0
          ? { toolCalls: [{ tool: 'lookup', input: { orderId: 'A-1' }, id: 'call_1' }] }
          : { text: 'Order A-1 has shipped and is on its way.' };
      }),
    });
    const triage = agent({
      name: 'triage',
      instructions: 'Route.',
      handoffs: [billing],
      model: scriptedModel(() => ({ toolCalls: [{ tool: 'transfer_to_billing', input: {}, id: 'call_h' }] })),
    });
    const { server } = await serve(store, [triage]);
    const key = await keyWith(store, ['run', 'read']);
    const chat = new TestChat(`${server.url}/v1/chat/triage`, key, 'chat-42');

    await chat.sendMessage({ text: 'Where is order A-1?' });
    expect(chat.error).toBeUndefined();
    expect(chat.status).toBe('ready');
    const answer = chat.messages.at(-1) as UIMessage;
    expect(answer.role).toBe('assistant');
    const types = answer.parts.map((part) => part.type);
    expect(types).toContain('data-handoff');
    expect(types).toContain('dynamic-tool');
    const toolPart = answer.parts.find((part) => part.type === 'dynamic-tool') as {
      toolName: string;
      state: string;
      input: unknown;
      output: unknown;
    };
    expect(toolPart).toMatchObject({
      toolName: 'lookup',
      state: 'output-available',
      input: { orderId: 'A-1' },
      output: { orderId: 'A-1', status: 'shipped' },
    });
    const handoff = answer.parts.find((part) => part.type === 'data-handoff') as { data: unknown };
    expect(handoff.data).toEqual({ from: 'triage', to: 'billing' });
    const text = answer.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
    expect(text).toBe('Order A-1 has shipped and is on its way.');
    const runId = (answer.metadata as { runId: string }).runId;
    expect((await call(`${server.url}/v1/runs/${runId}`, { key })).body).toMatchObject({
      status: 'completed',
      threadId: 'chat-42',
    });

    // The second turn: the run reads the first from the thread, whatever history the client sends.
    await chat.sendMessage({ text: 'Thanks!' });
    const second = chat.messages.at(-1) as UIMessage;
    expect(second.parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('')).toBe(
      'You are welcome, anything else?',
    );
    const thread = await readThread(store, 'chat-42');
    expect(thread.filter((message) => message.role === 'user')).toHaveLength(2);
    const lastPrompt = JSON.stringify(
      (billing.model as unknown as { calls: { prompt: unknown }[] }).calls.at(-1)?.prompt,
    );
    expect(lastPrompt).toContain('Where is order A-1?');
  });

  it("refuses a chat whose last message is not the user's, an unknown target, and a key without the run scope", async () => {
    const store = createMemoryStore();
    const { server } = await serve(store, [
      agent({ name: 'helper', instructions: 'Help.', model: scriptedModel([{ text: 'Hi.' }]) }),
    ]);
    const key = await keyWith(store, ['run']);
    const assistantLast = await call(`${server.url}/v1/chat/helper`, {
      key,
      body: {
        id: 'c1',
        messages: [{ id: 'm1', role: 'assistant', parts: [{ type: 'text', text: 'Hello' }] }],
      },
    });
    expect(assistantLast).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    const unknown = await call(`${server.url}/v1/chat/nobody`, {
      key,
      body: { id: 'c1', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hello' }] }] },
    });
    expect(unknown.status).toBe(404);
    const readOnly = await call(`${server.url}/v1/chat/helper`, {
      key: await keyWith(store, ['read']),
      body: { id: 'c1', messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'Hello' }] }] },
    });
    expect(readOnly.status).toBe(403);
    const hostile = await call(`${server.url}/v1/chat/helper`, {
      key,
      body: '{"id":"c1","messages":[{"role":"user","parts":[{"type":"text","text":"x","__proto__":{"polluted":1}}]}]}',
    });
    expect(hostile).toMatchObject({ status: 400, body: { error: { code: 'FORBIDDEN_KEY' } } });
    expect(({} as { polluted?: number }).polluted).toBeUndefined();
  });
});

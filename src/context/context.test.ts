import type { LanguageModelV3CallOptions, LanguageModelV3Message } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { handoffFilters, transfer } from '../agents/handoff.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { isSummaryMessage, SUMMARY_PREFIX } from './compaction.js';
import { describeContext } from './context-text.js';
import { contextWindowOf, createContextWindows, registerContextWindow } from './context-windows.js';
import { type Message, userMessage } from './messages.js';
import { messageBytes, promptBytes } from './prompt-size.js';
import { pickScope } from './scoped-context.js';
import {
  countPromptTokens,
  countTokens,
  createTokenizers,
  MESSAGE_OVERHEAD_TOKENS,
  messageText,
  messageTokens,
  tokenizerFor,
} from './tokens.js';

/** Tokens of what the model actually received on a call: system, messages and tool definitions. */
function sentTokens(call: LanguageModelV3CallOptions): number {
  return countPromptTokens(
    call.prompt,
    'openai:gpt-4o',
    call.tools?.filter((entry) => entry.type === 'function'),
  );
}

function setup() {
  const store = createMemoryStore();
  const runtime = createRuntime({ store, recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { store, runtime, events };
}

/** A tool whose result is ~60 tokens of order data, different per call. */
const lookup = tool({
  name: 'lookup',
  description: 'Looks up one order line',
  input: z.object({ line: z.number() }),
  execute: ({ line }) =>
    `Order line ${line}: item SKU-${1000 + line}, quantity ${line % 7}, unit price ${(line * 3.17).toFixed(2)} EUR, warehouse ${['Lyon', 'Porto', 'Gdansk'][line % 3]}, shipped on day ${line % 28}, carrier tracking ${line * 7919}.`,
});

describe('token counting', () => {
  it('counts with the model family tokenizer: exact o200k for gpt-4o, cl100k for gpt-4, a margin for others', () => {
    expect(tokenizerFor('openai:gpt-4o')).toEqual({ encoding: 'o200k_base', margin: 1, exact: true });
    expect(tokenizerFor('openai:gpt-4-0613').encoding).toBe('cl100k_base');
    expect(tokenizerFor('anthropic:claude-sonnet-4-5')).toMatchObject({ margin: 1.3, exact: false });
    // "hello world" is two tokens in both OpenAI encodings; the Claude estimate rounds 2 × 1.3 up.
    expect(countTokens('hello world', 'openai:gpt-4o')).toBe(2);
    expect(countTokens('hello world', 'gpt-3.5-turbo')).toBe(2);
    expect(countTokens('hello world', 'anthropic:claude-3-5-haiku')).toBe(3);
    // Text that looks like a special token is counted as text, not rejected.
    expect(countTokens('<|endoftext|>', 'openai:gpt-4o')).toBeGreaterThan(1);
    const prompt = [
      { role: 'system' as const, content: 'Be brief.' },
      userMessage('Where is my order A-1001?'),
    ];
    // Reply priming, then per message its text (parts end with a newline) and 4 framing tokens.
    expect(countPromptTokens(prompt, 'openai:gpt-4o')).toBe(
      3 +
        (countTokens('Be brief.', 'gpt-4o') + 4) +
        (countTokens('Where is my order A-1001?\n', 'gpt-4o') + 4),
    );
  });

  it('knows context windows and lets users add their own', () => {
    expect(contextWindowOf('openai:gpt-4o-mini')).toBe(128_000);
    expect(contextWindowOf('anthropic:claude-sonnet-4-5')).toBe(200_000);
    expect(contextWindowOf('local:tiny-model')).toBeUndefined();
    registerContextWindow('tiny-model', 2_048);
    expect(contextWindowOf('local:tiny-model-v2')).toBe(2_048);
    expect(() => registerContextWindow('x', 0)).toThrow(/tokens must be a positive integer/);
  });

  it('keeps a table of its own per createContextWindows / createTokenizers, over the built-in ones, apart from the process tables', () => {
    const windows = createContextWindows({ 'own-model': 4_096 });
    windows.register(/^own-model-large/, 65_536);
    expect(windows.windowOf('local:own-model-small')).toBe(4_096);
    expect(windows.windowOf('local:own-model-large-2')).toBe(65_536);
    // Model objects are looked up by their provider and id too.
    expect(windows.windowOf(scriptedModel([], { modelId: 'own-model' }))).toBe(4_096);
    expect(windows.windowOf('openai:gpt-4o')).toBe(128_000);
    expect(contextWindowOf('local:own-model-small')).toBeUndefined();
    expect(() => createContextWindows({ broken: 1.5 })).toThrow(
      /createContextWindows\(\): tokens must be a positive integer, got 1.5/,
    );
    const tokenizers = createTokenizers({ 'own-model': { encoding: 'cl100k_base', margin: 1.1 } });
    expect(tokenizers.tokenizerFor('local:own-model')).toEqual({
      encoding: 'cl100k_base',
      margin: 1.1,
      exact: false,
    });
    expect(tokenizers.tokenizerFor('openai:gpt-4o')).toEqual(tokenizerFor('openai:gpt-4o'));
    expect(tokenizerFor('local:own-model')).toMatchObject({ encoding: 'o200k_base', margin: 1.2 });
    // The prompt count follows the tokenizers given.
    const prompt = [userMessage('Where is my order A-1001?')];
    expect(countPromptTokens(prompt, 'local:own-model', undefined, tokenizers)).toBe(
      Math.ceil((3 + countTokens('Where is my order A-1001?\n', 'gpt-4') + 4) * 1.1),
    );
    expect(() => createTokenizers({ broken: { encoding: 'p50k_base' as 'o200k_base' } })).toThrow(
      /createTokenizers\(\): encoding must be "o200k_base" or "cl100k_base"/,
    );
  });

  it('takes the window of a model its own table does not list from the price catalogue', () => {
    expect(contextWindowOf('deepseek:deepseek-chat')).toBe(64_000);
    expect(contextWindowOf('xai:grok-4')).toBe(256_000);
    // The built-in table still decides what it lists, and local models stay unknown.
    expect(contextWindowOf('openai:gpt-4o')).toBe(128_000);
    expect(contextWindowOf('ollama:qwen2.5-coder')).toBeUndefined();
  });
});

describe('context policies', () => {
  it('keeps a 200-turn conversation under the window on every call by compacting, each compaction journaled', async () => {
    const { runtime, store, events } = setup();
    const turns = 200;
    const model = scriptedModel(
      ({ turn }) =>
        turn < turns
          ? { toolCalls: [{ tool: 'lookup', input: { line: turn } }] }
          : { text: 'All lines checked.' },
      { modelId: 'gpt-4o' },
    );
    const summarizer = scriptedModel(
      ({ turn }) => ({ text: `- compaction ${turn}: lines checked so far are fine` }),
      {
        modelId: 'gpt-4o-mini',
      },
    );
    const auditor = agent({
      name: 'auditor',
      instructions: 'Check every order line with the lookup tool, then report.',
      model,
      tools: [lookup],
      maxTurns: turns + 1,
      context: {
        history: 'compact',
        contextWindow: 3_000,
        reserveOutputTokens: 500,
        compaction: { model: summarizer },
      },
    });
    const handle = await runtime.start(auditor, 'Check all 200 order lines of order A-1001.');
    expect(await handle.result()).toBe('All lines checked.');
    expect(model.calls).toHaveLength(turns + 1);
    const sizes = model.calls.map(sentTokens);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2_500);
    // Without compaction the last prompt would hold 200 tool turns, far past the window.
    expect(sizes.at(-1)).toBeLessThan(2_500);
    expect(summarizer.calls.length).toBeGreaterThanOrEqual(5);
    // The summaries replaced the older turns; later summaries fold the earlier ones in.
    const lastPrompt = model.calls.at(-1)?.prompt ?? [];
    expect(
      lastPrompt.filter((message) => message.role !== 'system' && isSummaryMessage(message as Message)),
    ).toHaveLength(1);
    const journal = await store.loadJournal(handle.runId);
    const compactions = journal.filter((entry) => entry.name === 'compact:auditor');
    expect(compactions).toHaveLength(summarizer.calls.length);
    expect(compactions[0]?.meta).toMatchObject({ agent: 'auditor', model: 'scripted:gpt-4o-mini' });
    const compacted = compactions[0]?.meta?.compaction as { messages: number } | undefined;
    expect(compacted?.messages).toBeGreaterThan(10);
    const trimmed = events.filter((event) => event.type === 'context-trimmed');
    expect(trimmed.some((event) => event.actions.includes('compacted'))).toBe(true);
    await runtime.close();
  });

  it('sends only the most recent messages that fit a sliding window, and says what it dropped', async () => {
    const { runtime, store, events } = setup();
    const model = scriptedModel([{ text: 'Your order A-1001 ships tomorrow.' }], { modelId: 'gpt-4o' });
    const support = agent({
      name: 'support',
      instructions: 'Answer the customer.',
      model,
      context: { history: 'window', maxTokens: 300 },
    });
    const messages: Message[] = [];
    for (let index = 0; index < 50; index++) {
      messages.push(
        userMessage(`Message ${index}: I also wanted to mention detail number ${index} about my order.`),
      );
      messages.push({ role: 'assistant', content: [{ type: 'text', text: `Noted detail ${index}.` }] });
    }
    messages.push(userMessage('So when does order A-1001 ship?'));
    const handle = await runtime.start(support, { messages });
    await handle.result();
    const sent = model.calls[0]?.prompt ?? [];
    expect(sentTokens(model.calls[0] as LanguageModelV3CallOptions)).toBeLessThanOrEqual(300);
    expect(sent.at(-1)).toEqual(messages.at(-1));
    // A suffix of the conversation, oldest first dropped.
    expect(sent.slice(1)).toEqual(messages.slice(messages.length - (sent.length - 1)));
    const event = events.find((entry) => entry.type === 'context-trimmed');
    expect(event).toMatchObject({ agent: 'support', actions: ['trimmed'], limit: 300 });
    if (event?.type !== 'context-trimmed') throw new Error('no context-trimmed event');
    expect(event.droppedMessages).toBe(messages.length - (sent.length - 1));
    expect(event.promptTokens).toBe(sentTokens(model.calls[0] as LanguageModelV3CallOptions));
    const step = (await store.loadJournal(handle.runId)).find((entry) => entry.name === 'model:support');
    expect(step?.meta?.context).toMatchObject({ droppedMessages: event.droppedMessages, limit: 300 });
    await runtime.close();
  });

  it('prunes old tool call/result pairs and intermediate reasoning, keeping the recent tool turns whole', async () => {
    const { runtime } = setup();
    const model = scriptedModel(
      ({ turn }) =>
        turn < 5 ? { toolCalls: [{ tool: 'lookup', input: { line: turn } }] } : { text: 'done' },
      { modelId: 'gpt-4o' },
    );
    const truncating = agent({
      name: 'truncating',
      instructions: 'Check lines.',
      model,
      tools: [lookup],
      context: { prune: { toolResults: 'truncate', keepToolTurns: 1, toolResultTokens: 5 } },
    });
    await (await runtime.start(truncating, 'check')).result();
    const last = model.calls.at(-1)?.prompt ?? [];
    const results = last.flatMap((message) =>
      message.role === 'tool'
        ? message.content.map((part) => (part.type === 'tool-result' ? part.output : null))
        : [],
    );
    expect(results).toHaveLength(5);
    for (const output of results.slice(0, 4))
      expect(output).toMatchObject({
        type: 'text',
        value: expect.stringMatching(/^.{20}… \[\d+ characters pruned/),
      });
    expect(results[4]).toMatchObject({
      type: 'text',
      value: expect.stringMatching(/^Order line 4: .*tracking 31676\.$/),
    });

    const dropModel = scriptedModel(
      ({ turn }) =>
        turn < 3 ? { toolCalls: [{ tool: 'lookup', input: { line: turn } }] } : { text: 'done' },
      { modelId: 'gpt-4o' },
    );
    const dropping = agent({
      name: 'dropping',
      instructions: 'Check lines.',
      model: dropModel,
      tools: [lookup],
      context: { prune: { toolResults: 'drop', keepToolTurns: 1 } },
    });
    const reasoning: Message = {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'The customer seems upset; I should check the order first.' },
        { type: 'text', text: 'Let me check.' },
      ],
    };
    await (
      await runtime.start(dropping, {
        messages: [userMessage('hi'), reasoning, userMessage('check my order')],
      })
    ).result();
    const sent = dropModel.calls.at(-1)?.prompt ?? [];
    // Only the last tool turn's call and result are left; the earlier reasoning part is gone, its text kept.
    expect(sent.filter((message) => message.role === 'tool')).toHaveLength(1);
    expect(JSON.stringify(sent)).not.toContain('seems upset');
    expect(JSON.stringify(sent)).toContain('Let me check.');
    await runtime.close();
  });

  it('shows each agent only the fields of the structured context it declares', async () => {
    const { runtime } = setup();
    const model = scriptedModel({
      triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
      billing: [{ text: 'Refunded.' }],
    });
    const billing = agent({
      name: 'billing',
      instructions: 'Refund duplicate charges.',
      model,
      context: { scope: ['customer.id', 'order'] },
    });
    const triage = agent({
      name: 'triage',
      instructions: 'Route the customer.',
      model,
      handoffs: [transfer(billing, { inputFilter: handoffFilters.lastUserMessage })],
      context: { scope: ['customer.tier'] },
    });
    const context = {
      customer: { id: 'C-7', tier: 'gold', email: 'ada@example.com', card: '4111 1111 1111 1111' },
      order: { id: 'A-1001', total: 42 },
      notes: 'internal only',
    };
    const handle = await runtime.start(triage, { messages: [userMessage('I was charged twice')], context });
    expect(await handle.result()).toBe('Refunded.');
    const [triageCall, billingCall] = model.calls;
    expect(triageCall?.prompt[0]).toEqual({
      role: 'system',
      content: 'Route the customer.\n\n## Context\n{"customer":{"tier":"gold"}}',
    });
    expect(billingCall?.prompt[0]).toEqual({
      role: 'system',
      content:
        'Refund duplicate charges.\n\n## Context\n{"customer":{"id":"C-7"},"order":{"id":"A-1001","total":42}}',
    });
    expect(JSON.stringify(model.calls)).not.toContain('4111');
    expect(pickScope(context, ['missing.path', 'notes'])).toEqual({ notes: 'internal only' });
    await runtime.close();
  });

  it('shortens, then drops, tool results of the current turn when the turn alone outgrows the window', async () => {
    const { runtime, events } = setup();
    const bulky = tool({
      name: 'report',
      description: 'A long report',
      input: z.object({ page: z.number() }),
      execute: ({ page }) => `Page ${page}: ${'quarterly figures by region and product line '.repeat(25)}`,
    });
    const model = scriptedModel(
      ({ turn }) =>
        turn < 6 ? { toolCalls: [{ tool: 'report', input: { page: turn } }] } : { text: 'summary' },
      { modelId: 'gpt-4o' },
    );
    const reader = agent({
      name: 'reader',
      instructions: 'Read every page.',
      model,
      tools: [bulky],
      context: { contextWindow: 1_200, reserveOutputTokens: 200 },
    });
    await (await runtime.start(reader, 'Read the report.')).result();
    for (const call of model.calls) expect(sentTokens(call)).toBeLessThanOrEqual(1_000);
    const last = model.calls.at(-1)?.prompt ?? [];
    // The request stays; the latest result stays whole; older results of this turn became stubs.
    expect(last[1]).toEqual(userMessage('Read the report.'));
    const outputs = last.flatMap((message) =>
      message.role === 'tool'
        ? message.content.map((part) => (part.type === 'tool-result' ? part.output : null))
        : [],
    );
    expect(outputs.at(-1)).toMatchObject({ value: expect.stringMatching(/^Page 5: /) });
    expect(outputs[0]).toEqual({
      type: 'text',
      value: '[tool result left out: the prompt would not fit the context window]',
    });
    const trimmed = events.filter((event) => event.type === 'context-trimmed');
    expect(trimmed.length).toBeGreaterThan(0);
    expect(trimmed.every((event) => event.type === 'context-trimmed' && event.truncatedToolResults > 0)).toBe(
      true,
    );
    await runtime.close();
  });

  it('fails clearly when the system prompt and the last user message alone do not fit', async () => {
    const { runtime } = setup();
    const model = scriptedModel([{ text: 'never' }], { modelId: 'gpt-4o' });
    const tight = agent({ name: 'tight', instructions: 'Answer.', model, context: { maxTokens: 50 } });
    const handle = await runtime.start(tight, {
      messages: [
        userMessage('short'),
        userMessage(`Please read this: ${'lorem ipsum dolor sit amet '.repeat(40)}`),
      ],
    });
    const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('CONTEXT_OVERFLOW');
    expect(error.fault).toBe('user');
    expect(error.message).toMatch(
      /Agent "tight": the prompt cannot fit the token limit of 50 .* alone take \d+ tokens/,
    );
    expect(Number(/alone take (\d+) tokens/.exec(error.message)?.[1])).toBeGreaterThan(50);
    expect(model.calls).toHaveLength(0);
    expect(() =>
      agent({ name: 'x', instructions: 'y', model: scriptedModel([]), context: { history: 'window' } }),
    ).toThrow(/agent\("x"\): context.history "window" needs a token limit/);
    expect(() =>
      agent({ name: 'x', instructions: 'y', model, context: { prune: { toolResults: 'cut' as never } } }),
    ).toThrow(/context.prune.toolResults must be "keep", "truncate" or "drop"/);
    await runtime.close();
  });

  it('does not re-run a journaled compaction when a crashed run is resumed', async () => {
    const store = createMemoryStore();
    let hang = true;
    let executions = 0;
    const slow = tool({
      name: 'lookup',
      description: 'Looks up one order line',
      input: z.object({ line: z.number() }),
      execute: async ({ line }) => {
        executions++;
        if (line === 30 && hang) await new Promise(() => undefined);
        return `Order line ${line}: ${'details '.repeat(20)}`;
      },
    });
    const model = scriptedModel(
      ({ turn }) =>
        turn < 40 ? { toolCalls: [{ tool: 'lookup', input: { line: turn } }] } : { text: 'done' },
      { modelId: 'gpt-4o' },
    );
    const summarizer = scriptedModel(
      ({ turn }) => ({ text: `${SUMMARY_PREFIX.length} facts, round ${turn}` }),
      {
        modelId: 'gpt-4o-mini',
      },
    );
    const auditor = agent({
      name: 'auditor',
      instructions: 'Check the lines.',
      model,
      tools: [slow],
      maxTurns: 50,
      context: {
        history: 'compact',
        contextWindow: 1_500,
        reserveOutputTokens: 200,
        compaction: { model: summarizer },
      },
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(auditor, 'check 40 lines');
    while (executions < 31) await new Promise((resolve) => setTimeout(resolve, 1));
    const compactionsBeforeCrash = summarizer.calls.length;
    expect(compactionsBeforeCrash).toBeGreaterThan(0);
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [auditor] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('done');
    const journal = await store.loadJournal(handle.runId);
    const compactions = journal.filter((entry) => entry.name === 'compact:auditor').length;
    // Every compaction ran exactly once across both processes: the replay took the journaled summaries.
    expect(summarizer.calls).toHaveLength(compactions);
    expect(compactions).toBeGreaterThan(compactionsBeforeCrash);
    // Model calls are not repeated either, and every prompt the model got fits the limit.
    expect(model.calls).toHaveLength(journal.filter((entry) => entry.name === 'model:auditor').length);
    for (const call of model.calls) expect(sentTokens(call)).toBeLessThanOrEqual(1_300);
    await first.close();
    await second.close();
  });
});

describe('describeContext', () => {
  it('says in a few words what a step recorded, for baton show', () => {
    expect(describeContext({ compaction: { messages: 42, tokens: 3120 } })).toBe(
      'compacted 42 messages (3120 tok)',
    );
    expect(
      describeContext({
        context: {
          promptTokens: 1830,
          limit: 2000,
          actions: ['trimmed'],
          droppedMessages: 12,
          truncatedToolResults: 2,
        },
      }),
    ).toBe('context 1830/2000 tok, dropped 12 msgs, shortened 2 tool results');
    expect(describeContext({ context: { promptTokens: 10, limit: 2000, actions: [] } })).toBeUndefined();
    expect(describeContext({ agent: 'a' })).toBeUndefined();
  });
});

describe('handoff input filters', () => {
  it('lastN keeps whole tool turns; summaryOnly keeps summaries and the last user message', () => {
    const call: Message = {
      role: 'assistant',
      content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'lookup', input: { line: 1 } }],
    };
    const result: Message = {
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'c1', toolName: 'lookup', output: { type: 'text', value: 'x' } },
      ],
    };
    const summary = userMessage(`${SUMMARY_PREFIX} (12 messages)\n- order A-1001`);
    const messages = [summary, userMessage('a'), call, result, userMessage('b')];
    expect(handoffFilters.lastN(2)(messages)).toEqual([call, result, userMessage('b')]);
    expect(handoffFilters.lastN(10)(messages)).toEqual(messages);
    expect(handoffFilters.summaryOnly(messages)).toEqual([summary, userMessage('b')]);
    expect(() => handoffFilters.lastN(0)).toThrow(/count must be an integer >= 1/);
  });
});

describe('message byte bounds', () => {
  const messages: LanguageModelV3Message[] = [
    { role: 'system', content: 'Héllo — système' },
    { role: 'user', content: [{ type: 'text', text: 'Prix: 12 €, 日本語 ok' }] },
    {
      role: 'assistant',
      content: [
        { type: 'reasoning', text: 'think' },
        { type: 'text', text: 'calling' },
        { type: 'tool-call', toolCallId: 'c1', toolName: 'add', input: { a: 1, b: 'ü' } },
        { type: 'tool-call', toolCallId: 'c2', toolName: 'add', input: '{"a":2}' },
      ],
    },
    {
      role: 'tool',
      content: [
        {
          type: 'tool-result',
          toolCallId: 'c1',
          toolName: 'add',
          output: { type: 'json', value: { sum: 3 } },
        },
        { type: 'tool-result', toolCallId: 'c2', toolName: 'add', output: { type: 'text', value: 'née' } },
      ],
    },
    { role: 'user', content: [{ type: 'text', text: 'x'.repeat(3000) }] },
  ];

  it('counts the UTF-8 bytes of each message text plus the overhead, without building the text', () => {
    for (const message of messages) {
      const expected = Buffer.byteLength(messageText(message)) + MESSAGE_OVERHEAD_TOKENS;
      expect(messageBytes(message)).toBe(expected);
      expect(messageBytes(message)).toBe(expected); // cached or not, the same
      expect(messageBytes(message)).toBeGreaterThanOrEqual(messageTokens(message, 'o200k_base'));
    }
    expect(promptBytes(messages)).toBe(messages.reduce((sum, message) => sum + messageBytes(message), 0));
  });
});

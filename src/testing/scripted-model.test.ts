import type { LanguageModelV3CallOptions, LanguageModelV3StreamPart } from '@ai-sdk/provider';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { BatonError } from '../core/errors.js';
import { type ScriptedRequest, scriptedModel } from './scripted-model.js';

const userPrompt = (text: string): LanguageModelV3CallOptions => ({
  prompt: [{ role: 'user', content: [{ type: 'text', text }] }],
});

const asAgent = (agent: string, text = 'hi'): LanguageModelV3CallOptions => ({
  ...userPrompt(text),
  providerOptions: { baton: { agent, runId: 'run-1' } },
});

async function collect(
  stream: ReadableStream<LanguageModelV3StreamPart>,
): Promise<LanguageModelV3StreamPart[]> {
  const parts: LanguageModelV3StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

describe('scriptedModel', () => {
  it('is a v3 language model with a configurable model id', () => {
    const model = scriptedModel([]);
    expect(model.specificationVersion).toBe('v3');
    expect(model.provider).toBe('scripted');
    expect(model.modelId).toBe('scripted');
    expect(scriptedModel([], { modelId: 'gpt-demo' }).modelId).toBe('gpt-demo');
  });

  it('plays an array script in order and answers text with finish reason stop', async () => {
    const model = scriptedModel([{ text: 'first' }, { text: 'second' }]);
    const one = await model.doGenerate(userPrompt('a'));
    const two = await model.doGenerate(asAgent('anyone'));
    expect(one.content).toEqual([{ type: 'text', text: 'first' }]);
    expect(two.content).toEqual([{ type: 'text', text: 'second' }]);
    expect(one.finishReason).toEqual({ unified: 'stop', raw: 'stop' });
    expect(one.warnings).toEqual([]);
  });

  it('counts default usage deterministically from prompt and answer characters', async () => {
    const model = scriptedModel([
      { text: '12345678' },
      { text: 'x', usage: { inputTokens: 7, outputTokens: 3 } },
    ]);
    const result = await model.doGenerate({
      prompt: [
        { role: 'system', content: 'abcd' },
        { role: 'user', content: [{ type: 'text', text: 'efghi' }] },
      ],
    });
    expect(result.usage.inputTokens.total).toBe(3); // ceil(9 / 4)
    expect(result.usage.outputTokens.total).toBe(2); // ceil(8 / 4)
    expect(result.usage.inputTokens.cacheRead).toBe(0);
    const given = await model.doGenerate(userPrompt('whatever'));
    expect(given.usage.inputTokens.total).toBe(7);
    expect(given.usage.outputTokens.total).toBe(3);
  });

  it('answers tool calls with JSON input, deterministic ids and finish reason tool-calls', async () => {
    const model = scriptedModel({
      triage: [
        {
          text: 'Looking it up.',
          toolCalls: [
            { tool: 'lookup', input: { orderId: 'A-1' } },
            { tool: 'lookup', input: { orderId: 'A-2' }, id: 'mine' },
            { tool: 'lookup', input: '{"orderId": broken' },
          ],
        },
        { toolCalls: [{ tool: 'ping', input: undefined }] },
      ],
    });
    const first = await model.doGenerate(asAgent('triage'));
    expect(first.finishReason.unified).toBe('tool-calls');
    expect(first.content).toEqual([
      { type: 'text', text: 'Looking it up.' },
      { type: 'tool-call', toolCallId: 'call_triage_1', toolName: 'lookup', input: '{"orderId":"A-1"}' },
      { type: 'tool-call', toolCallId: 'mine', toolName: 'lookup', input: '{"orderId":"A-2"}' },
      { type: 'tool-call', toolCallId: 'call_triage_3', toolName: 'lookup', input: '{"orderId": broken' },
    ]);
    const second = await model.doGenerate(asAgent('triage'));
    expect(second.content).toEqual([
      { type: 'tool-call', toolCallId: 'call_triage_4', toolName: 'ping', input: '{}' },
    ]);
  });

  it('names tool calls call_<n> when the caller has no agent name', async () => {
    const model = scriptedModel([
      { toolCalls: [{ tool: 'a', input: {} }] },
      { toolCalls: [{ tool: 'b', input: {} }] },
    ]);
    const one = await model.doGenerate(userPrompt('x'));
    const two = await model.doGenerate(userPrompt('y'));
    expect(one.content[0]).toMatchObject({ toolCallId: 'call_1' });
    expect(two.content[0]).toMatchObject({ toolCallId: 'call_2' });
  });

  it('plays a keyed script per agent, whatever order the agents call in', async () => {
    const model = scriptedModel({
      triage: [{ text: 'triage 1' }, { text: 'triage 2' }],
      billing: [{ text: 'billing 1' }],
    });
    const texts: unknown[] = [];
    for (const agent of ['triage', 'billing', 'triage']) {
      const result = await model.doGenerate(asAgent(agent));
      texts.push(result.content[0]);
    }
    expect(texts).toEqual([
      { type: 'text', text: 'triage 1' },
      { type: 'text', text: 'billing 1' },
      { type: 'text', text: 'triage 2' },
    ]);
  });

  it('fails with an error naming the agent and turn when a keyed script runs out', async () => {
    const model = scriptedModel({ billing: [{ text: 'only one' }] });
    await model.doGenerate(asAgent('billing'));
    const failure = model.doGenerate(asAgent('billing'));
    await expect(failure).rejects.toThrow('no turn 2 for agent "billing": its script has 1 turn(s)');
    await expect(model.doGenerate(asAgent('billing'))).rejects.toSatisfy(
      (error: unknown) =>
        BatonError.isInstance(error) && error.code === 'SCRIPT_EXHAUSTED' && error.fault === 'user',
    );
    await expect(model.doGenerate(asAgent('ghost'))).rejects.toThrow(
      'no script for agent "ghost" (turn 1); scripted agents: billing',
    );
    await expect(model.doGenerate(userPrompt('no agent'))).rejects.toThrow('without an agent name');
  });

  it('fails clearly when an array script runs out', async () => {
    const model = scriptedModel([{ text: 'one' }]);
    await model.doGenerate(userPrompt('a'));
    await expect(model.doStream(asAgent('writer'))).rejects.toThrow(
      'call 2 (from agent "writer") but the script has 1 turn(s)',
    );
  });

  it('asks a function script for each turn with prompt, tools, agent and a per-agent turn count', async () => {
    const requests: ScriptedRequest[] = [];
    const model = scriptedModel(async (request) => {
      requests.push(request);
      return { text: `${request.agent ?? 'nobody'}#${request.turn}` };
    });
    const tools: LanguageModelV3CallOptions['tools'] = [
      { type: 'function', name: 'lookup', inputSchema: { type: 'object', properties: {} } },
    ];
    const a = await model.doGenerate({ ...asAgent('triage', 'hello'), tools });
    const b = await model.doGenerate(asAgent('billing'));
    const c = await model.doGenerate(asAgent('triage'));
    const d = await model.doGenerate(userPrompt('x'));
    expect([a, b, c, d].map((result) => result.content[0])).toEqual([
      { type: 'text', text: 'triage#0' },
      { type: 'text', text: 'billing#0' },
      { type: 'text', text: 'triage#1' },
      { type: 'text', text: 'nobody#0' },
    ]);
    expect(requests[0]?.prompt).toEqual([{ role: 'user', content: [{ type: 'text', text: 'hello' }] }]);
    expect(requests[0]?.tools.map((entry) => entry.name)).toEqual(['lookup']);
    expect(requests[1]?.tools).toEqual([]);
    expect(requests[3]).not.toHaveProperty('agent');
  });

  it('throws the scripted error: a string as an Error, an Error as is', async () => {
    class ProviderDown extends Error {}
    const down = new ProviderDown('down');
    const model = scriptedModel([{ error: 'overloaded' }, { error: down }, { text: 'recovered' }]);
    await expect(model.doGenerate(userPrompt('a'))).rejects.toThrow('overloaded');
    await expect(model.doStream(userPrompt('b'))).rejects.toBe(down);
    const result = await model.doGenerate(userPrompt('c'));
    expect(result.content).toEqual([{ type: 'text', text: 'recovered' }]);
  });

  it('waits delayMs before answering and stops waiting when the call is aborted', async () => {
    const model = scriptedModel([
      { text: 'slow', delayMs: 80 },
      { text: 'never', delayMs: 10_000 },
    ]);
    const started = performance.now();
    await model.doGenerate(userPrompt('a'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    const abortStarted = performance.now();
    const aborted = model.doGenerate({ ...userPrompt('b'), abortSignal: AbortSignal.timeout(50) });
    await expect(aborted).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - abortStarted).toBeLessThan(5_000);
  });

  it('records every call for assertions', async () => {
    const model = scriptedModel([{ text: 'a' }, { text: 'b' }]);
    const first = asAgent('triage', 'first question');
    await model.doGenerate(first);
    await model.doStream(userPrompt('second question'));
    expect(model.calls).toHaveLength(2);
    expect(model.calls[0]).toBe(first);
    expect(model.calls[1]?.prompt).toEqual(userPrompt('second question').prompt);
  });

  it('streams text in several deltas, tool calls as parts, then a finish part with usage', async () => {
    const model = scriptedModel({
      writer: [
        {
          text: 'Your refund is on its way.',
          toolCalls: [{ tool: 'notify', input: { channel: 'email' } }],
          usage: { inputTokens: 11, outputTokens: 22 },
        },
      ],
    });
    const { stream } = await model.doStream(asAgent('writer'));
    const parts = await collect(stream);
    const types = parts.map((part) => part.type);
    expect(types[0]).toBe('stream-start');
    expect(types.at(-1)).toBe('finish');
    const deltas = parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []));
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe('Your refund is on its way.');
    expect(types.indexOf('text-start')).toBeLessThan(types.indexOf('text-delta'));
    expect(types.indexOf('text-end')).toBeGreaterThan(types.lastIndexOf('text-delta'));
    const inputDeltas = parts.flatMap((part) => (part.type === 'tool-input-delta' ? [part.delta] : []));
    expect(inputDeltas.join('')).toBe('{"channel":"email"}');
    expect(parts).toContainEqual({
      type: 'tool-call',
      toolCallId: 'call_writer_1',
      toolName: 'notify',
      input: '{"channel":"email"}',
    });
    const finish = parts.at(-1);
    expect(finish).toMatchObject({
      type: 'finish',
      finishReason: { unified: 'tool-calls' },
      usage: { inputTokens: { total: 11 }, outputTokens: { total: 22 } },
    });
  });

  it('spaces streamed deltas by chunkDelayMs', async () => {
    const model = scriptedModel([{ text: 'one two three four' }], { chunkDelayMs: 25 });
    const { stream } = await model.doStream(userPrompt('go'));
    const arrivals: number[] = [];
    for await (const part of stream) if (part.type === 'text-delta') arrivals.push(performance.now());
    expect(arrivals).toHaveLength(4);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(3 * 25 - 5);
  });

  it('errors the stream when the call is aborted mid-stream', async () => {
    const model = scriptedModel([{ text: 'a b c d e f g h' }], { chunkDelayMs: 50 });
    const controller = new AbortController();
    const { stream } = await model.doStream({ ...userPrompt('go'), abortSignal: controller.signal });
    const reader = stream.getReader();
    await reader.read();
    controller.abort(new Error('user left'));
    await expect(
      (async () => {
        for (;;) if ((await reader.read()).done) return;
      })(),
    ).rejects.toThrow('user left');
  });

  it('drives generateText through a tool call and a final answer', async () => {
    const model = scriptedModel([
      { toolCalls: [{ tool: 'lookupOrder', input: { orderId: 'A-1001' } }] },
      { text: 'Order A-1001 was charged twice; I can refund one charge.' },
    ]);
    const lookedUp: string[] = [];
    const result = await generateText({
      model,
      prompt: 'Was I charged twice for A-1001?',
      tools: {
        lookupOrder: tool({
          description: 'Look up an order by id',
          inputSchema: z.object({ orderId: z.string() }),
          execute: async ({ orderId }) => {
            lookedUp.push(orderId);
            return { orderId, charges: 2 };
          },
        }),
      },
      stopWhen: stepCountIs(5),
      providerOptions: { baton: { agent: 'support' } },
    });
    expect(lookedUp).toEqual(['A-1001']);
    expect(result.text).toBe('Order A-1001 was charged twice; I can refund one charge.');
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]?.toolCalls[0]).toMatchObject({
      toolCallId: 'call_support_1',
      toolName: 'lookupOrder',
      input: { orderId: 'A-1001' },
    });
    expect(model.calls[0]?.tools?.map((entry) => entry.name)).toEqual(['lookupOrder']);
    const secondPrompt = model.calls[1]?.prompt ?? [];
    expect(secondPrompt.at(-1)).toMatchObject({
      role: 'tool',
      content: [{ type: 'tool-result', toolCallId: 'call_support_1', output: { type: 'json' } }],
    });
    expect(result.totalUsage.inputTokens).toBe(
      (result.steps[0]?.usage.inputTokens ?? 0) + (result.steps[1]?.usage.inputTokens ?? 0),
    );
    expect(result.totalUsage.outputTokens).toBeGreaterThan(0);
  });

  it('drives streamText with text arriving in pieces', async () => {
    const model = scriptedModel([{ text: 'Streaming makes demos feel alive.' }]);
    const result = streamText({ model, prompt: 'Say something' });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('Streaming makes demos feel alive.');
    expect(await result.finishReason).toBe('stop');
    expect((await result.usage).outputTokens).toBe(9); // ceil(33 / 4)
  });
});

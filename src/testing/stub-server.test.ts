import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  APICallError,
  InvalidResponseDataError,
  type LanguageModelV3CallOptions,
  type LanguageModelV3StreamPart,
} from '@ai-sdk/provider';
import { generateText, stepCountIs, streamText, tool } from 'ai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createStubServer, type StubServer } from './stub-server.js';

let stub: StubServer;

beforeAll(async () => {
  stub = await createStubServer();
});

afterEach(() => {
  stub.reset();
});

afterAll(async () => {
  await stub.close();
});

const chatModel = (server: StubServer = stub, apiKey?: string) =>
  createOpenAICompatible({
    baseURL: server.url,
    name: 'stub',
    includeUsage: true,
    ...(apiKey === undefined ? {} : { apiKey }),
  }).chatModel('stub-model');

const ask = (text: string, extra: Partial<LanguageModelV3CallOptions> = {}): LanguageModelV3CallOptions => ({
  prompt: [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: [{ type: 'text', text }] },
  ],
  ...extra,
});

async function collect(
  stream: ReadableStream<LanguageModelV3StreamPart>,
): Promise<LanguageModelV3StreamPart[]> {
  const parts: LanguageModelV3StreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

async function rejection(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

const lookupTool: NonNullable<LanguageModelV3CallOptions['tools']>[number] = {
  type: 'function',
  name: 'lookupOrder',
  description: 'Look up an order',
  inputSchema: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] },
};

describe('createStubServer: routes', () => {
  it('listens on 127.0.0.1 with a base URL ending in /v1 and lists models', async () => {
    expect(stub.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const response = await fetch(`${stub.url}/models`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      object: 'list',
      data: [{ id: 'stub-model', object: 'model' }],
    });
  });

  it('answers 404 on unknown routes and 400 on bodies that are not chat requests, recording neither', async () => {
    const missing = await fetch(`${stub.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { message: expect.stringContaining('no route') } });
    const notJson = await fetch(`${stub.url}/chat/completions`, { method: 'POST', body: 'hello' });
    expect(notJson.status).toBe(400);
    const noMessages = await fetch(`${stub.url}/chat/completions`, { method: 'POST', body: '{"model":"m"}' });
    expect(noMessages.status).toBe(400);
    expect(await noMessages.json()).toMatchObject({
      error: { message: expect.stringContaining('"messages"') },
    });
    expect(stub.requests).toHaveLength(0);
  });
});

describe('createStubServer: completions through doGenerate', () => {
  it('answers text with the given usage and records what the client sent', async () => {
    stub.enqueue({ text: 'Hello there.', usage: { promptTokens: 17, completionTokens: 3 } });
    const result = await chatModel(stub, 'test-key').doGenerate(ask('Hi', { temperature: 0.2 }));
    expect(result.content).toEqual([{ type: 'text', text: 'Hello there.' }]);
    expect(result.finishReason).toEqual({ unified: 'stop', raw: 'stop' });
    expect(result.usage.inputTokens.total).toBe(17);
    expect(result.usage.outputTokens.total).toBe(3);
    expect(result.usage.raw).toEqual({ prompt_tokens: 17, completion_tokens: 3, total_tokens: 20 });
    expect(result.response?.modelId).toBe('stub-model');
    expect(result.response?.id).toBe('chatcmpl-stub-1');
    expect(stub.requests).toHaveLength(1);
    const [request] = stub.requests;
    expect(request?.path).toBe('/v1/chat/completions');
    expect(request?.body).toMatchObject({
      model: 'stub-model',
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Hi' },
      ],
    });
    expect(request?.body.stream).toBeUndefined();
    expect(request?.headers.authorization).toBe('Bearer test-key');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toContain('ai-sdk/openai-compatible');
  });

  it('counts default usage deterministically at about four characters a token', async () => {
    stub.enqueue({ text: 'abcdefghi' }, { text: 'abcdefghi' });
    const first = await chatModel().doGenerate(ask('12345678'));
    const second = await chatModel().doGenerate(ask('12345678'));
    // prompt: 'You are terse.' (14) + '12345678' (8) = 22 characters -> 6; answer: 9 -> 3
    expect(first.usage.inputTokens.total).toBe(6);
    expect(first.usage.outputTokens.total).toBe(3);
    expect(second.usage).toEqual(first.usage);
  });

  it('answers tool calls whose arguments the client parses, with tools recorded as sent', async () => {
    stub.enqueue({
      toolCalls: [
        { name: 'lookupOrder', arguments: { orderId: 'A-1001' } },
        { name: 'lookupOrder', arguments: '{"orderId": "A-1002"}', id: 'call_custom' },
      ],
    });
    const result = await chatModel().doGenerate(
      ask('Check my orders', { tools: [lookupTool], toolChoice: { type: 'required' } }),
    );
    expect(result.finishReason).toEqual({ unified: 'tool-calls', raw: 'tool_calls' });
    expect(result.content).toEqual([
      { type: 'tool-call', toolCallId: 'call_1_1', toolName: 'lookupOrder', input: '{"orderId":"A-1001"}' },
      {
        type: 'tool-call',
        toolCallId: 'call_custom',
        toolName: 'lookupOrder',
        input: '{"orderId": "A-1002"}',
      },
    ]);
    expect(stub.requests[0]?.body.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'lookupOrder',
          description: 'Look up an order',
          parameters: lookupTool.type === 'function' ? lookupTool.inputSchema : undefined,
        },
      },
    ]);
    expect(stub.requests[0]?.body.tool_choice).toBe('required');
  });

  it('receives nothing of the baton provider options the agent loop sets', async () => {
    stub.enqueue({ text: 'ok' });
    await chatModel().doGenerate(
      ask('Hi', { providerOptions: { baton: { agent: 'triage', runId: 'run-1' } } }),
    );
    const body = stub.requests[0]?.body ?? {};
    expect(Object.keys(body).sort()).toEqual(['messages', 'model']);
  });

  it('passes a custom finish reason through', async () => {
    stub.enqueue({ text: 'cut', finishReason: 'length' });
    const result = await chatModel().doGenerate(ask('Long story'));
    expect(result.finishReason).toEqual({ unified: 'length', raw: 'length' });
  });
});

describe('createStubServer: streaming through doStream', () => {
  it('streams text in several deltas, then a finish part with usage', async () => {
    stub.enqueue({
      text: 'Streaming answers arrive in pieces.',
      usage: { promptTokens: 9, completionTokens: 6 },
    });
    const { stream } = await chatModel().doStream(ask('Stream please'));
    const parts = await collect(stream);
    const deltas = parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []));
    expect(deltas.length).toBeGreaterThanOrEqual(5);
    expect(deltas.join('')).toBe('Streaming answers arrive in pieces.');
    const finish = parts.find((part) => part.type === 'finish');
    expect(finish).toMatchObject({
      finishReason: { unified: 'stop', raw: 'stop' },
      usage: { inputTokens: { total: 9 }, outputTokens: { total: 6 } },
    });
    expect(parts.some((part) => part.type === 'error')).toBe(false);
    expect(stub.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('sends no usage chunk unless the client asks for it', async () => {
    stub.enqueue({ text: 'no usage' });
    const model = createOpenAICompatible({ baseURL: stub.url, name: 'stub' }).chatModel('stub-model');
    const parts = await collect((await model.doStream(ask('x'))).stream);
    expect(stub.requests[0]?.body.stream_options).toBeUndefined();
    expect(parts.find((part) => part.type === 'finish')).toMatchObject({
      usage: { inputTokens: { total: undefined } },
    });
  });

  it('streams tool calls as header and argument fragments that the client reassembles', async () => {
    stub.enqueue({
      text: 'Checking.',
      toolCalls: [
        { name: 'lookupOrder', arguments: { orderId: 'A-1001', includeRefunds: true } },
        { name: 'notify', arguments: { channel: 'email' } },
      ],
    });
    const parts = await collect((await chatModel().doStream(ask('Check', { tools: [lookupTool] }))).stream);
    const argumentDeltas = parts.filter((part) => part.type === 'tool-input-delta');
    expect(argumentDeltas.length).toBeGreaterThan(2);
    const calls = parts.filter((part) => part.type === 'tool-call');
    expect(calls).toEqual([
      expect.objectContaining({
        toolCallId: 'call_1_1',
        toolName: 'lookupOrder',
        input: '{"orderId":"A-1001","includeRefunds":true}',
      }),
      expect.objectContaining({ toolCallId: 'call_1_2', toolName: 'notify', input: '{"channel":"email"}' }),
    ]);
    expect(parts.find((part) => part.type === 'finish')).toMatchObject({
      finishReason: { unified: 'tool-calls' },
    });
  });

  it('spaces chunks by chunkDelayMs so deltas arrive over time', async () => {
    const slow = await createStubServer({ chunkDelayMs: 20, replies: [{ text: 'one two three four five' }] });
    try {
      const { stream } = await chatModel(slow).doStream(ask('x'));
      const arrivals: number[] = [];
      for await (const part of stream) if (part.type === 'text-delta') arrivals.push(performance.now());
      expect(arrivals).toHaveLength(5);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(4 * 20 - 10);
    } finally {
      await slow.close();
    }
  });
});

describe('createStubServer: through generateText and streamText', () => {
  it('runs a tool loop with generateText, recording the assistant tool call and the tool result', async () => {
    stub.enqueue(
      { toolCalls: [{ name: 'lookupOrder', arguments: { orderId: 'A-1001' } }] },
      { text: 'A-1001 was charged twice.' },
    );
    const result = await generateText({
      model: chatModel(),
      prompt: 'Was I charged twice?',
      tools: {
        lookupOrder: tool({
          description: 'Look up an order',
          inputSchema: z.object({ orderId: z.string() }),
          execute: async ({ orderId }) => ({ orderId, charges: 2 }),
        }),
      },
      stopWhen: stepCountIs(3),
    });
    expect(result.text).toBe('A-1001 was charged twice.');
    expect(result.steps[0]?.toolCalls[0]).toMatchObject({
      toolName: 'lookupOrder',
      input: { orderId: 'A-1001' },
    });
    expect(stub.requests).toHaveLength(2);
    const [first, second] = stub.requests;
    expect(first?.body.tools?.[0]?.function.parameters).toMatchObject({
      type: 'object',
      properties: { orderId: { type: 'string' } },
    });
    expect(second?.body.messages.slice(-2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_1_1',
            type: 'function',
            function: { name: 'lookupOrder', arguments: '{"orderId":"A-1001"}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1_1', content: '{"orderId":"A-1001","charges":2}' },
    ]);
    expect(result.totalUsage.inputTokens).toBe(
      (result.steps[0]?.usage.inputTokens ?? 0) + (result.steps[1]?.usage.inputTokens ?? 0),
    );
  });

  it('streams text through streamText in several pieces with usage', async () => {
    stub.enqueue({ text: 'Live text for the demo.', usage: { promptTokens: 4, completionTokens: 5 } });
    const result = streamText({ model: chatModel(), prompt: 'Go' });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('Live text for the demo.');
    expect(await result.usage).toMatchObject({ inputTokens: 4, outputTokens: 5, totalTokens: 9 });
  });

  it('lets generateText retry past a 429 that says retry-after 0', async () => {
    stub.enqueue({ fault: 'status', status: 429, headers: { 'retry-after': '0' } }, { text: 'after retry' });
    const result = await generateText({ model: chatModel(), prompt: 'Hi', maxRetries: 2 });
    expect(result.text).toBe('after retry');
    expect(stub.requests).toHaveLength(2);
  });
});

describe('createStubServer: faults', () => {
  it('status: surfaces as APICallError with statusCode, headers, body and retryability', async () => {
    stub.enqueue(
      {
        fault: 'status',
        status: 429,
        headers: { 'retry-after': '7' },
        body: { error: { message: 'Slow down', type: 'rate_limit' } },
      },
      { fault: 'status', status: 400, body: 'plain words' },
    );
    const limited = await rejection(chatModel().doGenerate(ask('Hi')));
    expect(APICallError.isInstance(limited)).toBe(true);
    const rateLimit = limited as APICallError;
    expect(rateLimit.statusCode).toBe(429);
    expect(rateLimit.message).toBe('Slow down');
    expect(rateLimit.isRetryable).toBe(true);
    expect(rateLimit.responseHeaders?.['retry-after']).toBe('7');
    const bad = (await rejection(chatModel().doStream(ask('Hi')))) as APICallError;
    expect(bad.statusCode).toBe(400);
    expect(bad.isRetryable).toBe(false);
    expect(bad.responseBody).toBe('plain words');
  });

  it('status: a 500 reaches generateText callers as APICallError when retries are off', async () => {
    stub.enqueue({ fault: 'status', status: 500 });
    const error = await rejection(generateText({ model: chatModel(), prompt: 'Hi', maxRetries: 0 }));
    expect(APICallError.isInstance(error)).toBe(true);
    expect((error as APICallError).statusCode).toBe(500);
    expect((error as APICallError).message).toBe('Stub server answered 500 as scripted.');
  });

  it('no reply queued: answers 500 saying so', async () => {
    const error = (await rejection(chatModel().doGenerate(ask('Hi')))) as APICallError;
    expect(error.statusCode).toBe(500);
    expect(error.message).toContain('no reply queued for request #1');
    expect(error.message).toContain('stub.enqueue');
  });

  it('malformed: a 200 whose body is not JSON fails the call', async () => {
    stub.enqueue({ fault: 'malformed' });
    const error = (await rejection(chatModel().doGenerate(ask('Hi')))) as APICallError;
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error.statusCode).toBe(200);
    expect(error.message).toBe('Invalid JSON response');
  });

  it('malformed: a stream whose event is not JSON yields an error part', async () => {
    stub.enqueue({ fault: 'malformed' });
    const parts = await collect((await chatModel().doStream(ask('Hi'))).stream);
    expect(parts.some((part) => part.type === 'error')).toBe(true);
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'error' } });
  });

  it('unfinished: a stream that ends cleanly without a finish reason yields an error part', async () => {
    stub.enqueue({ fault: 'unfinished', text: 'Partial' });
    const parts = await collect((await chatModel().doStream(ask('Hi'))).stream);
    expect(parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []))).toEqual(['Partial']);
    const error = parts.find((part) => part.type === 'error');
    expect(error).toMatchObject({ error: { message: 'Response stream ended without a finish reason.' } });
    expect(InvalidResponseDataError.isInstance(error?.type === 'error' ? error.error : undefined)).toBe(true);
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'error' } });
  });

  it('unfinished: a plain body cut short fails the call', async () => {
    stub.enqueue({ fault: 'unfinished' });
    const error = (await rejection(chatModel().doGenerate(ask('Hi')))) as APICallError;
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error.statusCode).toBe(200);
  });

  it('error-event: a stream reports the error object in an error part', async () => {
    stub.enqueue({ fault: 'error-event', message: 'Overloaded, try again', text: 'Hel' });
    const parts = await collect((await chatModel().doStream(ask('Hi'))).stream);
    expect(parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : []))).toEqual(['Hel']);
    expect(parts.find((part) => part.type === 'error')).toEqual({
      type: 'error',
      error: { message: 'Overloaded, try again', type: 'server_error', param: null, code: null },
    });
    expect(parts.at(-1)).toMatchObject({ type: 'finish', finishReason: { unified: 'error' } });
  });

  it('error-event: a plain 200 whose body is an error object fails the call', async () => {
    stub.enqueue({ fault: 'error-event' });
    const error = (await rejection(chatModel().doGenerate(ask('Hi')))) as APICallError;
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error.statusCode).toBe(200);
  });

  it('delay: answers after roughly the given time', async () => {
    stub.enqueue({ fault: 'delay', ms: 150, reply: { text: 'late' } });
    const started = performance.now();
    const result = await chatModel().doGenerate(ask('Hi'));
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(result.content).toEqual([{ type: 'text', text: 'late' }]);
  });

  it('delay: can wrap a fault, and works for streams', async () => {
    stub.enqueue({ fault: 'delay', ms: 60, reply: { fault: 'status', status: 503 } });
    stub.enqueue({ fault: 'delay', ms: 60, reply: { text: 'streamed late' } });
    const error = (await rejection(chatModel().doGenerate(ask('Hi')))) as APICallError;
    expect(error.statusCode).toBe(503);
    const started = performance.now();
    const parts = await collect((await chatModel().doStream(ask('Hi'))).stream);
    expect(performance.now() - started).toBeGreaterThanOrEqual(50);
    expect(parts.flatMap((part) => (part.type === 'text-delta' ? [part.delta] : [])).join('')).toBe(
      'streamed late',
    );
  });

  it('hang: never answers until the client aborts, and the server keeps serving', async () => {
    stub.enqueue({ fault: 'hang' }, { text: 'still alive' });
    const started = performance.now();
    const error = await rejection(
      chatModel().doGenerate(ask('Hi', { abortSignal: AbortSignal.timeout(150) })),
    );
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    const next = await chatModel().doGenerate(ask('Again'));
    expect(next.content).toEqual([{ type: 'text', text: 'still alive' }]);
  });

  it('hang: closing the server ends the hanging call', async () => {
    const server = await createStubServer({ replies: [{ fault: 'hang' }] });
    const call = rejection(chatModel(server).doGenerate(ask('Hi')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(1_000);
    const error = await call;
    expect(APICallError.isInstance(error)).toBe(true);
    expect((error as APICallError).isRetryable).toBe(true);
  });

  it('disconnect: a plain request fails when the connection drops mid-body', async () => {
    stub.enqueue({ fault: 'disconnect' });
    const error = await rejection(chatModel().doGenerate(ask('Hi')));
    expect(APICallError.isInstance(error)).toBe(true);
    expect((error as APICallError).statusCode).toBe(200);
  });

  it('disconnect: a stream delivers its first chunk, then errors', async () => {
    stub.enqueue({ fault: 'disconnect', text: 'Partial ans' });
    const { stream } = await chatModel().doStream(ask('Hi'));
    const seen: LanguageModelV3StreamPart[] = [];
    const error = await rejection(
      (async () => {
        for await (const part of stream) seen.push(part);
      })(),
    );
    expect(seen).toContainEqual(expect.objectContaining({ type: 'text-delta', delta: 'Partial ans' }));
    expect(APICallError.isInstance(error)).toBe(true);
  });
});

describe('createStubServer: handler, queue and reset', () => {
  it('takes queued replies first, then asks the handler with the parsed request', async () => {
    stub.enqueue({ text: 'queued' });
    stub.setHandler(({ body }) => ({ text: `echo: ${String(body.messages.at(-1)?.content)}` }));
    const first = await chatModel().doGenerate(ask('one'));
    const second = await chatModel().doGenerate(ask('two'));
    expect(first.content).toEqual([{ type: 'text', text: 'queued' }]);
    expect(second.content).toEqual([{ type: 'text', text: 'echo: two' }]);
    expect(stub.pendingReplies).toBe(0);
  });

  it('answers 500 naming the error when the handler throws', async () => {
    stub.setHandler(() => {
      throw new Error('handler bug');
    });
    const error = (await rejection(chatModel().doGenerate(ask('Hi')))) as APICallError;
    expect(error.statusCode).toBe(500);
    expect(error.message).toContain('handler bug');
  });

  it('reset() clears queue, handler and requests', async () => {
    const server = await createStubServer({
      replies: [{ text: 'a' }, { text: 'b' }],
      handler: () => ({ text: 'h' }),
    });
    try {
      await chatModel(server).doGenerate(ask('Hi'));
      expect(server.requests).toHaveLength(1);
      expect(server.pendingReplies).toBe(1);
      server.reset();
      expect(server.requests).toHaveLength(0);
      expect(server.pendingReplies).toBe(0);
      const error = (await rejection(chatModel(server).doGenerate(ask('Hi')))) as APICallError;
      expect(error.message).toContain('no reply queued for request #1');
    } finally {
      await server.close();
      await server.close();
    }
  });
});

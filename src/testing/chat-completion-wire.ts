/** The OpenAI Chat Completions wire format the stub server speaks: request shape, completion bodies, stream chunks. */

import { approximateTokens, argumentsText, splitArguments, splitIntoDeltas } from './playback-helpers.js';

/**
 * One message of a Chat Completions request, as a client sent it.
 *
 * @example
 * ```ts
 * const message: StubChatMessage = { role: 'tool', tool_call_id: 'call_1_1', content: '{"ok":true}' };
 * ```
 */
export interface StubChatMessage {
  role: string;
  content?: string | null | Array<{ type: string; text?: string; [key: string]: unknown }>;
  tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  tool_call_id?: string;
  [key: string]: unknown;
}

/**
 * The JSON body of a Chat Completions request, as a client sent it. Only the fields the
 * stub reads are typed; everything else the client sent is there too.
 *
 * @example
 * ```ts
 * const toolNames = stub.requests[0]?.body.tools?.map((entry) => entry.function.name);
 * ```
 */
export interface StubChatRequest {
  model?: string;
  messages: StubChatMessage[];
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: unknown } }>;
  tool_choice?: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  /** `{ type: 'json_object' }`, or `{ type: 'json_schema', json_schema: { name, schema, strict } }` from clients that send schemas. */
  response_format?: {
    type: string;
    json_schema?: { name?: string; description?: string; schema?: unknown; strict?: boolean };
  };
  [key: string]: unknown;
}

/**
 * A tool call the stub answers with.
 *
 * @example
 * ```ts
 * const call: StubToolCall = { name: 'lookupOrder', arguments: { orderId: 'A-1001' } };
 * const broken: StubToolCall = { name: 'lookupOrder', arguments: '{"orderId": ' }; // raw text, sent as is
 * ```
 */
export interface StubToolCall {
  name: string;
  /** An object (JSON-encoded on the wire) or a string sent verbatim as the raw argument text. */
  arguments: unknown;
  /** Defaults to `call_<request number>_<position>`, both counting from 1. */
  id?: string;
}

/**
 * A successful answer: text, tool calls, or both.
 *
 * @example
 * ```ts
 * const reply: StubCompletion = { text: 'Hello!', usage: { promptTokens: 12, completionTokens: 3 } };
 * ```
 */
export interface StubCompletion {
  text?: string;
  toolCalls?: StubToolCall[];
  /** Defaults to about one token per four characters of the request's messages and of the answer. */
  usage?: { promptTokens: number; completionTokens: number };
  /** The wire finish reason; defaults to `tool_calls` when there are tool calls, else `stop`. */
  finishReason?: string;
}

interface WireToolCall {
  id: string;
  name: string;
  arguments: string;
}

interface WireUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/**
 * A completion resolved against the request it answers: ids, arguments text, usage and finish reason.
 *
 * @example
 * ```ts
 * const completion: ResolvedCompletion = resolveCompletion({ text: 'Hi' }, { messages: [] }, 1);
 * ```
 */
export interface ResolvedCompletion {
  id: string;
  model: string;
  created: number;
  text: string;
  toolCalls: WireToolCall[];
  finishReason: string;
  usage: WireUsage;
}

/**
 * Fills in the defaults of a completion for the request numbered `requestNumber` (from 1).
 *
 * @example
 * ```ts
 * resolveCompletion({ toolCalls: [{ name: 'f', arguments: {} }] }, body, 2).toolCalls[0]?.id; // 'call_2_1'
 * ```
 */
export function resolveCompletion(
  reply: StubCompletion,
  request: StubChatRequest,
  requestNumber: number,
): ResolvedCompletion {
  const text = reply.text ?? '';
  const toolCalls = (reply.toolCalls ?? []).map((call, index) => ({
    id: call.id ?? `call_${requestNumber}_${index + 1}`,
    name: call.name,
    arguments: argumentsText(call.arguments),
  }));
  const answerCharacters =
    text.length + toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0);
  const promptTokens = reply.usage?.promptTokens ?? approximateTokens(messageCharacters(request.messages));
  const completionTokens = reply.usage?.completionTokens ?? approximateTokens(answerCharacters);
  return {
    id: `chatcmpl-stub-${requestNumber}`,
    model: typeof request.model === 'string' ? request.model : 'stub-model',
    created: Math.floor(Date.now() / 1000),
    text,
    toolCalls,
    finishReason: reply.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/**
 * The non-streaming `chat.completion` body.
 *
 * @example
 * ```ts
 * sendJson(response, 200, completionBody(completion));
 * ```
 */
export function completionBody(completion: ResolvedCompletion): Record<string, unknown> {
  const message: Record<string, unknown> = {
    role: 'assistant',
    content: completion.text === '' && completion.toolCalls.length > 0 ? null : completion.text,
  };
  if (completion.toolCalls.length > 0) {
    message.tool_calls = completion.toolCalls.map((call) => ({
      id: call.id,
      type: 'function',
      function: { name: call.name, arguments: call.arguments },
    }));
  }
  return {
    id: completion.id,
    object: 'chat.completion',
    created: completion.created,
    model: completion.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: completion.finishReason }],
    usage: completion.usage,
  };
}

/**
 * The `chat.completion.chunk` objects of a streamed answer: a role chunk, text in word-sized
 * deltas, each tool call as a header (index, id, name) then argument fragments, a finish
 * chunk, and a usage chunk when asked for.
 *
 * @example
 * ```ts
 * for (const chunk of completionChunks(completion, true)) response.write(`data: ${JSON.stringify(chunk)}\n\n`);
 * ```
 */
export function completionChunks(
  completion: ResolvedCompletion,
  includeUsage: boolean,
): Array<Record<string, unknown>> {
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });
  const chunks: Array<Record<string, unknown>> = [chunk({ role: 'assistant', content: '' })];
  for (const piece of splitIntoDeltas(completion.text)) chunks.push(chunk({ content: piece }));
  completion.toolCalls.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }],
      }),
    );
    for (const fragment of splitArguments(call.arguments)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }));
    }
  });
  chunks.push(chunk({}, completion.finishReason));
  if (includeUsage) {
    chunks.push({
      id: completion.id,
      object: 'chat.completion.chunk',
      created: completion.created,
      model: completion.model,
      choices: [],
      usage: completion.usage,
    });
  }
  return chunks;
}

/**
 * The first chunk of a stream, optionally carrying some text (used before a scripted disconnect).
 *
 * @example
 * ```ts
 * openingChunk('chatcmpl-stub-1', 'stub-model', 'Partial ans');
 * ```
 */
export function openingChunk(id: string, model: string, text: string): Record<string, unknown> {
  return {
    id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [{ index: 0, delta: { role: 'assistant', content: text }, logprobs: null, finish_reason: null }],
  };
}

/**
 * An OpenAI-style error body.
 *
 * @example
 * ```ts
 * errorBody('Slow down', 'rate_limit', 429); // { error: { message: 'Slow down', type: 'rate_limit', param: null, code: 429 } }
 * ```
 */
export function errorBody(
  message: string,
  type: string,
  code: string | number | null = null,
): Record<string, unknown> {
  return { error: { message, type, param: null, code } };
}

function messageCharacters(messages: readonly StubChatMessage[]): number {
  let characters = 0;
  for (const message of messages) {
    if (typeof message.content === 'string') characters += message.content.length;
    else if (Array.isArray(message.content)) {
      for (const part of message.content) if (typeof part.text === 'string') characters += part.text.length;
    }
    for (const call of message.tool_calls ?? []) {
      characters += (call.function?.name?.length ?? 0) + (call.function?.arguments?.length ?? 0);
    }
  }
  return characters;
}

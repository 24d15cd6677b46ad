/** Conversation messages in the AI SDK's model prompt format, and helpers to build them. */

import type { LanguageModelV3Message, LanguageModelV3ToolResultPart } from '@ai-sdk/provider';
import type { ModelMessage, UIMessage } from 'ai';
import { findForbiddenKey, forbiddenKeyMessage } from '../core/forbidden-keys.js';
import type { ModelResponse } from '../models/call-model.js';

/** One message of a conversation, as models receive it (AI SDK `LanguageModelV3Message`, without `system`). */
export type Message = Exclude<LanguageModelV3Message, { role: 'system' }>;

/**
 * One message of an agent's input: a prompt-format {@link Message}, an AI SDK `ModelMessage`
 * (`{ role: 'user', content: 'hi' }`) or a `useChat` `UIMessage` (`{ id, role, parts }`). The
 * agent converts the last two with the AI SDK's own functions.
 */
export type InputMessage = Message | ModelMessage | UIMessage;

/**
 * What an agent accepts: a user message, or a conversation so far (an array of messages, or
 * `{ messages }` optionally with a structured context object of which each agent sees the fields
 * its `context.scope` declares). Checked when a run starts (`INVALID_INPUT`).
 */
export type AgentInput =
  | string
  | readonly InputMessage[]
  | { messages: readonly InputMessage[]; context?: Readonly<Record<string, unknown>> };

/** An agent input after conversion: a string, or prompt-format messages (what the agent loop works in). */
export type PromptInput =
  | string
  | { messages: readonly Message[]; context?: Readonly<Record<string, unknown>> };

/**
 * A user text message.
 *
 * @example
 * ```ts
 * await runtime.start(support, { messages: [userMessage('Hi'), userMessage('Where is my order?')] });
 * ```
 */
export function userMessage(text: string): Message {
  return { role: 'user', content: [{ type: 'text', text }] };
}

/** A tool call's arguments parsed as JSON once, for both the recorded message and validation. */
export type ParsedToolInput = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Parses each tool call's raw JSON arguments. Arguments holding `__proto__`, `constructor` or
 * `prototype` as a key are refused here, before any tool (or code it calls) can merge them.
 */
export function parseToolInputs(response: ModelResponse): ParsedToolInput[] {
  return response.toolCalls.map((call): ParsedToolInput => {
    let value: unknown;
    try {
      value = JSON.parse(call.input);
    } catch (error) {
      return { ok: false, error: `arguments are not valid JSON (${(error as Error).message})` };
    }
    const forbidden = findForbiddenKey(value);
    if (forbidden !== undefined)
      return { ok: false, error: `arguments refused, ${forbiddenKeyMessage(forbidden)}` };
    return { ok: true, value };
  });
}

/** The assistant message that records a model response (its text and tool calls, arguments as parsed). */
export function assistantMessage(response: ModelResponse, inputs: readonly ParsedToolInput[]): Message {
  type Content = Extract<Message, { role: 'assistant' }>['content'];
  // Made at its exact size (`map`, `concat`): pushing onto an empty list leaves room for 17
  // parts, kept in the history for the rest of the run.
  const calls: Content = response.toolCalls.map((call, index) => {
    const parsed = inputs[index];
    return {
      type: 'tool-call',
      toolCallId: call.toolCallId,
      toolName: call.toolName,
      input: parsed?.ok === true ? parsed.value : call.input,
    };
  });
  if (response.text.length === 0) return { role: 'assistant', content: calls };
  const text: Content = [{ type: 'text', text: response.text }];
  return { role: 'assistant', content: calls.length === 0 ? text : text.concat(calls) };
}

/** The tool message carrying results, in the order the model asked for them. */
export function toolMessage(results: LanguageModelV3ToolResultPart[]): Message {
  return { role: 'tool', content: results };
}

/** The messages an agent input stands for. */
export function inputMessages(input: PromptInput): Message[] {
  if (typeof input === 'string') return [userMessage(input)];
  if (input !== null && typeof input === 'object' && Array.isArray(input.messages))
    return [...input.messages];
  throw new TypeError('Agent input must be a string or { messages: Message[] }.');
}

/** The text of the last user message (for display and for agents used as tools). */
export function lastUserText(messages: readonly Message[]): string {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index];
    if (message?.role === 'user')
      return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  }
  return '';
}

/** Agent input from apps: AI SDK ModelMessages and useChat UIMessages, checked when a run starts and converted once per agent run. */

import type { ZodType } from 'zod';
import type { AgentInput, InputMessage, Message, PromptInput } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import { lazySchema } from '../core/load-zod.js';

type Structured = Readonly<Record<string, unknown>>;

/** The part types a message may carry in the model prompt format (LanguageModelV3), per role. */
const promptPartTypes: Readonly<Record<string, ReadonlySet<string>>> = {
  user: new Set(['text', 'file']),
  assistant: new Set(['text', 'file', 'reasoning', 'tool-call', 'tool-result']),
  tool: new Set(['tool-result', 'tool-approval-response']),
};

/** The part types of an AI SDK ModelMessage, per role (a superset: `image`, approval requests). */
const modelPartTypes: Readonly<Record<string, ReadonlySet<string>>> = {
  user: new Set(['text', 'image', 'file']),
  assistant: new Set(['text', 'file', 'reasoning', 'tool-call', 'tool-result', 'tool-approval-request']),
  tool: new Set(['tool-result', 'tool-approval-response']),
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUiMessage(message: Record<string, unknown>): boolean {
  return Array.isArray(message.parts) && message.content === undefined;
}

/** True when a message is already in the prompt format, so it needs no conversion. */
function isPromptMessage(message: unknown): message is Message {
  if (!isRecord(message) || !Array.isArray(message.content)) return false;
  const allowed = promptPartTypes[message.role as string];
  if (allowed === undefined) return false;
  for (const part of message.content) if (!isRecord(part) || !allowed.has(part.type as string)) return false;
  return true;
}

function messagesOf(input: unknown): { messages: unknown; context: unknown; wrapped: boolean } | undefined {
  if (Array.isArray(input)) return { messages: input, context: undefined, wrapped: false };
  if (isRecord(input) && 'messages' in input)
    return { messages: input.messages, context: input.context, wrapped: true };
  return undefined;
}

/** The first problem of one input message, or `undefined`. */
function messageProblem(message: unknown): string | undefined {
  if (!isRecord(message)) return 'is not a message object ({ role, content } or a UIMessage with parts)';
  const { role } = message;
  if (role === 'system')
    return "is a system message; put system text in the agent's instructions (a run's input holds the conversation)";
  if (isUiMessage(message)) {
    if (role !== 'user' && role !== 'assistant')
      return `(a UIMessage) has role ${JSON.stringify(role)}; expected user or assistant`;
    for (const [index, part] of (message.parts as unknown[]).entries())
      if (!isRecord(part) || typeof part.type !== 'string')
        return `(a UIMessage): parts[${index}] needs a string "type"`;
    return undefined;
  }
  const allowed = modelPartTypes[role as string];
  if (allowed === undefined) return `has role ${JSON.stringify(role)}; expected user, assistant or tool`;
  const { content } = message;
  if (typeof content === 'string')
    return role === 'tool'
      ? 'is a tool message; its content must be an array of tool-result parts'
      : undefined;
  if (!Array.isArray(content))
    return '"content" must be a string or an array of parts (or, for a useChat UIMessage, use "parts")';
  for (const [index, part] of content.entries()) {
    if (!isRecord(part) || typeof part.type !== 'string') return `content[${index}] needs a string "type"`;
    if (!allowed.has(part.type))
      return `content[${index}] has type "${part.type}", which a ${String(role)} message cannot carry (allowed: ${[...allowed].join(', ')})`;
    if (part.type === 'text' && typeof part.text !== 'string')
      return `content[${index}] (text) needs a string "text"`;
  }
  return undefined;
}

/**
 * What is wrong with an agent input, or `undefined` when it is usable: a string; an array of
 * messages (prompt-format `Message`s, AI SDK `ModelMessage`s or `useChat` `UIMessage`s); or
 * `{ messages, context? }`. A quick structural check without loading the AI SDK; the messages
 * are fully validated by the AI SDK's own schema when the agent converts them.
 *
 * @example
 * ```ts
 * agentInputProblem([{ role: 'user', content: 'hi' }]); // undefined
 * agentInputProblem({ messages: [{ role: 'user', text: 'hi' }] }); // 'messages[0]: "content" must be ...'
 * ```
 */
export function agentInputProblem(input: unknown): string | undefined {
  if (typeof input === 'string') return undefined;
  const found = messagesOf(input);
  if (found === undefined)
    return `expected a string, an array of messages or { messages, context? }, got ${input === null ? 'null' : typeof input}`;
  const prefix = found.wrapped ? 'messages' : 'input';
  if (!Array.isArray(found.messages)) return '"messages" must be an array';
  if (found.context !== undefined && !isRecord(found.context)) return '"context" must be an object';
  for (const [index, message] of found.messages.entries()) {
    if (isPromptMessage(message)) continue;
    const problem = messageProblem(message);
    if (problem !== undefined) return `${prefix}[${index}] ${problem}`;
  }
  return undefined;
}

/**
 * The schema agents declare as their `inputSchema`: `runtime.start` checks the input with it, so
 * a malformed message fails at start with `INVALID_INPUT`, before any run is stored. Built on
 * first use, so importing the package does not load zod.
 */
export const agentInputSchema = lazySchema(
  (z): ZodType =>
    z.unknown().superRefine((input, context) => {
      const problem = agentInputProblem(input);
      if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
    }),
);

/** Lets every URL through to the provider, so converting never downloads anything. */
const passUrls = { '*': [/^/] };

/**
 * Converts an agent input to the prompt format the agent loop works in. A string or prompt-format
 * messages are returned as they are (no work, no AI SDK import); `ModelMessage`s and
 * `UIMessage`s are converted with the AI SDK's own functions (`convertToModelMessages`, then its
 * prompt conversion), after validating each message with its `modelMessageSchema`.
 *
 * @example
 * ```ts
 * await toPromptInput([{ role: 'user', content: 'hi' }]);
 * // { messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }
 * ```
 */
export async function toPromptInput(input: AgentInput): Promise<PromptInput> {
  if (typeof input === 'string') return input;
  const found = messagesOf(input);
  if (found === undefined || !Array.isArray(found.messages))
    throw invalidInput(agentInputProblem(input) ?? 'unusable input');
  const context = isRecord(found.context) ? (found.context as Structured) : undefined;
  const messages = found.messages as readonly InputMessage[];
  if (messages.every(isPromptMessage)) {
    if (found.wrapped) return input as PromptInput;
    return { messages: messages as readonly Message[] };
  }
  const problem = agentInputProblem(input);
  if (problem !== undefined) throw invalidInput(problem);
  const [ai, internal] = await Promise.all([import('ai'), import('ai/internal')]);
  const modelMessages: unknown[] = [];
  let uiGroup: Parameters<typeof ai.convertToModelMessages>[0] = [];
  const flush = async () => {
    if (uiGroup.length === 0) return;
    modelMessages.push(...(await ai.convertToModelMessages(uiGroup)));
    uiGroup = [];
  };
  for (const message of messages) {
    if (isRecord(message) && isUiMessage(message))
      uiGroup.push(message as unknown as (typeof uiGroup)[number]);
    else {
      await flush();
      modelMessages.push(message);
    }
  }
  await flush();
  for (const [index, message] of modelMessages.entries()) {
    const parsed = ai.modelMessageSchema.safeParse(message);
    if (!parsed.success)
      throw invalidInput(
        `messages[${index}] is not a valid AI SDK ModelMessage: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
      );
  }
  const prompt = await internal.convertToLanguageModelPrompt({
    prompt: {
      messages: modelMessages as Parameters<
        typeof internal.convertToLanguageModelPrompt
      >[0]['prompt']['messages'],
    },
    supportedUrls: passUrls,
    download: undefined,
  });
  const converted = prompt.filter((message): message is Message => message.role !== 'system');
  return context === undefined ? { messages: converted } : { messages: converted, context };
}

function invalidInput(problem: string): ConfigError {
  return new ConfigError(`Invalid agent input: ${problem}.`, { code: 'INVALID_INPUT' });
}

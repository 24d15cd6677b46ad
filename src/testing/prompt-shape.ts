/** Checks that a prompt has the LanguageModelV3 shape real providers rely on, so the scripted model fails where they would. */

import { InvalidPromptError } from '@ai-sdk/provider';

/** The part types each role may carry in a LanguageModelV3 prompt. */
const partTypes: Readonly<Record<string, ReadonlySet<string>>> = {
  user: new Set(['text', 'file']),
  assistant: new Set(['text', 'file', 'reasoning', 'tool-call', 'tool-result']),
  tool: new Set(['tool-result', 'tool-approval-response']),
};

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string'
    ? 'a string'
    : typeof value === 'object'
      ? 'an object'
      : `a ${typeof value}`;
}

function partProblem(part: unknown, role: string): string | undefined {
  if (!isRecord(part) || typeof part.type !== 'string')
    return `is ${describe(part)}, not a part with a "type"`;
  if (!partTypes[role]?.has(part.type))
    return `has type "${part.type}", which a ${role} message cannot carry (allowed: ${[...(partTypes[role] ?? [])].join(', ')})`;
  switch (part.type) {
    case 'text':
    case 'reasoning':
      return typeof part.text === 'string' ? undefined : `(${part.type}) needs a string "text"`;
    case 'file':
      return typeof part.mediaType === 'string' && part.data !== undefined
        ? undefined
        : '(file) needs "data" and a string "mediaType"';
    case 'tool-call':
      return typeof part.toolCallId === 'string' && typeof part.toolName === 'string'
        ? undefined
        : '(tool-call) needs string "toolCallId" and "toolName"';
    case 'tool-result':
      return typeof part.toolCallId === 'string' && typeof part.toolName === 'string' && isRecord(part.output)
        ? undefined
        : '(tool-result) needs string "toolCallId" and "toolName" and an "output" object ({ type, value })';
    default:
      return undefined;
  }
}

/**
 * What is wrong with a prompt for a LanguageModelV3 provider, or `undefined` when nothing is:
 * a `system` message holds a string; `user`, `assistant` and `tool` messages hold arrays of
 * parts of the types their role allows. (An AI SDK `ModelMessage` with string content, or a
 * `useChat` UIMessage with `parts`, is not a provider prompt: real providers fail on them with
 * errors like `content.map is not a function`.)
 *
 * @example
 * ```ts
 * providerPromptProblem([{ role: 'user', content: 'hi' }]);
 * // 'prompt[0] (user): "content" is a string; a provider needs an array of parts such as [{ type: "text", text }] ...'
 * ```
 */
export function providerPromptProblem(prompt: unknown): string | undefined {
  if (!Array.isArray(prompt)) return `the prompt is ${describe(prompt)}, not an array of messages`;
  for (const [index, message] of prompt.entries()) {
    const where = `prompt[${index}]`;
    if (!isRecord(message)) return `${where} is ${describe(message)}, not a message`;
    const { role, content } = message;
    if (role === 'system') {
      if (typeof content !== 'string') return `${where} (system): "content" must be a string`;
      continue;
    }
    if (typeof role !== 'string' || partTypes[role] === undefined)
      return `${where}: unknown role ${JSON.stringify(role)} (allowed: system, user, assistant, tool)`;
    if (!Array.isArray(content)) {
      const uiHint = Array.isArray(message.parts)
        ? ' (this looks like a useChat UIMessage, with "parts")'
        : '';
      return `${where} (${role}): "content" is ${describe(content)}${uiHint}; a provider needs an array of parts such as [{ type: "text", text }] and fails with "content.map is not a function" or "message.content is not iterable". Pass AI SDK messages to an agent as its input, which converts them.`;
    }
    for (const [position, part] of content.entries()) {
      const problem = partProblem(part, role);
      if (problem !== undefined) return `${where} (${role}): content[${position}] ${problem}`;
    }
  }
  return undefined;
}

/**
 * Throws the AI SDK's `InvalidPromptError` when {@link providerPromptProblem} finds a problem.
 *
 * @example
 * ```ts
 * assertProviderPrompt(callOptions.prompt); // in a LanguageModelV3's doGenerate
 * ```
 */
export function assertProviderPrompt(prompt: unknown): void {
  const problem = providerPromptProblem(prompt);
  if (problem !== undefined)
    throw new InvalidPromptError({ prompt, message: `Scripted model: invalid provider prompt: ${problem}` });
}

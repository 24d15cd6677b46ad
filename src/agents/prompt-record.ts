/**
 * Prompts in the journal: with `createRuntime({ journalPrompts: true })` every model step's meta
 * holds the messages sent, in the OpenTelemetry GenAI message format, for `baton show --full`
 * and for `chat` spans that capture content.
 */

import type { LanguageModelV3Prompt } from '@ai-sdk/provider';

// The kernel carries the option to every run without naming this layer (docs/decisions/0008-per-run-slot.md).
declare module '../core/runtime-options.js' {
  interface RuntimeOptions {
    /**
     * Record in each model step's meta the messages sent (`prompt`), as the model got them:
     * after the agent's guardrails and context policies. Off by default: prompts repeat the
     * conversation on every call, so the journal grows with the square of an agent's turns.
     * `baton show --full` prints them; traces with `captureContent` put them on `chat` spans
     * as `gen_ai.input.messages`.
     */
    journalPrompts?: boolean;
  }
}
declare module '../core/run-context.js' {
  interface Tenant {
    /** `createRuntime({ journalPrompts })`. */
    readonly journalPrompts?: boolean | undefined;
  }
}

/** One part of a message, as the GenAI semantic conventions write it. */
export type MessagePart =
  | { type: 'text'; content: string }
  | { type: 'tool_call'; id: string; name: string; arguments: unknown }
  | { type: 'tool_call_response'; id: string; response: unknown };

/** One message, as the GenAI semantic conventions write it (`gen_ai.input.messages`). */
export interface RecordedMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  parts: MessagePart[];
}

/** Parses JSON arguments for display; the text itself when it is not JSON. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The prompt sent to a model, as recorded messages (files and reasoning are named, not copied). */
export function recordedPrompt(prompt: LanguageModelV3Prompt): RecordedMessage[] {
  return prompt.map((message): RecordedMessage => {
    if (message.role === 'system')
      return { role: 'system', parts: [{ type: 'text', content: message.content }] };
    const parts: MessagePart[] = [];
    for (const part of message.content) {
      switch (part.type) {
        case 'text':
          parts.push({ type: 'text', content: part.text });
          break;
        case 'tool-call':
          parts.push({
            type: 'tool_call',
            id: part.toolCallId,
            name: part.toolName,
            arguments: typeof part.input === 'string' ? parsed(part.input) : part.input,
          });
          break;
        case 'tool-result': {
          const output = part.output as { type: string; value?: unknown };
          parts.push({ type: 'tool_call_response', id: part.toolCallId, response: output.value ?? output });
          break;
        }
        default:
          parts.push({ type: 'text', content: `[${part.type}]` });
      }
    }
    return { role: message.role, parts };
  });
}

/** Handoffs: `transfer_to_<agent>` tools with an optional typed payload and an input filter. */

import type { JSONSchema7 } from '@ai-sdk/provider';
import type { ZodType } from 'zod';
import { isSummaryMessage } from '../context/compaction.js';
import type { Message } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import { toJsonSchema } from '../tools/tool.js';
import type { Agent } from './agent.js';

/** Rewrites the conversation the next agent sees. */
export type InputFilter = (messages: readonly Message[]) => Message[];

/** A handoff target with its options. */
export interface Transfer<PAYLOAD = unknown> {
  readonly kind: 'transfer';
  readonly agent: Agent<unknown>;
  /** The tool name the model calls: `transfer_to_<agent>` by default. */
  readonly toolName: string;
  readonly description: string;
  readonly payloadSchema: ZodType<PAYLOAD> | undefined;
  readonly jsonSchema: JSONSchema7;
  readonly inputFilter: InputFilter | undefined;
}

/** Options of `transfer()`. */
export interface TransferOptions<PAYLOAD> {
  /** Data the model must pass along (an order id, a reason); validated, then given to the next agent's instructions. */
  payload?: ZodType<PAYLOAD>;
  inputFilter?: InputFilter;
  toolName?: string;
  description?: string;
}

/**
 * A handoff to `target`, for an agent's `handoffs` list.
 *
 * @example
 * ```ts
 * const triage = agent({
 *   name: 'triage', model, instructions: 'Route the customer.',
 *   handoffs: [transfer(billing, { payload: z.object({ orderId: z.string() }), inputFilter: handoffFilters.removeToolHistory })],
 * });
 * ```
 */
export function transfer<PAYLOAD = unknown>(
  target: Agent<unknown>,
  options: TransferOptions<PAYLOAD> = {},
): Transfer<PAYLOAD> {
  if (target === undefined || target === null || target.kind !== 'agent') {
    throw new ConfigError(
      'transfer(): the target must be an agent (is it defined yet? use handoffs: () => [...] for cycles).',
    );
  }
  const toolName = options.toolName ?? `transfer_to_${target.name.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
  const where = `transfer(${target.name})`;
  return {
    kind: 'transfer',
    agent: target,
    toolName,
    description: options.description ?? `Hand the conversation to ${target.name}: ${target.description}`,
    payloadSchema: options.payload,
    jsonSchema:
      options.payload === undefined
        ? { type: 'object', properties: {}, additionalProperties: false }
        : toJsonSchema(options.payload, where),
    inputFilter: options.inputFilter,
  };
}

/**
 * Ready-made input filters for handoffs.
 *
 * @example
 * ```ts
 * handoff({ name: 'support', entry: triage, agents: [billing], inputFilter: handoffFilters.lastUserMessage });
 * ```
 */
export const handoffFilters = {
  /** Keeps user and assistant text; drops tool calls and tool results. */
  removeToolHistory: (messages: readonly Message[]): Message[] => {
    const kept: Message[] = [];
    for (const message of messages) {
      if (message.role === 'tool') continue;
      if (message.role === 'assistant') {
        const content = message.content.filter((part) => part.type === 'text');
        if (content.length > 0) kept.push({ ...message, content });
      } else {
        kept.push(message);
      }
    }
    return kept;
  },
  /** Keeps only the last user message. */
  lastUserMessage: (messages: readonly Message[]): Message[] => {
    for (let index = messages.length - 1; index >= 0; index--) {
      const message = messages[index];
      if (message?.role === 'user') return [message];
    }
    return [];
  },
  /** Keeps the compaction summaries (see `context.history: 'compact'`) and the last user message. */
  summaryOnly: (messages: readonly Message[]): Message[] => {
    const kept = messages.filter(isSummaryMessage);
    const last = handoffFilters.lastUserMessage(messages)[0];
    if (last !== undefined && !kept.includes(last)) kept.push(last);
    return kept;
  },
  /**
   * Keeps the last `count` messages, reaching back as needed so that no tool result loses the
   * assistant message that called it.
   */
  lastN: (count: number): InputFilter => {
    if (!Number.isInteger(count) || count < 1)
      throw new ConfigError(`handoffFilters.lastN(): count must be an integer >= 1, got ${count}.`);
    return (messages) => {
      let start = Math.max(0, messages.length - count);
      while (start > 0 && messages[start]?.role === 'tool') start--;
      return messages.slice(start);
    };
  },
};

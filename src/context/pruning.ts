/** Pruning of what the model is sent: older tool call/result pairs shortened or dropped, intermediate reasoning dropped. */

import type { LanguageModelV3ToolResultPart } from '@ai-sdk/provider';
import type { PruneOptions } from './context-policy.js';
import type { Message } from './messages.js';

/** What pruning changed, for the guard's report. */
export interface PruneReport {
  /** Tool results shortened. */
  truncatedToolResults: number;
  /** Messages left out (tool messages of dropped pairs, assistant messages left empty). */
  droppedMessages: number;
  /** Reasoning parts left out. */
  droppedReasoning: number;
}

/** Pruned copies per original message and settings, so a message keeps one identity (and one token count) across turns. */
const prunedCopies = new WeakMap<object, Map<string, Message | null>>();

function cached(message: Message, key: string, make: () => Message | null): Message | null {
  let perMessage = prunedCopies.get(message);
  if (perMessage === undefined) {
    perMessage = new Map();
    prunedCopies.set(message, perMessage);
  }
  let copy = perMessage.get(key);
  if (copy === undefined) {
    copy = make();
    perMessage.set(key, copy);
  }
  return copy;
}

/**
 * Shortens a tool output to about `tokens` tokens (4 characters each), saying how much was cut.
 *
 * @example
 * ```ts
 * truncateOutput({ type: 'text', value: 'x'.repeat(10_000) }, 100); // text of ~400 characters + a note
 * ```
 */
export function truncateOutput(
  output: LanguageModelV3ToolResultPart['output'],
  tokens: number,
): LanguageModelV3ToolResultPart['output'] {
  if (output.type === 'execution-denied') return output;
  const text =
    output.type === 'text' || output.type === 'error-text' ? output.value : JSON.stringify(output.value);
  const limit = tokens * 4;
  if (text.length <= limit) return output;
  const value = `${text.slice(0, limit)}… [${text.length - limit} characters pruned from this old tool result]`;
  return output.type === 'error-text' || output.type === 'error-json'
    ? { type: 'error-text', value }
    : { type: 'text', value };
}

/**
 * The messages with older tool turns pruned and reasoning before the last user message dropped;
 * the most recent `keepToolTurns` tool turns and everything after the last user message's own
 * turn stay untouched. Returns the input array itself when nothing changes.
 *
 * @example
 * ```ts
 * const { messages } = pruneMessages(history, { toolResults: 'drop', keepToolTurns: 1, toolResultTokens: 100, reasoning: 'drop' });
 * ```
 */
export function pruneMessages(
  messages: readonly Message[],
  options: Required<PruneOptions>,
): { messages: readonly Message[]; report: PruneReport } {
  const report: PruneReport = { truncatedToolResults: 0, droppedMessages: 0, droppedReasoning: 0 };
  let lastUser = -1;
  const toolTurns: number[] = [];
  for (const [index, message] of messages.entries()) {
    if (message.role === 'user') lastUser = index;
    if (message.role === 'assistant' && message.content.some((part) => part.type === 'tool-call'))
      toolTurns.push(index);
  }
  // Tool turns at or after this index are kept as they are.
  const keepFrom =
    options.keepToolTurns === 0
      ? Number.POSITIVE_INFINITY
      : (toolTurns[toolTurns.length - options.keepToolTurns] ?? 0);
  const pruneTools = options.toolResults !== 'keep';
  const dropReasoning = options.reasoning === 'drop';
  let changed = false;
  const output: Message[] = [];
  const key = `${options.toolResults}:${options.toolResultTokens}:${options.reasoning}`;
  let inOldToolTurn = false;
  for (const [index, message] of messages.entries()) {
    if (message.role === 'assistant') {
      const oldTool =
        pruneTools && index < keepFrom && message.content.some((part) => part.type === 'tool-call');
      inOldToolTurn = oldTool;
      const reasoning =
        dropReasoning && index < lastUser && message.content.some((part) => part.type === 'reasoning');
      const dropCalls = oldTool && options.toolResults === 'drop';
      if (!reasoning && !dropCalls) {
        output.push(message);
        continue;
      }
      changed = true;
      report.droppedReasoning += reasoning
        ? message.content.filter((part) => part.type === 'reasoning').length
        : 0;
      const copy = cached(message, `${key}:${dropCalls}:${reasoning}`, () => {
        const content = message.content.filter(
          (part) => !(reasoning && part.type === 'reasoning') && !(dropCalls && part.type === 'tool-call'),
        );
        return content.length === 0 ? null : { ...message, content };
      });
      if (copy === null) report.droppedMessages++;
      else output.push(copy);
      continue;
    }
    if (message.role === 'tool' && inOldToolTurn) {
      changed = true;
      if (options.toolResults === 'drop') {
        report.droppedMessages++;
        continue;
      }
      const copy = cached(message, key, () => ({
        ...message,
        content: message.content.map((part) =>
          part.type === 'tool-result'
            ? { ...part, output: truncateOutput(part.output, options.toolResultTokens) }
            : part,
        ),
      })) as Message;
      report.truncatedToolResults += copy.content.filter((part, position) => {
        const original = message.content[position];
        return (
          part.type === 'tool-result' && original?.type === 'tool-result' && part.output !== original.output
        );
      }).length;
      output.push(copy);
      continue;
    }
    if (message.role === 'user') inOldToolTurn = false;
    output.push(message);
  }
  return { messages: changed ? output : messages, report };
}

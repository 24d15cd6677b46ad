/** The window guard's trimming: drop the oldest turns, then shorten and drop the current turn's tool results, until the prompt fits. */

import { isSummaryMessage } from './compaction.js';
import type { Message } from './messages.js';
import { messageTokens, type TokenEncoding } from './tokens.js';

/** A user message that is not a compaction summary: what the guard always keeps. */
export function isUserRequest(message: Message | undefined): boolean {
  return message?.role === 'user' && !isSummaryMessage(message);
}

/** The messages that fit, and what was left out. */
export interface Fitted {
  messages: readonly Message[];
  /** Raw tokens of the fitted prompt. */
  tokens: number;
  droppedMessages: number;
  droppedTokens: number;
  truncated: number;
  minimumExceeded: boolean;
  minimum: number;
}

/** A stand-in for a tool result the guard left out of the current turn. */
function stubbed(message: Extract<Message, { role: 'tool' }>): Message {
  return {
    ...message,
    content: message.content.map((part) =>
      part.type === 'tool-result'
        ? {
            ...part,
            output: {
              type: 'text' as const,
              value: '[tool result left out: the prompt would not fit the context window]',
            },
          }
        : part,
    ),
  };
}

/** Drops and shortens messages (oldest first, summaries last) until the raw token count is within `rawLimit`. */
export function fitToLimit(
  messages: readonly Message[],
  fixed: number,
  rawLimit: number,
  encoding: TokenEncoding,
): Fitted {
  const counts = messages.map((message) => messageTokens(message, encoding));
  let tokens = counts.reduce((sum, count) => sum + count, fixed);
  const result: Fitted = {
    messages,
    tokens,
    droppedMessages: 0,
    droppedTokens: 0,
    truncated: 0,
    minimumExceeded: false,
    minimum: 0,
  };
  // Orphan tool results at the start (their call was filtered away) are never sent.
  let start = 0;
  while (messages[start]?.role === 'tool') start++;
  if (tokens <= rawLimit && start === 0) return result;
  let lastUser = -1;
  for (let index = messages.length - 1; index >= start; index--) {
    if (isUserRequest(messages[index])) {
      lastUser = index;
      break;
    }
  }
  // Units: a message plus the tool messages that answer it.
  const units: { start: number; end: number; tokens: number }[] = [];
  for (let index = start; index < messages.length; index++) {
    const message = messages[index] as Message;
    const last = units.at(-1);
    if (message.role === 'tool' && last !== undefined) {
      last.end = index + 1;
      last.tokens += counts[index] ?? 0;
    } else {
      units.push({ start: index, end: index + 1, tokens: counts[index] ?? 0 });
    }
  }
  const dropped = new Set<number>();
  const replaced = new Map<number, Message>();
  const drop = (unit: { start: number; end: number; tokens: number }) => {
    for (let index = unit.start; index < unit.end; index++) dropped.add(index);
    tokens -= unit.tokens;
    result.droppedMessages += unit.end - unit.start;
    result.droppedTokens += unit.tokens;
  };
  for (let index = 0; index < start; index++) {
    drop({ start: index, end: index + 1, tokens: counts[index] ?? 0 });
  }
  const before = units.filter((unit) => lastUser >= 0 && unit.end <= lastUser);
  const ordered = [
    ...before.filter((unit) => !isSummaryMessage(messages[unit.start] as Message)),
    ...before.filter((unit) => isSummaryMessage(messages[unit.start] as Message)),
  ];
  for (const unit of ordered) {
    if (tokens <= rawLimit) break;
    drop(unit);
  }
  const after = units.filter((unit) => unit.start > lastUser);
  if (tokens > rawLimit) {
    for (const unit of after) {
      for (let index = unit.start; index < unit.end && tokens > rawLimit; index++) {
        const message = messages[index] as Message;
        if (message.role !== 'tool') continue;
        const stub = stubbed(message);
        const saved = (counts[index] ?? 0) - messageTokens(stub, encoding);
        if (saved <= 0) continue;
        replaced.set(index, stub);
        tokens -= saved;
        unit.tokens -= saved;
        result.truncated += message.content.length;
      }
      if (tokens <= rawLimit) break;
    }
  }
  for (const unit of after) {
    if (tokens <= rawLimit) break;
    drop(unit);
  }
  if (tokens > rawLimit) {
    result.minimumExceeded = true;
    result.minimum = tokens;
    return result;
  }
  const kept: Message[] = [];
  for (const [index, message] of messages.entries()) {
    if (!dropped.has(index)) kept.push(replaced.get(index) ?? message);
  }
  result.messages = kept;
  result.tokens = tokens;
  return result;
}

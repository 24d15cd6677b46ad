/** Small conversions the team builder shares: durations, stage inputs, optional options. */

import type { AgentInput } from '../context/messages.js';
import { parseDuration } from '../core/duration.js';

/** Milliseconds of a checked duration. */
export function milliseconds(value: string | number): number {
  const parsed = parseDuration(value);
  if (parsed === undefined) throw new Error(`invalid duration ${JSON.stringify(value)}`);
  return parsed;
}

/** A stage's input: text and conversations pass through; structured outputs become JSON text. */
export function asAgentInput(previous: unknown): AgentInput {
  if (typeof previous === 'string') return previous;
  if (
    previous !== null &&
    typeof previous === 'object' &&
    Array.isArray((previous as { messages?: unknown }).messages)
  )
    return previous as AgentInput;
  return JSON.stringify(previous, null, 2);
}

/** The object without its undefined properties (for options under exactOptionalPropertyTypes). */
export function compact<T extends Record<string, unknown>>(
  value: T,
): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}

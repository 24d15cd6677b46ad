/** Small conversions the team builder shares: terminate conditions, durations, stage inputs, optional options. */

import type { AgentInput } from '../agents/messages.js';
import { parseDuration } from '../core/duration.js';
import {
  allOf,
  anyOf,
  approvedBy,
  maxRounds,
  type TerminationCondition,
  textMention,
  timeout,
  tokenBudget,
} from '../patterns/termination.js';
import type { TerminateCondition } from './team-schema-parts.js';

/** A termination condition from its YAML mapping (checked: exactly one kind is set). */
export function condition(spec: TerminateCondition): TerminationCondition {
  if (spec.maxRounds !== undefined) return maxRounds(spec.maxRounds);
  if (spec.mention !== undefined)
    return textMention(spec.mention, spec.from === undefined ? {} : { from: spec.from });
  if (spec.tokens !== undefined) return tokenBudget(spec.tokens);
  if (spec.timeout !== undefined) return timeout(milliseconds(spec.timeout));
  if (spec.approvedBy !== undefined)
    return approvedBy(spec.approvedBy, spec.keyword === undefined ? {} : { keyword: spec.keyword });
  if (spec.anyOf !== undefined) return anyOf(...spec.anyOf.map(condition));
  return allOf(...(spec.allOf ?? []).map(condition));
}

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

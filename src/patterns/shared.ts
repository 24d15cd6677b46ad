/** Helpers the patterns share: member checks, text rendering, pattern events and journaled ledgers. */

import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { AnyRunnable, Runnable } from '../core/runnable.js';

/** Checks that `value` is an agent, workflow or pattern, with an error naming where it was found. */
export function checkRunnable(where: string, field: string, value: unknown): Runnable<unknown, unknown> {
  if (
    typeof (value as AnyRunnable | undefined)?.execute !== 'function' ||
    typeof (value as AnyRunnable).name !== 'string'
  )
    throw new ConfigError(`${where}: ${field} is not an agent, workflow or pattern.`);
  return value as Runnable<unknown, unknown>;
}

/** Checks a non-empty list of runnables with distinct names. */
export function checkMembers(where: string, field: string, value: unknown): Runnable<unknown, unknown>[] {
  if (!Array.isArray(value) || value.length === 0)
    throw new ConfigError(`${where}: ${field} must be a non-empty array of agents, workflows or patterns.`);
  const seen = new Set<string>();
  return value.map((member, index) => {
    const checked = checkRunnable(where, `${field}[${index}]`, member);
    if (seen.has(checked.name))
      throw new ConfigError(
        `${where}: ${field} has two members named "${checked.name}"; names must be unique.`,
      );
    seen.add(checked.name);
    return checked;
  });
}

/** Checks an optional integer option, with the default when absent. */
export function checkCount(
  where: string,
  field: string,
  value: number | undefined,
  fallback: number,
  minimum = 1,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < minimum)
    throw new ConfigError(`${where}: ${field} must be an integer >= ${minimum}, got ${String(value)}.`);
  return value;
}

/** A value as text for a prompt: strings as they are, anything else as JSON. */
export function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Emits `pattern-start` (only when someone listens). */
export function announceStart(
  ctx: RunContext,
  pattern: string,
  name: string,
  members: readonly string[],
): void {
  if (ctx.observed)
    ctx.emitEvent({ type: 'pattern-start', scope: ctx.scope, pattern, name, members: [...members] });
}

/** Emits `pattern-end` with why the pattern stopped (only when someone listens). */
export function announceEnd(ctx: RunContext, pattern: string, name: string, outcome: string): void {
  if (ctx.observed) ctx.emitEvent({ type: 'pattern-end', scope: ctx.scope, pattern, name, outcome });
}

/** Emits `speaker-selected` (only when someone listens). */
export function announceSpeaker(
  ctx: RunContext,
  pattern: string,
  name: string,
  round: number,
  speaker: string,
  reason?: string,
): void {
  if (ctx.observed)
    ctx.emitEvent({
      type: 'speaker-selected',
      scope: ctx.scope,
      pattern,
      name,
      round,
      speaker,
      ...(reason === undefined ? {} : { reason }),
    });
}

/** What `recordLedger` journals. */
export interface LedgerRecord {
  pattern: string;
  name: string;
  /** `task`, `progress`, or a pattern's own ledger name. */
  ledger: string;
  round: number;
  data: unknown;
}

/**
 * Journals a ledger (a step named `ledger:<ledger>` whose result is the data and whose meta says
 * which ledger and round, so `baton show` can print it) and emits `ledger-update`. Returns the
 * journaled data, which on replay is the recorded one.
 */
export async function recordLedger<T>(ctx: RunContext, record: LedgerRecord & { data: T }): Promise<T> {
  const data = await ctx.step(`ledger:${record.ledger}`, () => record.data, {
    meta: { ledger: record.ledger, pattern: record.pattern, round: record.round },
  });
  if (ctx.observed)
    ctx.emitEvent({
      type: 'ledger-update',
      scope: ctx.scope,
      pattern: record.pattern,
      name: record.name,
      ledger: record.ledger,
      round: record.round,
      data,
    });
  return data;
}

/**
 * Journals a decision (a step named `decision:<decision kind>` with meta `{ decision }`) and emits
 * `pattern-decision`. Use it for choices made from non-journaled inputs, so replays see the same choice.
 */
export async function recordDecision<T>(
  ctx: RunContext,
  record: { pattern: string; name: string; decision: string; reasons: string[]; data?: T },
): Promise<{ decision: string; reasons: string[]; data?: T }> {
  const recorded = await ctx.step(
    `decision:${record.pattern}`,
    () => ({
      decision: record.decision,
      reasons: record.reasons,
      ...(record.data === undefined ? {} : { data: record.data }),
    }),
    { meta: { decision: record.decision, pattern: record.pattern } },
  );
  if (ctx.observed)
    ctx.emitEvent({
      type: 'pattern-decision',
      scope: ctx.scope,
      pattern: record.pattern,
      name: record.name,
      decision: recorded.decision,
      reasons: recorded.reasons,
      ...(recorded.data === undefined ? {} : { data: recorded.data }),
    });
  return recorded;
}

/** Index of the `}` closing the object that opens at `start` in `text`, or -1; braces inside JSON strings are skipped. */
export function balancedEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let index = start; index < text.length; index++) {
    const character = text[index];
    if (inString) {
      if (character === '\\') index++;
      else if (character === '"') inString = false;
      continue;
    }
    if (character === '"') inString = true;
    else if (character === '{') depth++;
    else if (character === '}' && --depth === 0) return index;
  }
  return -1;
}

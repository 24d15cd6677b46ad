/** Member turns the patterns share: running a member, wrapping its failures, and reading JSON from its reply. */

import type { Agent } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import { BatonError, errorMessage } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import type { RunContext } from '../core/run-context.js';
import type { Runnable } from '../core/runnable.js';
import { isBudgetStop } from '../governance/budget.js';
import { textOf } from './shared.js';

/** What a member's turn produced: its output, and that output as text. */
export interface MemberTurn {
  output: unknown;
  text: string;
}

/**
 * Runs a member's turn. Agents run in the pattern's own scope with a turn counter shared across
 * the pattern's execution (so an agent that speaks again continues its turn numbers); workflows,
 * patterns and humans run as child runs.
 */
export async function runMember(
  ctx: RunContext,
  member: Runnable<unknown, unknown>,
  input: string,
  turnCounter: Map<string, number>,
): Promise<MemberTurn> {
  if (member.kind === 'agent') {
    const result = await runAgent(ctx, member as Agent<unknown>, input, { turnCounter });
    return { output: result.output, text: result.text };
  }
  const output = await ctx.run(member, input);
  return { output, text: textOf(output) };
}

/** Runs `body`; a failure (not a suspension) is rethrown with the pattern and the member in its message, keeping its code. */
export async function guarded<T>(
  ctx: RunContext,
  where: string,
  what: string,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (error) {
    // A budget stop passes unchanged: the run ends budget-exceeded with its partial result.
    if (isInterruption(error, ctx) || isBudgetStop(error)) throw error;
    throw new BatonError(`${where} failed at ${what}: ${errorMessage(error)}`, {
      code: BatonError.isInstance(error) ? error.code : 'MEMBER_FAILED',
      fault: BatonError.isInstance(error) ? error.fault : 'system',
      runId: ctx.runId,
      cause: error,
    });
  }
}

/** The first JSON object in `text`: the whole text, a fenced block, or the span from the first `{` to the last `}`. */
export function jsonObjectIn(text: string): Record<string, unknown> | undefined {
  // Tried in that order; each later candidate is only built when the earlier ones are not an object.
  const whole = parseObject(text);
  if (whole !== undefined) return whole;
  const fenced = /```(?:json)?\s*([\s\S]*?)```/.exec(text)?.[1];
  const inFence = fenced === undefined ? undefined : parseObject(fenced);
  if (inFence !== undefined) return inFence;
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  return start >= 0 && end > start ? parseObject(text.slice(start, end + 1)) : undefined;
}

/** `candidate` parsed as JSON when it is an object (not an array), else undefined. */
function parseObject(candidate: string): Record<string, unknown> | undefined {
  const trimmed = candidate.trim();
  // Only text that starts with `{` can be an object: skip JSON.parse (and its exception) for anything else.
  if (trimmed[0] !== '{') return undefined;
  try {
    const value: unknown = JSON.parse(trimmed);
    if (typeof value === 'object' && value !== null && !Array.isArray(value))
      return value as Record<string, unknown>;
  } catch {
    // not JSON: the caller tries the next candidate
  }
  return undefined;
}

/** Composable termination conditions of groupChat: max rounds, text mention, token budget, time limit, approval, your own test. */

import { ConfigError } from '../core/errors.js';
import type { Usage } from '../core/store.js';

/** One message of a group chat thread: who said it and what. The opening message's speaker is `user`. */
export interface ChatMessage {
  speaker: string;
  text: string;
}

/**
 * What speaker selection and termination conditions see. Every field comes from journaled
 * values, so a condition or selection function that only reads it is deterministic on replay.
 */
export interface ChatState {
  /** The round being chosen (selection) or just finished (termination), counting from 1. */
  readonly round: number;
  /** The thread so far, the opening message first. */
  readonly messages: readonly ChatMessage[];
  /** Who spoke last; `undefined` before the first round. */
  readonly lastSpeaker: string | undefined;
  /** The member names, in the order they were given. */
  readonly members: readonly string[];
  /** Tokens used by the chat's own model calls so far (agent members and the LLM selector). */
  readonly usage: Usage;
  /**
   * Milliseconds since the chat started, from `ctx.now()` (recorded, so the same on replay). The
   * chat reads the clock only when something may use it: a condition that reads it (`timeLimit()`,
   * `terminateWhen()`, a condition without `usesElapsedTime: false`), a select function or a
   * `candidates` function. Otherwise it stays 0.
   */
  readonly elapsedMs: number;
}

/**
 * When a group chat stops. `check` returns the reason to stop (a few words shown as the
 * chat's `stoppedBy`) or `undefined` to go on. Combine conditions with `.or()` / `.and()` or
 * `anyOf()` / `allOf()`.
 */
export interface TerminationCondition {
  readonly kind: 'termination';
  /** What the condition checks, e.g. `maxRounds(5)`. */
  readonly description: string;
  /** Member names the condition refers to; `groupChat` checks they are members. */
  readonly members: readonly string[];
  /**
   * Whether `check` may read `state.elapsedMs`. `groupChat` journals a clock reading
   * (`ctx.now()`) after every round only when its condition may read it; a condition without this
   * flag counts as reading it.
   */
  readonly usesElapsedTime?: boolean;
  /** The reason to stop after this round, or `undefined` to continue. Must be pure. */
  check(state: ChatState): string | undefined;
  /** Stops when this condition or any of `others` holds. */
  or(...others: TerminationCondition[]): TerminationCondition;
  /** Stops when this condition and all of `others` hold after the same round. */
  and(...others: TerminationCondition[]): TerminationCondition;
}

function condition(
  description: string,
  members: readonly string[],
  check: (state: ChatState) => string | undefined,
  usesElapsedTime = false,
): TerminationCondition {
  const self: TerminationCondition = {
    kind: 'termination',
    description,
    members,
    usesElapsedTime,
    check,
    or: (...others) => anyOf(self, ...others),
    and: (...others) => allOf(self, ...others),
  };
  return self;
}

/** True when `value` is a termination condition. */
export function isTerminationCondition(value: unknown): value is TerminationCondition {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as TerminationCondition).kind === 'termination' &&
    typeof (value as TerminationCondition).check === 'function'
  );
}

function checkConditions(where: string, conditions: readonly unknown[]): TerminationCondition[] {
  if (conditions.length === 0) throw new ConfigError(`${where}: give at least one condition.`);
  return conditions.map((entry, index) => {
    if (!isTerminationCondition(entry))
      throw new ConfigError(
        `${where}: argument ${index + 1} is not a termination condition (use maxRounds(), textMention(), ...).`,
      );
    return entry;
  });
}

/** Whether any of `conditions` may read the elapsed time (conditions without the flag may). */
function anyUsesElapsedTime(conditions: readonly TerminationCondition[]): boolean {
  return conditions.some((entry) => entry.usesElapsedTime !== false);
}

function positiveInteger(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new ConfigError(`${where}: expected an integer >= 1, got ${String(value)}.`);
  return value;
}

function nonEmpty(where: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '')
    throw new ConfigError(`${where}: ${field} must be a non-empty string.`);
  return value;
}

/**
 * Stops after `rounds` rounds. `groupChat` always adds `maxRounds(options.maxRounds ?? 10)` as a safety net.
 *
 * @example
 * ```ts
 * const chat = groupChat({ name: 'brainstorm', members: [alice, bob], terminate: maxRounds(4) });
 * ```
 */
export function maxRounds(rounds: number): TerminationCondition {
  const limit = positiveInteger('maxRounds()', rounds);
  return condition(`maxRounds(${limit})`, [], (state) =>
    state.round >= limit ? `max rounds (${limit})` : undefined,
  );
}

/**
 * Stops when the last message contains `text` (case-sensitive), optionally only when `from` said it.
 *
 * @example
 * ```ts
 * const done = textMention('TERMINATE', { from: 'planner' });
 * ```
 */
export function textMention(text: string, options: { from?: string } = {}): TerminationCondition {
  nonEmpty('textMention()', 'text', text);
  const from = options.from === undefined ? undefined : nonEmpty('textMention()', 'from', options.from);
  return condition(
    `textMention(${JSON.stringify(text)}${from === undefined ? '' : `, from ${from}`})`,
    from === undefined ? [] : [from],
    (state) => {
      const last = state.messages.at(-1);
      if (last === undefined || state.lastSpeaker === undefined) return undefined;
      if (from !== undefined && last.speaker !== from) return undefined;
      return last.text.includes(text) ? `"${text}" mentioned by ${last.speaker}` : undefined;
    },
  );
}

/**
 * Stops once the chat's own model calls (agent members run in the chat and the LLM selector)
 * have used at least `tokens` tokens in total. Usage comes from the journaled model responses,
 * so a resumed chat counts the same. Tokens spent inside child runs (workflow or pattern
 * members, humans' fallbacks, agents called as tools) are not counted.
 *
 * @example
 * ```ts
 * const chat = groupChat({ name: 'debate', members: [pro, con], terminate: tokenBudget(20_000) });
 * ```
 */
export function tokenBudget(tokens: number): TerminationCondition {
  const budget = positiveInteger('tokenBudget()', tokens);
  return condition(`tokenBudget(${budget})`, [], (state) =>
    state.usage.totalTokens >= budget
      ? `token budget (${state.usage.totalTokens} of ${budget} tokens)`
      : undefined,
  );
}

/**
 * Stops once `ms` milliseconds have passed since the chat started. Checked between rounds
 * (a round in progress is not interrupted), with time read through `ctx.now()` so replays agree.
 *
 * @example
 * ```ts
 * const chat = groupChat({ name: 'standup', members: [a, b], terminate: timeLimit(60_000) });
 * ```
 */
export function timeLimit(ms: number): TerminationCondition {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0)
    throw new ConfigError(`timeLimit(): expected a positive number of milliseconds, got ${String(ms)}.`);
  return condition(
    `timeLimit(${ms} ms)`,
    [],
    (state) => (state.elapsedMs >= ms ? `timeout (${state.elapsedMs} ms of ${ms} ms)` : undefined),
    true,
  );
}

/**
 * Stops when `test` says so: `true` stops with `description` as the reason, a non-empty string
 * stops with that string as the reason, anything else continues. `test` must be pure: it runs
 * again on every replay.
 *
 * @example
 * ```ts
 * const enough = terminateWhen((state) => state.messages.length > 6 && 'six replies');
 * ```
 */
export function terminateWhen(
  test: (state: ChatState) => boolean | string | undefined,
  description = 'custom condition',
): TerminationCondition {
  if (typeof test !== 'function')
    throw new ConfigError('terminateWhen(): expected a function (state) => boolean | string.');
  // `test` may read any field of the state, the elapsed time included.
  return condition(
    description,
    [],
    (state) => {
      const verdict = test(state);
      if (verdict === true) return description;
      if (typeof verdict === 'string' && verdict !== '') return verdict;
      return undefined;
    },
    true,
  );
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Stops when the latest message of `member` contains `keyword` (default `APPROVED`) as a whole
 * word. Case-sensitive; `NOT APPROVED` does not count. Because it reads the member's latest
 * message (not only this round's), `allOf(approvedBy('legal'), approvedBy('finance'))` stops once
 * both have approved in their most recent message.
 *
 * @example
 * ```ts
 * const chat = groupChat({ name: 'review', members: [writer, reviewer], terminate: approvedBy('reviewer') });
 * ```
 */
export function approvedBy(member: string, options: { keyword?: string } = {}): TerminationCondition {
  nonEmpty('approvedBy()', 'member', member);
  const keyword = nonEmpty('approvedBy()', 'keyword', options.keyword ?? 'APPROVED');
  const pattern = new RegExp(`(?<![\\w-])(?<!\\bNOT\\s+)${escapeRegExp(keyword)}(?![\\w-])`);
  return condition(`approvedBy(${member}, ${JSON.stringify(keyword)})`, [member], (state) => {
    const latest = state.messages.findLast((message) => message.speaker === member);
    if (latest === undefined) return undefined;
    return pattern.test(latest.text) ? `approved by ${member}` : undefined;
  });
}

/**
 * Stops when any of the conditions holds; the reason is the first one's that holds.
 *
 * @example
 * ```ts
 * const stop = anyOf(textMention('DONE'), tokenBudget(50_000), timeLimit(120_000));
 * ```
 */
export function anyOf(...conditions: TerminationCondition[]): TerminationCondition {
  const checked = checkConditions('anyOf()', conditions);
  return condition(
    checked.length === 1
      ? checked[0]!.description
      : `(${checked.map((entry) => entry.description).join(' or ')})`,
    checked.flatMap((entry) => entry.members),
    (state) => {
      for (const entry of checked) {
        const reason = entry.check(state);
        if (reason !== undefined) return reason;
      }
      return undefined;
    },
    anyUsesElapsedTime(checked),
  );
}

/**
 * Stops when all of the conditions hold after the same round; the reasons are joined with `and`.
 *
 * @example
 * ```ts
 * const stop = allOf(approvedBy('legal'), approvedBy('finance'));
 * ```
 */
export function allOf(...conditions: TerminationCondition[]): TerminationCondition {
  const checked = checkConditions('allOf()', conditions);
  return condition(
    checked.length === 1
      ? checked[0]!.description
      : `(${checked.map((entry) => entry.description).join(' and ')})`,
    checked.flatMap((entry) => entry.members),
    (state) => {
      const reasons: string[] = [];
      for (const entry of checked) {
        const reason = entry.check(state);
        if (reason === undefined) return undefined;
        reasons.push(reason);
      }
      return reasons.join(' and ');
    },
    anyUsesElapsedTime(checked),
  );
}

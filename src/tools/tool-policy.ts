/** What a tool declares for governance: the capabilities it needs and when a call needs a person's approval. */

import { durationUnits, parseDuration } from '../core/duration.js';
import { ConfigError } from '../core/errors.js';

/**
 * What a tool may do to the world. A tool declares the capabilities it needs
 * (`tool({ capabilities: ['write'] })`); an agent lists those it is granted.
 *
 * @example
 * ```ts
 * const needs: Capability[] = ['read', 'network'];
 * ```
 */
export type Capability = 'read' | 'write' | 'network' | 'spend';

/**
 * Every capability Baton knows, in a stable order.
 *
 * @example
 * ```ts
 * capabilityNames.includes('spend'); // true
 * ```
 */
export const capabilityNames: readonly Capability[] = Object.freeze(['read', 'write', 'network', 'spend']);

/**
 * Checks a tool's `capabilities` option when it is defined and returns a frozen copy.
 * Throws a `ConfigError` naming the option and the valid values.
 *
 * @example
 * ```ts
 * checkCapabilities('tool("refund")', 'capabilities', ['write', 'spend']); // ['write', 'spend']
 * ```
 */
export function checkCapabilities(
  where: string,
  option: string,
  value: unknown,
): readonly Capability[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value))
    throw new ConfigError(
      `${where}: ${option} must be an array of capabilities (${capabilityNames.join(', ')}), got ${typeof value}.`,
    );
  for (const [index, item] of value.entries()) {
    if (!capabilityNames.includes(item as Capability))
      throw new ConfigError(
        `${where}: ${option}[${index}] is ${JSON.stringify(item)}; use one of ${capabilityNames.join(', ')}.`,
      );
  }
  return Object.freeze([...new Set(value as Capability[])]);
}

/**
 * What an approval predicate receives besides the call's validated input.
 *
 * @example
 * ```ts
 * const rule: ApprovalRule = (input, context) => context.agent !== 'trusted' || input.amount > 1000;
 * ```
 */
export interface ApprovalContext {
  readonly runId: string;
  readonly agent: string;
  readonly tool: string;
  readonly toolCallId: string;
}

/**
 * A predicate on a call's validated input that says whether it needs approval. It runs on
 * every execution and replay, so it must be pure (no clock, no I/O); if it throws, the call
 * needs approval.
 *
 * @example
 * ```ts
 * const overLimit: ApprovalPredicate<{ amount: number }> = (input) => input.amount > 100;
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: rules on agents apply to tools of any input type.
export type ApprovalPredicate<INPUT = any> = (input: INPUT, context: ApprovalContext) => boolean;

/**
 * How long an approval may wait: milliseconds, or a number with a unit (`ms`, `s`, `m`, `h`, `d`).
 *
 * @example
 * ```ts
 * const timeout: ApprovalDuration = '30m'; // or 1_800_000
 * ```
 */
export type ApprovalDuration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/**
 * Hands an unanswered approval to a second approver: a new request naming `escalateTo` waits
 * on the same signal, for `timeout` if set (else without limit), then the call is rejected.
 *
 * @example
 * ```ts
 * const escalation: ApprovalEscalation = { escalateTo: 'oncall-lead', timeout: '1h' };
 * ```
 */
export interface ApprovalEscalation {
  /** Who the re-issued request is for (a name shown in `baton inbox`, the journal and events). */
  escalateTo: string;
  /** How long the escalated request waits before the call is rejected; no limit when unset. */
  timeout?: ApprovalDuration;
}

/**
 * What happens when nobody answers an approval within its `timeout`: `'reject'` (the default)
 * returns `rejected: no decision within <timeout>` to the model, `'approve'` runs the tool, and
 * `{ escalateTo }` re-issues the request to a second approver.
 *
 * @example
 * ```ts
 * const onTimeout: ApprovalTimeoutAction = { escalateTo: 'oncall-lead', timeout: '1h' };
 * ```
 */
export type ApprovalTimeoutAction = 'reject' | 'approve' | ApprovalEscalation;

/**
 * The object form of an approval rule: when a call needs approval, and how long it may wait
 * for a decision before `onTimeout` decides instead. The deadline is a durable timer: it holds
 * across restarts, and a run resumed after it takes the timeout path.
 *
 * @example
 * ```ts
 * const rule: ApprovalPolicy<{ amount: number }> = {
 *   when: (input) => input.amount > 100,
 *   timeout: '30m',
 *   onTimeout: { escalateTo: 'oncall-lead', timeout: '1h' },
 * };
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: rules on agents apply to tools of any input type.
export interface ApprovalPolicy<INPUT = any> {
  /** When the call needs approval: `'always'` (the default), `'never'`, or a predicate on the input. */
  when?: 'always' | 'never' | ApprovalPredicate<INPUT>;
  /** How long to wait for a decision; without it the wait has no limit. */
  timeout?: ApprovalDuration;
  /** What decides when the timeout passes; `'reject'` by default. Needs `timeout`. */
  onTimeout?: ApprovalTimeoutAction;
}

/**
 * When a tool call needs a person's approval before it runs: `'always'`, `'never'`, a
 * predicate on the validated input (see `ApprovalPredicate`), or an `ApprovalPolicy` object
 * that adds a deadline and what happens when it passes (reject, approve, or escalate).
 *
 * @example
 * ```ts
 * const rule: ApprovalRule<{ amount: number }> = (input) => input.amount > 100;
 * const withDeadline: ApprovalRule = { timeout: '15m', onTimeout: 'reject' };
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: rules on agents apply to tools of any input type.
export type ApprovalRule<INPUT = any> = 'always' | 'never' | ApprovalPredicate<INPUT> | ApprovalPolicy<INPUT>;

/**
 * Checks an approval rule when it is defined (`tool({ approval })`, `agent({ approvals })`).
 * An `ApprovalPolicy` comes back frozen, with its durations in milliseconds and `onTimeout`
 * set (`'reject'`) when it has a timeout. Throws a `ConfigError` naming `where` and the option.
 *
 * @example
 * ```ts
 * checkApprovalRule('tool("refund")', 'approval', 'always'); // 'always'
 * checkApprovalRule('tool("refund")', 'approval', { timeout: '30m' }); // { when: 'always', timeout: 1800000, onTimeout: 'reject' }
 * ```
 */
export function checkApprovalRule(where: string, option: string, value: unknown): ApprovalRule | undefined {
  if (value === undefined || value === 'always' || value === 'never' || typeof value === 'function')
    return value as ApprovalRule | undefined;
  if (typeof value === 'object' && value !== null && !Array.isArray(value))
    return checkApprovalPolicy(where, option, value as Record<string, unknown>);
  throw new ConfigError(
    `${where}: ${option} must be 'always', 'never' or a function (input, context) => boolean, or an object { when?, timeout?, onTimeout? }, got ${JSON.stringify(value) ?? typeof value}.`,
  );
}

const policyKeys = ['when', 'timeout', 'onTimeout'];
const escalationKeys = ['escalateTo', 'timeout'];

function checkApprovalPolicy(where: string, option: string, value: Record<string, unknown>): ApprovalPolicy {
  checkKeys(where, option, value, policyKeys);
  const { when = 'always', timeout, onTimeout } = value;
  if (when !== 'always' && when !== 'never' && typeof when !== 'function')
    throw new ConfigError(
      `${where}: ${option}.when must be 'always', 'never' or a function (input, context) => boolean, got ${describe(when)}.`,
    );
  const policy: ApprovalPolicy = { when: when as NonNullable<ApprovalPolicy['when']> };
  if (timeout === undefined) {
    if (onTimeout !== undefined)
      throw new ConfigError(
        `${where}: ${option}.onTimeout needs ${option}.timeout (how long to wait before it applies), e.g. { timeout: '30m', onTimeout: 'reject' }.`,
      );
    return Object.freeze(policy);
  }
  policy.timeout = checkDuration(where, `${option}.timeout`, timeout);
  if (onTimeout === undefined || onTimeout === 'reject' || onTimeout === 'approve')
    policy.onTimeout = onTimeout ?? 'reject';
  else if (typeof onTimeout === 'object' && onTimeout !== null && !Array.isArray(onTimeout))
    policy.onTimeout = checkEscalation(where, `${option}.onTimeout`, onTimeout as Record<string, unknown>);
  else
    throw new ConfigError(
      `${where}: ${option}.onTimeout must be 'reject', 'approve' or { escalateTo: string, timeout? }, got ${describe(onTimeout)}.`,
    );
  return Object.freeze(policy);
}

function checkEscalation(where: string, option: string, value: Record<string, unknown>): ApprovalEscalation {
  checkKeys(where, option, value, escalationKeys);
  const { escalateTo, timeout } = value;
  if (typeof escalateTo !== 'string' || escalateTo.trim() === '')
    throw new ConfigError(
      `${where}: ${option}.escalateTo must name who the request goes to next (e.g. 'oncall-lead'), got ${describe(escalateTo)}.`,
    );
  const escalation: ApprovalEscalation = { escalateTo };
  if (timeout !== undefined) escalation.timeout = checkDuration(where, `${option}.timeout`, timeout);
  return Object.freeze(escalation);
}

function checkKeys(
  where: string,
  option: string,
  value: Record<string, unknown>,
  known: readonly string[],
): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      throw new ConfigError(`${where}: ${option} has an unknown option "${key}"; use ${known.join(', ')}.`);
  }
}

/** The longest timeout: timers are `setTimeout`s, which cannot wait longer than 2^31 - 1 ms (about 24.8 days). */
const maxTimeoutMs = 2_147_483_647;

/** Milliseconds of a positive duration (a whole number of ms, or a number with a unit), or a `ConfigError`. */
function checkDuration(where: string, option: string, value: unknown): number {
  const milliseconds =
    typeof value === 'number' || typeof value === 'string' ? parseDuration(value) : undefined;
  if (milliseconds === undefined)
    throw new ConfigError(
      `${where}: ${option} must be a positive whole number of milliseconds or a duration such as '30s', '15m', '2h' or '1d', got ${describe(value)}.`,
    );
  if (milliseconds > maxTimeoutMs)
    throw new ConfigError(
      `${where}: ${option} is ${describe(value)}; the longest timeout is ${maxTimeoutMs} ms (about 24 days). Leave it out to wait without limit.`,
    );
  return milliseconds;
}

/**
 * A duration in the largest unit that divides it (`1800000` -> `'30m'`), for messages such as
 * `rejected: no decision within 30m`.
 *
 * @example
 * ```ts
 * formatApprovalDuration(90_000); // '90s'
 * ```
 */
export function formatApprovalDuration(milliseconds: number): string {
  for (const unit of ['d', 'h', 'm', 's'])
    if (milliseconds % (durationUnits[unit] as number) === 0)
      return `${milliseconds / (durationUnits[unit] as number)}${unit}`;
  return `${milliseconds}ms`;
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  return JSON.stringify(value) ?? typeof value;
}

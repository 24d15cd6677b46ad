/** What a tool declares for governance: the capabilities it needs and when a call needs a person's approval. */

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
 * When a tool call needs a person's approval before it runs: `'always'`, `'never'`, or a
 * predicate on the validated input. The predicate runs on every execution and replay, so it
 * must be pure (no clock, no I/O); if it throws, the call needs approval.
 *
 * @example
 * ```ts
 * const rule: ApprovalRule<{ amount: number }> = (input) => input.amount > 100;
 * ```
 */
// biome-ignore lint/suspicious/noExplicitAny: rules on agents apply to tools of any input type.
export type ApprovalRule<INPUT = any> =
  | 'always'
  | 'never'
  | ((input: INPUT, context: ApprovalContext) => boolean);

/**
 * Checks an approval rule when it is defined (`tool({ approval })`, `agent({ approvals })`).
 *
 * @example
 * ```ts
 * checkApprovalRule('tool("refund")', 'approval', 'always'); // 'always'
 * ```
 */
export function checkApprovalRule(where: string, option: string, value: unknown): ApprovalRule | undefined {
  if (value === undefined || value === 'always' || value === 'never' || typeof value === 'function')
    return value as ApprovalRule | undefined;
  throw new ConfigError(
    `${where}: ${option} must be 'always', 'never' or a function (input, context) => boolean, got ${JSON.stringify(value) ?? typeof value}.`,
  );
}

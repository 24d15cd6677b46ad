/** concurrent(): fan the same input out to several units, then fan in through an aggregator. */

import { BatonError, ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import { announceStart } from './shared.js';

/** One unit's outcome, as aggregators see it. */
export interface UnitResult {
  unit: string;
  ok: boolean;
  output?: unknown;
  error?: string;
}

/** How results are combined: `'collect'` (an object keyed by unit), a function, or an agent/workflow that synthesizes them. */
export type Aggregator<OUTPUT> =
  | 'collect'
  | ((results: readonly UnitResult[], ctx: RunContext) => OUTPUT | Promise<OUTPUT>)
  | Runnable<string, OUTPUT>;

/** Options of `concurrent()`. */
export interface ConcurrentOptions<OUTPUT> {
  name: string;
  version?: string;
  units: readonly AnyRunnable[];
  aggregate?: Aggregator<OUTPUT>;
  /** `'all'` (default): any failure fails the run; `'best-effort'`: keep going with what succeeded; a number K: at least K must succeed. */
  require?: 'all' | 'best-effort' | number;
}

/**
 * Fan-out/fan-in. Units run in parallel branches (each its own journal scope).
 *
 * @example
 * ```ts
 * const analysis = concurrent({ name: 'stock', units: [fundamental, technical, sentiment], aggregate: synthesizer });
 * ```
 */
export function concurrent<INPUT = unknown, OUTPUT = unknown>(
  options: ConcurrentOptions<OUTPUT>,
): Runnable<INPUT, OUTPUT> {
  assertName('pattern', options?.name);
  const where = `concurrent("${options.name}")`;
  if (!Array.isArray(options.units) || options.units.length === 0)
    throw new ConfigError(`${where}: units must be a non-empty array.`);
  const names = options.units.map((unit, index) => {
    if (typeof unit?.execute !== 'function')
      throw new ConfigError(`${where}: units[${index}] is not an agent, workflow or pattern.`);
    return unit.name;
  });
  const required = options.require ?? 'all';
  if (
    typeof required === 'number' &&
    !(Number.isInteger(required) && required >= 1 && required <= names.length)
  ) {
    throw new ConfigError(
      `${where}: require must be 'all', 'best-effort' or an integer from 1 to ${names.length}.`,
    );
  }
  const aggregate = options.aggregate ?? 'collect';
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: INPUT): Promise<OUTPUT> {
      announceStart(ctx, 'concurrent', options.name, names);
      const settled = await ctx.parallelSettled(
        options.units.map(
          (unit) => (branch: RunContext) => branch.run(unit as Runnable<unknown, unknown>, input),
        ),
      );
      const results: UnitResult[] = settled.map((outcome, index) =>
        outcome.status === 'fulfilled'
          ? { unit: names[index]!, ok: true, output: outcome.value }
          : {
              unit: names[index]!,
              ok: false,
              error: outcome.reason instanceof Error ? outcome.reason.message : String(outcome.reason),
            },
      );
      const succeeded = results.filter((result) => result.ok).length;
      const needed = required === 'all' ? results.length : required === 'best-effort' ? 1 : required;
      if (succeeded < needed) {
        const failures = results
          .filter((result) => !result.ok)
          .map((result) => `${result.unit}: ${result.error}`);
        throw new BatonError(
          `${where}: ${succeeded} of ${results.length} units succeeded, ${needed} required. ${failures.join('; ')}`,
          {
            code: 'UNITS_FAILED',
            fault: 'system',
            runId: ctx.runId,
          },
        );
      }
      if (aggregate === 'collect') {
        return Object.fromEntries(
          results.filter((result) => result.ok).map((result) => [result.unit, result.output]),
        ) as OUTPUT;
      }
      if (typeof aggregate === 'function') return aggregate(results, ctx);
      const report = results
        .map(
          (result) =>
            `## ${result.unit}\n${result.ok ? (typeof result.output === 'string' ? result.output : JSON.stringify(result.output)) : `(failed: ${result.error})`}`,
        )
        .join('\n\n');
      return ctx.run(
        aggregate,
        `Input:\n${typeof input === 'string' ? input : JSON.stringify(input)}\n\nResults:\n\n${report}`,
      );
    },
  };
}

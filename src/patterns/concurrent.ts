/** concurrent(): fan the same input out to several units, then fan in through an aggregator or a vote, with a consistency score. */

import { BatonError, ConfigError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import { isBudgetStop } from '../governance/budget.js';
import type { AggregateInfo, ConsistencyMeasure, VoteResult } from './consistency.js';
import { announceEnd, announceStart, checkRunnable, recordDecision, textOf } from './shared.js';

// Voting and consistency scoring live in consistency.ts; their types are still exported from here.
export type { AggregateInfo, ConsistencyMeasure, VoteResult, VoteTally } from './consistency.js';

/** One unit's outcome, as aggregators see it. */
export interface UnitResult {
  unit: string;
  ok: boolean;
  output?: unknown;
  error?: string;
}

/** A weighted vote: units not listed weigh 1. */
export interface WeightedVote {
  weighted: Readonly<Record<string, number>>;
}

/**
 * How results are combined: `'collect'` (an object keyed by unit), `'vote'` (majority of
 * normalized outputs), `{ weighted }` (weighted vote), a function, or an agent/workflow that
 * synthesizes them.
 */
export type Aggregator<OUTPUT> =
  | 'collect'
  | 'vote'
  | WeightedVote
  | ((results: readonly UnitResult[], ctx: RunContext, info: AggregateInfo) => OUTPUT | Promise<OUTPUT>)
  | Runnable<string, OUTPUT>;

/** What a workflow given as `onLowConsistency` receives (agents and patterns get it as text). */
export interface LowConsistencyReport extends AggregateInfo {
  /** The input the units got. */
  input: unknown;
  results: UnitResult[];
  minConsistency: number;
}

/** Options of `concurrent()`. */
export interface ConcurrentOptions<OUTPUT, LOW = never> {
  name: string;
  version?: string;
  units: readonly AnyRunnable[];
  aggregate?: Aggregator<OUTPUT>;
  /** `'all'` (default): any failure fails the run; `'best-effort'`: keep going with what succeeded; a number K: at least K must succeed. */
  require?: 'all' | 'best-effort' | number;
  /** Which consistency score counts: `agreement` by default for votes, `similarity` otherwise. */
  consistencyMeasure?: ConsistencyMeasure;
  /**
   * A bar in [0, 1] for the consistency score. Below it, `onLowConsistency` runs instead of the
   * aggregator; without `onLowConsistency` the run fails with `LOW_CONSISTENCY`.
   */
  minConsistency?: number;
  /**
   * Runs (as a child run) when consistency is below `minConsistency`, and its output becomes the
   * pattern's. A workflow receives a `LowConsistencyReport`; an agent or pattern receives the
   * same as text.
   */
  onLowConsistency?: Runnable<string, LOW> | Runnable<LowConsistencyReport, LOW>;
  /**
   * Dispatch each unit as a run of its own, for any worker to execute (on a runtime with a
   * dispatcher; elsewhere units run inline). A worker that dies costs only its unfinished units.
   * Default false.
   */
  distribute?: boolean;
}

/** Voting and consistency scoring (consistency.ts), loaded by the first run that fans in, not with the package. */
let consistencyModule: Promise<typeof import('./consistency.js')> | undefined;
const loadConsistency = () => {
  consistencyModule ??= import('./consistency.js');
  return consistencyModule;
};

const concurrentOptionNames = optionNames<ConcurrentOptions<unknown, unknown>>(
  {
    name: true,
    version: true,
    units: true,
    aggregate: true,
    require: true,
    consistencyMeasure: true,
    minConsistency: true,
    onLowConsistency: true,
    distribute: true,
  },
  { agents: 'units', stages: 'units' },
);

/**
 * Fan-out/fan-in. Units run in parallel branches (each its own journal scope) on the same
 * input; the successful outputs are scored for consistency and combined by the aggregator.
 *
 * @example
 * ```ts
 * const analysis = concurrent({ name: 'stock', units: [fundamental, technical, sentiment], aggregate: synthesizer });
 * const jury = concurrent({
 *   name: 'jury', units: [judgeA, judgeB, judgeC], aggregate: { weighted: { judgeA: 2 } },
 *   minConsistency: 0.6, onLowConsistency: seniorJudge,
 * });
 * ```
 */
export function concurrent<INPUT = unknown, VALUE = unknown, LOW = never>(
  options: ConcurrentOptions<VoteResult<VALUE>, LOW> & { aggregate: 'vote' | WeightedVote },
): Runnable<INPUT, VoteResult<VALUE> | LOW>;
export function concurrent<INPUT = unknown, OUTPUT = unknown, LOW = never>(
  options: ConcurrentOptions<OUTPUT, LOW>,
): Runnable<INPUT, OUTPUT | LOW>;
export function concurrent<INPUT, OUTPUT, LOW>(
  options: ConcurrentOptions<OUTPUT, LOW>,
): Runnable<INPUT, OUTPUT | LOW> {
  assertName('pattern', options?.name);
  checkOptionNames(`concurrent("${options.name}")`, options, concurrentOptionNames);
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
  if (options.distribute !== undefined && typeof options.distribute !== 'boolean')
    throw new ConfigError(
      `${where}: distribute must be true or false, got ${JSON.stringify(options.distribute)}.`,
    );
  const aggregate = options.aggregate ?? 'collect';
  const weights = checkAggregate(where, aggregate, names);
  const voting = aggregate === 'vote' || weights !== undefined;
  const measure = options.consistencyMeasure ?? (voting ? 'agreement' : 'similarity');
  if (measure !== 'agreement' && measure !== 'similarity')
    throw new ConfigError(`${where}: consistencyMeasure must be 'agreement' or 'similarity'.`);
  const { minConsistency, onLowConsistency } = options;
  if (
    minConsistency !== undefined &&
    !(typeof minConsistency === 'number' && minConsistency >= 0 && minConsistency <= 1)
  )
    throw new ConfigError(
      `${where}: minConsistency must be a number from 0 to 1, got ${String(minConsistency)}.`,
    );
  if (onLowConsistency !== undefined) {
    checkRunnable(where, 'onLowConsistency', onLowConsistency);
    if (minConsistency === undefined)
      throw new ConfigError(`${where}: onLowConsistency needs minConsistency (the bar below which it runs).`);
  }
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    ...(options.distribute === true ? { distributedChildren: options.units } : {}),
    async execute(ctx: RunContext, input: INPUT): Promise<OUTPUT | LOW> {
      announceStart(ctx, 'concurrent', options.name, names);
      const distribute = options.distribute === true ? { distribute: true } : undefined;
      const settled = await ctx.parallelSettled(
        options.units.map(
          (unit) => (branch: RunContext) => branch.run(unit as Runnable<unknown, unknown>, input, distribute),
        ),
      );
      // A unit stopped by a budget stops the run (the first in unit order, so a replay picks the same).
      const stopped = settled.find(
        (outcome) => outcome.status === 'rejected' && isBudgetStop(outcome.reason),
      ) as PromiseRejectedResult | undefined;
      if (stopped !== undefined) {
        announceEnd(ctx, 'concurrent', options.name, 'budget exceeded');
        throw stopped.reason;
      }
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
        announceEnd(ctx, 'concurrent', options.name, 'units failed');
        throw new BatonError(
          `${where}: ${succeeded} of ${results.length} units succeeded, ${needed} required. ${failures.join('; ')}`,
          {
            code: 'UNITS_FAILED',
            fault: 'system',
            runId: ctx.runId,
          },
        );
      }
      // Lazy: 'collect' and agent aggregators without minConsistency never compute the score.
      const { consistencyOf } = await loadConsistency();
      const info = consistencyOf(results, weights, measure);
      const low = minConsistency !== undefined && info.consistency < minConsistency;
      if (voting || minConsistency !== undefined) {
        const score = `consistency ${round(info.consistency)} by ${measure}`;
        const winner = info.vote.votes[0]!;
        const reasons = [
          `${JSON.stringify(winner.key)} got ${round(winner.weight)} of ${round(total(info.vote))} votes (${winner.units.join(', ')})`,
          minConsistency === undefined
            ? score
            : `${score} is ${low ? 'below' : 'at or above'} minConsistency ${minConsistency}`,
        ];
        if (low)
          reasons.push(
            onLowConsistency === undefined
              ? 'failing: no onLowConsistency'
              : `rerouted to ${onLowConsistency.name}`,
          );
        await recordDecision(ctx, {
          pattern: 'concurrent',
          name: options.name,
          decision: low ? 'low-consistency' : voting ? 'vote' : 'consistent',
          reasons,
          data: { ...info.vote, consistency: info.consistency, measure },
        });
      }
      if (low) {
        const report: LowConsistencyReport = { input, results, minConsistency, ...info };
        if (onLowConsistency === undefined) {
          announceEnd(ctx, 'concurrent', options.name, 'low consistency');
          throw new BatonError(
            `${where}: the units disagree: consistency ${round(info.consistency)} (${measure}) is below minConsistency ${minConsistency}. Set onLowConsistency to handle disagreement instead of failing.`,
            { code: 'LOW_CONSISTENCY', fault: 'model', runId: ctx.runId },
          );
        }
        const output = await ctx.run(
          onLowConsistency as Runnable<unknown, LOW>,
          onLowConsistency.kind === 'workflow' ? report : lowConsistencyText(report),
        );
        announceEnd(ctx, 'concurrent', options.name, `low consistency: ${onLowConsistency.name}`);
        return output;
      }
      let output: OUTPUT;
      try {
        output = await combine(ctx, aggregate, results, info, input);
      } catch (error) {
        if (!isInterruption(error, ctx)) announceEnd(ctx, 'concurrent', options.name, 'aggregation failed');
        throw error;
      }
      announceEnd(ctx, 'concurrent', options.name, voting ? 'voted' : 'aggregated');
      return output;
    },
  };
}

async function combine<OUTPUT>(
  ctx: RunContext,
  aggregate: Aggregator<OUTPUT>,
  results: UnitResult[],
  info: AggregateInfo,
  input: unknown,
): Promise<OUTPUT> {
  if (aggregate === 'collect') {
    return Object.fromEntries(
      results.filter((result) => result.ok).map((result) => [result.unit, result.output]),
    ) as OUTPUT;
  }
  if (aggregate === 'vote' || 'weighted' in aggregate) return info.vote as OUTPUT;
  if (typeof aggregate === 'function') return aggregate(results, ctx, info);
  return ctx.run(aggregate, `Input:\n${textOf(input)}\n\nResults:\n\n${resultsText(results)}`);
}

/** Checks the aggregator; returns the weights of a weighted vote. */
function checkAggregate(
  where: string,
  aggregate: Aggregator<unknown>,
  names: readonly string[],
): Readonly<Record<string, number>> | undefined {
  if (aggregate === 'collect' || aggregate === 'vote' || typeof aggregate === 'function') return undefined;
  if (typeof aggregate === 'object' && aggregate !== null && 'weighted' in aggregate) {
    const weights = aggregate.weighted;
    if (typeof weights !== 'object' || weights === null)
      throw new ConfigError(`${where}: aggregate.weighted must be an object of unit name to weight.`);
    for (const [unit, weight] of Object.entries(weights)) {
      if (!names.includes(unit))
        throw new ConfigError(
          `${where}: aggregate.weighted names unit "${unit}", which is not one of the units (${names.join(', ')}).`,
        );
      if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0)
        throw new ConfigError(
          `${where}: aggregate.weighted["${unit}"] must be a positive number, got ${String(weight)}.`,
        );
    }
    return weights;
  }
  if (typeof (aggregate as AnyRunnable | undefined)?.execute === 'function') return undefined;
  throw new ConfigError(
    `${where}: aggregate must be 'collect', 'vote', { weighted }, a function, or an agent, workflow or pattern.`,
  );
}

/** One section per unit, for agents and patterns that read the results as text. */
function resultsText(results: readonly UnitResult[]): string {
  return results
    .map(
      (result) =>
        `## ${result.unit}\n${result.ok ? (typeof result.output === 'string' ? result.output : JSON.stringify(result.output)) : `(failed: ${result.error})`}`,
    )
    .join('\n\n');
}

function lowConsistencyText(report: LowConsistencyReport): string {
  return (
    `Input:\n${textOf(report.input)}\n\n` +
    `The results disagree: consistency ${round(report.consistency)} (${report.measure}) is below ${report.minConsistency}.\n\n` +
    `Results:\n\n${resultsText(report.results)}`
  );
}

function total(vote: VoteResult): number {
  return vote.votes.reduce((accumulated, tally) => accumulated + tally.weight, 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

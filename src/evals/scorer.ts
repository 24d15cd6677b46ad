/** The scorer contract of evals: what a scorer sees of one finished case run, and the score it gives. */

import { ConfigError, type SerializedError } from '../core/errors.js';
import type { JournalEntry, RunStatus, Usage } from '../core/store.js';

/**
 * What a scorer gives one case: `score` from 0 (worst) to 1 (best), whether the case passes on
 * this scorer, and why (shown in `baton eval`'s table and stored with the eval).
 */
export interface Score {
  score: number;
  pass: boolean;
  reason: string;
  /** What scoring itself cost (a model judge's call), added to the eval's totals, not the case's. */
  usage?: Usage;
  costUsd?: number;
}

/** A tool call the case's run made, as the model asked for it (in the order asked). */
export interface ToolCallSeen {
  name: string;
  /** The arguments as JSON gave them back (the raw text when they were not JSON). */
  args: unknown;
  /** The agent whose model asked for the call. */
  agent?: string;
}

/** One case of a dataset. Fields besides `id` and `input` choose built-in scorers (see `scorersForCase`). */
export interface EvalCase<INPUT = unknown, EXPECTED = unknown> {
  /** Unique in its dataset; results of two evals are compared case by case on it. */
  id: string;
  input: INPUT;
  /** The expected output: scored by `exactMatch()` (strings after trimming). */
  expected?: EXPECTED;
  /** Text the output must contain (every one of them): scored by `contains()`. */
  contains?: string | readonly string[];
  /** The tool calls the run must make, in this order: scored by `toolCalls()`. */
  toolCalls?: readonly ExpectedToolCall[];
  /** A JSON Schema the output (or the JSON in its text) must satisfy: scored by `matchesSchema()`. */
  schema?: Readonly<Record<string, unknown>>;
  /** What a good answer does: scored by `judge()` with the eval's judge model. */
  rubric?: string;
  /** Limits on the case's run: scored by `maxCost()`, `maxLatency()` and `maxTokens()`. */
  maxCostUsd?: number;
  maxLatencyMs?: number;
  maxTokens?: number;
  /** The `evolving` task type this case stands for, when its scores feed a policy. Default `'default'`. */
  taskType?: string;
  /** Anything else, kept with the case and shown to function scorers. */
  metadata?: Readonly<Record<string, unknown>>;
}

/** A tool call a case expects. `args`, when given, must be contained in the call's arguments. */
export interface ExpectedToolCall {
  name: string;
  args?: unknown;
}

/** What a scorer is given: the case and its finished run. */
export interface EvalSubject<OUTPUT = unknown, EXPECTED = unknown> {
  readonly case: EvalCase<unknown, EXPECTED>;
  readonly input: unknown;
  /** The run's output (undefined when it failed or has not completed). */
  readonly output: OUTPUT | undefined;
  readonly expected: EXPECTED | undefined;
  readonly runId: string;
  readonly status: RunStatus;
  readonly error: SerializedError | undefined;
  readonly toolCalls: readonly ToolCallSeen[];
  readonly usage: Usage;
  readonly costUsd: number;
  /** From the run's creation to its end (or to now, for a run that has not ended). */
  readonly durationMs: number;
  /** The run's whole journal, for scorers that look at single steps. */
  readonly journal: readonly JournalEntry[];
}

/** What a scorer may use besides the subject. */
export interface ScoreContext {
  readonly signal?: AbortSignal;
}

/** A named scorer; build one with `scorer()` or a built-in (`exactMatch()`, `judge()`, …). */
export interface Scorer<OUTPUT = unknown, EXPECTED = unknown> {
  readonly kind: 'scorer';
  readonly name: string;
  score(subject: EvalSubject<OUTPUT, EXPECTED>, context: ScoreContext): Score | Promise<Score>;
}

/** Options of `scorer()`. */
export interface ScorerOptions<OUTPUT, EXPECTED> {
  name: string;
  /**
   * Rates one case. Return a `Score`, a number from 0 to 1 (it passes at `passAt` or above), or a
   * boolean (1 and a pass, or 0 and a fail).
   */
  score: (
    subject: EvalSubject<OUTPUT, EXPECTED>,
    context: ScoreContext,
  ) => Score | number | boolean | Promise<Score | number | boolean>;
  /** The score from which a number passes. Default 1 (only a full score passes). */
  passAt?: number;
}

const scorerNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;

/** Checks a scorer name: letters, digits and `_ . : -`, so it is a stable column in the results. */
export function checkScorerName(name: unknown, where: string): string {
  if (typeof name !== 'string' || !scorerNamePattern.test(name))
    throw new ConfigError(
      `${where}: a scorer name is letters, digits and _ . : - (starting with a letter or digit); got ${JSON.stringify(name)}.`,
      { code: 'INVALID_OPTION' },
    );
  return name;
}

/** Checks that a number is a finite score from 0 to 1. */
export function checkUnitInterval(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1)
    throw new ConfigError(`${where}: must be a number from 0 to 1; got ${String(value)}.`, {
      code: 'INVALID_OPTION',
    });
  return value;
}

/**
 * A scorer from a function.
 *
 * @example
 * ```ts
 * const polite = scorer({
 *   name: 'polite',
 *   score: ({ output }) => /please|thank/i.test(String(output)),
 * });
 * ```
 */
export function scorer<OUTPUT = unknown, EXPECTED = unknown>(
  options: ScorerOptions<OUTPUT, EXPECTED>,
): Scorer<OUTPUT, EXPECTED> {
  const name = checkScorerName(options?.name, 'scorer()');
  if (typeof options.score !== 'function')
    throw new ConfigError(`scorer("${name}"): score must be a function.`, { code: 'INVALID_OPTION' });
  const passAt = checkUnitInterval(options.passAt ?? 1, `scorer("${name}"): passAt`);
  return {
    kind: 'scorer',
    name,
    async score(subject, context) {
      return asScore(await options.score(subject, context), passAt, `scorer "${name}"`);
    },
  };
}

/** A function scorer's answer as a `Score`; anything else is a clear error naming the scorer. */
export function asScore(value: unknown, passAt: number, who: string): Score {
  if (typeof value === 'boolean') return { score: value ? 1 : 0, pass: value, reason: value ? 'yes' : 'no' };
  if (typeof value === 'number') {
    const score = checkUnitInterval(value, `${who} returned a score that`);
    return { score, pass: score >= passAt, reason: `score ${round(score)}` };
  }
  if (typeof value === 'object' && value !== null) {
    const { score, pass, reason } = value as Partial<Score>;
    checkUnitInterval(score, `${who} returned { score } that`);
    if (typeof pass !== 'boolean')
      throw new ConfigError(`${who} returned { pass } that is not a boolean: ${String(pass)}.`);
    return { ...(value as Score), reason: typeof reason === 'string' ? reason : '' };
  }
  throw new ConfigError(
    `${who} returned ${value === undefined ? 'nothing' : typeof value}; return a Score ({ score, pass, reason }), a number from 0 to 1, or a boolean.`,
  );
}

/** A number rounded for display (at most 3 decimals). */
export function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

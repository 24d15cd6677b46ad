/** loop(): evaluator-optimizer; a generator refines its output with an evaluator's score and feedback until a threshold or a cap. */

import { BatonError, ConfigError } from '../core/errors.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import { guarded, jsonObjectIn, runMember } from './members.js';
import {
  announceEnd,
  announceSpeaker,
  announceStart,
  checkCount,
  checkRunnable,
  recordDecision,
  textOf,
} from './shared.js';

/** An evaluator's judgement of one output. */
export interface Evaluation {
  /** From 0 (useless) to 1 (perfect). */
  score: number;
  /** What to improve. */
  feedback: string;
}

/**
 * Scores an output: an agent, workflow or pattern (its output is an `Evaluation`, or JSON text
 * `{"score": ..., "feedback": ...}`), or a pure function whose result is journaled.
 */
export type Evaluator<OUTPUT> =
  | Runnable<string, unknown>
  | ((output: OUTPUT, iteration: number) => Evaluation | Promise<Evaluation>);

/** Options of `loop()`. */
export interface LoopOptions<OUTPUT = unknown> {
  name: string;
  version?: string;
  /** Produces the output: gets the task, then refinement requests with the last score and feedback. */
  generator: Runnable<string, OUTPUT>;
  evaluator: Evaluator<OUTPUT>;
  /** Stop as soon as an output scores at least this (0 to 1). */
  threshold: number;
  /** Generate/evaluate iterations before giving up. Default 3. */
  maxIterations?: number;
}

/** One generate/evaluate iteration. */
export interface LoopIteration<OUTPUT = unknown> {
  iteration: number;
  output: OUTPUT;
  score: number;
  feedback: string;
}

/** What `loop()` returns. */
export interface LoopResult<OUTPUT = unknown> {
  /** The best-scoring output (the earliest one on a tie); the one that met the threshold if any did. */
  output: OUTPUT;
  /** Its score. */
  score: number;
  /** The iteration it came from, counting from 1. */
  bestIteration: number;
  /** Iterations played. */
  iterations: number;
  stoppedBy: 'threshold' | 'max iterations';
  /** Every iteration, in order. */
  history: LoopIteration<OUTPUT>[];
}

const loopOptionNames = optionNames<LoopOptions<unknown>>(
  { name: true, version: true, generator: true, evaluator: true, threshold: true, maxIterations: true },
  { maxRounds: 'maxIterations' },
);

/**
 * Evaluator-optimizer: the generator produces an output, the evaluator scores it (0..1) with
 * feedback, and the generator refines its last output with that feedback until the score
 * reaches `threshold` or `maxIterations` is hit. Returns the best-scoring output, so a late
 * regression never replaces a better earlier attempt.
 *
 * @example
 * ```ts
 * const polish = loop({
 *   name: 'polish',
 *   generator: writer,
 *   evaluator: (draft: string) => ({ score: draft.length <= 280 ? 1 : 0.3, feedback: 'Shorten it to one tweet.' }),
 *   threshold: 0.9,
 *   maxIterations: 4,
 * });
 * const { output, score, stoppedBy } = await (await runtime.start(polish, 'Announce Baton 1.0')).result();
 * ```
 */
export function loop<OUTPUT = string>(options: LoopOptions<OUTPUT>): Runnable<string, LoopResult<OUTPUT>> {
  assertName('pattern', options?.name);
  checkOptionNames(`loop("${options.name}")`, options, loopOptionNames);
  const where = `loop("${options.name}")`;
  const generator = checkRunnable(where, 'generator', options.generator);
  const evaluator = options.evaluator;
  const evaluatorRunnable =
    typeof evaluator === 'function'
      ? undefined
      : checkRunnable(where, 'evaluator (a function, agent, workflow or pattern)', evaluator);
  if (evaluatorRunnable === generator)
    throw new ConfigError(`${where}: generator and evaluator must be different members.`);
  const threshold = options.threshold;
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1))
    throw new ConfigError(`${where}: threshold must be a number from 0 to 1, got ${String(threshold)}.`);
  const maxIterations = checkCount(where, 'maxIterations', options.maxIterations, 3);
  const evaluatorName = evaluatorRunnable?.name ?? 'evaluate';
  const pattern = 'loop';

  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: string): Promise<LoopResult<OUTPUT>> {
      announceStart(ctx, pattern, options.name, [generator.name, evaluatorName]);
      const task = textOf(input);
      const turnCounter = new Map<string, number>();
      const history: LoopIteration<OUTPUT>[] = [];
      let best: LoopIteration<OUTPUT> | undefined;
      for (let iteration = 1; iteration <= maxIterations; iteration++) {
        const previous = history.at(-1);
        announceSpeaker(
          ctx,
          pattern,
          options.name,
          iteration,
          generator.name,
          previous ? 'refine' : 'generate',
        );
        const request = previous === undefined ? task : refineRequest(task, previous, threshold);
        const generated = await guarded(
          ctx,
          where,
          `iteration ${iteration}: generator "${generator.name}"`,
          () => runMember(ctx, generator, request, turnCounter),
        );
        const output = generated.output as OUTPUT;

        announceSpeaker(ctx, pattern, options.name, iteration, evaluatorName, 'evaluate');
        let evaluation: Evaluation;
        let parsedAs: string;
        if (evaluatorRunnable === undefined) {
          const scored = await ctx.step('evaluate', () =>
            (evaluator as (output: OUTPUT, iteration: number) => Evaluation | Promise<Evaluation>)(
              output,
              iteration,
            ),
          );
          const checked = evaluationOf(scored);
          if (checked === undefined)
            throw new BatonError(
              `${where}: the evaluator function must return { score: number from 0 to 1, feedback: string }, got ${textOf(scored)} at iteration ${iteration}.`,
              { code: 'INVALID_EVALUATION', fault: 'user', runId: ctx.runId },
            );
          evaluation = checked;
          parsedAs = 'function';
        } else {
          const judged = await guarded(
            ctx,
            where,
            `iteration ${iteration}: evaluator "${evaluatorName}"`,
            () =>
              runMember(
                ctx,
                evaluatorRunnable,
                evaluationRequest(task, generated.text, iteration),
                turnCounter,
              ),
          );
          const parsed = parseEvaluation(judged.output);
          evaluation = parsed ?? { score: 0, feedback: judged.text };
          parsedAs = parsed === undefined ? 'unparseable' : 'parsed';
        }

        const entry: LoopIteration<OUTPUT> = { iteration, output, ...evaluation };
        history.push(entry);
        if (best === undefined || entry.score > best.score) best = entry;
        const met = entry.score >= threshold;
        await recordDecision(ctx, {
          pattern,
          name: options.name,
          decision: met ? 'accept' : iteration === maxIterations ? 'stop' : 'refine',
          reasons: [
            parsedAs === 'unparseable'
              ? `unparseable evaluation, scored 0: ${shorten(evaluation.feedback)}`
              : `score ${evaluation.score} ${met ? '>=' : '<'} threshold ${threshold}${evaluation.feedback === '' ? '' : `: ${evaluation.feedback}`}`,
          ],
          data: { iteration, score: evaluation.score, parsedAs },
        });
        if (met) return finish(ctx, options.name, best, history, 'threshold');
      }
      return finish(ctx, options.name, best!, history, 'max iterations');
    },
  };
}

function finish<OUTPUT>(
  ctx: RunContext,
  name: string,
  best: LoopIteration<OUTPUT>,
  history: LoopIteration<OUTPUT>[],
  stoppedBy: LoopResult['stoppedBy'],
): LoopResult<OUTPUT> {
  announceEnd(ctx, 'loop', name, stoppedBy);
  return {
    output: best.output,
    score: best.score,
    bestIteration: best.iteration,
    iterations: history.length,
    stoppedBy,
    history,
  };
}

function refineRequest(task: string, previous: LoopIteration, threshold: number): string {
  return [
    `Task:\n${task}`,
    `Your previous attempt (scored ${previous.score}; ${threshold} is needed):\n${textOf(previous.output)}`,
    `Feedback:\n${previous.feedback === '' ? '(none given)' : previous.feedback}`,
    'Improve the attempt to address the feedback. Reply with the full improved version only.',
  ].join('\n\n');
}

function evaluationRequest(task: string, candidate: string, iteration: number): string {
  return [
    `Task:\n${task}`,
    `Candidate (iteration ${iteration}):\n${candidate}`,
    'Score how well the candidate accomplishes the task, from 0 (useless) to 1 (perfect), and say what to improve. ' +
      'Reply with JSON only: {"score": <number from 0 to 1>, "feedback": "<what to improve>"}.',
  ].join('\n\n');
}

/** Reads an evaluator's output: an `{ score, feedback }` object, or JSON text (bare, fenced or inside prose). */
export function parseEvaluation(value: unknown): Evaluation | undefined {
  if (typeof value === 'object' && value !== null) return evaluationOf(value);
  const json = jsonObjectIn(textOf(value));
  return json === undefined ? undefined : evaluationOf(json);
}

function evaluationOf(value: unknown): Evaluation | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  const score =
    typeof record.score === 'string' && record.score.trim() !== '' ? Number(record.score) : record.score;
  if (typeof score !== 'number' || !(score >= 0 && score <= 1)) return undefined;
  if (record.feedback !== undefined && typeof record.feedback !== 'string') return undefined;
  return { score, feedback: (record.feedback as string | undefined) ?? '' };
}

function shorten(text: string): string {
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

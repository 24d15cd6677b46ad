/** makerChecker(): a maker proposes, a checker judges against criteria, the maker revises until approved or a cap. */

import { ConfigError } from '../core/errors.js';
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

// The member helpers moved to members.ts; still exported from here for existing imports.
export { guarded, jsonObjectIn, type MemberTurn, runMember } from './members.js';

/** A checker's judgement. */
export interface Verdict {
  approved: boolean;
  /** What must change; may be empty when approved. */
  feedback: string;
}

/** Options of `makerChecker()`. */
export interface MakerCheckerOptions<OUTPUT = unknown> {
  name: string;
  version?: string;
  /** Produces the work: gets the task, then revision requests carrying the checker's feedback. */
  maker: Runnable<string, OUTPUT>;
  /**
   * Judges the work. Its output is a `Verdict` object (an agent with an output schema, a
   * workflow), JSON text `{"approved": ..., "feedback": ...}`, or text whose first line is
   * `APPROVED` or `REJECTED` followed by the feedback.
   */
  checker: Runnable<string, unknown>;
  /** What the checker judges against. */
  criteria: string | readonly string[];
  /** Maker/checker rounds before giving up. Default 3. */
  maxRounds?: number;
}

/** What `makerChecker()` returns. */
export interface MakerCheckerResult<OUTPUT = string> {
  /** The maker's last output. */
  output: OUTPUT;
  approved: boolean;
  /** Rounds played (one proposal and one verdict each). */
  rounds: number;
  /** The checker's feedback of every round, in order. */
  feedback: string[];
  stoppedBy: 'approved' | 'max rounds';
}

const makerCheckerOptionNames = optionNames<MakerCheckerOptions<unknown>>({
  name: true,
  version: true,
  maker: true,
  checker: true,
  criteria: true,
  maxRounds: true,
});

/**
 * A maker/checker loop: the maker proposes, the checker judges the proposal against the
 * criteria, and the maker revises with the feedback until the checker approves or
 * `maxRounds` is reached (then `approved` is false and `stoppedBy` is `'max rounds'`). A
 * verdict that cannot be parsed counts as a rejection whose feedback is the checker's text.
 *
 * @example
 * ```ts
 * const review = makerChecker({
 *   name: 'contract-review',
 *   maker: drafter,
 *   checker: lawyer,
 *   criteria: ['Names both parties', 'Has a termination clause'],
 *   maxRounds: 3,
 * });
 * const { output, approved, feedback } = await (await runtime.start(review, 'NDA between Acme and Beta')).result();
 * ```
 */
export function makerChecker<OUTPUT = string>(
  options: MakerCheckerOptions<OUTPUT>,
): Runnable<string, MakerCheckerResult<OUTPUT>> {
  assertName('pattern', options?.name);
  checkOptionNames(`makerChecker("${options.name}")`, options, makerCheckerOptionNames);
  const where = `makerChecker("${options.name}")`;
  const maker = checkRunnable(where, 'maker', options.maker);
  const checker = checkRunnable(where, 'checker', options.checker);
  if (maker === checker) throw new ConfigError(`${where}: maker and checker must be different members.`);
  const criteria = typeof options.criteria === 'string' ? [options.criteria] : options.criteria;
  if (
    !Array.isArray(criteria) ||
    criteria.length === 0 ||
    criteria.some((criterion) => typeof criterion !== 'string' || criterion.trim() === '')
  )
    throw new ConfigError(`${where}: criteria must be a non-empty string or a non-empty array of strings.`);
  const maxRounds = checkCount(where, 'maxRounds', options.maxRounds, 3);
  const criteriaText = criteria.map((criterion) => `- ${criterion}`).join('\n');
  const pattern = 'makerChecker';

  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: string): Promise<MakerCheckerResult<OUTPUT>> {
      announceStart(ctx, pattern, options.name, [maker.name, checker.name]);
      const task = textOf(input);
      const turnCounter = new Map<string, number>();
      const feedback: string[] = [];
      let output: unknown;
      for (let round = 1; round <= maxRounds; round++) {
        announceSpeaker(ctx, pattern, options.name, round, maker.name, round === 1 ? 'propose' : 'revise');
        const request =
          round === 1 ? task : revisionRequest(task, textOf(output), feedback.at(-1) ?? '', criteriaText);
        output = (
          await guarded(ctx, where, `round ${round}: maker "${maker.name}"`, () =>
            runMember(ctx, maker, request, turnCounter),
          )
        ).output;

        announceSpeaker(ctx, pattern, options.name, round, checker.name, 'check');
        const judged = await guarded(ctx, where, `round ${round}: checker "${checker.name}"`, () =>
          runMember(ctx, checker, checkRequest(task, textOf(output), round, criteriaText), turnCounter),
        );
        const parsed = parseVerdict(judged.output);
        const verdict: Verdict = parsed.ok ? parsed.verdict : { approved: false, feedback: judged.text };
        feedback.push(verdict.feedback);
        await recordDecision(ctx, {
          pattern,
          name: options.name,
          decision: verdict.approved ? 'approved' : 'rejected',
          reasons: parsed.ok
            ? [verdict.feedback === '' ? '(no feedback)' : verdict.feedback]
            : [`unparseable verdict, counted as rejected: ${parsed.error}`],
          data: { round, approved: verdict.approved, parsedAs: parsed.ok ? parsed.how : 'unparseable' },
        });
        if (verdict.approved) {
          announceEnd(ctx, pattern, options.name, 'approved');
          return { output: output as OUTPUT, approved: true, rounds: round, feedback, stoppedBy: 'approved' };
        }
      }
      announceEnd(ctx, pattern, options.name, 'max rounds');
      return {
        output: output as OUTPUT,
        approved: false,
        rounds: maxRounds,
        feedback,
        stoppedBy: 'max rounds',
      };
    },
  };
}

function revisionRequest(task: string, draft: string, feedback: string, criteria: string): string {
  return [
    `Task:\n${task}`,
    `Your previous draft:\n${draft}`,
    `Reviewer feedback:\n${feedback === '' ? '(none given)' : feedback}`,
    `Criteria:\n${criteria}`,
    'Revise the draft to address the feedback. Reply with the full revised draft only.',
  ].join('\n\n');
}

function checkRequest(task: string, draft: string, round: number, criteria: string): string {
  return [
    `Task:\n${task}`,
    `Criteria:\n${criteria}`,
    `Candidate (round ${round}):\n${draft}`,
    'Judge the candidate against every criterion. Reply with JSON only: ' +
      '{"approved": true or false, "feedback": "what must change, empty when approved"}. ' +
      'Alternatively start your reply with a line APPROVED or REJECTED, followed by your feedback.',
  ].join('\n\n');
}

/** How a verdict was read. */
export type ParsedVerdict =
  | { ok: true; verdict: Verdict; how: 'object' | 'json' | 'keyword' }
  | { ok: false; error: string };

/**
 * Reads a checker's output: a `{ approved, feedback }` object, JSON text (bare, fenced or
 * surrounded by prose), or text whose first line starts with `APPROVED` / `REJECTED`.
 */
export function parseVerdict(value: unknown): ParsedVerdict {
  if (typeof value === 'object' && value !== null) {
    const verdict = verdictOf(value);
    return verdict === undefined
      ? { ok: false, error: `expected { approved: boolean, feedback: string }, got ${textOf(value)}` }
      : { ok: true, verdict, how: 'object' };
  }
  const text = textOf(value).trim();
  const json = jsonObjectIn(text);
  if (json !== undefined) {
    const verdict = verdictOf(json);
    if (verdict !== undefined) return { ok: true, verdict, how: 'json' };
  }
  const keyword = /^[\s>#*_`"']*(APPROVED|REJECTED)\b[\s*_`"'.:,;!—–-]*([\s\S]*)$/i.exec(text);
  if (keyword !== null) {
    return {
      ok: true,
      verdict: { approved: keyword[1]!.toUpperCase() === 'APPROVED', feedback: keyword[2]!.trim() },
      how: 'keyword',
    };
  }
  const shown = text.length > 120 ? `${text.slice(0, 117)}...` : text;
  return {
    ok: false,
    error: `expected JSON {"approved": boolean, "feedback": string} or a first line APPROVED/REJECTED, got "${shown}"`,
  };
}

function verdictOf(value: object): Verdict | undefined {
  const record = value as Record<string, unknown>;
  if (typeof record.approved !== 'boolean') return undefined;
  if (record.feedback !== undefined && typeof record.feedback !== 'string') return undefined;
  return { approved: record.approved, feedback: (record.feedback as string | undefined) ?? '' };
}

/** Comparing two evals of one target case by case: what improved, what regressed, and whether beyond the threshold. */

import type { CaseResult } from './run-eval.js';

/** A figure in the previous eval and now, over the cases both evals scored. */
export interface Change {
  previous: number;
  current: number;
  /** `current - previous`. */
  delta: number;
}

/** A case whose result changed between the two evals. */
export interface CaseChange {
  id: string;
  previous: { score: number; pass: boolean };
  current: { score: number; pass: boolean };
}

/** The current eval against the previous one of the same target and dataset. */
export interface EvalComparison {
  previousEvalId: string;
  previousEndedAt: number;
  threshold: number;
  /** Cases both evals scored; every figure below is over these. */
  shared: number;
  passRate: Change;
  meanScore: Change;
  /** Per scorer both evals used. */
  scorers: Record<string, Change>;
  /** Cases that passed before and fail now, or whose score fell by more than the threshold. */
  regressedCases: CaseChange[];
  /** Cases that failed before and pass now, or whose score rose by more than the threshold. */
  improvedCases: CaseChange[];
  /** Some figure above fell by more than the threshold. */
  regressed: boolean;
  /** What fell beyond the threshold, in words. */
  reasons: string[];
}

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

const change = (previous: number, current: number): Change => ({
  previous,
  current,
  delta: current - previous,
});

/**
 * Compares the current eval's cases with the previous eval's, over the case ids both have. A
 * regression is a drop of more than `threshold` (on the 0–1 scale) in the pass rate, the mean
 * score or one scorer's mean.
 */
export function compareEvals(
  previous: { evalId: string; endedAt: number; cases: readonly CaseResult[] },
  current: readonly CaseResult[],
  threshold: number,
): EvalComparison {
  const before = new Map(previous.cases.map((result) => [result.id, result]));
  const pairs = current.flatMap((result) => {
    const old = before.get(result.id);
    return old === undefined ? [] : [[old, result] as const];
  });
  const passRate = change(
    mean(pairs.map(([old]) => (old.pass ? 1 : 0))),
    mean(pairs.map(([, now]) => (now.pass ? 1 : 0))),
  );
  const meanScore = change(mean(pairs.map(([old]) => old.score)), mean(pairs.map(([, now]) => now.score)));
  const scorers: Record<string, Change> = {};
  const names = new Set(
    pairs.flatMap(([old, now]) => Object.keys(now.scores).filter((name) => name in old.scores)),
  );
  for (const name of [...names].sort()) {
    const both = pairs.filter(
      ([old, now]) => Object.hasOwn(old.scores, name) && Object.hasOwn(now.scores, name),
    );
    scorers[name] = change(
      mean(both.map(([old]) => old.scores[name]!.score)),
      mean(both.map(([, now]) => now.scores[name]!.score)),
    );
  }
  const caseChange = (old: CaseResult, now: CaseResult): CaseChange => ({
    id: now.id,
    previous: { score: old.score, pass: old.pass },
    current: { score: now.score, pass: now.pass },
  });
  const regressedCases = pairs
    .filter(([old, now]) => (old.pass && !now.pass) || now.score < old.score - threshold)
    .map(([old, now]) => caseChange(old, now));
  const improvedCases = pairs
    .filter(([old, now]) => (!old.pass && now.pass) || now.score > old.score + threshold)
    .map(([old, now]) => caseChange(old, now));
  const reasons: string[] = [];
  const points = (value: number) => `${(value * 100).toFixed(1)} points`;
  if (passRate.delta < -threshold) reasons.push(`pass rate fell ${points(-passRate.delta)}`);
  if (meanScore.delta < -threshold) reasons.push(`mean score fell ${points(-meanScore.delta)}`);
  for (const [name, figure] of Object.entries(scorers))
    if (figure.delta < -threshold) reasons.push(`${name} fell ${points(-figure.delta)}`);
  return {
    previousEvalId: previous.evalId,
    previousEndedAt: previous.endedAt,
    threshold,
    shared: pairs.length,
    passRate,
    meanScore,
    scorers,
    regressedCases,
    improvedCases,
    regressed: reasons.length > 0,
    reasons,
  };
}

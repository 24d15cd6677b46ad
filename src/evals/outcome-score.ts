/** outcomeScore(): eval scorers as the `score` of an `evolving` policy, so live runs are rated like eval cases. */

import { ConfigError } from '../core/errors.js';
import type { OutcomeInfo } from '../patterns/evolving.js';
import type { EvalSubject, Scorer } from './scorer.js';

/**
 * Turns scorers into an `evolving` policy's `score`: each output is rated by every scorer (as a
 * completed run whose input, expected value and tool calls are unknown, so use scorers that need
 * none: `judge()` with a rubric, `contains()` or `matchesSchema()` with their own values, the
 * limits) and the mean is the outcome's score. Offline, `runEval({ policy })` records eval
 * cases as outcomes of the same policy.
 *
 * @example
 * ```ts
 * const support = evolving({
 *   name: 'support', store, candidates: [teamV1, teamV2],
 *   score: outcomeScore([judge({ model: 'openai:gpt-4o-mini', rubric: 'Solves the customer problem.' }), maxCost(0.05)]),
 * });
 * ```
 */
export function outcomeScore(
  scorers: readonly Scorer[],
): (output: unknown, info: OutcomeInfo) => Promise<number> {
  if (!Array.isArray(scorers) || scorers.length === 0 || scorers.some((scorer) => scorer?.kind !== 'scorer'))
    throw new ConfigError('outcomeScore(): give a non-empty list of scorers.', { code: 'INVALID_OPTION' });
  return async (output, info) => {
    const subject: EvalSubject = {
      case: { id: info.taskType, input: undefined },
      input: undefined,
      output,
      expected: undefined,
      runId: '',
      status: 'completed',
      error: undefined,
      toolCalls: [],
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: info.tokens },
      costUsd: info.costUsd,
      durationMs: info.durationMs,
      journal: [],
    };
    let total = 0;
    for (const scorer of scorers) total += (await scorer.score(subject, {})).score;
    return total / scorers.length;
  };
}

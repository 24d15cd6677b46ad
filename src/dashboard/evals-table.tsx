/** The stored evals (`GET /v1/evals`): each eval beside the previous one of its dataset, with what regressed and what improved. */

import { formatCost, formatRate, formatTime } from './format.js';
import { ErrorNote } from './parts.js';
import type { Change, EvalEntry } from './types.js';

function delta(change: Change | undefined, rate: boolean): string {
  if (change === undefined) return '';
  const sign = change.delta > 0 ? '+' : change.delta < 0 ? '−' : '±';
  const size = Math.abs(change.delta);
  return `${sign}${rate ? `${Math.round(size * 1000) / 10} pt` : size.toFixed(2)}`;
}

/** The evals table; says so when the store holds none. */
export function EvalsTable({ evals, error }: { evals: EvalEntry[] | undefined; error: unknown }) {
  return (
    <section class="evals" aria-labelledby="evals-title">
      <h2 id="evals-title">Evals</h2>
      <ErrorNote error={error} />
      {evals === undefined ? null : evals.length === 0 ? (
        <p class="empty">
          No evals of the served targets yet. Run one with <code>baton eval cases.jsonl team.yaml</code>; each
          eval is compared with the previous one of its dataset.
        </p>
      ) : (
        <div class="table-wrap">
          <table class="evals-table">
            <thead>
              <tr>
                <th scope="col">Target · dataset</th>
                <th scope="col">Verdict</th>
                <th scope="col" class="optional">
                  Ended
                </th>
                <th scope="col" class="number">
                  Pass rate: before → now
                </th>
                <th scope="col" class="number optional">
                  Mean score: before → now
                </th>
                <th scope="col" class="number optional">
                  Cost
                </th>
              </tr>
            </thead>
            <tbody>
              {evals.map((entry) => {
                const comparison = entry.comparison;
                return (
                  <tr
                    key={entry.evalId}
                    data-eval={entry.evalId}
                    data-regressed={comparison?.regressed === true}
                  >
                    <th scope="row">
                      {entry.target} · {entry.dataset}
                      <span class="eval-id" title={`version ${entry.targetVersion}`}>
                        {entry.evalId}
                      </span>
                    </th>
                    <td class="verdict-cell">
                      {comparison === null ? (
                        <span class="verdict first">first eval</span>
                      ) : comparison.regressed ? (
                        <span class="verdict regressed" title={comparison.reasons.join('; ')}>
                          regressed
                          {comparison.regressedCases.length === 0
                            ? ''
                            : `: ${comparison.regressedCases.map((change) => change.id).join(', ')}`}
                        </span>
                      ) : (
                        <span class="verdict steady">
                          no regression
                          {comparison.improvedCases.length === 0
                            ? ''
                            : ` (improved: ${comparison.improvedCases.map((change) => change.id).join(', ')})`}
                        </span>
                      )}
                    </td>
                    <td class="optional">{formatTime(entry.endedAt)}</td>
                    <td class="number">
                      {comparison === null ? '' : `${formatRate(comparison.passRate.previous)} → `}
                      <strong>{formatRate(entry.summary.passRate)}</strong>{' '}
                      <span class="hint">
                        ({entry.summary.passed}/{entry.summary.cases})
                      </span>
                      {comparison === null ? null : (
                        <span class="delta"> {delta(comparison.passRate, true)}</span>
                      )}
                    </td>
                    <td class="number optional">
                      {comparison === null ? '' : `${comparison.meanScore.previous.toFixed(2)} → `}
                      {entry.summary.meanScore.toFixed(2)}
                    </td>
                    <td class="number optional">{formatCost(entry.summary.costUsd)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

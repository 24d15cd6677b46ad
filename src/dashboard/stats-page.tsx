/** The stats page: `GET /v1/stats` by workflow, agent, model or tool over a time window, as charts over time buckets and a table with bars for runs and cost; then the stored evals with their regressions (`GET /v1/evals`). */

import { useSignal } from '@preact/signals';
import { useEffect } from 'preact/hooks';
import { api } from './api.js';
import { EvalsTable } from './evals-table.js';
import { formatCost, formatDuration, formatRate, formatTokens } from './format.js';
import { Legend, LineChart, type Series } from './line-chart.js';
import { ErrorNote } from './parts.js';
import { href, replaceRoute, route } from './router.js';
import type { EvalEntry, Stats, StatsRow } from './types.js';

const windows = ['1h', '24h', '7d', '30d', 'all'];
const dimensions = ['workflow', 'agent', 'model', 'tool'];
/** The bucket width of each window: 12 to 30 points a chart. */
const bucketOf: Record<string, string> = { '1h': '5m', '24h': '1h', '7d': '6h', '30d': '1d', all: '7d' };
/** Lines a chart draws at most: the keys with the most runs or calls. */
const maxSeries = 6;

/**
 * One series per key (the busiest first) of one figure of each bucket; `missing` is the value of a
 * bucket without runs or calls of the key: 0 for sums (cost, tokens), null (a gap) for latency and rates.
 */
function seriesOf(
  data: Stats,
  keys: readonly string[],
  figure: (row: StatsRow) => number | null,
  missing: 0 | null,
): Series[] {
  return keys.map((key) => ({
    name: key,
    values: (data.buckets ?? []).map((bucket) => {
      const row = bucket.rows.find((candidate) => candidate.key === key);
      return row === undefined ? missing : figure(row);
    }),
  }));
}

/** The stats page. */
export function StatsPage() {
  const query = route.value.query;
  const since = windows.includes(query.get('since') ?? '') ? (query.get('since') as string) : '24h';
  const by = dimensions.includes(query.get('by') ?? '') ? (query.get('by') as string) : 'workflow';
  const stats = useSignal<Stats | undefined>(undefined);
  const error = useSignal<unknown>(undefined);
  const evals = useSignal<EvalEntry[] | undefined>(undefined);
  const evalsError = useSignal<unknown>(undefined);

  useEffect(() => {
    const abort = new AbortController();
    api<{ evals: EvalEntry[] }>('v1/evals', { signal: abort.signal })
      .then((answer) => {
        evals.value = answer.evals;
      })
      .catch((failure: unknown) => {
        if (!abort.signal.aborted) evalsError.value = failure;
      });
    return () => abort.abort();
  }, []);

  useEffect(() => {
    const abort = new AbortController();
    stats.value = undefined;
    error.value = undefined;
    api<Stats>(`v1/stats?since=${since}&by=${by}&bucket=${bucketOf[since]}`, { signal: abort.signal })
      .then((answer) => {
        stats.value = answer;
      })
      .catch((failure: unknown) => {
        if (!abort.signal.aborted) error.value = failure;
      });
    return () => abort.abort();
  }, [since, by]);

  const data = stats.value;
  const maxCount = Math.max(1, ...(data?.rows ?? []).map((row) => row.count));
  const maxCost = Math.max(0, ...(data?.rows ?? []).map((row) => row.costUsd));
  const keys = (data?.rows ?? []).slice(0, maxSeries).map((row) => row.key);
  const starts = (data?.buckets ?? []).map((bucket) => bucket.start);
  const unit = by === 'workflow' ? 'runs' : 'calls';
  return (
    <section aria-labelledby="stats-title">
      <div class="page-head">
        <h1 id="stats-title">Stats</h1>
      </div>
      <form class="filters" aria-label="Window and grouping" onSubmit={(event) => event.preventDefault()}>
        <label>
          Runs created in
          <select
            name="since"
            value={since}
            onChange={(event) => replaceRoute(href('stats', { since: event.currentTarget.value, by }))}
          >
            {windows.map((window) => (
              <option value={window} key={window}>
                {window === 'all' ? 'all time' : `the last ${window}`}
              </option>
            ))}
          </select>
        </label>
        <label>
          By
          <select
            name="by"
            value={by}
            onChange={(event) => replaceRoute(href('stats', { since, by: event.currentTarget.value }))}
          >
            {dimensions.map((dimension) => (
              <option value={dimension} key={dimension}>
                {dimension}
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorNote error={error.value} />
      {data === undefined ? (
        error.value === undefined ? (
          <p aria-busy="true">Loading…</p>
        ) : null
      ) : (
        <>
          <dl class="facts totals">
            <div>
              <dt>Runs</dt>
              <dd data-total="count">{data.total.count}</dd>
            </div>
            <div>
              <dt>Completed</dt>
              <dd>{formatRate(data.total.completionRate)}</dd>
            </div>
            <div>
              <dt>Latency p50 / p95</dt>
              <dd>
                {formatDuration(data.total.latencyP50Ms ?? undefined)} /{' '}
                {formatDuration(data.total.latencyP95Ms ?? undefined)}
              </dd>
            </div>
            <div>
              <dt>Tokens</dt>
              <dd>{formatTokens(data.total.inputTokens + data.total.outputTokens)}</dd>
            </div>
            <div>
              <dt>Cost</dt>
              <dd data-total="cost">{formatCost(data.total.costUsd)}</dd>
            </div>
            <div>
              <dt>Errors</dt>
              <dd>{formatRate(data.total.errorRate)}</dd>
            </div>
          </dl>
          {data.rows.length === 0 ? null : (
            <section class="charts" aria-labelledby="charts-title">
              <div class="charts-head">
                <h2 id="charts-title">
                  Over time, by {by}
                  <span class="hint">
                    {' '}
                    ({unit} per {bucketOf[since]}
                    {data.rows.length > maxSeries ? `; the ${maxSeries} busiest of ${data.rows.length}` : ''})
                  </span>
                </h2>
                <Legend names={keys} />
              </div>
              <div class="chart-grid">
                <LineChart
                  title="Cost"
                  starts={starts}
                  series={seriesOf(data, keys, (row) => row.costUsd, 0)}
                  format={formatCost}
                />
                <LineChart
                  title="Tokens"
                  starts={starts}
                  series={seriesOf(data, keys, (row) => row.inputTokens + row.outputTokens, 0)}
                  format={formatTokens}
                />
                <LineChart
                  title="Latency p95 (p50 dashed)"
                  starts={starts}
                  series={seriesOf(data, keys, (row) => row.latencyP95Ms, null)}
                  dashed={seriesOf(data, keys, (row) => row.latencyP50Ms, null)}
                  format={(value) => formatDuration(value)}
                />
                <LineChart
                  title="Error rate"
                  starts={starts}
                  series={seriesOf(data, keys, (row) => row.errorRate, null)}
                  format={formatRate}
                />
              </div>
            </section>
          )}
          {data.rows.length === 0 ? (
            <p class="empty">No runs in this window.</p>
          ) : (
            <div class="table-wrap">
              <table class="stats">
                <thead>
                  <tr>
                    <th scope="col">{by}</th>
                    <th scope="col">Runs</th>
                    <th scope="col" class="number">
                      Completed
                    </th>
                    <th scope="col" class="number">
                      p50
                    </th>
                    <th scope="col" class="number">
                      p95
                    </th>
                    <th scope="col" class="number optional">
                      Tokens in / out
                    </th>
                    <th scope="col">Cost</th>
                    <th scope="col" class="number optional">
                      Errors
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.rows.map((row) => (
                    <StatsLine row={row} maxCount={maxCount} maxCost={maxCost} key={row.key} />
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      <EvalsTable evals={evals.value} error={evalsError.value} />
    </section>
  );
}

function StatsLine({ row, maxCount, maxCost }: { row: StatsRow; maxCount: number; maxCost: number }) {
  const errors = Object.entries(row.errorsByClass)
    .map(([name, count]) => `${name}: ${count}`)
    .join(', ');
  return (
    <tr data-key={row.key}>
      <th scope="row">{row.key}</th>
      <td>
        <span class="bar-cell">
          <span class="bar runs-bar" style={{ width: `${(row.count / maxCount) * 100}%` }} />
          <span class="bar-value">{row.count}</span>
        </span>
      </td>
      <td class="number">{formatRate(row.completionRate)}</td>
      <td class="number">{formatDuration(row.latencyP50Ms ?? undefined)}</td>
      <td class="number">{formatDuration(row.latencyP95Ms ?? undefined)}</td>
      <td class="number optional">
        {formatTokens(row.inputTokens)} / {formatTokens(row.outputTokens)}
      </td>
      <td>
        <span class="bar-cell">
          <span
            class="bar cost-bar"
            style={{ width: `${maxCost === 0 ? 0 : (row.costUsd / maxCost) * 100}%` }}
          />
          <span class="bar-value">{formatCost(row.costUsd)}</span>
        </span>
      </td>
      <td class="number optional" title={errors}>
        {formatRate(row.errorRate)}
      </td>
    </tr>
  );
}

/** `baton stats`: completion, latency, tokens, cost, errors and handoffs, overall and by workflow, agent, model or tool. */

import { existsSync } from 'node:fs';
import {
  parseDuration,
  type RunStats,
  runStats,
  type StatsDimension,
  type StatsRow,
} from '../../observability/run-stats.js';
import { isPostgresUrl } from '../../runtime.js';
import { type Command, UsageError } from '../command.js';
import { alignedTable, formatCost, formatCount, formatDuration } from '../format.js';
import type { Style } from '../output.js';
import { openSession, shownPath } from '../session.js';

const dimensions: readonly StatsDimension[] = ['workflow', 'agent', 'model', 'tool'];

/** The `stats` command. */
export const statsCommand: Command = {
  name: 'stats',
  summary: 'Statistics of recent runs: completion, latency, tokens, cost, errors',
  usage: '',
  description:
    'Reads the store and prints, for runs created in the last --since (default 24h): runs, completion\n' +
    'rate, p50/p95 latency, tokens, cost, error rate by class (user, model, provider, tool, system)\n' +
    'and handoff success rate (handoffs in runs that completed); then the same by workflow, or by\n' +
    'agent, model or tool (counting model or tool calls instead of runs).',
  arguments: [],
  options: {
    since: {
      type: 'string',
      value: '<duration>',
      description: 'runs created within this long ago: 90m, 24h, 7d (default 24h); all for every run',
    },
    by: {
      type: 'string',
      value: '<dimension>',
      description: `rows by ${dimensions.join(', ')} (default workflow)`,
    },
    json: { type: 'boolean', description: 'print the statistics as JSON' },
  },
  examples: ['baton stats', 'baton stats --since 7d --by model', 'baton stats --by tool --json'],
  async run({ positionals, values }, context) {
    if (positionals.length > 0)
      throw new UsageError(`stats takes no arguments; got "${positionals[0]}".`, 'stats');
    const by = (values.by as string | undefined) ?? 'workflow';
    if (!dimensions.includes(by as StatsDimension))
      throw new UsageError(`--by must be one of ${dimensions.join(', ')}; got "${by}".`, 'stats');
    const sinceText = (values.since as string | undefined) ?? '24h';
    let since: number | undefined;
    if (sinceText !== 'all') {
      try {
        since = Date.now() - parseDuration(sinceText);
      } catch (error) {
        throw new UsageError(`--since ${(error as Error).message}`, 'stats');
      }
    }
    if (!isPostgresUrl(context.storePath) && !existsSync(context.storePath)) {
      context.stdout.write(
        values.json === true
          ? '{"runs":0}\n'
          : `No runs yet (no store at ${shownPath(context, context.storePath)}). Start one with: baton run <file> [input]\n`,
      );
      return 0;
    }
    const session = await openSession(context, { mustExist: true });
    try {
      const stats = await runStats(session.runtime.store, {
        by: by as StatsDimension,
        ...(since === undefined ? {} : { since }),
      });
      if (values.json === true) context.stdout.write(`${JSON.stringify(stats, null, 2)}\n`);
      else context.stdout.write(statsText(stats, sinceText, context.style));
      return 0;
    } finally {
      await session.close();
    }
  },
};

const percent = (rate: number | null): string => (rate === null ? '-' : `${(rate * 100).toFixed(1)}%`);
const latency = (ms: number | null): string => (ms === null ? '-' : formatDuration(ms));

function errorClasses(row: StatsRow): string {
  const entries = Object.entries(row.errorsByClass).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '-' : entries.map(([fault, count]) => `${fault} ${count}`).join(', ');
}

/** The statistics as text: a summary, then a table by the chosen dimension. */
export function statsText(stats: RunStats, since: string, style: Style): string {
  const total = stats.total;
  if (total.count === 0) return `No runs ${since === 'all' ? 'in the store' : `in the last ${since}`}.\n`;
  const lines = [
    style.bold(
      `Runs ${since === 'all' ? 'in the store' : `in the last ${since}`}: ${formatCount(total.count)}`,
    ),
    `  ${style.dim('completed'.padEnd(10))}${percent(total.completionRate)} of ended runs (${total.completed} completed, ${total.failed} failed, ${total.ended - total.completed - total.failed} cancelled or over budget, ${total.count - total.ended} not ended)`,
    `  ${style.dim('latency'.padEnd(10))}p50 ${latency(total.latencyP50Ms)}, p95 ${latency(total.latencyP95Ms)}`,
    `  ${style.dim('tokens'.padEnd(10))}${formatCount(total.inputTokens)} in / ${formatCount(total.outputTokens)} out`,
    `  ${style.dim('cost'.padEnd(10))}${formatCost(total.costUsd)}`,
    `  ${style.dim('errors'.padEnd(10))}${percent(total.errorRate)} (${errorClasses(total)})`,
    `  ${style.dim('handoffs'.padEnd(10))}${total.handoffs} (${percent(total.handoffSuccessRate)} in runs that completed)`,
    '',
  ];
  const counted = stats.by === 'workflow' ? 'RUNS' : 'CALLS';
  const header = [stats.by.toUpperCase(), counted, 'DONE', 'P50', 'P95', 'TOKENS', 'COST', 'ERRORS'];
  const rows = stats.rows.map((row) => [
    row.key,
    formatCount(row.count),
    percent(row.completionRate),
    latency(row.latencyP50Ms),
    latency(row.latencyP95Ms),
    formatCount(row.inputTokens + row.outputTokens),
    formatCost(row.costUsd),
    row.failed === 0 ? '-' : `${percent(row.errorRate)} (${errorClasses(row)})`,
  ]);
  lines.push(alignedTable(header, rows, new Set([1, 2, 3, 4, 5, 6]), style));
  return `${lines.join('\n')}\n`;
}

/** `baton runs`: a table of recent runs with status, duration, tokens and cost. */

import { existsSync } from 'node:fs';
import type { RunFilter, RunRecord, RunStatus } from '../../index.js';
import { isPostgresUrl } from '../../runtime.js';
import { type Command, UsageError } from '../command.js';
import { alignedTable, formatCost, formatCount, formatDuration, formatTime } from '../format.js';
import type { Style } from '../output.js';
import { openSession, shownPath } from '../session.js';

const statuses: readonly RunStatus[] = [
  'running',
  'suspended',
  'completed',
  'failed',
  'cancelled',
  'budget-exceeded',
];

/** The `runs` command. */
export const runsCommand: Command = {
  name: 'runs',
  summary: 'List recent runs',
  usage: '',
  description: 'Lists runs in the store, newest first: id, target, status, start, duration, tokens and cost.',
  arguments: [],
  options: {
    status: {
      type: 'string',
      value: '<status>',
      description: `only runs with this status (${statuses.join(', ')})`,
    },
    target: {
      type: 'string',
      value: '<name>',
      description: 'only runs of this workflow, agent, pattern or team',
    },
    limit: { type: 'string', value: '<n>', description: 'how many runs to list (default 20)' },
    json: { type: 'boolean', description: 'print the run records as JSON' },
  },
  examples: ['baton runs', 'baton runs --status suspended', 'baton runs --limit 5 --json'],
  async run({ positionals, values }, context) {
    if (positionals.length > 0)
      throw new UsageError(`runs takes no arguments; got "${positionals[0]}".`, 'runs');
    const filter: RunFilter = { limit: 20 };
    const status = values.status as string | undefined;
    if (status !== undefined) {
      if (!statuses.includes(status as RunStatus)) {
        throw new UsageError(`--status must be one of ${statuses.join(', ')}; got "${status}".`, 'runs');
      }
      filter.status = status as RunStatus;
    }
    const limit = values.limit as string | undefined;
    if (limit !== undefined) {
      const parsed = Number(limit);
      if (!Number.isInteger(parsed) || parsed < 1) {
        throw new UsageError(`--limit must be a whole number >= 1; got "${limit}".`, 'runs');
      }
      filter.limit = parsed;
    }
    const target = values.target as string | undefined;
    if (target !== undefined) filter.target = target;
    if (!isPostgresUrl(context.storePath) && !existsSync(context.storePath)) {
      if (values.json === true) context.stdout.write('[]\n');
      else
        context.stdout.write(
          `No runs yet (no store at ${shownPath(context, context.storePath)}). Start one with: baton run <file> [input]\n`,
        );
      return 0;
    }
    const session = await openSession(context, { mustExist: true });
    try {
      const runs = await session.runtime.list(filter);
      if (values.json === true) context.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      else if (runs.length === 0) context.stdout.write('No runs match.\n');
      else context.stdout.write(runsTable(runs, context.style, Date.now()));
      return 0;
    } finally {
      await session.close();
    }
  },
};

/** Colors a run status. */
export function paintStatus(status: RunStatus, style: Style): string {
  switch (status) {
    case 'completed':
      return style.green(status);
    case 'failed':
    case 'cancelled':
    case 'budget-exceeded':
      return style.red(status);
    case 'suspended':
      return style.yellow(status);
    default:
      return style.cyan(status);
  }
}

/** The runs as an aligned table. */
export function runsTable(runs: readonly RunRecord[], style: Style, now: number): string {
  const header = ['ID', 'TARGET', 'STATUS', 'STARTED', 'DURATION', 'TOKENS', 'COST'];
  const rows = runs.map((run) => [
    run.id,
    run.target,
    paintStatus(run.status, style),
    formatTime(run.createdAt),
    run.endedAt === undefined
      ? `${formatDuration(now - run.createdAt)}…`
      : formatDuration(run.endedAt - run.createdAt),
    formatCount(run.usage.totalTokens),
    formatCost(run.costUsd),
  ]);
  return `${alignedTable(header, rows, new Set([4, 5, 6]), style)}\n`;
}

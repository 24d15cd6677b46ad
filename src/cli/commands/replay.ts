/** `baton replay <runId>` (or `--all`): re-executes ended runs against their journals with today's code, calling nothing. */

import { errorMessage } from '../../core/errors.js';
import { terminalStatuses } from '../../core/store.js';
import type { ReplayReport, RunRecord, RunStatus } from '../../index.js';
import { createRuntime } from '../../runtime.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { openSession, type Session } from '../session.js';
import { loadRecordedSource } from './resume.js';

/** The `replay` command. */
export const replayCommand: Command = {
  name: 'replay',
  summary: "Check that today's code still makes an ended run (no model or tool is called)",
  usage: '[runId]',
  description:
    'Loads the definition the run was started from (its recorded source, as it is now) and runs it\n' +
    "against the run's journal: every step must be one the journal recorded, in the same order, so\n" +
    'no model, tool or step runs, and nothing is written. Prints "identical", or the first step where\n' +
    'the code now asks for something else (exit 1). Use it after a refactor on recorded runs:\n' +
    '--all replays every ended run of the store (newest first), so a store of recorded runs kept\n' +
    'with the project guards a refactor in CI.',
  arguments: [
    { name: 'runId', description: 'an ended run (see baton runs); omit with --all', required: false },
  ],
  options: {
    all: { type: 'boolean', description: 'replay every ended run of the store (or of --target)' },
    target: {
      type: 'string',
      value: '<name>',
      description: 'with --all: only runs of this workflow, agent or team',
    },
    limit: { type: 'string', value: '<n>', description: 'with --all: at most this many runs (default 1000)' },
    json: { type: 'boolean', description: 'print the replay report (with --all, the list) as JSON' },
  },
  examples: [
    'baton replay run_4f1c…',
    'baton replay run_4f1c… --json',
    'baton replay --all --target customer-support',
  ],
  async run({ positionals, values }, context) {
    const [runId, extra] = positionals;
    if (values.all === true) {
      if (runId !== undefined) throw new UsageError('give a run id or --all, not both.', 'replay');
      return replayAll(values, context);
    }
    if (values.target !== undefined || values.limit !== undefined)
      throw new UsageError('--target and --limit go with --all.', 'replay');
    if (runId === undefined)
      throw new UsageError(
        'missing <runId>; list runs with baton runs, or replay them all with --all.',
        'replay',
      );
    if (extra !== undefined) throw new UsageError(`replay takes one run id; got also "${extra}".`, 'replay');
    const session = await openSession(context, { mustExist: true });
    try {
      const record = await session.runtime.get(runId);
      const loaded = await loadRecordedSource(record, context, session.store);
      session.runtime.register(loaded.runnable);
      const report = await session.runtime.replay(runId);
      if (values.json === true) {
        context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      } else if (report.identical) {
        context.stdout.write(
          `${context.style.green('identical')}: today's code makes run ${runId} again (${report.replayed} recorded steps, ${report.status}).\n`,
        );
      } else {
        context.stdout.write(
          `${context.style.red('differs')}${differenceText(report)}.\n  ${report.difference?.message ?? ''}\n  (${report.replayed} of ${report.recorded} recorded steps replayed)\n`,
        );
      }
      return report.identical ? 0 : 1;
    } finally {
      await session.close();
    }
  },
};

function differenceText(report: ReplayReport): string {
  return report.difference?.key === undefined
    ? ''
    : ` at ${report.difference.key}: recorded "${report.difference.recorded}", the code asks for "${report.difference.requested}"`;
}

/** One run of `--all`: its report, or why it could not be replayed. */
type AllResult = { runId: string; target: string; report?: ReplayReport; skipped?: string };

/**
 * `--all`: the ended runs grouped by recorded source; each group is replayed by a runtime of its
 * own on the same store (two sources may define the same name), with that source loaded once.
 */
async function replayAll(
  values: Record<string, string | boolean | undefined>,
  context: CliContext,
): Promise<number> {
  const limitText = values.limit as string | undefined;
  const limit = limitText === undefined ? 1000 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1)
    throw new UsageError(`--limit must be a positive integer; got "${limitText}".`, 'replay');
  const session = await openSession(context, { mustExist: true });
  try {
    const runs = await session.runtime.list({
      status: [...terminalStatuses] as RunStatus[],
      limit,
      ...(values.target === undefined ? {} : { target: values.target as string }),
    });
    const bySource = new Map<string, RunRecord[]>();
    const results: AllResult[] = [];
    for (const run of runs) {
      if (run.source === undefined) {
        results.push({
          runId: run.id,
          target: run.target,
          skipped: 'no recorded source (started from code)',
        });
        continue;
      }
      bySource.set(run.source, [...(bySource.get(run.source) ?? []), run]);
    }
    for (const group of bySource.values()) results.push(...(await replayGroup(group, session, context)));
    const differing = results.filter((result) => result.report !== undefined && !result.report.identical);
    const skipped = results.filter((result) => result.skipped !== undefined);
    if (values.json === true) context.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
    else {
      for (const result of results) {
        const verdict =
          result.skipped !== undefined
            ? context.style.yellow('skipped')
            : result.report?.identical === true
              ? context.style.green('identical')
              : context.style.red('differs');
        const detail =
          result.skipped ??
          (result.report?.identical === true ? '' : `${differenceText(result.report!).trim()}`);
        context.stdout.write(
          `${verdict.padEnd(9)} ${result.runId} ${context.style.dim(result.target)} ${detail}\n`,
        );
      }
      const identical = results.length - differing.length - skipped.length;
      context.stdout.write(
        `\n${runs.length} ended run${runs.length === 1 ? '' : 's'}: ${identical} identical, ${differing.length} differ, ${skipped.length} skipped.\n`,
      );
    }
    return differing.length > 0 || skipped.some((result) => result.skipped?.startsWith('could not')) ? 1 : 0;
  } finally {
    await session.close();
  }
}

async function replayGroup(
  group: readonly RunRecord[],
  session: Session,
  context: CliContext,
): Promise<AllResult[]> {
  const first = group[0]!;
  let loaded: Awaited<ReturnType<typeof loadRecordedSource>>;
  try {
    loaded = await loadRecordedSource(first, context, session.store);
  } catch (error) {
    const reason = `could not load ${first.source}: ${errorMessage(error)}`;
    return group.map((run) => ({ runId: run.id, target: run.target, skipped: reason }));
  }
  const runtime = createRuntime({ store: session.store, recover: false, tracing: false });
  try {
    runtime.register(loaded.runnable);
    const results: AllResult[] = [];
    for (const run of group) {
      try {
        results.push({ runId: run.id, target: run.target, report: await runtime.replay(run.id) });
      } catch (error) {
        results.push({
          runId: run.id,
          target: run.target,
          skipped: `could not replay: ${errorMessage(error)}`,
        });
      }
    }
    return results;
  } finally {
    await runtime.close();
  }
}

/** `baton resume <runId>`: load a run's recorded source again and continue it with live progress. */

import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { terminalStatuses } from '../../core/store.js';
import { BatonError, ConfigError, type RunRecord, type Store } from '../../index.js';
import { allowedFoldersFromEnv, allowModulesVariable, isInsideFolders } from '../../team/index.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { type LoadedSource, loadSource, parseSource } from '../load-source.js';
import { awaitWorkers, type QueueTarget, queueOptions, queueTarget, waitsOf } from '../queue.js';
import { command, type FollowMode, followRun, openSession, printOutcome, type Session } from '../session.js';

/** The `resume` command. */
export const resumeCommand: Command = {
  name: 'resume',
  summary: 'Continue a suspended or interrupted run',
  usage: '<runId>',
  description:
    'Loads the definition the run was started from (its recorded source) and continues the run:\n' +
    'steps already in its journal return their recorded results without running again; the rest\n' +
    'run now, with live progress. With --redis (or BATON_REDIS), the run is dispatched to the workers\n' +
    'on the queue (baton worker) instead, and the command waits until they end or suspend it.',
  arguments: [{ name: 'runId', description: 'the run to continue (see baton runs)', required: true }],
  options: {
    force: { type: 'boolean', description: 'take the run over even if another process holds its lease' },
    quiet: { type: 'boolean', short: 'q', description: 'print only the final answer' },
    json: { type: 'boolean', description: 'print only the final run record, as JSON' },
    ...queueOptions,
  },
  examples: [
    'baton resume run_4f1c…',
    'baton resume run_4f1c… --force',
    'baton resume run_4f1c… --store postgres://baton@db/baton --redis redis://queue:6379',
  ],
  async run({ positionals, values }, context) {
    const [runId, extra] = positionals;
    if (runId === undefined) throw new UsageError('missing <runId>; list runs with baton runs.', 'resume');
    if (extra !== undefined) throw new UsageError(`resume takes one run id; got also "${extra}".`, 'resume');
    const mode = { quiet: values.quiet === true, json: values.json === true };
    const queue = queueTarget(values, context.env, 'resume');
    const session = await openSession(context, { mustExist: true, queue });
    try {
      const record = await session.runtime.get(runId);
      if (terminalStatuses.has(record.status)) {
        if (!mode.json && !mode.quiet)
          context.stdout.write(`Run ${runId} already ${record.status}; nothing to resume.\n`);
        return printOutcome(record, { waitingFor: [], wakeAt: undefined }, context, mode);
      }
      if (queue !== undefined) return await resumeThroughQueue(session, queue, record, context, mode);
      const loaded = await loadRecordedSource(record, context, session.store);
      if (loaded.notice !== undefined && !mode.json && !mode.quiet) {
        context.stdout.write(`${context.style.yellow(loaded.notice)}\n\n`);
      }
      session.runtime.register(loaded.runnable);
      const followed = await followRun(session, context, mode, () =>
        session.runtime.resume(runId, { force: values.force === true }).catch((error: unknown) => {
          throw withForceHint(error, context);
        }),
      );
      return printOutcome(followed.record, followed.state, context, mode);
    } finally {
      await session.close();
    }
  },
};

/**
 * Dispatches a run to the workers on the queue and waits until they end it or it suspends again.
 * A run a live worker holds is left to it (`--force` does not apply: workers take runs whose lease ran out).
 */
async function resumeThroughQueue(
  session: Session,
  queue: QueueTarget,
  record: RunRecord,
  context: CliContext,
  mode: FollowMode,
): Promise<number> {
  const say = (text: string): void => {
    if (!mode.json && !mode.quiet) context.stdout.write(`${text}\n`);
  };
  const leased =
    record.status === 'running' &&
    record.leaseOwner !== undefined &&
    (record.leaseExpiresAt ?? 0) > Date.now();
  if (leased) {
    say(`Run ${record.id} is running on ${record.leaseOwner}; it goes on there.`);
    const after = await awaitWorkers(session.runtime, record);
    return printOutcome(after, await waitsOf(session.store, after), context, mode);
  }
  await session.dispatcher?.dispatch(record.id, 'recover', { key: `cli-${Date.now()}` });
  say(`${context.style.green('✓')} Run ${record.id} dispatched to the workers on queue "${queue.queue}".`);
  say(
    context.style.dim(
      'Waiting for the workers to end or suspend the run (Ctrl-C stops waiting; the run goes on)…',
    ),
  );
  const after = await awaitWorkers(session.runtime, record);
  return printOutcome(after, await waitsOf(session.store, after), context, mode);
}

/** Loads the definition a run was started from, with errors that say what to do when that is impossible. */
export async function loadRecordedSource(
  record: RunRecord,
  context: CliContext,
  store?: Store,
): Promise<LoadedSource> {
  if (record.source === undefined) {
    throw new ConfigError(
      `Run ${record.id} (${record.target}) has no recorded source: it was started from code, not with \`baton run\`. Continue it from that code with runtime.resume("${record.id}").`,
      { runId: record.id },
    );
  }
  const { file, exportName } = parseSource(record.source);
  // Sources are recorded relative to the project folder (older runs: absolute), so a run
  // resumes from any checkout of the project.
  const path = resolve(context.cwd, file);
  const named = path === file ? file : `${file} (${path})`;
  // The store is data, not a place code may come from: only files inside the project folder (or
  // a folder the user allows) are loaded, so an edited `runs.source` cannot run any file.
  const allowed = [context.cwd, ...allowedFoldersFromEnv(context.env, context.cwd)];
  if (!isInsideFolders(path, allowed)) {
    throw new ConfigError(
      `Run ${record.id} names its source as ${named}, which is outside this folder (${context.cwd}); refused to load it. baton loads code named by the store only from inside the folder it runs in. Run baton from the project folder that holds the file, or, if you trust that file, allow its folder with ${allowModulesVariable}=<folder>.`,
      { runId: record.id },
    );
  }
  if (!existsSync(path)) {
    throw new ConfigError(
      `Run ${record.id} was started from ${named}, which does not exist here. Run baton from the project folder the run was started in (or another checkout of it), or restore the file (the same version, "${record.targetVersion}") to continue it.`,
      { runId: record.id },
    );
  }
  return loadSource(path, {
    cwd: context.cwd,
    env: context.env,
    exportName,
    ...(store === undefined ? {} : { store }),
  });
}

function withForceHint(error: unknown, context: CliContext): unknown {
  if (BatonError.isInstance(error) && error.code === 'RUN_LEASED' && error.runId !== undefined) {
    error.message = `${error.message.replace(/ or pass \{ force: true \}.*$/, '')} or, if that process is gone: ${command(context, `resume ${error.runId} --force`)}`;
  }
  return error;
}

/** What run, resume and signal share: opening the store, following a run live, and printing how it ended. */

import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import type { RunDispatcher } from '../core/dispatch.js';
import { createAuditWriter } from '../governance/audit.js';
import {
  ConfigError,
  createRuntime,
  type RunHandle,
  type RunRecord,
  type Runtime,
  type Store,
} from '../index.js';
import { isPostgresUrl } from '../runtime.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { type CliContext, exitCodes } from './command.js';
import { display, formatCost, formatDuration, formatTime, formatUsage, indent, wrap } from './format.js';
import { ProgressPrinter, type ProgressState } from './progress.js';
import type { QueueTarget } from './queue.js';
import { ensureStoreFolder, originText, storeVariable } from './store-path.js';

/** A runtime on the CLI's store, and how to close both. */
export interface Session {
  runtime: Runtime;
  /** The store under the runtime, SQLite or Postgres (team files whose pattern learns from past runs need it). */
  store: Store;
  /** With a queue: the dispatcher that hands runs to the workers (the runtime dispatches signals through it too). */
  dispatcher: RunDispatcher | undefined;
  close(): Promise<void>;
}

/**
 * Opens the store (SQLite, or Postgres for a `postgres://` URL) and a runtime that only runs what this command starts (no recovery
 * of other runs, unless `recover`: `baton serve` continues due timers and runs whose process died). With `mustExist`, a missing store file is an error instead of being created;
 * without it, the store's folder is created (an error names the path when it cannot be). With
 * `queue`, the runtime runs nothing itself: a signal to a suspended run is dispatched to the
 * workers on that BullMQ queue (`baton worker`), and `dispatcher` hands them other runs.
 *
 * @example
 * ```ts
 * const session = await openSession(context, { mustExist: true });
 * try { console.log(await session.runtime.list()); } finally { await session.close(); }
 * ```
 */
export async function openSession(
  context: CliContext,
  options: { mustExist?: boolean; queue?: QueueTarget | undefined; recover?: boolean } = {},
): Promise<Session> {
  const postgres = isPostgresUrl(context.storePath);
  if (!postgres && options.mustExist === true && !existsSync(context.storePath)) {
    throw new ConfigError(
      `No Baton store at ${shownPath(context, context.storePath)} (${originText(context.storeOrigin)}). Runs are stored in .baton/baton.db of the directory where \`baton run\` ran, unless --store or ${storeVariable} names another file; pass --store <path> (or set ${storeVariable}) to read another store.`,
    );
  }
  if (!postgres && options.mustExist !== true) ensureStoreFolder(context.storePath, context.storeOrigin);
  const store = postgres
    ? (await import('../stores/postgres/index.js')).createPostgresStore({
        connectionString: context.storePath,
      })
    : createSqliteStore({ path: context.storePath });
  // Runs started or continued from the CLI keep a hash-chained audit log (`baton audit verify`),
  // keyed (HMAC) when BATON_AUDIT_KEY is set.
  const key = auditKey(context);
  const dispatcher =
    options.queue === undefined
      ? undefined
      : (await import('../distributed/redis/index.js')).createBullmqDispatcher(options.queue);
  const runtime = createRuntime({
    store,
    // Only baton serve recovers: it owns the runs it serves (timers, crashed runs) while it lives.
    recover: options.recover === true,
    // BATON_JOURNAL_PROMPTS=1: model steps record the messages sent, for baton show --full and traces.
    journalPrompts: context.env.BATON_JOURNAL_PROMPTS === '1' || context.env.BATON_JOURNAL_PROMPTS === 'true',
    audit: (auditStore) => createAuditWriter(auditStore, key === undefined ? {} : { key }),
    ...(dispatcher === undefined ? {} : { dispatcher }),
  });
  return {
    runtime,
    store,
    dispatcher,
    async close() {
      await runtime.close();
      await dispatcher?.close();
      await store.close();
    },
  };
}

/**
 * The audit key of the CLI: the environment variable `BATON_AUDIT_KEY`, if set.
 *
 * @example
 * ```ts
 * const report = await verifyAudit(store, runId, { key: auditKey(context) });
 * ```
 */
export function auditKey(context: CliContext): string | undefined {
  const key = context.env.BATON_AUDIT_KEY;
  return key === undefined || key === '' ? undefined : key;
}

/** How a command prints a run: live progress, only the answer, or only the JSON record. */
export interface FollowMode {
  quiet: boolean;
  json: boolean;
}

/**
 * Starts (or continues) a run with `begin` and prints its events live until it ends or
 * suspends. Ctrl-C stops the process and leaves the run resumable.
 */
export async function followRun(
  session: Session,
  context: CliContext,
  mode: FollowMode,
  begin: () => Promise<RunHandle<unknown>>,
): Promise<{ record: RunRecord; state: ProgressState }> {
  const { runtime } = session;
  const printer = new ProgressPrinter(context.stdout, context.style);
  const live = !mode.quiet && !mode.json;
  let runId: string | undefined;
  const off = runtime.on((event) => {
    if (runId !== undefined && event.runId !== runId) return;
    if (live) printer.print(event);
    else if (event.type === 'run-suspended') {
      printer.state.waitingFor = event.waitingFor;
      printer.state.wakeAt = event.wakeAt;
    }
  });
  let interrupted = false;
  const interrupt = (): void => {
    const resume = runId === undefined ? 'baton resume <runId>' : command(context, `resume ${runId}`);
    if (interrupted) {
      context.stderr.write(`\nStopped at once. The run can be resumed with ${resume} --force\n`);
      process.exit(130);
    }
    interrupted = true;
    context.stderr.write(
      `\nInterrupted: finishing the step in flight, then stopping (Ctrl-C again to stop at once). The run stays resumable: ${resume}\n`,
    );
    session.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', interrupt);
  try {
    let handle = await begin();
    runId = handle.runId;
    for (let attempt = 0; ; attempt++) {
      for await (const _event of handle.events()) {
        // The listener above prints; iterating only waits for the run to end or suspend.
      }
      printer.finish();
      const record = await runtime.get(handle.runId);
      // A signal that arrived while the run was suspending makes it continue at once in this process.
      if (record.status !== 'running' || attempt >= 20) return { record, state: printer.state };
      await new Promise((resolve) => setTimeout(resolve, 20));
      handle = await runtime.resume(handle.runId);
    }
  } finally {
    process.off('SIGINT', interrupt);
    off();
  }
}

/**
 * Prints how a run ended (answer, run id, tokens, cost, time; or what it waits for) and returns
 * the exit code: 0 completed, 1 failed, cancelled or over budget, 3 suspended (`exitCodes`).
 */
export function printOutcome(
  record: RunRecord,
  state: ProgressState,
  context: CliContext,
  mode: FollowMode,
): number {
  const { style, stdout, stderr } = context;
  const failed =
    record.status === 'failed' || record.status === 'cancelled' || record.status === 'budget-exceeded';
  if (mode.json) {
    stdout.write(`${JSON.stringify(record, null, 2)}\n`);
    return exitCodeOf(record.status);
  }
  if (mode.quiet) {
    if (record.status === 'completed') stdout.write(`${display(record.output)}\n`);
    else if (failed) stderr.write(`${record.error?.message ?? `Run ${record.status}.`}\n`);
    else stderr.write(`${suspendedLines(record, state, context).join('\n')}\n`);
    return exitCodeOf(record.status);
  }
  const took = formatDuration((record.endedAt ?? Date.now()) - record.createdAt);
  const lines: string[] = [''];
  switch (record.status) {
    case 'completed':
      lines.push(`${style.green('✔ Completed')} ${style.dim(`in ${took}`)}`, '', style.bold('Answer'));
      lines.push(indent(wrap(display(record.output), answerWidth(stdout))), '');
      break;
    case 'budget-exceeded':
      lines.push(
        `${style.red('✗ Budget exceeded')} ${style.dim(`after ${took}`)}`,
        indent(style.red(record.error?.message ?? 'The run stopped at its budget.')),
        '',
        style.bold('Partial result'),
        indent(
          wrap(display((record.output as { text?: unknown } | undefined)?.text ?? ''), answerWidth(stdout)),
        ),
        '',
      );
      break;
    case 'failed':
    case 'cancelled':
      lines.push(
        `${style.red(`✗ ${record.status === 'failed' ? 'Failed' : 'Cancelled'}`)} ${style.dim(`after ${took}`)}`,
        indent(style.red(record.error?.message ?? `Run ${record.status}.`)),
        '',
      );
      break;
    default:
      lines.push(...suspendedLines(record, state, context), '');
  }
  lines.push(
    `  ${style.dim('run   ')}  ${record.id}`,
    `  ${style.dim('tokens')}  ${formatUsage(record.usage)}`,
    `  ${style.dim('cost  ')}  ${formatCost(record.costUsd)}`,
    `  ${style.dim('time  ')}  ${took}`,
    '',
    style.dim(`Inspect the steps: ${command(context, `show ${record.id}`)}`),
  );
  stdout.write(`${lines.join('\n')}\n`);
  return exitCodeOf(record.status);
}

/** The exit code of a command that followed a run until it ended or suspended. */
function exitCodeOf(status: RunRecord['status']): number {
  if (status === 'failed' || status === 'cancelled' || status === 'budget-exceeded') return exitCodes.failure;
  return status === 'suspended' ? exitCodes.suspended : exitCodes.ok;
}

/** Columns for the answer on a terminal (minus its indent); unlimited when piped. */
function answerWidth(out: CliContext['stdout']): number {
  return out.isTTY === true
    ? Math.min(Math.max((out.columns ?? 100) - 4, 40), 108)
    : Number.POSITIVE_INFINITY;
}

function suspendedLines(record: RunRecord, state: ProgressState, context: CliContext): string[] {
  const { style } = context;
  if (record.status === 'running') {
    return [
      `${style.yellow('■ Stopped')} before the run finished.`,
      `  Continue it with:  ${style.bold(command(context, `resume ${record.id}`))}`,
    ];
  }
  const lines: string[] = [];
  const [signal] = state.waitingFor;
  if (signal?.startsWith('human:') === true) {
    const member = signal.slice('human:'.length);
    lines.push(
      `${style.yellow('⏸ Suspended')}: waiting for ${member} (signal "${signal}").`,
      '  Answer and continue with:',
      `    ${style.bold(command(context, `reply ${record.id} ${shellQuote(member)} <answer>`))}`,
    );
  } else if (signal?.startsWith('approval:') === true) {
    const calls = state.waitingFor.filter((name) => name.startsWith('approval:')).length;
    lines.push(
      `${style.yellow('⏸ Suspended')}: waiting for approval of ${calls === 1 ? 'a tool call' : `${calls} tool calls`} (${state.waitingFor.map((name) => `"${name}"`).join(', ')}).`,
      '  See what is asked with:',
      `    ${style.bold(command(context, `approve ${record.id} --list`))}`,
      calls === 1
        ? `  Approve with ${style.bold(command(context, `approve ${record.id}`))}, or reject with --reject "why".`
        : `  Approve all with ${style.bold(command(context, `approve ${record.id} --all`))}, or one with --call <toolCallId>; reject with --reject "why".`,
    );
  } else if (signal !== undefined) {
    lines.push(
      `${style.yellow('⏸ Suspended')}: waiting for signal ${state.waitingFor.map((name) => `"${name}"`).join(', ')}.`,
      '  Continue it with:',
      `    ${style.bold(command(context, `signal ${record.id} ${shellQuote(signal)}`))}`,
      style.dim(
        `  (add a JSON payload after the name if the workflow expects one, e.g. '{"approved": true}')`,
      ),
    );
  }
  const wakeAt = state.wakeAt ?? record.wakeAt;
  if (wakeAt !== undefined && signal === undefined) {
    lines.push(
      `${style.yellow('⏸ Suspended')} until ${formatTime(wakeAt)} (in ${formatDuration(wakeAt - Date.now())}).`,
      `  Continue it then with:  ${style.bold(command(context, `resume ${record.id}`))}`,
    );
  } else if (wakeAt !== undefined && signal !== undefined) {
    // Resuming at the deadline does not answer the wait: it times it out.
    lines.push(
      `  The wait times out at ${formatTime(wakeAt)} (in ${formatDuration(wakeAt - Date.now())}); answer before then.`,
      `  After it, ${style.bold(command(context, `resume ${record.id}`))} applies the timeout: ${timeoutOutcome(signal)}.`,
    );
  }
  if (lines.length === 0) {
    lines.push(
      `${style.yellow('⏸ Suspended')}.`,
      `  Continue it with:  ${style.bold(command(context, `resume ${record.id}`))}`,
    );
  }
  return lines;
}

/** What a wait's timeout does, by the kind of wait. */
function timeoutOutcome(signal: string): string {
  if (signal.startsWith('approval:'))
    return "the approval rule's onTimeout decides (reject by default, approve, or escalate)";
  if (signal.startsWith('human:'))
    return "the member's fallback answers, or without one the run fails with WAIT_TIMEOUT";
  return 'the workflow gets a WaitTimeoutError, and the run fails unless the workflow catches it';
}

/** A `baton …` command line for the user to copy, with `--store` when it is not the default. */
export function command(context: CliContext, rest: string): string {
  return `baton ${rest}${context.storeFlag === '' ? '' : ` --store ${shellQuote(context.storeFlag)}`}`;
}

/** Quotes a word for a POSIX shell when it needs it. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/** A path relative to the working directory when it is inside it. */
export function shownPath(context: CliContext, path: string): string {
  const shown = relative(context.cwd, path);
  return shown === '' || shown.startsWith('..') ? path : shown;
}

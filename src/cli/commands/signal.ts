/** `baton signal <runId> <name> [json]`: deliver a signal, then continue the run here with live progress. */

import { checkSignalPayload } from '../../core/wait-payload.js';
import { BatonError, ConfigError } from '../../index.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { awaitWorkers, type QueueTarget, queueOptions, queueTarget, waitsOf } from '../queue.js';
import { command, followRun, openSession, printOutcome, type Session } from '../session.js';
import { loadRecordedSource } from './resume.js';
import { parseJson } from './run.js';

/** The `signal` command. */
export const signalCommand: Command = {
  name: 'signal',
  summary: 'Send a signal to a run and continue it',
  usage: '<runId> <name> [json]',
  description:
    'Delivers a signal (an approval, a human answer, an event) to a run that waits for it with\n' +
    "ctx.waitFor(name). The payload is JSON. Then, unless --no-resume, loads the run's recorded\n" +
    'source and continues it in this process with live progress until it ends or suspends again\n' +
    '(exit 3 when it suspends again). A payload the wait refuses (its declared schema) is not\n' +
    'stored: the command says what is wrong and exits 2, and the run keeps waiting.\n' +
    '\n' +
    'With --redis (or BATON_REDIS), the run is not continued here: the signal is dispatched to the\n' +
    'workers on the queue (baton worker), and the command waits until they end or suspend the run\n' +
    '(--no-resume: it does not wait).',
  arguments: [
    { name: 'runId', description: 'the run to signal', required: true },
    { name: 'name', description: 'the signal name the run waits for', required: true },
    {
      name: 'json',
      description: 'the payload as JSON, e.g. \'{"approved": true}\' (default null)',
      required: false,
    },
  ],
  options: {
    'no-resume': { type: 'boolean', description: 'only store the signal; do not continue the run here' },
    quiet: { type: 'boolean', short: 'q', description: 'print only the final answer' },
    json: { type: 'boolean', description: 'print only the final run record, as JSON' },
    ...queueOptions,
  },
  examples: [
    'baton signal run_4f1c… approval \'{"approved": true}\'',
    'baton signal run_4f1c… review --no-resume',
    'baton signal run_4f1c… approval \'{"approved": true}\' --store postgres://baton@db/baton --redis redis://queue:6379',
  ],
  async run({ positionals, values }, context) {
    const [runId, name, payloadText, extra] = positionals;
    if (runId === undefined || name === undefined) {
      throw new UsageError(
        'expected <runId> <name> [json], e.g. baton signal run_123 approval \'{"approved": true}\'.',
        'signal',
      );
    }
    if (extra !== undefined) {
      throw new UsageError(
        `too many arguments: the payload must be one JSON argument; quote it, e.g. '{"a": 1}'.`,
        'signal',
      );
    }
    const payload =
      payloadText === undefined ? null : parseJson(payloadText, `The payload of signal "${name}"`, 'signal');
    return deliverSignal(context, runId, name, payload, values);
  },
};

/** Stores a signal, then (unless `no-resume`) continues the run here with live progress; shared by `signal` and `reply`. */
export async function deliverSignal(
  context: CliContext,
  runId: string,
  name: string,
  payload: unknown,
  values: Record<string, string | boolean | undefined>,
): Promise<number> {
  const mode = { quiet: values.quiet === true, json: values.json === true };
  const queue = queueTarget(values, context.env, 'signal');
  const session = await openSession(context, { mustExist: true, queue });
  try {
    if (queue !== undefined)
      return await signalThroughQueue(session, queue, context, { runId, name, payload }, values);
    const { runtime } = session;
    const record = await runtime.get(runId);
    const say = (text: string): void => {
      if (!mode.json && !mode.quiet) context.stdout.write(`${text}\n`);
    };
    if (values['no-resume'] === true || record.source === undefined || record.status === 'running') {
      await runtime.signal(runId, name, payload);
      say(`${context.style.green('✓')} Signal "${name}" stored for run ${runId}.`);
      if (record.status === 'running')
        say('The run is running in another process; it receives the signal there.');
      else if (record.source === undefined)
        say(`Continue the run from the code that defines "${record.target}".`);
      else say(`Continue it with: ${command(context, `resume ${runId}`)}`);
      if (mode.json) context.stdout.write(`${JSON.stringify(await runtime.get(runId), null, 2)}\n`);
      return 0;
    }
    if (record.status !== 'suspended') {
      // Completed, failed or cancelled: the runtime refuses with a message that says so.
      await runtime.signal(runId, name, payload);
    }
    // Refused before saying it was sent: the run's wait recorded what it expects.
    await checkSignalPayload(session.store, runId, name, payload);
    const loaded = await loadRecordedSource(record, context, session.store);
    runtime.register(loaded.runnable);
    if (loaded.notice !== undefined) say(context.style.yellow(loaded.notice));
    say(`${context.style.green('✓')} Signal "${name}" sent to run ${runId}; continuing it here.\n`);
    const followed = await followRun(session, context, mode, async () => {
      await runtime.signal(runId, name, payload);
      try {
        return await runtime.resume(runId);
      } catch (error) {
        if (BatonError.isInstance(error) && error.code === 'RUN_LEASED') {
          throw new ConfigError(`${error.message}\nThe signal is stored; that process will receive it.`, {
            runId,
          });
        }
        throw error;
      }
    });
    return printOutcome(followed.record, followed.state, context, mode);
  } finally {
    await session.close();
  }
}

/**
 * Stores a signal for a run that workers execute: a suspended run is dispatched to them on the
 * queue. Then (unless `no-resume`) waits until they end it or it suspends again, and prints how.
 */
async function signalThroughQueue(
  session: Session,
  queue: QueueTarget,
  context: CliContext,
  signal: { runId: string; name: string; payload: unknown },
  values: Record<string, string | boolean | undefined>,
): Promise<number> {
  const { runtime } = session;
  const { runId, name } = signal;
  const mode = { quiet: values.quiet === true, json: values.json === true };
  const say = (text: string): void => {
    if (!mode.json && !mode.quiet) context.stdout.write(`${text}\n`);
  };
  const before = await runtime.get(runId);
  // Refuses a payload the open wait does not take (nothing stored) and a run that has ended.
  await runtime.signal(runId, name, signal.payload);
  const storedAt = Date.now();
  say(
    `${context.style.green('✓')} Signal "${name}" stored for run ${runId}; ${before.status === 'suspended' ? `dispatched to the workers on queue "${queue.queue}"` : 'the worker running it receives it'}.`,
  );
  if (values['no-resume'] === true) {
    if (mode.json) context.stdout.write(`${JSON.stringify(await runtime.get(runId), null, 2)}\n`);
    return 0;
  }
  say(
    context.style.dim(
      'Waiting for the workers to end or suspend the run (Ctrl-C stops waiting; the run goes on)…',
    ),
  );
  const record = await awaitWorkers(runtime, before, { dueUntil: storedAt });
  return printOutcome(record, await waitsOf(session.store, record), context, mode);
}

/** `baton cancel <runId>`: stop a run for good: suspended, waiting on a timer, or running elsewhere. */

import { terminalStatuses } from '../../core/store.js';
import { type Command, exitCodes, UsageError } from '../command.js';
import { openSession } from '../session.js';

/** The `cancel` command. */
export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'Cancel a run that has not ended (suspended, waiting or running)',
  usage: '<runId>',
  description:
    'Marks the run cancelled in the store: a suspended run stops waiting (its signals, approvals and\n' +
    'timers no longer continue it), and a run executing in another process stops at its next step.\n' +
    'A cancelled run cannot be resumed. Cancelling a run that is already cancelled does nothing;\n' +
    'a run that already completed or failed is left as it is (exit code 1).',
  arguments: [{ name: 'runId', description: 'the run to cancel (see baton runs)', required: true }],
  options: {
    json: { type: 'boolean', description: 'print only the run record after cancelling, as JSON' },
  },
  examples: ['baton cancel run_4f1c…', 'baton cancel run_4f1c… --store /var/baton/runs.db'],
  async run({ positionals, values }, context) {
    const [runId, extra] = positionals;
    if (runId === undefined) throw new UsageError('missing <runId>; list runs with baton runs.', 'cancel');
    if (extra !== undefined) throw new UsageError(`cancel takes one run id; got also "${extra}".`, 'cancel');
    const session = await openSession(context, { mustExist: true });
    try {
      const before = await session.runtime.get(runId);
      const after = terminalStatuses.has(before.status) ? before : await session.runtime.cancel(runId);
      if (values.json === true) context.stdout.write(`${JSON.stringify(after, null, 2)}\n`);
      if (before.status === 'cancelled') {
        if (values.json !== true) context.stdout.write(`Run ${runId} is already cancelled.\n`);
        return exitCodes.ok;
      }
      if (terminalStatuses.has(before.status)) {
        context.stderr.write(`Run ${runId} already ${before.status}; there is nothing to cancel.\n`);
        return exitCodes.failure;
      }
      if (values.json !== true) {
        const was =
          before.status === 'running'
            ? 'it was running; the process executing it stops at its next step'
            : `it was ${before.status}`;
        context.stdout.write(`${context.style.green('✓')} Run ${runId} cancelled (${was}).\n`);
      }
      return exitCodes.ok;
    } finally {
      await session.close();
    }
  },
};

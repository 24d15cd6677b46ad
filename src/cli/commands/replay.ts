/** `baton replay <runId>`: re-executes an ended run against its journal with today's code, calling nothing. */

import { type Command, UsageError } from '../command.js';
import { openSession } from '../session.js';
import { loadRecordedSource } from './resume.js';

/** The `replay` command. */
export const replayCommand: Command = {
  name: 'replay',
  summary: "Check that today's code still makes an ended run (no model or tool is called)",
  usage: '<runId>',
  description:
    'Loads the definition the run was started from (its recorded source, as it is now) and runs it\n' +
    "against the run's journal: every step must be one the journal recorded, in the same order, so\n" +
    'no model, tool or step runs, and nothing is written. Prints "identical", or the first step where\n' +
    'the code now asks for something else (exit 1). Use it after a refactor on recorded runs.',
  arguments: [{ name: 'runId', description: 'an ended run (see baton runs)', required: true }],
  options: { json: { type: 'boolean', description: 'print the replay report as JSON' } },
  examples: ['baton replay run_4f1c…', 'baton replay run_4f1c… --json'],
  async run({ positionals, values }, context) {
    const [runId, extra] = positionals;
    if (runId === undefined) throw new UsageError('missing <runId>; list runs with baton runs.', 'replay');
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
        const where =
          report.difference?.key === undefined
            ? ''
            : ` at ${report.difference.key}: recorded "${report.difference.recorded}", the code asks for "${report.difference.requested}"`;
        context.stdout.write(
          `${context.style.red('differs')}${where}.\n  ${report.difference?.message ?? ''}\n  (${report.replayed} of ${report.recorded} recorded steps replayed)\n`,
        );
      }
      return report.identical ? 0 : 1;
    } finally {
      await session.close();
    }
  },
};

/** `baton fork <runId> --at <step key>`: a new run sharing the journal up to a step, live from there. */

import { type Command, UsageError } from '../command.js';
import { followRun, openSession, printOutcome } from '../session.js';
import { loadRecordedSource } from './resume.js';

/** The `fork` command. */
export const forkCommand: Command = {
  name: 'fork',
  summary: 'Start a new run from a step of another (what if it had gone differently)',
  usage: '<runId> --at <step key>',
  description:
    "Loads the run's recorded source and starts a new run that shares the run's journal up to the\n" +
    'step at --at (every entry recorded before it): those steps return their recorded results, and\n' +
    'the step at --at and everything after it run live, with live progress. --input-json gives the\n' +
    'fork another input (steps before --at still replay as recorded). baton show names the origin.',
  arguments: [{ name: 'runId', description: 'the run to fork (see baton runs)', required: true }],
  options: {
    at: {
      type: 'string',
      value: '<step key>',
      description: 'the step to run again, as baton show lists it (r#2)',
    },
    'input-json': {
      type: 'string',
      value: '<json>',
      description: "the fork's input as JSON (default: the run's)",
    },
    quiet: { type: 'boolean', short: 'q', description: 'print only the final answer' },
    json: { type: 'boolean', description: 'print only the final run record, as JSON' },
  },
  examples: ['baton fork run_4f1c… --at r#2', 'baton fork run_4f1c… --at r#0 --input-json \'{"amount": 5}\''],
  async run({ positionals, values }, context) {
    const [runId, extra] = positionals;
    if (runId === undefined) throw new UsageError('missing <runId>; list runs with baton runs.', 'fork');
    if (extra !== undefined) throw new UsageError(`fork takes one run id; got also "${extra}".`, 'fork');
    const at = values.at as string | undefined;
    if (at === undefined || at === '')
      throw new UsageError(
        'missing --at <step key>: the step to run again (baton show lists the keys).',
        'fork',
      );
    const inputJson = values['input-json'] as string | undefined;
    let input: { value: unknown } | undefined;
    if (inputJson !== undefined) {
      try {
        input = { value: JSON.parse(inputJson) };
      } catch (error) {
        throw new UsageError(`--input-json is not JSON: ${(error as Error).message}`, 'fork');
      }
    }
    const mode = { quiet: values.quiet === true, json: values.json === true };
    const session = await openSession(context, { mustExist: true });
    try {
      const record = await session.runtime.get(runId);
      const loaded = await loadRecordedSource(record, context, session.store);
      session.runtime.register(loaded.runnable);
      const followed = await followRun(session, context, mode, () =>
        session.runtime.fork(runId, input === undefined ? { at } : { at, input: input.value }),
      );
      return printOutcome(followed.record, followed.state, context, mode);
    } finally {
      await session.close();
    }
  },
};

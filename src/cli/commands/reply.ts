/** `baton reply <runId> <member> <text...>`: answer for a human member of a team, then continue the run here. */

import { type Command, UsageError } from '../command.js';
import { queueOptions } from '../queue.js';
import { deliverSignal } from './signal.js';

/** The `reply` command. */
export const replyCommand: Command = {
  name: 'reply',
  summary: "Answer a human member's turn and continue the run",
  usage: '<runId> <member> <text...>',
  description:
    'A human member of a team (human() in code, humans: in a team file) waits for the signal\n' +
    '"human:<member>". This sends the text as that answer (the same as\n' +
    'baton signal <runId> human:<member> \'{"text": "..."}\'), then, unless --no-resume,\n' +
    'continues the run in this process with live progress (with --redis: the workers continue it).',
  arguments: [
    { name: 'runId', description: 'the run whose human member is asked', required: true },
    { name: 'member', description: 'the human member answering (its name)', required: true },
    { name: 'text', description: 'the answer; several words need no quotes', required: true, variadic: true },
  ],
  options: {
    'no-resume': { type: 'boolean', description: 'only store the answer; do not continue the run here' },
    quiet: { type: 'boolean', short: 'q', description: 'print only the final answer' },
    json: { type: 'boolean', description: 'print only the final run record, as JSON' },
    ...queueOptions,
  },
  examples: [
    'baton reply run_4f1c… lead APPROVED',
    'baton reply run_4f1c… reviewer Cut the second paragraph.',
  ],
  async run({ positionals, values }, context) {
    const [runId, member, ...words] = positionals;
    if (runId === undefined || member === undefined || words.length === 0) {
      throw new UsageError(
        'expected <runId> <member> <text>, e.g. baton reply run_123 lead APPROVED.',
        'reply',
      );
    }
    const name = member.startsWith('human:') ? member : `human:${member}`;
    return deliverSignal(context, runId, name, { text: words.join(' ') }, values);
  },
};

/** `baton inbox`: every run waiting for a person (tool-call approvals, human members' answers, plain waitFor signals), with what is asked. */

import { listPending, type PendingRequest } from '../../governance/approval-inbox.js';
import type { CliContext, Command } from '../command.js';
import { formatDuration, formatTime, preview } from '../format.js';
import { command, openSession, shellQuote } from '../session.js';

/** The `inbox` command. */
export const inboxCommand: Command = {
  name: 'inbox',
  summary: 'List runs waiting for an approval, a human answer or another signal',
  usage: '',
  description:
    'Lists what suspended runs in the store wait for from a person, oldest first: tool calls that\n' +
    'need approval (tool, arguments, agent, since when), human members asked for an answer, and\n' +
    'the signals of plain ctx.waitFor(name) waits (with the payload they expect, if declared),\n' +
    'each with the command that answers it. An unknown --run id is an error (exit 1).',
  arguments: [],
  options: {
    run: { type: 'string', value: '<runId>', description: 'only this run' },
    json: { type: 'boolean', description: 'print the pending requests as JSON' },
  },
  examples: ['baton inbox', 'baton inbox --run run_4f1c…', 'baton inbox --json'],
  async run({ values }, context) {
    const session = await openSession(context, { mustExist: true });
    try {
      const pending = await listPending(
        session.store,
        typeof values.run === 'string' ? { runId: values.run } : {},
      );
      if (values.json === true) {
        context.stdout.write(`${JSON.stringify(pending, null, 2)}\n`);
        return 0;
      }
      if (pending.length === 0) {
        if (typeof values.run === 'string') {
          const record = await session.runtime.get(values.run);
          context.stdout.write(
            `Run ${values.run} is ${record.status}; it waits for no approval, answer or signal.\n`,
          );
          return 0;
        }
        context.stdout.write(
          'Nothing waits for you: no suspended run asks for an approval, an answer or a signal.\n',
        );
        return 0;
      }
      context.stdout.write(
        `${pending.length} waiting:\n\n${pending.map((request) => entryText(request, context)).join('\n')}`,
      );
      return 0;
    } finally {
      await session.close();
    }
  },
};

function entryText(request: PendingRequest, context: CliContext): string {
  const { style } = context;
  const since = `since ${formatTime(request.since)} (${formatDuration(Math.max(0, Date.now() - request.since))})`;
  const lines: string[] = [];
  if (request.kind === 'approval') {
    lines.push(
      `${style.yellow('approval')}  ${style.bold(request.runId)}  ${request.target}`,
      `  ${request.tool} ${preview(request.input, 160)}`,
      `  ${style.dim(`agent ${request.agent} · call ${request.toolCallId} · ${since}`)}`,
    );
    if (request.escalatedTo !== undefined)
      lines.push(
        `  ${style.yellow(`escalated to ${request.escalatedTo}`)}: the first approver did not answer in time`,
      );
    if (request.deadline !== undefined) lines.push(`  ${style.dim(deadlineText(request))}`);
    lines.push(
      request.answered
        ? `  answered; continue it with ${command(context, `resume ${request.runId}`)}`
        : `  approve: ${command(context, `approve ${request.runId} --call ${shellQuote(request.toolCallId ?? '')}`)}   reject: add --reject "why"`,
    );
  } else if (request.kind === 'signal') {
    lines.push(
      `${style.yellow('signal  ')}  ${style.bold(request.runId)}  ${request.target}`,
      `  waits for the signal "${request.signal}"${request.schema === undefined ? '' : ` with a payload of ${preview(request.schema, 160)}`}`,
      `  ${style.dim(since)}`,
      request.answered
        ? `  answered; continue it with ${command(context, `resume ${request.runId}`)}`
        : `  answer: ${command(context, `signal ${request.runId} ${shellQuote(request.signal)} '<json>'`)}`,
    );
  } else {
    lines.push(
      `${style.yellow('answer  ')}  ${style.bold(request.runId)}  ${request.target}`,
      `  ${request.member ?? request.signal} is asked: ${request.prompt ?? preview(request.input, 160)}`,
      `  ${style.dim(`signal ${request.signal} · ${since}`)}`,
      request.answered
        ? `  answered; continue it with ${command(context, `resume ${request.runId}`)}`
        : `  answer: ${command(context, `reply ${request.runId} ${shellQuote(request.member ?? request.signal)} <answer>`)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** When an approval's deadline passes and what happens then: `deadline 2026-01-01 10:30:00 (in 12m 05s), then reject`. */
function deadlineText(request: PendingRequest): string {
  const deadline = request.deadline as number;
  const left = deadline - Date.now();
  const when = left > 0 ? `in ${formatDuration(left)}` : 'passed; decided when the run resumes';
  const onTimeout = request.onTimeout ?? 'reject';
  const then = typeof onTimeout === 'string' ? onTimeout : `escalate to ${onTimeout.escalateTo}`;
  return `deadline ${formatTime(deadline)} (${when}), then ${then}`;
}

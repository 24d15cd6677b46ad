/** `baton inbox`: every run waiting for a person (tool-call approvals, human members' answers), with what is asked. */

import { listPending, type PendingRequest } from '../../governance/approval-inbox.js';
import type { CliContext, Command } from '../command.js';
import { formatDuration, formatTime, preview } from '../format.js';
import { command, openSession, shellQuote } from '../session.js';

/** The `inbox` command. */
export const inboxCommand: Command = {
  name: 'inbox',
  summary: 'List runs waiting for an approval or a human answer',
  usage: '',
  description:
    'Lists what suspended runs in the store wait for from a person, oldest first: tool calls that\n' +
    'need approval (tool, arguments, agent, since when) and human members asked for an answer,\n' +
    'each with the command that answers it.',
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
        context.stdout.write('Nothing waits for you: no suspended run asks for an approval or an answer.\n');
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

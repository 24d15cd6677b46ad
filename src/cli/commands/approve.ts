/** `baton approve <runId> [--reject "why"]`: answer a run's pending tool-call approvals, then continue it here. */

import { ConfigError } from '../../core/errors.js';
import { listPending, type PendingRequest } from '../../governance/approval-inbox.js';
import type { ApprovalDecision } from '../../governance/approvals.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { formatDuration, preview } from '../format.js';
import { queueOptions, queueTarget } from '../queue.js';
import { command, openSession } from '../session.js';
import { deliverSignal } from './signal.js';

/** The `approve` command. */
export const approveCommand: Command = {
  name: 'approve',
  summary: "Approve or reject a run's pending tool calls and continue it",
  usage: '<runId>',
  description:
    'A tool that requires approval (tool({ approval }) or agent({ approvals })) waits durably for the\n' +
    'signal "approval:<toolCallId>". This approves it, or with --reject rejects it with a reason the\n' +
    'model sees as the tool result ("rejected: <reason>"), then, unless --no-resume, continues the\n' +
    'run in this process with live progress. When several calls wait, choose one with --call <id>\n' +
    'or answer all with --all; --list only lists them. With --redis (or BATON_REDIS), the workers on\n' +
    'the queue continue the run (baton worker); the command waits until they end or suspend it.',
  arguments: [{ name: 'runId', description: 'the run whose tool calls wait for approval', required: true }],
  options: {
    call: { type: 'string', value: '<toolCallId>', description: 'the call to answer (see --list)' },
    all: { type: 'boolean', description: 'answer every pending call of the run' },
    reject: {
      type: 'string',
      value: '<reason>',
      description: 'reject instead of approving; the model sees the reason',
    },
    by: {
      type: 'string',
      value: '<name>',
      description: 'who decides, recorded in the audit log (default $USER)',
    },
    list: { type: 'boolean', description: 'only list the pending calls' },
    'no-resume': { type: 'boolean', description: 'only store the answer; do not continue the run here' },
    quiet: { type: 'boolean', short: 'q', description: 'print only the final answer' },
    json: { type: 'boolean', description: 'print only the final run record, as JSON' },
    ...queueOptions,
  },
  examples: [
    'baton approve run_4f1c…',
    'baton approve run_4f1c… --reject "over the refund limit"',
    'baton approve run_4f1c… --call call_2 --by ana',
    'baton approve run_4f1c… --list',
  ],
  async run({ positionals, values }, context) {
    const [runId] = positionals;
    if (runId === undefined)
      throw new UsageError('missing <runId>; see pending approvals with baton inbox.', 'approve');
    if (values.reject === '')
      throw new UsageError('--reject needs a reason the model can act on.', 'approve');
    const pending = await pendingApprovals(context, runId);
    if (values.list === true) {
      context.stdout.write(listText(pending, runId, context));
      return 0;
    }
    const chosen = choose(pending, runId, values, context);
    const decision: ApprovalDecision =
      typeof values.reject === 'string' ? { approved: false, reason: values.reject } : { approved: true };
    const by = typeof values.by === 'string' ? values.by : context.env.USER;
    if (by !== undefined && by !== '') decision.by = by;
    const quiet = values.quiet === true || values.json === true;
    const verb = decision.approved ? context.style.green('✓ Approved') : context.style.red('✗ Rejected');
    for (const request of chosen) {
      if (!quiet)
        context.stdout.write(
          `${verb} ${request.tool} ${preview(request.input, 100)} ${context.style.dim(`(call ${request.toolCallId}, agent ${request.agent})`)}\n`,
        );
    }
    const last = chosen.at(-1) as PendingRequest;
    if (chosen.length > 1) {
      const session = await openSession(context, {
        mustExist: true,
        queue: queueTarget(values, context.env, 'approve'),
      });
      try {
        for (const request of chosen.slice(0, -1))
          await session.runtime.signal(runId, request.signal, bound(decision, request));
      } finally {
        await session.close();
      }
    }
    return deliverSignal(context, runId, last.signal, bound(decision, last), values);
  },
};

/** The decision for one request, bound to the arguments shown (the call runs only if they still hash the same). */
function bound(decision: ApprovalDecision, request: PendingRequest): ApprovalDecision {
  return request.inputHash === undefined ? decision : { ...decision, inputHash: request.inputHash };
}

async function pendingApprovals(context: CliContext, runId: string): Promise<PendingRequest[]> {
  const session = await openSession(context, { mustExist: true });
  try {
    const record = await session.runtime.get(runId);
    const pending = (await listPending(session.store, { runId })).filter(
      (request) => request.kind === 'approval' && !request.answered,
    );
    if (pending.length === 0 && record.status !== 'suspended')
      throw new ConfigError(`Run ${runId} is ${record.status}; it waits for no approval.`, { runId });
    return pending;
  } finally {
    await session.close();
  }
}

function choose(
  pending: readonly PendingRequest[],
  runId: string,
  values: Record<string, string | boolean | undefined>,
  context: CliContext,
): PendingRequest[] {
  if (pending.length === 0)
    throw new ConfigError(
      `Run ${runId} has no pending approval. See what runs wait for with ${command(context, 'inbox')}.`,
      { runId },
    );
  if (typeof values.call === 'string') {
    const found = pending.filter((request) => request.toolCallId === values.call);
    if (found.length === 0)
      throw new UsageError(
        `run ${runId} has no pending call "${values.call}"; pending: ${pending.map((request) => request.toolCallId).join(', ')}.`,
        'approve',
      );
    return found;
  }
  if (pending.length === 1 || values.all === true) return [...pending];
  throw new UsageError(
    `${pending.length} tool calls of run ${runId} wait for approval; choose one with --call <id> or answer all with --all:\n${listText(pending, runId, context)}`,
    'approve',
  );
}

function listText(pending: readonly PendingRequest[], runId: string, context: CliContext): string {
  if (pending.length === 0) return `Run ${runId} has no pending approval.\n`;
  const now = Date.now();
  return `${pending
    .map(
      (request) =>
        `  ${context.style.bold(request.toolCallId ?? '?')}  ${request.tool} ${preview(request.input, 80)}  ${context.style.dim(`agent ${request.agent} · waiting ${formatDuration(now - request.since)}`)}`,
    )
    .join('\n')}\n`;
}

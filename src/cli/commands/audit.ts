/** `baton audit verify|show <runId>`: check a run's hash-chained audit log, or print it. */

import { type AuditEntry, readAudit } from '../../governance/audit.js';
import { verifyAudit } from '../../governance/audit-verify.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { formatTime, preview } from '../format.js';
import { auditKey, openSession } from '../session.js';

/** The `audit` command. */
export const auditCommand: Command = {
  name: 'audit',
  summary: "Verify or show a run's hash-chained audit log",
  usage: '<verify|show> <runId>',
  description:
    'Every model decision, tool call, handoff, approval, rejection and denial of a run is appended to\n' +
    'its audit log (record stream audit:<runId>), each entry holding the sha256 of the previous one.\n' +
    '`verify` recomputes the chain and checks it against the journal; it names the first edited,\n' +
    'inserted or deleted entry and exits with 1. `show` prints the entries.\n' +
    'With BATON_AUDIT_KEY set, runs are audited with HMAC-SHA256 under that key, and `verify`\n' +
    'requires every entry to be keyed with it (an edit re-chained without the key is caught).\n' +
    'A log written with a key is refused without it (exit 1), even if its MACs were stripped.',
  arguments: [
    { name: 'action', description: 'verify or show', required: true },
    { name: 'runId', description: 'the run whose audit log to read', required: true },
  ],
  options: {
    json: { type: 'boolean', description: 'print the report (verify) or the entries (show) as JSON' },
  },
  examples: [
    'baton audit verify run_4f1c…',
    'baton audit show run_4f1c…',
    'baton audit show run_4f1c… --json',
  ],
  async run({ positionals, values }, context) {
    const [action, runId] = positionals;
    if (action !== 'verify' && action !== 'show')
      throw new UsageError(
        `unknown action "${action}"; use baton audit verify <runId> or baton audit show <runId>.`,
        'audit',
      );
    if (runId === undefined) throw new UsageError('missing <runId>; list runs with baton runs.', 'audit');
    const session = await openSession(context, { mustExist: true });
    try {
      await session.runtime.get(runId);
      if (action === 'show') {
        const entries = await readAudit(session.store, runId);
        if (values.json === true) context.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
        else context.stdout.write(showText(entries, runId, context));
        return 0;
      }
      const key = auditKey(context);
      const report = await verifyAudit(session.store, runId, key === undefined ? {} : { key });
      if (values.json === true) {
        context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        return report.ok ? 0 : 1;
      }
      const { style } = context;
      if (report.ok) {
        context.stdout.write(
          `${style.green('✓')} Audit log of run ${runId} is intact: ${report.entries} entries, head ${report.head}${report.keyed ? ' (HMAC-keyed, checked with BATON_AUDIT_KEY)' : ''}.\n`,
        );
        return 0;
      }
      context.stdout.write(
        `${style.red('✗')} Audit log of run ${runId} fails verification (${report.problem?.kind} entry #${report.problem?.index}):\n  ${report.problem?.message}\n`,
      );
      return 1;
    } finally {
      await session.close();
    }
  },
};

function showText(entries: readonly AuditEntry[], runId: string, context: CliContext): string {
  if (entries.length === 0) return `Run ${runId} has no audit entries (was it run with audit on?).\n`;
  const { style } = context;
  const lines = entries.map((entry) => {
    const head = `#${String(entry.index).padEnd(3)} ${style.dim(formatTime(entry.at))}  ${entry.type.padEnd(18)} ${(entry.agent ?? '').padEnd(12)}`;
    return `${head} ${summary(entry)}  ${style.dim(entry.hash.slice(0, 12))}`;
  });
  return `Audit log of run ${runId} (${entries.length} entries)\n${lines.join('\n')}\n`;
}

function summary(entry: AuditEntry): string {
  const data = entry.data;
  switch (entry.type) {
    case 'model-decision':
      return data.decision === 'final-answer'
        ? `answer ${preview(data.answer, 80)}`
        : `calls ${((data.toolCalls ?? []) as Array<{ tool: string; input: string }>).map((call) => `${call.tool} ${call.input}`).join(', ')}`;
    case 'handoff':
      return `${String(data.from)} → ${String(data.to)}`;
    case 'tool-call':
      return `${String(data.tool)} ${data.status === 'failed' ? `failed: ${String(data.error)}` : preview(data.output, 80)}`;
    case 'approval-requested':
      return `${String(data.tool)} ${preview(data.input, 80)} (call ${String(data.toolCallId)})`;
    case 'approved':
    case 'rejected':
      return `call ${String(data.toolCallId)}${data.by === undefined ? '' : ` by ${String(data.by)}`}${data.reason === undefined ? '' : `: ${String(data.reason)}`}`;
    case 'denial':
      return `${String(data.tool)}: ${preview(data.reason, 100)}`;
    default:
      return preview(data, 100);
  }
}

/** `baton webhooks create|list|revoke|deliveries`: webhook subscriptions kept in the store, and their delivery logs. */

import { ConfigError } from '../../index.js';
import { type Command, UsageError } from '../command.js';
import { alignedTable, commaList, formatDuration, formatTime } from '../format.js';
import { openSession } from '../session.js';

/** The event types (server/webhooks.ts's webhookEventTypes, repeated: the server is loaded only on use). */
const eventNames = ['run.completed', 'run.failed', 'run.cancelled', 'run.budget_exceeded', 'run.waiting'];
const flagOf: Readonly<Record<string, string>> = {
  url: '--url',
  events: '--events',
  targets: '--target',
  description: '--description',
};

/** The `webhooks` command. */
export const webhooksCommand: Command = {
  name: 'webhooks',
  summary: 'Create, list and revoke webhooks; show their delivery logs',
  usage: '<create|list|revoke|deliveries> [id]',
  description:
    'Webhooks POST a signed JSON event to a URL when a run ends (run.completed, run.failed,\n' +
    'run.cancelled, run.budget_exceeded) or waits for a person (run.waiting). create prints the\n' +
    'signing secret once; the store keeps it (an HMAC needs it), so guard the store like the secret.\n' +
    'baton serve sends them (a dispatcher that follows the store; --no-webhooks turns it off), as\n' +
    'does baton worker --webhooks. list shows subscriptions without secrets; revoke <id> stops one\n' +
    '(pending retries included); deliveries <id> shows its attempts, newest first. See\n' +
    'docs/webhooks.md.',
  arguments: [
    { name: 'action', description: 'create, list, revoke or deliveries', required: true },
    { name: 'id', description: 'the webhook (wh_…) to revoke or to show deliveries of', required: false },
  ],
  options: {
    url: { type: 'string', value: '<url>', description: 'where to POST events: https://… (create)' },
    events: {
      type: 'string',
      value: '<names>',
      description: `comma-separated: ${eventNames.join(', ')} (create)`,
    },
    target: {
      type: 'string',
      value: '<names>',
      description: 'comma-separated targets whose runs are sent (create; default all)',
    },
    description: { type: 'string', value: '<text>', description: 'what the webhook is for (create)' },
    'allow-http': {
      type: 'boolean',
      description: 'allow plain http:// to a host that is not loopback (create)',
    },
    limit: { type: 'string', value: '<n>', description: 'rows of the delivery log (deliveries; default 50)' },
    json: { type: 'boolean', description: 'print JSON' },
  },
  examples: [
    'baton webhooks create --url https://hooks.example.com/baton --events run.completed,run.failed,run.waiting',
    'baton webhooks create --url https://ops.example.com/h --events run.budget_exceeded --target support-team',
    'baton webhooks list',
    'baton webhooks deliveries wh_3f9a0c12b7de --limit 20',
    'baton webhooks revoke wh_3f9a0c12b7de',
  ],
  async run({ positionals, values }, context) {
    const [action, id] = positionals;
    const json = values.json === true;
    // Loaded on use, and not the server's index (which loads hono).
    const webhooks = {
      ...(await import('../../server/webhooks.js')),
      ...(await import('../../server/webhook-deliveries.js')),
    };
    if (action === 'create') {
      if (id !== undefined) throw new UsageError('webhooks create takes no id.', 'webhooks');
      if (typeof values.url !== 'string')
        throw new UsageError('webhooks create needs --url https://… (where to POST events).', 'webhooks');
      const options = {
        url: values.url,
        events: commaList(values.events),
        ...(commaList(values.target).length === 0 ? {} : { targets: commaList(values.target) }),
        ...(typeof values.description === 'string' ? { description: values.description } : {}),
        ...(values['allow-http'] === true ? { allowHttp: true } : {}),
      };
      const problems = webhooks.webhookProblems(options);
      if (problems.length > 0) {
        const lines = problems.map((problem) => {
          const [where, index] = problem.path;
          const item = typeof index === 'number' ? ` (item ${index + 1})` : '';
          return `${flagOf[String(where)] ?? String(where)}${item}: ${problem.message}`;
        });
        throw new UsageError(lines.join('; '), 'webhooks');
      }
      const session = await openSession(context);
      try {
        const { secret, info } = await webhooks.createWebhook(session.store, options);
        if (json) context.stdout.write(`${JSON.stringify({ ...info, secret }, null, 2)}\n`);
        else {
          context.stdout.write(`${secret}\n`);
          context.stderr.write(
            `Webhook ${info.id} (${info.events.join(', ')}${info.targets === undefined ? '' : `; targets ${info.targets.join(', ')}`}) created for ${info.url}. The secret above signs its requests and is shown only this once: keep it now.\n`,
          );
        }
        return 0;
      } finally {
        await session.close();
      }
    }
    if (action === 'list') {
      if (id !== undefined) throw new UsageError('webhooks list takes no id.', 'webhooks');
      const session = await openSession(context);
      try {
        const hooks = await webhooks.listWebhooks(session.store);
        if (json) context.stdout.write(`${JSON.stringify(hooks, null, 2)}\n`);
        else if (hooks.length === 0)
          context.stdout.write(
            'No webhooks. Create one with: baton webhooks create --url https://… --events run.completed\n',
          );
        else
          context.stdout.write(
            `${alignedTable(
              ['ID', 'URL', 'EVENTS', 'TARGETS', 'CREATED', 'REVOKED'],
              hooks.map((hook) => [
                hook.id,
                hook.url,
                hook.events.join(','),
                hook.targets?.join(',') ?? 'all',
                formatTime(hook.createdAt),
                hook.revokedAt === undefined ? '' : formatTime(hook.revokedAt),
              ]),
              new Set(),
              context.style,
            )}\n`,
          );
        return 0;
      } finally {
        await session.close();
      }
    }
    if (action === 'revoke' || action === 'deliveries') {
      if (id === undefined)
        throw new UsageError(
          `webhooks ${action} needs the webhook id (wh_…); see baton webhooks list.`,
          'webhooks',
        );
      const limit = wholeNumber(values.limit);
      const session = await openSession(context);
      try {
        const known = (await webhooks.listWebhooks(session.store)).some((hook) => hook.id === id);
        if (!known) throw new ConfigError(`No webhook ${id}; see baton webhooks list.`);
        if (action === 'revoke') {
          await webhooks.revokeWebhook(session.store, id);
          context.stdout.write(`Webhook ${id} revoked: nothing more is sent to it.\n`);
          return 0;
        }
        const rows = await webhooks.listWebhookDeliveries(session.store, id, { limit: limit ?? 50 });
        if (json) context.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        else if (rows.length === 0) context.stdout.write(`No deliveries for ${id} yet.\n`);
        else
          context.stdout.write(
            `${alignedTable(
              ['TIME', 'EVENT', 'RUN', 'ATTEMPT', 'OUTCOME', 'STATUS', 'DURATION', 'DETAIL'],
              rows.map((row) => [
                formatTime(row.at),
                row.event.type,
                row.event.runId,
                'attempt' in row ? String(row.attempt) : '',
                row.outcome,
                'statusCode' in row && row.statusCode !== undefined ? String(row.statusCode) : '',
                'durationMs' in row ? formatDuration(row.durationMs) : '',
                'reason' in row
                  ? row.reason
                  : [row.error, row.nextAt === undefined ? undefined : `next at ${formatTime(row.nextAt)}`]
                      .filter((part) => part !== undefined)
                      .join('; '),
              ]),
              new Set(),
              context.style,
            )}\n`,
          );
        return 0;
      } finally {
        await session.close();
      }
    }
    throw new UsageError(
      `webhooks needs an action: create, list, revoke or deliveries${action === undefined ? '' : `; got "${action}"`}.`,
      'webhooks',
    );
  },
};

function wholeNumber(value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < 1 || number > 1000)
    throw new UsageError(`--limit must be a whole number from 1 to 1000; got ${String(value)}.`, 'webhooks');
  return number;
}

/** `baton keys create|list|revoke`: the API keys `baton serve` accepts, kept hashed in the store. */

import { ConfigError } from '../../index.js';
import { type Command, UsageError } from '../command.js';
import { alignedTable, commaList, formatTime } from '../format.js';
import { openSession } from '../session.js';

const scopes = ['read', 'run', 'approve', 'admin'] as const;
type Scope = (typeof scopes)[number];

/** The `keys` command. */
export const keysCommand: Command = {
  name: 'keys',
  summary: 'Create, list and revoke API keys of baton serve',
  usage: '<create|list|revoke> [id]',
  description:
    'API keys for the HTTP API (baton serve). create prints a new key once: only its SHA-256 hash is\n' +
    'stored. Scopes: read (GET routes), run (start, cancel, signal), approve (approvals and answers\n' +
    'for human members), admin (everything); --target limits a key to runs of those targets, --tenant\n' +
    "to one tenant's runtime, --rate to requests per minute. list shows every key without its\n" +
    'secret; revoke <id> stops a key (within the server key cache, 5 s).',
  arguments: [
    { name: 'action', description: 'create, list or revoke', required: true },
    { name: 'id', description: 'the key to revoke (key_…)', required: false },
  ],
  options: {
    scope: {
      type: 'string',
      value: '<scopes>',
      description: `comma-separated: ${scopes.join(', ')} (create)`,
    },
    target: {
      type: 'string',
      value: '<names>',
      description: 'comma-separated targets the key reaches (create; default all)',
    },
    name: { type: 'string', value: '<text>', description: 'a name to recognise the key by (create)' },
    tenant: {
      type: 'string',
      value: '<id>',
      description: "the tenant the key belongs to: it reaches only that tenant's runs (create)",
    },
    rate: {
      type: 'string',
      value: '<n>',
      description: "requests per minute the key may make (create; default the server's --rate-limit)",
    },
    json: { type: 'boolean', description: 'print JSON' },
  },
  examples: [
    'baton keys create --scope read,run --name ci',
    'baton keys create --scope read --target support-team',
    'baton keys create --scope read,run --tenant acme --rate 600',
    'baton keys list',
    'baton keys revoke key_3f9a0c12b7de',
  ],
  async run({ positionals, values }, context) {
    const [action, id] = positionals;
    const server = await import('../../server/api-keys.js');
    if (action === 'create') {
      if (id !== undefined) throw new UsageError('keys create takes no id.', 'keys');
      const scopeList = commaList(values.scope);
      if (scopeList.length === 0)
        throw new UsageError(`keys create needs --scope (${scopes.join(', ')}).`, 'keys');
      const unknown = scopeList.find((scope) => !scopes.includes(scope as Scope));
      if (unknown !== undefined)
        throw new UsageError(`unknown scope "${unknown}"; scopes: ${scopes.join(', ')}.`, 'keys');
      const targets = commaList(values.target);
      let rateLimit: number | undefined;
      if (typeof values.rate === 'string') {
        rateLimit = Number(values.rate);
        if (!/^\d+$/.test(values.rate) || rateLimit < 1 || rateLimit > 1_000_000)
          throw new UsageError(
            `--rate is requests per minute, an integer from 1 to 1000000; got "${values.rate}".`,
            'keys',
          );
      }
      if (typeof values.tenant === 'string' && !/^[A-Za-z0-9_.-]{1,100}$/.test(values.tenant))
        throw new UsageError(
          `--tenant must be 1 to 100 letters, digits, "_", "-" or "."; got "${values.tenant}".`,
          'keys',
        );
      const session = await openSession(context);
      try {
        const { key, info } = await server.createApiKey(session.store, {
          scopes: scopeList as Scope[],
          ...(targets.length === 0 ? {} : { targets }),
          ...(typeof values.name === 'string' ? { name: values.name } : {}),
          ...(typeof values.tenant === 'string' ? { tenant: values.tenant } : {}),
          ...(rateLimit === undefined ? {} : { rateLimit }),
        });
        if (values.json === true) context.stdout.write(`${JSON.stringify({ key, ...info }, null, 2)}\n`);
        else {
          context.stdout.write(`${key}\n`);
          context.stderr.write(
            `Key ${info.id} (${info.scopes.join(', ')}${info.targets === undefined ? '' : `; targets ${info.targets.join(', ')}`}${info.tenant === undefined ? '' : `; tenant ${info.tenant}`}${info.rateLimit === undefined ? '' : `; ${info.rateLimit}/min`}) created. It is shown only this once: keep it now.\n`,
          );
        }
        return 0;
      } finally {
        await session.close();
      }
    }
    if (action === 'list') {
      if (id !== undefined) throw new UsageError('keys list takes no id.', 'keys');
      const session = await openSession(context);
      try {
        const keys = await server.listApiKeys(session.store);
        if (values.json === true) context.stdout.write(`${JSON.stringify(keys, null, 2)}\n`);
        else if (keys.length === 0)
          context.stdout.write('No API keys. Create one with: baton keys create --scope read,run\n');
        else
          context.stdout.write(
            `${alignedTable(
              ['ID', 'NAME', 'SCOPES', 'TARGETS', 'TENANT', 'RATE', 'CREATED', 'REVOKED'],
              keys.map((key) => [
                key.id,
                key.name ?? '',
                key.scopes.join(','),
                key.targets?.join(',') ?? 'all',
                key.tenant ?? '',
                key.rateLimit === undefined ? '' : `${key.rateLimit}/min`,
                formatTime(key.createdAt),
                key.revokedAt === undefined ? '' : formatTime(key.revokedAt),
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
    if (action === 'revoke') {
      if (id === undefined)
        throw new UsageError('keys revoke needs the key id (key_…); see baton keys list.', 'keys');
      const session = await openSession(context);
      try {
        if (!(await server.revokeApiKey(session.store, id))) {
          throw new ConfigError(`No API key ${id}; see baton keys list.`);
        }
        context.stdout.write(`Key ${id} revoked.\n`);
        return 0;
      } finally {
        await session.close();
      }
    }
    throw new UsageError(
      `keys needs an action: create, list or revoke${action === undefined ? '' : `; got "${action}"`}.`,
      'keys',
    );
  },
};

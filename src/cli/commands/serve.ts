/** `baton serve [files or folders…]`: the HTTP API (batonjs/server) over the CLI's store, serving every team file and module named, until SIGINT or SIGTERM. */

import { readdirSync, statSync } from 'node:fs';
import { extname, join, resolve } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { ConfigError, type Runnable } from '../../index.js';
import { importModule, moduleExtensions } from '../../team/index.js';
import { type CliContext, type Command, type CommandArguments, UsageError } from '../command.js';
import { isRunnable, loadSource, recordedPath } from '../load-source.js';
import { openSession, shownPath } from '../session.js';
import { resolveStorePath } from '../store-path.js';
import { stopSignal } from './worker.js';

const teamExtensions = ['.yaml', '.yml'];
const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

/** The `serve` command. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'Serve team files and modules over HTTP (REST, live events, API keys)',
  usage: '<file or folder…>',
  description:
    'Serves every team file (.yaml) and module (each workflow, agent and pattern it exports) named,\n' +
    'or found in a folder named, over HTTP on the store the CLI uses: start runs (idempotent),\n' +
    'list, get, cancel, signal, read journals, follow live events over SSE (resumable with\n' +
    'Last-Event-ID), and GET /openapi.json; the dashboard at / (watch, inspect and approve runs in a\n' +
    'browser). It continues due timers and runs whose process died, and sends webhooks (baton\n' +
    'webhooks create; --no-webhooks leaves that to other processes).\n' +
    '\n' +
    'Requests need an API key (Authorization: Bearer bk_…, see baton keys create). --no-auth turns\n' +
    'keys off, for a loopback host only. SIGINT or SIGTERM stops it: open streams end, runs in\n' +
    'flight stop at their next step and stay resumable. See docs/server.md.',
  arguments: [
    {
      name: 'file or folder',
      description: 'team files, modules, or folders of them (not searched recursively)',
      required: true,
      variadic: true,
    },
  ],
  options: {
    port: { type: 'string', value: '<n>', description: 'port to listen on (default 7070; 0: any free port)' },
    host: { type: 'string', value: '<address>', description: 'address to listen on (default 127.0.0.1)' },
    'no-auth': { type: 'boolean', description: 'no API keys (only with a loopback --host)' },
    'no-dashboard': { type: 'boolean', description: 'do not serve the dashboard at / (the API only)' },
    cors: {
      type: 'string',
      value: '<origin>',
      description: 'allow browsers from this origin (comma-separated, or *)',
    },
    'body-limit': { type: 'string', value: '<bytes>', description: 'largest request body (default 1048576)' },
    'rate-limit': {
      type: 'string',
      value: '<n>',
      description: 'requests per minute per key, for keys created without --rate (default none)',
    },
    tenants: {
      type: 'string',
      value: '<id=store,…>',
      description:
        'tenants, each with its own store (a path or postgres:// URL); keys made with --tenant reach only theirs',
    },
    mcp: { type: 'boolean', description: 'also serve MCP (Streamable HTTP) at /mcp, behind the same keys' },
    'no-webhooks': {
      type: 'boolean',
      description: 'do not send webhooks from this process (docs/webhooks.md)',
    },
  },
  examples: [
    'baton serve examples/customer-support/team.yaml',
    'baton serve flows/ --port 8080 --host 0.0.0.0 --cors https://app.example.com',
    'baton serve flows/expense.ts --no-auth',
    'baton serve flows/ --tenants acme=.baton/acme.db,globex=.baton/globex.db --rate-limit 600',
  ],
  run: (args, context) => serveTargets(args, context, 'serve'),
};

/**
 * What `baton serve` and `baton dev` do: serve until SIGINT or SIGTERM;
 * `onListening` is called once the server listens, with its URL and whether it serves the dashboard.
 */
export async function serveTargets(
  { positionals, values }: CommandArguments,
  context: CliContext,
  command: string,
  onListening?: (url: string, dashboard: boolean) => Promise<void>,
): Promise<number> {
  const port = wholeNumber(values.port, '--port', 0, 65_535) ?? 7070;
  const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
  const auth = values['no-auth'] !== true;
  if (!auth && !loopbackHosts.has(host)) {
    throw new UsageError(
      `--no-auth serves without keys, so only on a loopback --host (127.0.0.1, ::1, localhost); got ${host}. Create a key with baton keys create.`,
      command,
    );
  }
  const bodyLimit = wholeNumber(values['body-limit'], '--body-limit', 1, Number.MAX_SAFE_INTEGER);
  const cors =
    typeof values.cors === 'string' ? values.cors.split(',').map((origin) => origin.trim()) : undefined;
  const rateLimit = wholeNumber(values['rate-limit'], '--rate-limit', 1, 1_000_000);
  const tenantStores = tenantList(values.tenants, context);
  const session = await openSession(context, { recover: true });
  const tenantSessions: { id: string; path: string; session: Awaited<ReturnType<typeof openSession>> }[] = [];
  const stop = stopSignal();
  try {
    for (const { id, path } of tenantStores) {
      const place = resolveStorePath(path, {}, context.cwd);
      tenantSessions.push({
        id,
        path: place.path,
        session: await openSession(
          { ...context, storePath: place.path, storeOrigin: '--store' },
          { recover: true },
        ),
      });
    }
    const targets = await servedTargets(positionals, context, session.store);
    const server = await import('../../server/index.js');
    const abort = new AbortController();
    const app = server.createServer({
      runtime: session.runtime,
      targets,
      auth,
      dashboard: values['no-dashboard'] !== true,
      signal: abort.signal,
      ...(rateLimit === undefined ? {} : { rateLimit }),
      ...(tenantSessions.length === 0
        ? {}
        : {
            tenants: Object.fromEntries(
              tenantSessions.map(({ id, session }) => [id, { runtime: session.runtime }]),
            ),
          }),
      ...(cors === undefined ? {} : { cors: cors.length === 1 ? (cors[0] as string) : cors }),
      ...(bodyLimit === undefined ? {} : { bodyLimit }),
      ...(values.mcp === true ? { mcp: (await import('../../protocols/mcp/index.js')).createMcpServer } : {}),
    });
    const http = await server.listen(app, { port, hostname: host });
    const webhooks =
      values['no-webhooks'] === true ? undefined : server.createWebhookDispatcher({ store: session.store });
    const say = (text: string): void => {
      context.stdout.write(`${text}\n`);
    };
    // One write: whoever waits for the "Serving … on <url>" line has the notices with it.
    const lines = [
      `Serving ${targets.map((target) => target.runnable.name).join(', ')} on ${http.url} (store ${shownPath(context, context.storePath)}).`,
    ];
    for (const tenant of tenantSessions)
      lines.push(`Tenant ${tenant.id}: store ${shownPath(context, tenant.path)}.`);
    if (!auth) lines.push('No API keys: anyone who reaches this address can start and signal runs.');
    else if ((await server.listApiKeys(session.store)).every((key) => key.revokedAt !== undefined)) {
      lines.push(
        'No API key yet: every request gets 401. Create one with: baton keys create --scope read,run',
      );
    }
    if (values['no-dashboard'] !== true) lines.push(`Dashboard: ${http.url}/`);
    if (values.mcp === true) lines.push(`MCP: ${http.url}/mcp (read lists and reads, run calls tools).`);
    lines.push(`OpenAPI: ${http.url}/openapi.json. Ctrl-C stops.`);
    say(lines.join('\n'));
    await onListening?.(http.url, values['no-dashboard'] !== true);
    const received = await stop.received;
    say(`${received}: stopping.`);
    abort.abort();
    await http.close();
    await webhooks?.close();
    return 0;
  } finally {
    stop.stop();
    for (const { session: tenant } of tenantSessions) await tenant.close();
    await session.close();
  }
}

/** `--tenants acme=.baton/acme.db,globex=postgres://…`: each tenant's id and store. */
function tenantList(
  value: string | boolean | undefined,
  context: CliContext,
): { id: string; path: string }[] {
  if (typeof value !== 'string') return [];
  const tenants: { id: string; path: string }[] = [];
  for (const part of value.split(',').map((text) => text.trim())) {
    const equals = part.indexOf('=');
    const id = part.slice(0, equals);
    const path = part.slice(equals + 1);
    if (equals < 1 || path === '' || !/^[A-Za-z0-9_.-]{1,100}$/.test(id))
      throw new UsageError(
        `--tenants takes id=store pairs separated by commas (ids of letters, digits, "_", "-", "."), e.g. acme=.baton/acme.db; got "${part}".`,
        'serve',
      );
    if (tenants.some((tenant) => tenant.id === id))
      throw new UsageError(`--tenants names tenant "${id}" twice.`, 'serve');
    const place = resolveStorePath(path, {}, context.cwd).path;
    if (place === context.storePath)
      throw new UsageError(`tenant "${id}" must have its own store, not the server's (${path}).`, 'serve');
    tenants.push({ id, path });
  }
  return tenants;
}

/** Every definition the arguments name: team files, each runnable export of a module, and the team files and modules in a folder (baton serve, baton mcp serve). */
export async function servedTargets(
  paths: readonly string[],
  context: CliContext,
  store: Parameters<typeof loadSource>[1]['store'],
): Promise<{ runnable: Runnable; source: string }[]> {
  const targets = new Map<string, { runnable: Runnable; source: string }>();
  const add = (runnable: Runnable, source: string): void => {
    const existing = targets.get(runnable.name);
    if (existing !== undefined && existing.runnable !== runnable) {
      throw new ConfigError(
        `Two targets are named "${runnable.name}" (${existing.source} and ${source}); a server serves each name once.`,
      );
    }
    targets.set(runnable.name, { runnable, source });
  };
  for (const path of paths) {
    const absolute = resolve(context.cwd, path);
    let folder = false;
    try {
      folder = statSync(absolute).isDirectory();
    } catch {
      throw new ConfigError(`File not found: ${path} (looked for ${absolute}).`);
    }
    const files = folder
      ? readdirSync(absolute)
          .filter((name) => [...teamExtensions, ...moduleExtensions].includes(extname(name).toLowerCase()))
          .filter((name) => !/\.(test|spec|d)\.[cm]?[jt]s$/.test(name))
          .sort()
          .map((name) => join(absolute, name))
      : [absolute];
    for (const file of files) {
      if (teamExtensions.includes(extname(file).toLowerCase())) {
        const loaded = await loadSource(file, { cwd: context.cwd, env: context.env, store });
        add(loaded.runnable, loaded.source);
        continue;
      }
      if (!moduleExtensions.includes(extname(file).toLowerCase())) {
        throw new ConfigError(
          `Cannot serve "${path}": expected a team file (${teamExtensions.join(', ')}), a module (${moduleExtensions.join(', ')}) or a folder.`,
        );
      }
      let module: Record<string, unknown>;
      try {
        module = await importModule(file);
      } catch (error) {
        throw new ConfigError(`Could not load ${shownPath(context, file)}: ${errorMessage(error)}`, {
          cause: error,
        });
      }
      const exports = Object.entries(module).filter(([, value]) => isRunnable(value)) as [string, Runnable][];
      // A module in a folder that defines nothing to run (a helper) is skipped; one named is an error.
      if (exports.length === 0 && !folder) {
        throw new ConfigError(`${path} exports no workflow, agent or pattern to serve.`);
      }
      for (const [name, runnable] of exports) add(runnable, `${recordedPath(file, context.cwd)}#${name}`);
    }
  }
  if (targets.size === 0)
    throw new ConfigError(
      `Nothing to serve in ${paths.join(', ')}: no team file and no module that exports a workflow, agent or pattern.`,
    );
  return [...targets.values()];
}

/** A whole number option within bounds, or undefined when not given. */
function wholeNumber(
  value: string | boolean | undefined,
  flag: string,
  minimum: number,
  maximum: number,
): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < minimum || number > maximum)
    throw new UsageError(
      `${flag} must be a whole number from ${minimum} to ${maximum}; got ${String(value)}.`,
      'serve',
    );
  return number;
}

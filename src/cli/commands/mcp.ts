/** `baton mcp serve [files or folders…]`: every team file and module named, as MCP tools over stdio (default) or Streamable HTTP, each call a durable run on the CLI's store. */

import { type Command, UsageError } from '../command.js';
import { openSession, shownPath } from '../session.js';
import { servedTargets } from './serve.js';
import { stopSignal } from './worker.js';

const loopbackHosts = new Set(['127.0.0.1', '::1', 'localhost']);

/** The `mcp` command. */
export const mcpCommand: Command = {
  name: 'mcp',
  summary: 'Serve team files and modules as MCP tools (stdio or Streamable HTTP)',
  usage: 'serve <file or folder…>',
  description:
    'baton mcp serve makes every team file (.yaml) and module export (workflow, agent, pattern) named,\n' +
    'or found in a folder named, an MCP tool. A call starts a durable run on the store the CLI uses\n' +
    '(baton show sees it), sends a progress notification per step when the client asks for progress,\n' +
    'and answers with the result, or with what the run waits for and how to continue it (the\n' +
    'signal_run tool, or baton reply/approve/signal). Runs are resources: baton://runs/{runId}.\n' +
    '\n' +
    'Over stdio (the default) the MCP client starts this command; messages go to stderr, and it stops\n' +
    'when the client closes its input. --http serves Streamable HTTP at /mcp instead, behind API keys\n' +
    '(baton keys create --scope read,run); --no-auth turns keys off, for a loopback host only.\n' +
    'SIGINT or SIGTERM stops it: runs in flight stop at their next step and stay resumable. See docs/mcp.md.',
  arguments: [
    { name: 'action', description: 'serve', required: true },
    {
      name: 'file or folder',
      description: 'team files, modules, or folders of them (not searched recursively)',
      required: true,
      variadic: true,
    },
  ],
  options: {
    stdio: { type: 'boolean', description: 'serve over stdin and stdout (the default)' },
    http: { type: 'boolean', description: 'serve Streamable HTTP at /mcp instead' },
    port: { type: 'string', value: '<n>', description: 'port with --http (default 7071; 0: any free port)' },
    host: { type: 'string', value: '<address>', description: 'address with --http (default 127.0.0.1)' },
    'no-auth': { type: 'boolean', description: 'no API keys with --http (only with a loopback --host)' },
  },
  examples: [
    'baton mcp serve examples/customer-support/team.yaml',
    'baton mcp serve flows/ --http --port 7071',
    'claude mcp add support -- npx baton mcp serve flows/ --store /srv/baton.db',
  ],
  async run({ positionals, values }, context) {
    const [action, ...paths] = positionals;
    if (action !== 'serve')
      throw new UsageError(`unknown action "${action ?? ''}"; baton mcp has one: serve.`, 'mcp');
    if (paths.length === 0)
      throw new UsageError('missing <file or folder>: the team files or modules to serve.', 'mcp');
    if (values.http === true && values.stdio === true)
      throw new UsageError('choose one transport: --stdio (the default) or --http.', 'mcp');
    const http = values.http === true;
    for (const flag of ['port', 'host', 'no-auth'])
      if (!http && values[flag] !== undefined)
        throw new UsageError(`--${flag} applies to --http only.`, 'mcp');
    const port = portOf(values.port);
    const host = typeof values.host === 'string' ? values.host : '127.0.0.1';
    const auth = values['no-auth'] !== true;
    if (!auth && !loopbackHosts.has(host))
      throw new UsageError(
        `--no-auth serves without keys, so only on a loopback --host (127.0.0.1, ::1, localhost); got ${host}. Create a key with baton keys create.`,
        'mcp',
      );
    const mcpModule = await import('../../protocols/mcp/index.js');
    const session = await openSession(context, { recover: true });
    const stop = stopSignal();
    // Over stdio, stdout carries the protocol: whatever a tool prints goes to stderr instead.
    const restoreConsole = http ? () => undefined : consoleToStderr();
    try {
      const targets = await servedTargets(paths, context, session.store);
      const mcp = mcpModule.createMcpServer({ runtime: session.runtime, targets });
      const names = targets.map((target) => target.runnable.name).join(', ');
      const store = shownPath(context, context.storePath);
      if (!http) {
        context.stderr.write(
          `baton mcp: serving ${names} over stdio (store ${store}); stops when the client closes its input.\n`,
        );
        const ended = await Promise.race([
          mcp.serveStdio().then(() => 'the client closed the connection' as const),
          stop.received,
        ]);
        context.stderr.write(`baton mcp: ${ended}: stopping.\n`);
        await mcp.close();
        return 0;
      }
      const [route, listener, keys] = await Promise.all([
        import('../../server/mcp-route.js'),
        import('../../server/listen.js'),
        import('../../server/api-keys.js'),
      ]);
      const app = route.createMcpApp({
        runtime: session.runtime,
        endpoint: mcp,
        auth,
        // Without keys, only requests that name a loopback host (a DNS-rebinding page names its own).
        ...(auth ? {} : { allowedHosts: [...loopbackHosts] }),
      });
      const listening = await listener.listen(app, { port, hostname: host });
      const lines = [`Serving MCP (${names}) on ${listening.url}/mcp (store ${store}).`];
      if (!auth) lines.push('No API keys: anyone who reaches this address can call the tools.');
      else if ((await keys.listApiKeys(session.store)).every((key) => key.revokedAt !== undefined))
        lines.push(
          'No API key yet: every request gets 401. Create one with: baton keys create --scope read,run',
        );
      lines.push('Ctrl-C stops.');
      context.stdout.write(`${lines.join('\n')}\n`);
      const received = await stop.received;
      context.stdout.write(`${received}: stopping.\n`);
      await mcp.close();
      await listening.close();
      return 0;
    } finally {
      stop.stop();
      restoreConsole();
      await session.close();
    }
  },
};

/** `--port`: a whole number from 0 to 65535; 7071 when not given. */
function portOf(value: string | boolean | undefined): number {
  if (value === undefined) return 7071;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number > 65_535)
    throw new UsageError(`--port must be a whole number from 0 to 65535; got ${String(value)}.`, 'mcp');
  return number;
}

/** Sends console.log, info and debug to stderr; returns what puts them back. */
function consoleToStderr(): () => void {
  const saved = { log: console.log, info: console.info, debug: console.debug };
  console.log = console.error;
  console.info = console.error;
  console.debug = console.error;
  return () => Object.assign(console, saved);
}

/** createMcpServer(): Baton as an MCP server: each served workflow, agent and team is a tool whose call is a durable run; runs are resources. */

import type { Readable, Writable } from 'node:stream';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ConfigError, errorMessage } from '../../../core/errors.js';
import { listPending, type Runnable, type Runtime, withGuardedInput } from '../../../index.js';
import { followRun } from './follow-run.js';
import { listRunResources, resourceNotFound, runDocument, runIdOf, runTemplate } from './run-resources.js';
import { errorResult, runResult } from './run-result.js';
import { type McpServedTarget, type TargetTool, targetTool } from './target-tool.js';

export type { McpServedTarget } from './target-tool.js';

/**
 * Options of {@link createMcpServer}.
 *
 * @example
 * ```ts
 * const options: McpServerOptions = { runtime, targets: [supportTeam, expense], name: 'support' };
 * ```
 */
export interface McpServerOptions {
  /** The runtime that starts and continues the runs; runs are read from its store. */
  runtime: Runtime;
  /** What clients may run, each as a tool named after it. */
  targets: ReadonlyArray<Runnable | McpServedTarget>;
  /** The server's name in `initialize`. Default `baton`. */
  name?: string;
  /** The server's version in `initialize`. Default `1`. */
  version?: string;
  /** Instructions sent to clients in `initialize` (how to use the tools). Default: a short explanation. */
  instructions?: string;
  /**
   * The name of the tool that sends a signal to a waiting run (a person's answer, an approval) and
   * follows it again; `false` offers no such tool. Default `signal_run`.
   */
  signalTool?: string | false;
  /** Runs per page of `resources/list`. Default 50. */
  listLimit?: number;
  /** How often a call reads its run from the store while it is not told of a change. Default 500 ms. */
  pollMs?: number;
}

/**
 * What one connection may do (the API key's scopes and targets, over HTTP); everything by default.
 *
 * @example
 * ```ts
 * const readOnly: McpAccess = { call: false, targets: ['support'] };
 * ```
 */
export interface McpAccess {
  /** Only these targets: their tools and their runs. Default: all. */
  targets?: readonly string[] | undefined;
  /** May list tools and list and read runs. Default true. */
  read?: boolean;
  /** May call tools (start runs, send signals). Default true. */
  call?: boolean;
}

/**
 * A Baton MCP server. Connect it to any MCP transport (stdio), or hand it Streamable HTTP
 * requests (`handleRequest`, stateless: each request stands alone, so any number of processes can
 * answer behind one URL).
 *
 * @example
 * ```ts
 * const mcp = createMcpServer({ runtime, targets: [expense] });
 * await mcp.connect(new StdioServerTransport());
 * // or, in any fetch handler: return mcp.handleRequest(request);
 * ```
 */
export interface BatonMcpServer {
  /** The tool names offered (the targets, then the signal tool). */
  readonly tools: readonly string[];
  /** Serves one connection on `transport` until it or the server closes. */
  connect(transport: Transport, options?: { access?: McpAccess }): Promise<void>;
  /**
   * Serves one connection over this process's stdin and stdout (or the streams given), and
   * resolves when it ends: the input closed (the client went away) or `close()` ran. Nothing else
   * may write to that stdout.
   */
  serveStdio(options?: { stdin?: Readable; stdout?: Writable; access?: McpAccess }): Promise<void>;
  /**
   * Answers one Streamable HTTP request (POST; GET and DELETE get 405, as there are no sessions).
   * `parsedBody` when the caller has read the body already; `access` limits what it may do.
   */
  handleRequest(request: Request, options?: { parsedBody?: unknown; access?: McpAccess }): Promise<Response>;
  /** Closes every connection; later HTTP requests get 503. */
  close(): Promise<void>;
}

const defaults = {
  name: 'baton',
  version: '1',
  signalTool: 'signal_run',
  listLimit: 50,
  pollMs: 500,
} satisfies Partial<McpServerOptions>;

/** The pause between a call's last progress notification and its result. */
const progressGapMs = 20;

const toolNamePattern = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Baton as an MCP server. Every target is a tool (input schema from the target's input schema;
 * see docs/mcp.md for agents and workflows without one); a call starts a durable run on the
 * runtime's store, reports each step as a progress notification when the client sent a
 * `progressToken`, and answers when the run ends (its output) or waits (what for, and how to
 * continue it: the `signal_run` tool, or `baton reply`/`approve`/`signal`). Runs are resources
 * (`baton://runs/{runId}`): the newest are listed, and reading one gives its status, output and
 * steps.
 *
 * @example
 * ```ts
 * import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
 * import { createMcpServer } from 'batonjs/mcp';
 * const runtime = createRuntime({ store: createSqliteStore(), recover: true });
 * const mcp = createMcpServer({ runtime, targets: [supportTeam, { runnable: expense, source: 'flows/expense.ts#expense' }] });
 * await mcp.connect(new StdioServerTransport());
 * ```
 */
export function createMcpServer(options: McpServerOptions): BatonMcpServer {
  const settings = { ...defaults, ...options };
  const { runtime } = settings;
  if (!(Number.isInteger(settings.listLimit) && settings.listLimit >= 1))
    throw new ConfigError('createMcpServer(): listLimit must be a whole number of at least 1.');
  if (!(settings.pollMs > 0)) throw new ConfigError('createMcpServer(): pollMs must be positive.');
  const tools = new Map<string, TargetTool>();
  for (const entry of settings.targets) {
    const target: McpServedTarget = 'runnable' in entry ? entry : { runnable: entry };
    const existing = tools.get(target.runnable.name);
    if (existing !== undefined && existing.target.runnable !== target.runnable)
      throw new ConfigError(
        `createMcpServer(): two targets are named "${target.runnable.name}"; each tool name is served once.`,
      );
    if (!toolNamePattern.test(target.runnable.name))
      throw new ConfigError(
        `createMcpServer(): "${target.runnable.name}" is not a valid MCP tool name (1 to 128 letters, digits, '_', '-' or '.').`,
      );
    runtime.register(target.runnable);
    tools.set(target.runnable.name, targetTool(target));
  }
  const signalTool = settings.signalTool === false ? undefined : settings.signalTool;
  if (signalTool !== undefined && tools.has(signalTool))
    throw new ConfigError(
      `createMcpServer(): a target is named "${signalTool}", like the signal tool; rename it or pass signalTool: '<another name>' (or false).`,
    );
  const instructions =
    settings.instructions ??
    `Each tool runs a Baton workflow, agent or team as a durable run and answers with its result. A run that waits for a person answers with what it waits for${signalTool === undefined ? '' : `; continue it with ${signalTool}`}. Runs are resources (baton://runs/{runId}).`;
  const open = new Set<Server>();
  let closed = false;

  const reaches = (access: McpAccess | undefined, target: string) =>
    access?.targets === undefined || access.targets.includes(target);
  const requireAccess = (access: McpAccess | undefined, what: 'read' | 'call', action: string) => {
    if (access?.[what] === false)
      throw new McpError(
        ErrorCode.InvalidRequest,
        `${action} is not allowed on this connection (its API key needs scope "${what === 'call' ? 'run' : 'read'}").`,
      );
  };

  /** Starts or wakes a run with `begin`, follows it until it ends or waits (with progress when the client asked), and answers. */
  const answer = async (
    begin: () => Promise<string>,
    extra: ToolCallExtra,
    resumeGraceMs: number | undefined,
  ): Promise<CallToolResult> => {
    const token = extra._meta?.progressToken;
    let progress = 0;
    // In order, and all sent before the result (a client drops progress that comes after it).
    let sending = Promise.resolve();
    const report =
      token === undefined
        ? undefined
        : (message: string) => {
            progress += 1;
            const params = { progressToken: token, progress, message };
            sending = sending
              .then(() => extra.sendNotification({ method: 'notifications/progress', params }))
              .catch(() => undefined);
          };
    let followed: Awaited<ReturnType<typeof followRun>>;
    try {
      followed = await followRun(runtime, begin, {
        signal: extra.signal,
        pollMs: settings.pollMs,
        report,
        begins: resumeGraceMs === undefined ? 'started' : 'signalled',
        ...(resumeGraceMs === undefined ? {} : { resumeGraceMs }),
      });
    } catch (error) {
      if (error instanceof NotBegun) return errorResult(error.message);
      throw error;
    }
    const { runId, record } = followed;
    const pending = record.status === 'suspended' ? await listPending(runtime.store, { runId }) : [];
    await sending;
    // The SDK's client handles a notification a tick after it reads it and a response at once, so
    // progress read together with the result would be dropped: let the last one go out first.
    if (progress > 0) await new Promise((resolve) => setTimeout(resolve, progressGapMs));
    return runResult(record, pending, { signalTool });
  };

  const callTarget = async (tool: TargetTool, args: Record<string, unknown>, extra: ToolCallExtra) => {
    const parsed = tool.input(args);
    if ('problems' in parsed)
      return errorResult(`Invalid arguments for tool "${tool.name}": ${parsed.problems.join('; ')}.`);
    const start = async () => {
      try {
        const handle = await runtime.start(tool.name, parsed.input, {
          ...(tool.target.source === undefined ? {} : { source: tool.target.source }),
        });
        return handle.runId;
      } catch (error) {
        throw new NotBegun(`Could not start a run of "${tool.name}": ${errorMessage(error)}`);
      }
    };
    return answer(start, extra, undefined);
  };

  const callSignal = async (
    args: Record<string, unknown>,
    access: McpAccess | undefined,
    extra: ToolCallExtra,
  ) => {
    const problems: string[] = [];
    for (const field of ['runId', 'signal'])
      if (typeof args[field] !== 'string' || args[field] === '')
        problems.push(`${field}: expected a non-empty string`);
    const extraKeys = Object.keys(args).filter((key) => !['runId', 'signal', 'payload'].includes(key));
    for (const key of extraKeys) problems.push(`${key}: unknown argument (runId, signal, payload)`);
    if (problems.length > 0)
      return errorResult(`Invalid arguments for tool "${signalTool}": ${problems.join('; ')}.`);
    const runId = args.runId as string;
    let target: string;
    try {
      target = (await runtime.get(runId)).target;
    } catch (error) {
      return errorResult(`runId: ${errorMessage(error)}`);
    }
    if (!reaches(access, target))
      return errorResult(`runId: this connection does not reach runs of "${target}".`);
    const send = async () => {
      try {
        await runtime.signal(runId, args.signal as string, args.payload ?? null);
        return runId;
      } catch (error) {
        throw new NotBegun(
          `The signal "${String(args.signal)}" was not sent to run ${runId}: ${errorMessage(error)}`,
        );
      }
    };
    // A worker may take a moment to take the signal up: the run's suspension before that is not an answer.
    return answer(send, extra, 10_000);
  };

  const build = (access: McpAccess | undefined): Server => {
    const server = new Server(
      { name: settings.name, version: settings.version },
      { capabilities: { tools: { listChanged: false }, resources: {} }, instructions },
    );
    server.setRequestHandler(ListToolsRequestSchema, () => {
      requireAccess(access, 'read', 'tools/list');
      const listed: Tool[] = [...tools.values()]
        .filter((tool) => reaches(access, tool.name))
        .map((tool) => ({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema }));
      if (signalTool !== undefined && access?.call !== false) listed.push(signalToolDefinition(signalTool));
      return { tools: listed };
    });
    server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
      requireAccess(access, 'call', 'tools/call');
      const { name } = request.params;
      const args = request.params.arguments ?? {};
      if (name === signalTool) return callSignal(args, access, extra);
      const tool = tools.get(name);
      if (tool === undefined || !reaches(access, name)) {
        const offered = [...tools.keys()].filter((candidate) => reaches(access, candidate));
        throw new McpError(
          ErrorCode.InvalidParams,
          `Unknown tool "${name}". Tools: ${[...offered, ...(signalTool === undefined ? [] : [signalTool])].join(', ') || 'none'}.`,
        );
      }
      return callTarget(tool, args, extra);
    });
    server.setRequestHandler(ListResourceTemplatesRequestSchema, () => {
      requireAccess(access, 'read', 'resources/templates/list');
      return { resourceTemplates: [runTemplate] };
    });
    server.setRequestHandler(ListResourcesRequestSchema, (request) => {
      requireAccess(access, 'read', 'resources/list');
      return listRunResources(runtime.store, {
        limit: settings.listLimit,
        cursor: request.params?.cursor,
        targets: access?.targets,
      });
    });
    server.setRequestHandler(ReadResourceRequestSchema, async (request) => {
      requireAccess(access, 'read', 'resources/read');
      const { uri } = request.params;
      const runId = runIdOf(uri);
      if (runId === undefined) throw resourceNotFound(uri, 'this server has only runs, baton://runs/{runId}');
      const run = await runtime.store.getRun(runId);
      if (run === undefined) throw resourceNotFound(uri, `no run ${runId} in this store`);
      if (!reaches(access, run.target))
        throw resourceNotFound(uri, `this connection does not reach runs of "${run.target}"`);
      const [journal, pending] = await Promise.all([
        runtime.store.loadJournal(runId),
        run.status === 'suspended' ? listPending(runtime.store, { runId }) : Promise.resolve([]),
      ]);
      return {
        contents: [
          {
            uri,
            mimeType: 'application/json',
            // The input as the run's input guardrails left it (a redacted email is never sent).
            text: JSON.stringify(runDocument(withGuardedInput(run, journal), journal, pending), null, 2),
          },
        ],
      };
    });
    return server;
  };

  const track = (server: Server) => {
    open.add(server);
    server.onclose = () => {
      open.delete(server);
    };
  };

  return {
    tools: [...tools.keys(), ...(signalTool === undefined ? [] : [signalTool])],
    async connect(transport, connectOptions = {}) {
      if (closed) throw new ConfigError('createMcpServer(): the server is closed.');
      const server = build(connectOptions.access);
      track(server);
      await server.connect(transport);
    },
    async serveStdio(stdioOptions = {}) {
      if (closed) throw new ConfigError('createMcpServer(): the server is closed.');
      const stdin = stdioOptions.stdin ?? process.stdin;
      const server = build(stdioOptions.access);
      track(server);
      const ended = new Promise<void>((resolve) => {
        const previous = server.onclose;
        server.onclose = () => {
          previous?.();
          resolve();
        };
        stdin.once('end', resolve);
        stdin.once('close', resolve);
      });
      await server.connect(new StdioServerTransport(stdin, stdioOptions.stdout ?? process.stdout));
      await ended;
      await server.close().catch(() => undefined);
    },
    async handleRequest(request, requestOptions = {}) {
      if (closed) return jsonRpcError(503, ErrorCode.ConnectionClosed, 'The server is shutting down.');
      if (request.method !== 'POST')
        return jsonRpcError(
          405,
          ErrorCode.ConnectionClosed,
          'This server is stateless: send MCP messages with POST; it opens no event stream and keeps no session.',
          { Allow: 'POST' },
        );
      const server = build(requestOptions.access);
      // No session id generator: stateless, a transport per request.
      const transport = new WebStandardStreamableHTTPServerTransport({});
      track(server);
      await server.connect(transport);
      // A client that goes away stops the calls it made (their runs go on).
      request.signal?.addEventListener('abort', () => void server.close().catch(() => undefined), {
        once: true,
      });
      return transport.handleRequest(
        request,
        requestOptions.parsedBody === undefined ? {} : { parsedBody: requestOptions.parsedBody },
      );
    },
    async close() {
      closed = true;
      await Promise.allSettled([...open].map((server) => server.close()));
      open.clear();
    },
  };
}

/** A run that could not be started or signalled: the call answers with an error result saying why. */
class NotBegun extends Error {}

/** What a tool call's handler gets from the SDK (the parts Baton uses). */
interface ToolCallExtra {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number | undefined } | undefined;
  sendNotification: (notification: {
    method: 'notifications/progress';
    params: { progressToken: string | number; progress: number; message?: string };
  }) => Promise<void>;
}

function signalToolDefinition(name: string): Tool {
  return {
    name,
    description:
      'Sends a signal to a Baton run that waits (a person\'s answer: signal "human:<member>" with the answer as payload; an approval: "approval:<toolCallId>" with { "approved": true } or { "approved": false, "reason": "..." }; or a named waitFor signal), then follows the run and answers like the tool that started it: its result, or what it waits for next. A tool result that says a run is waiting names the signal to send.',
    inputSchema: {
      type: 'object',
      properties: {
        runId: { type: 'string', description: 'The run that waits (run_…).' },
        signal: {
          type: 'string',
          description: 'The signal it waits for, e.g. human:editor or approval:call_1.',
        },
        payload: {
          description: 'What the signal carries: the answer text, { approved }, or what the wait expects.',
        },
      },
      required: ['runId', 'signal'],
      additionalProperties: false,
    },
  };
}

function jsonRpcError(
  status: number,
  code: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

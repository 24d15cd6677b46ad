/** The connection behind an MCP tool source: notices when it is lost and reconnects, once for all waiting calls. */

import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool as McpToolDefinition, ServerCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { errorMessage } from '../../core/errors.js';
import {
  callFailedError,
  closedError,
  describeError,
  disconnectedError,
  isConnectionLost,
  isUndelivered,
  type McpCallSite,
  McpReconnectFailure,
  notReconnectingError,
  unreachableError,
} from './mcp-errors.js';
import type { McpCallResult } from './mcp-output.js';

/**
 * Spawn an MCP server as a child process and talk to it over stdin/stdout. After the process
 * exits, the next call spawns it again.
 *
 * @example
 * ```ts
 * const server: McpStdioServer = { command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything'], env: { LOG_LEVEL: 'warn' } };
 * ```
 */
export interface McpStdioServer {
  command: string;
  args?: readonly string[];
  /** Environment of the server; defaults to a safe subset of this process's (PATH, HOME, ...). Merged over that subset. */
  env?: Record<string, string>;
  cwd?: string;
}

/**
 * Talk to a running MCP server over Streamable HTTP. When the server restarts or forgets the
 * session, the next call opens a new session.
 *
 * @example
 * ```ts
 * const server: McpHttpServer = { url: 'https://mcp.example.com/mcp', headers: { Authorization: `Bearer ${token}` } };
 * ```
 */
export interface McpHttpServer {
  url: string | URL;
  /** Extra HTTP headers sent with every request (for example `Authorization`). */
  headers?: Record<string, string>;
}

/**
 * Where an MCP server is: a command to spawn, or a URL.
 *
 * @example
 * ```ts
 * const servers: McpServer[] = [{ command: 'my-mcp-server' }, { url: 'http://localhost:3001/mcp' }];
 * ```
 */
export type McpServer = McpStdioServer | McpHttpServer;

/**
 * How a lost connection is replaced: on the next call, up to `maxAttempts` fresh connections
 * (spawn or session, `initialize`, `tools/list`), `delayMs` apart and doubling, each bounded by
 * `timeoutMs`.
 *
 * @example
 * ```ts
 * const source = await mcpTools({ url }, { reconnect: { maxAttempts: 5, delayMs: 500, timeoutMs: 5000 } });
 * ```
 */
export interface McpReconnectOptions {
  /** Connection attempts per reconnect (default 3). */
  maxAttempts?: number;
  /** Wait before the second attempt, doubled before each later one (default 250 ms). */
  delayMs?: number;
  /** Time limit of one attempt (default 10000 ms). */
  timeoutMs?: number;
}

/** The defaults of `McpReconnectOptions`. */
export const reconnectDefaults = {
  maxAttempts: 3,
  delayMs: 250,
  timeoutMs: 10_000,
} satisfies Required<McpReconnectOptions>;

/** What the connection needs from its tool source. */
export interface McpConnectionOptions {
  label: string;
  server: McpServer;
  /** Per request (undefined: the SDK's 60 s). */
  timeoutMs: number | undefined;
  /** False: a lost connection stays lost. */
  reconnect: Required<McpReconnectOptions> | false;
  /** The server said its tool list changed (debounced by the SDK). */
  onToolListChanged: () => void;
  /** A reconnect succeeded and listed the server's tools. */
  onReconnected: (tools: McpToolDefinition[]) => void;
}

/** One client and transport; replaced as a whole when lost. */
interface Live {
  client: Client;
  transport: Transport;
  /** Why it is lost, once it is. */
  lost: string | undefined;
  stderrTail: string;
}

/** The connection of one tool source (internal to `batonjs/mcp`). */
export interface McpConnection {
  /** Connects for the first time and lists the tools; throws the raw failure (with stderr in `detail`). */
  open(signal: AbortSignal | undefined): Promise<McpToolDefinition[]>;
  /** Lists the server's tools on the live connection, reconnecting first if it is lost. */
  listTools(site: McpCallSite, signal: AbortSignal | undefined): Promise<McpToolDefinition[]>;
  /** Runs `tools/call`, reconnecting first if the connection is lost and once more if the request never reached the server. */
  callTool(
    serverTool: string,
    input: Record<string, unknown>,
    site: McpCallSite,
    signal: AbortSignal,
  ): Promise<McpCallResult>;
  /**
   * Runs another request (resources, prompts) on the live connection like `callTool`: reconnecting
   * first if it is lost, once more if it never reached the server. `describe` names it in errors
   * (`request resources/read of file:///a.md`).
   */
  request<T>(
    site: McpCallSite,
    signal: AbortSignal | undefined,
    describe: string,
    send: (client: Client, options: { timeout?: number; signal?: AbortSignal }) => Promise<T>,
  ): Promise<T>;
  /** What the server said it offers in `initialize` (tools, resources, prompts), once connected. */
  readonly serverCapabilities: ServerCapabilities | undefined;
  close(): Promise<void>;
  readonly connected: boolean;
  readonly closed: boolean;
  readonly pid: number | undefined;
}

const stderrTailLength = 2000;

/** Creates the connection; nothing happens until `open()`. */
export function createMcpConnection(options: McpConnectionOptions): McpConnection {
  const { label } = options;
  let current: Live | undefined;
  let reconnecting: Promise<Live> | undefined;
  let closed = false;
  const closing = new AbortController();

  const requestOptions = (signal: AbortSignal | undefined, timeout = options.timeoutMs) => ({
    ...(timeout === undefined ? {} : { timeout }),
    ...(signal === undefined ? {} : { signal }),
  });

  const lose = (live: Live, reason: string) => {
    if (live.lost !== undefined) return;
    live.lost = `${reason}${stderrSuffix(live.stderrTail)}`;
    // Stops a spawned server that hangs, drops the HTTP session's streams and fails the requests
    // still waiting. Deferred so a request whose failure reported the loss rejects with its own error.
    setImmediate(() => void live.client.close().catch(() => undefined));
  };

  const connectOnce = async (signal: AbortSignal | undefined, timeout: number | undefined) => {
    // The callbacks run once the transport has started, after `live` exists.
    const transport = createTransport(options.server, (chunk) => {
      live.stderrTail = (live.stderrTail + chunk).slice(-stderrTailLength);
    });
    const client = new Client(
      { name: `baton:${label}`, version: '1' },
      {
        listChanged: {
          tools: {
            autoRefresh: false,
            onChanged: () => {
              if (!closed && current === live && live.lost === undefined) options.onToolListChanged();
            },
          },
        },
      },
    );
    const live: Live = { client, transport, lost: undefined, stderrTail: '' };
    client.onclose = () => lose(live, 'the connection closed');
    client.onerror = (error) => {
      // A dead stdio server; an HTTP server that cut its event stream or no longer knows the session.
      // Closing the client also fails the requests still waiting on this connection.
      const stdioGone = transport instanceof StdioClientTransport && transport.pid === null;
      const httpGone =
        (error instanceof StreamableHTTPError && error.code === 404) ||
        /^SSE stream disconnected|Maximum reconnection attempts/.test(error.message);
      if (stdioGone || httpGone) lose(live, error.message);
    };
    try {
      await client.connect(transport, requestOptions(signal, timeout));
      const tools = await listAll(client, requestOptions(signal, timeout));
      return { live, tools };
    } catch (error) {
      live.lost = 'failed to connect';
      await client.close().catch(() => undefined);
      throw Object.assign(error instanceof Error ? error : new Error(String(error)), {
        detail: `${describeError(error)}${stderrSuffix(live.stderrTail)}`,
      });
    }
  };

  const reconnect = (policy: Required<McpReconnectOptions>): Promise<Live> => {
    if (reconnecting !== undefined) return reconnecting;
    const reason = current?.lost ?? 'not connected';
    reconnecting = (async () => {
      const started = Date.now();
      const failures: string[] = [];
      for (let attempt = 1; attempt <= policy.maxAttempts && !closed; attempt += 1) {
        if (attempt > 1)
          await sleep(policy.delayMs * 2 ** (attempt - 2), undefined, { signal: closing.signal }).catch(
            () => undefined,
          );
        if (closed) break;
        try {
          const { live, tools } = await connectOnce(closing.signal, policy.timeoutMs);
          if (closed) {
            await live.client.close().catch(() => undefined);
            break;
          }
          current = live;
          try {
            options.onReconnected(tools);
          } catch {
            // The tool list stays as it was; calls work regardless.
          }
          return live;
        } catch (error) {
          failures.push((error as { detail?: string }).detail ?? describeError(error));
        }
      }
      throw new McpReconnectFailure({ reason, failures, elapsedMs: Date.now() - started });
    })().finally(() => {
      reconnecting = undefined;
    });
    return reconnecting;
  };

  /** The live connection, reconnecting (shared by all callers) if it is lost. */
  const acquire = async (site: McpCallSite, signal: AbortSignal | undefined): Promise<Live> => {
    if (closed) throw closedError(label, site);
    if (current !== undefined && current.lost === undefined) return current;
    if (options.reconnect === false)
      throw notReconnectingError(label, site, current?.lost ?? 'not connected');
    try {
      return await abortable(reconnect(options.reconnect), signal);
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (closed) throw closedError(label, site);
      if (error instanceof McpReconnectFailure) throw unreachableError(label, site, error);
      throw error;
    }
  };

  /** Runs `request` on the live connection, once more on a new one if it never reached the server. */
  const withConnection = async <T>(
    site: McpCallSite,
    signal: AbortSignal | undefined,
    describe: () => string,
    request: (live: Live) => Promise<T>,
  ): Promise<T> => {
    let live = await acquire(site, signal);
    for (let resent = false; ; resent = true) {
      try {
        return await request(live);
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        if (closed) throw closedError(label, site);
        if (!resent && isUndelivered(error)) {
          lose(live, errorMessage(error));
          live = await acquire(site, signal);
          continue;
        }
        if (live.lost !== undefined || isConnectionLost(error)) {
          lose(live, errorMessage(error));
          throw disconnectedError(label, site, live.lost ?? errorMessage(error), error);
        }
        throw callFailedError(label, describe(), site, error);
      }
    }
  };

  return {
    async open(signal) {
      const { live, tools } = await connectOnce(signal, options.timeoutMs);
      current = live;
      return tools;
    },
    listTools(site, signal) {
      return withConnection(
        site,
        signal,
        () => 'request tools/list',
        (live) => listAll(live.client, requestOptions(signal)),
      );
    },
    callTool(serverTool, input, site, signal) {
      return withConnection(
        site,
        signal,
        () => `tool ${serverTool}`,
        async (live) =>
          (await live.client.callTool(
            { name: serverTool, arguments: input },
            undefined,
            requestOptions(signal),
          )) as McpCallResult,
      );
    },
    request(site, signal, describe, send) {
      return withConnection(
        site,
        signal,
        () => describe,
        (live) => send(live.client, requestOptions(signal)),
      );
    },
    get serverCapabilities() {
      return current?.client.getServerCapabilities();
    },
    async close() {
      if (closed) return;
      closed = true;
      closing.abort();
      const live = current;
      if (live !== undefined && live.lost === undefined) {
        live.lost = 'closed by close()';
        await live.client.close();
      }
    },
    get connected() {
      return !closed && current !== undefined && current.lost === undefined;
    },
    get closed() {
      return closed;
    },
    get pid() {
      const transport = current?.lost === undefined ? current?.transport : undefined;
      return transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
    },
  };
}

/** All pages of `tools/list`. */
async function listAll(
  client: Client,
  requestOptions: { timeout?: number; signal?: AbortSignal },
): Promise<McpToolDefinition[]> {
  const listed: McpToolDefinition[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listTools(cursor === undefined ? {} : { cursor }, requestOptions);
    listed.push(...page.tools);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return listed;
}

function createTransport(server: McpServer, onStderr: (chunk: string) => void): Transport {
  if ('command' in server) {
    const transport = new StdioClientTransport({
      command: server.command,
      args: [...(server.args ?? [])],
      env: { ...getDefaultEnvironment(), ...server.env },
      ...(server.cwd === undefined ? {} : { cwd: server.cwd }),
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer | string) => onStderr(String(chunk)));
    return transport;
  }
  return new StreamableHTTPClientTransport(
    new URL(server.url),
    server.headers === undefined ? {} : { requestInit: { headers: server.headers } },
  );
}

/** `promise`, or the signal's reason as soon as it aborts (the shared work goes on for others). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

export function stderrSuffix(tail: string): string {
  const trimmed = tail.trim();
  return trimmed === '' ? '' : ` (server stderr: ${trimmed.slice(-500)})`;
}

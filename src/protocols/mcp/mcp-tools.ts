/** mcpTools(): connect to an MCP server (stdio or Streamable HTTP) and expose its tools as Baton tools. */

import type { JSONSchema7 } from '@ai-sdk/provider';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type ZodType, z } from 'zod';
import { BatonError, ConfigError, type ErrorClass, ToolError } from '../../core/errors.js';
import type { Tool } from '../../tools/tool.js';
import { type McpCallResult, mcpOutput } from './mcp-output.js';

/** Spawn an MCP server as a child process and talk to it over stdin/stdout. */
export interface McpStdioServer {
  command: string;
  args?: readonly string[];
  /** Environment of the server; defaults to a safe subset of this process's (PATH, HOME, ...). Merged over that subset. */
  env?: Record<string, string>;
  cwd?: string;
}

/** Talk to a running MCP server over Streamable HTTP. */
export interface McpHttpServer {
  url: string | URL;
  /** Extra HTTP headers sent with every request (for example `Authorization`). */
  headers?: Record<string, string>;
}

/** Where an MCP server is: a command to spawn, or a URL. */
export type McpServer = McpStdioServer | McpHttpServer;

/** Which of a server's tools to keep; names are the server's own tool names. */
export interface McpToolFilter {
  /** Keep only these tools. */
  include?: readonly string[];
  /** Drop these tools. */
  exclude?: readonly string[];
}

/** Options of `mcpTools()`. */
export interface McpToolsOptions extends McpToolFilter {
  /** A short name for the server, used in error messages and as the default client name. Defaults to the command or host. */
  name?: string;
  /** Prepended to every tool name (`github_` + `create_issue`), to keep names of several servers apart. */
  prefix?: string;
  /** Per-call timeout in ms (default 60000, the SDK's). */
  timeoutMs?: number;
  /** Aborts the connection attempt. */
  signal?: AbortSignal;
}

/** A live connection to an MCP server and the Baton tools it offers. */
export interface McpToolSet {
  /** The server's name as used in messages. */
  readonly server: string;
  /** The tools (after the filter of `mcpTools()`), ready for `agent({ tools })`. */
  readonly tools: readonly Tool<Record<string, unknown>, unknown>[];
  /** A subset for one agent, by the server's tool names. Throws a `ConfigError` naming unknown tools. */
  select(filter: McpToolFilter): Tool<Record<string, unknown>, unknown>[];
  /** True until `close()` or until the server goes away. */
  readonly connected: boolean;
  /** The process id of a spawned (stdio) server while it runs; undefined for HTTP servers. */
  readonly pid: number | undefined;
  /** Closes the connection (and stops a spawned server). Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;
const stderrTailLength = 2000;

/**
 * Connects to an MCP server and returns its tools as Baton tools: the server's JSON Schema is
 * what the model sees, arguments are checked against it before the call (and again by the
 * server), and a call runs `tools/call`. Connection failures and a server that went away become
 * `ToolError`s (`fault: 'tool'`, codes `MCP_CONNECT_FAILED`, `MCP_DISCONNECTED`), a tool that
 * reports an error becomes `MCP_TOOL_ERROR`; the model sees the message and the resilience
 * policies can retry them.
 *
 * @example
 * ```ts
 * import { mcpTools } from 'baton/mcp';
 * const everything = await mcpTools({ command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything'] });
 * const helper = agent({ name: 'helper', model, instructions: 'Use your tools.',
 *   tools: everything.select({ include: ['echo', 'get-sum'] }) });
 * // ... run it, then:
 * await everything.close();
 * ```
 */
export async function mcpTools(server: McpServer, options: McpToolsOptions = {}): Promise<McpToolSet> {
  const label = options.name ?? serverLabel(server);
  const where = `mcpTools(${JSON.stringify(label)})`;
  checkOptions(server, options, where);
  let stderrTail = '';
  let closedByUs = false;
  let lostReason: string | undefined;
  const transport = createTransport(server, (chunk) => {
    stderrTail = (stderrTail + chunk).slice(-stderrTailLength);
  });
  const client = new Client({ name: `baton:${label}`, version: '1' });
  client.onclose = () => {
    if (!closedByUs && lostReason === undefined)
      lostReason = `the connection closed${stderrSuffix(stderrTail)}`;
  };
  client.onerror = (error) => {
    if (lostReason === undefined && transport instanceof StdioClientTransport && transport.pid === null)
      lostReason = `${error.message}${stderrSuffix(stderrTail)}`;
  };
  const requestOptions = (signal?: AbortSignal) => ({
    ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
    ...(signal === undefined ? {} : { signal }),
  });
  let listed: Awaited<ReturnType<Client['listTools']>>['tools'];
  try {
    await client.connect(transport, requestOptions(options.signal));
    listed = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(
        cursor === undefined ? {} : { cursor },
        requestOptions(options.signal),
      );
      listed.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
  } catch (error) {
    closedByUs = true;
    await client.close().catch(() => undefined);
    throw classified(
      new ToolError(
        `${where}: could not connect to the MCP server: ${messageOf(error)}${stderrSuffix(stderrTail)}. Check the command or URL and that the server starts on its own.`,
        { tool: label, code: 'MCP_CONNECT_FAILED', cause: error },
      ),
      'fatal',
    );
  }

  // Retrying cannot bring the connection back: the model is told the tool is unavailable.
  const disconnected = (toolName: string, cause?: unknown) =>
    classified(
      new ToolError(
        `MCP server "${label}" is no longer connected (${lostReason ?? (closedByUs ? 'closed by close()' : messageOf(cause))}); tool ${toolName} cannot run. Restart the server and reconnect with mcpTools().`,
        { tool: toolName, code: 'MCP_DISCONNECTED', cause },
      ),
      'recoverable',
    );

  const byServerName = new Map<string, Tool<Record<string, unknown>, unknown>>();
  for (const definition of listed) {
    const name = toolName(options.prefix ?? '', definition.name);
    // Model APIs take the schema without `$schema`, like Baton's own tools.
    const { $schema: _dialect, ...jsonSchema } = definition.inputSchema as JSONSchema7;
    byServerName.set(definition.name, {
      kind: 'tool',
      name,
      description: definition.description?.trim() || definition.title || definition.name,
      inputSchema: inputValidator(jsonSchema),
      jsonSchema,
      idempotent: definition.annotations?.idempotentHint === true,
      timeoutMs: undefined,
      async execute(input, context) {
        if (closedByUs || lostReason !== undefined) throw disconnected(name);
        let result: McpCallResult;
        try {
          result = (await client.callTool(
            { name: definition.name, arguments: input },
            undefined,
            requestOptions(context.signal),
          )) as McpCallResult;
        } catch (error) {
          if (context.signal.aborted) throw context.signal.reason ?? error;
          if (closedByUs || lostReason !== undefined || isConnectionClosed(error))
            throw disconnected(name, error);
          if (BatonError.isInstance(error)) throw error;
          const failure = new ToolError(
            `MCP tool ${definition.name} on "${label}" failed: ${messageOf(error)}`,
            {
              tool: name,
              agent: context.agent,
              code: 'MCP_CALL_FAILED',
              runId: context.runId,
              cause: error,
            },
          );
          // -32001 is the SDK's ErrorCode.RequestTimeout; network errors are classified by their cause.
          throw (error as { code?: unknown })?.code === -32001 ? classified(failure, 'transient') : failure;
        }
        return mcpOutput(result, () => `MCP tool ${definition.name} on "${label}"`, name, context);
      },
    });
  }
  const select = (filter: McpToolFilter) => {
    for (const list of [filter.include, filter.exclude]) {
      const unknown = (list ?? []).filter((name) => !byServerName.has(name));
      if (unknown.length > 0)
        throw new ConfigError(
          `${where}: no tool named ${unknown.map((name) => `"${name}"`).join(', ')}; the server offers: ${[...byServerName.keys()].join(', ')}.`,
        );
    }
    const include = filter.include === undefined ? undefined : new Set(filter.include);
    const exclude = new Set(filter.exclude ?? []);
    return [...byServerName.entries()]
      .filter(
        ([serverName]) => (include === undefined || include.has(serverName)) && !exclude.has(serverName),
      )
      .map(([, definition]) => definition);
  };
  const tools = select(options);
  const close = async () => {
    if (closedByUs) return;
    closedByUs = true;
    await client.close();
  };
  return {
    server: label,
    tools,
    select,
    get connected() {
      return !closedByUs && lostReason === undefined;
    },
    get pid() {
      return transport instanceof StdioClientTransport ? (transport.pid ?? undefined) : undefined;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function checkOptions(server: McpServer, options: McpToolsOptions, where: string): void {
  const isStdio = typeof (server as McpStdioServer)?.command === 'string';
  const isHttp =
    typeof (server as McpHttpServer)?.url === 'string' || (server as McpHttpServer)?.url instanceof URL;
  if (isStdio === isHttp)
    throw new ConfigError(
      `${where}: the server must be { command, args } (stdio) or { url } (Streamable HTTP), exactly one of them.`,
    );
  if (isHttp) {
    try {
      new URL((server as McpHttpServer).url);
    } catch {
      throw new ConfigError(
        `${where}: url ${JSON.stringify(String((server as McpHttpServer).url))} is not a URL.`,
      );
    }
  }
  if (options.prefix !== undefined && !/^[a-zA-Z0-9_-]{0,32}$/.test(options.prefix))
    throw new ConfigError(`${where}: prefix must be up to 32 letters, digits, '_' or '-'.`);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0))
    throw new ConfigError(`${where}: timeoutMs must be positive.`);
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

function serverLabel(server: McpServer): string {
  if (typeof (server as McpStdioServer)?.command === 'string') {
    const stdio = server as McpStdioServer;
    return [stdio.command, ...(stdio.args ?? [])].join(' ').slice(0, 80);
  }
  try {
    return new URL((server as McpHttpServer).url).host;
  } catch {
    return String((server as McpHttpServer)?.url);
  }
}

/** `prefix + name`, with characters model APIs reject replaced by `_`, at most 64 long. */
function toolName(prefix: string, name: string): string {
  const candidate = `${prefix}${name}`.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return toolNamePattern.test(candidate) ? candidate : 'tool';
}

/** A zod validator from the server's JSON Schema; a schema zod cannot express is left to the server. */
function inputValidator(schema: JSONSchema7): ZodType<Record<string, unknown>> {
  try {
    return z.fromJSONSchema(schema as never) as ZodType<Record<string, unknown>>;
  } catch {
    return z.record(z.string(), z.unknown());
  }
}

/** Marks the route the resilience policies take for an error (see `classifyError`). */
function classified(error: ToolError, errorClass: ErrorClass): ToolError {
  return Object.assign(error, { errorClass });
}

function isConnectionClosed(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  // -32000 is the SDK's ErrorCode.ConnectionClosed.
  return code === -32000 || /connection closed|not connected/i.test(messageOf(error));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function stderrSuffix(tail: string): string {
  const trimmed = tail.trim();
  return trimmed === '' ? '' : ` (server stderr: ${trimmed.slice(-500)})`;
}

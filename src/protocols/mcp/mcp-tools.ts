/** mcpTools(): connect to an MCP server (stdio or Streamable HTTP) and expose its tools as Baton tools. */

import type { JSONSchema7 } from '@ai-sdk/provider';
import type { Tool as McpToolDefinition } from '@modelcontextprotocol/sdk/types.js';
import { type ZodType, z } from 'zod';
import { ConfigError, ToolError } from '../../core/errors.js';
import type { Tool } from '../../tools/tool.js';
import { type Capability, checkCapabilities } from '../../tools/tool-policy.js';
import { mcpCapabilities } from './mcp-capabilities.js';
import {
  createMcpConnection,
  type McpHttpServer,
  type McpReconnectOptions,
  type McpServer,
  type McpStdioServer,
  reconnectDefaults,
} from './mcp-connection.js';
import { classified } from './mcp-errors.js';
import { mcpOutput } from './mcp-output.js';
import { type McpPrompts, mcpPrompts } from './mcp-prompts.js';
import { type McpResources, mcpResources } from './mcp-resources.js';

export type { McpHttpServer, McpReconnectOptions, McpServer, McpStdioServer } from './mcp-connection.js';

/**
 * Which of a server's tools to keep; names are the server's own tool names.
 *
 * @example
 * ```ts
 * const filter: McpToolFilter = { include: ['echo', 'get-sum'] };
 * ```
 */
export interface McpToolFilter {
  /** Keep only these tools. */
  include?: readonly string[];
  /** Drop these tools. */
  exclude?: readonly string[];
}

/**
 * Options of `mcpTools()`.
 *
 * @example
 * ```ts
 * const options: McpToolsOptions = { name: 'github', prefix: 'gh_', timeoutMs: 30_000, reconnect: { maxAttempts: 5 } };
 * ```
 */
export interface McpToolsOptions extends McpToolFilter {
  /** A short name for the server, used in error messages and as the default client name. Defaults to the command or host. */
  name?: string;
  /** Prepended to every tool name (`github_` + `create_issue`), to keep names of several servers apart. */
  prefix?: string;
  /** Per-call timeout in ms (default 60000, the SDK's). */
  timeoutMs?: number;
  /** Aborts the first connection attempt. */
  signal?: AbortSignal;
  /** How a lost connection is replaced on the next call (default `{ maxAttempts: 3, delayMs: 250, timeoutMs: 10000 }`); `false` leaves it lost. */
  reconnect?: McpReconnectOptions | false;
  /**
   * Capabilities by the server's tool name, replacing those read from the tool's annotations
   * (see `mcpCapabilities`): for servers whose hints are missing or wrong, and to add `spend`.
   */
  capabilities?: Readonly<Record<string, readonly Capability[]>>;
}

type McpTool = Tool<Record<string, unknown>, unknown>;

/**
 * A connection to an MCP server and the Baton tools it offers; reconnects when the connection
 * drops and follows the server's tool list. An agent keeps the tools it was defined with, so
 * define agents from `tools` (or `select()`) again after a change to offer new tools.
 *
 * It also reads the server's resources (`listResources`, `listResourceTemplates`, `readResource`;
 * for agents: `resourceMessage` as context in a run's input, or `resourceTools()` to let the model
 * list and read them) and prompts (`listPrompts`, `getPrompt` as messages and text). See docs/mcp.md.
 *
 * @example
 * ```ts
 * const github = await mcpTools({ url }, { name: 'github' });
 * let triager = agent({ name: 'triager', model, instructions: '...', tools: github.tools });
 * const stop = github.onToolsChange((tools) => {
 *   triager = agent({ name: 'triager', model, instructions: '...', tools });
 * });
 * // ... later
 * stop();
 * await github.close();
 * ```
 */
export interface McpToolSet extends McpResources, McpPrompts {
  /** The server's name as used in messages. */
  readonly server: string;
  /**
   * The tools (after the filter of `mcpTools()`), ready for `agent({ tools })`. Read it again after
   * the list changed: an agent keeps the array it was defined with.
   */
  readonly tools: readonly McpTool[];
  /** A subset for one agent, by the server's tool names. Throws a `ConfigError` naming unknown tools. */
  select(filter: McpToolFilter): McpTool[];
  /**
   * Lists the server's tools again and returns the new `tools`. Runs by itself when the server sends
   * `notifications/tools/list_changed` and after a reconnect; call it for servers that do not notify.
   */
  refreshTools(options?: { signal?: AbortSignal }): Promise<readonly McpTool[]>;
  /** Calls `listener` with the new `tools` whenever the list changed; returns the unsubscribe function. */
  onToolsChange(listener: (tools: readonly McpTool[]) => void): () => void;
  /** True while the connection is up; false after `close()` and while it is lost (the next call reconnects). */
  readonly connected: boolean;
  /** The process id of a spawned (stdio) server while it runs; undefined for HTTP servers. */
  readonly pid: number | undefined;
  /** Closes the connection (and stops a spawned server), and stops reconnecting. Safe to call twice. */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;

/**
 * Connects to an MCP server and returns its tools as Baton tools: the server's JSON Schema is
 * what the model sees, arguments are checked against it before the call (and again by the
 * server), and a call runs `tools/call`.
 *
 * The source survives the server going away: a call after the connection dropped (a stdio server
 * exited, an HTTP server restarted or forgot the session) first reconnects (one attempt shared by
 * concurrent calls) and lists the tools again. A call cut off mid-flight fails as a `transient`
 * `MCP_DISCONNECTED`, which the resilience policies retry for idempotent tools; a server that stays
 * down fails as `MCP_UNREACHABLE`, naming the server and each attempt. When the server sends
 * `notifications/tools/list_changed`, `tools` is listed again and `onToolsChange` listeners run.
 *
 * @example
 * ```ts
 * import { mcpTools } from 'batonjs/mcp';
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
  const reconnect = checkOptions(server, options, where);
  const prefix = options.prefix ?? '';
  const declared = checkDeclaredCapabilities(where, options.capabilities);
  /** Server tool name -> the Baton tool and the definition it was made from (to keep unchanged tools identical). */
  let byServerName = new Map<string, { tool: McpTool; definition: string }>();
  let filtered: readonly McpTool[] = [];
  const listeners = new Set<(tools: readonly McpTool[]) => void>();
  let refreshing: Promise<readonly McpTool[]> | undefined;
  let refreshAgain = false;

  const connection = createMcpConnection({
    label,
    server,
    timeoutMs: options.timeoutMs,
    reconnect,
    onToolListChanged: () => {
      void refresh().catch(() => undefined);
    },
    onReconnected: (listed) => update(listed),
  });

  const makeTool = (definition: McpToolDefinition): McpTool => {
    const name = toolName(prefix, definition.name);
    // Model APIs take the schema without `$schema`, like Baton's own tools.
    const { $schema: _dialect, ...jsonSchema } = definition.inputSchema as JSONSchema7;
    return {
      kind: 'tool',
      name,
      description: definition.description?.trim() || definition.title || definition.name,
      inputSchema: inputValidator(jsonSchema),
      jsonSchema,
      idempotent: definition.annotations?.idempotentHint === true,
      capabilities: declared.get(definition.name) ?? mcpCapabilities(definition.annotations),
      timeoutMs: undefined,
      async execute(input, context) {
        const site = { tool: name, agent: context.agent, runId: context.runId };
        const result = await connection.callTool(definition.name, input, site, context.signal);
        return mcpOutput(result, () => `MCP tool ${definition.name} on "${label}"`, name, context);
      },
    };
  };

  const pick = (filter: McpToolFilter) => {
    const include = filter.include === undefined ? undefined : new Set(filter.include);
    const exclude = new Set(filter.exclude ?? []);
    return [...byServerName.entries()]
      .filter(
        ([serverName]) => (include === undefined || include.has(serverName)) && !exclude.has(serverName),
      )
      .map(([, entry]) => entry.tool);
  };

  /** Takes a new listing; unchanged tools keep their identity. Runs listeners when `tools` changed. */
  const update = (listed: readonly McpToolDefinition[]) => {
    const next = new Map<string, { tool: McpTool; definition: string }>();
    for (const definition of listed) {
      const key = JSON.stringify(definition);
      const previous = byServerName.get(definition.name);
      next.set(
        definition.name,
        previous?.definition === key ? previous : { tool: makeTool(definition), definition: key },
      );
    }
    byServerName = next;
    const before = filtered;
    filtered = pick(options);
    const changed =
      before.length !== filtered.length || before.some((tool, index) => tool !== filtered[index]);
    if (!changed) return;
    for (const listener of [...listeners]) {
      try {
        listener(filtered);
      } catch {
        // A listener's failure is its own; the list is updated regardless.
      }
    }
  };

  /** One listing at a time; a change announced during one runs another after it. */
  const refresh = (signal?: AbortSignal): Promise<readonly McpTool[]> => {
    if (refreshing !== undefined) {
      refreshAgain = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        refreshAgain = false;
        update(await connection.listTools({ tool: 'tools/list' }, signal));
      } while (refreshAgain && !connection.closed);
      return filtered;
    })().finally(() => {
      refreshing = undefined;
    });
    return refreshing;
  };

  let listed: McpToolDefinition[];
  try {
    listed = await connection.open(options.signal);
  } catch (error) {
    await connection.close().catch(() => undefined);
    throw classified(
      new ToolError(
        `${where}: could not connect to the MCP server: ${(error as { detail?: string }).detail ?? String(error)}. Check the command or URL and that the server starts on its own.`,
        { tool: label, code: 'MCP_CONNECT_FAILED', cause: error },
      ),
      'fatal',
    );
  }
  update(listed);
  const select = (filter: McpToolFilter) => {
    for (const list of [filter.include, filter.exclude]) {
      const unknown = (list ?? []).filter((name) => !byServerName.has(name));
      if (unknown.length > 0)
        throw new ConfigError(
          `${where}: no tool named ${unknown.map((name) => `"${name}"`).join(', ')}; the server offers: ${[...byServerName.keys()].join(', ')}.`,
        );
    }
    return pick(filter);
  };
  // A typo in the filter or the capabilities of mcpTools() fails here, like one in select().
  try {
    select(options);
    select({ include: [...declared.keys()] });
  } catch (error) {
    await connection.close();
    throw error;
  }
  const close = async () => {
    listeners.clear();
    await connection.close();
  };
  return {
    server: label,
    ...mcpResources(connection, label, prefix),
    ...mcpPrompts(connection, label),
    get tools() {
      return filtered;
    },
    select,
    refreshTools: (refreshOptions = {}) => refresh(refreshOptions.signal),
    onToolsChange(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    get connected() {
      return connection.connected;
    },
    get pid() {
      return connection.pid;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** Checks the server and options; returns the reconnect policy with its defaults. */
function checkOptions(
  server: McpServer,
  options: McpToolsOptions,
  where: string,
): Required<McpReconnectOptions> | false {
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
  if (options.reconnect === false) return false;
  const reconnect = { ...reconnectDefaults, ...options.reconnect } satisfies Required<McpReconnectOptions>;
  if (!(Number.isInteger(reconnect.maxAttempts) && reconnect.maxAttempts >= 1))
    throw new ConfigError(`${where}: reconnect.maxAttempts must be a whole number of at least 1.`);
  if (!(reconnect.delayMs >= 0)) throw new ConfigError(`${where}: reconnect.delayMs must be 0 or more.`);
  if (!(reconnect.timeoutMs > 0)) throw new ConfigError(`${where}: reconnect.timeoutMs must be positive.`);
  return reconnect;
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

/** Checks the `capabilities` option of `mcpTools()`: an object of tool name to capability list. */
function checkDeclaredCapabilities(
  where: string,
  value: McpToolsOptions['capabilities'],
): Map<string, readonly Capability[]> {
  const declared = new Map<string, readonly Capability[]>();
  if (value === undefined) return declared;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(
      `${where}: capabilities must be an object of the server's tool names to capabilities, like { delete_file: ['write'] }.`,
    );
  for (const [name, capabilities] of Object.entries(value)) {
    const checked = checkCapabilities(where, `capabilities[${JSON.stringify(name)}]`, capabilities);
    if (checked !== undefined) declared.set(name, checked);
  }
  return declared;
}

/** The MCP servers of a team file: checked (one of command or url, ${VAR} references, commands allowed), connected, and their tools gathered by name. */

import { resolve } from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import { didYouMean } from '../core/suggest.js';
import type { AnyTool } from '../index.js';
import type { McpServer, McpToolSet } from '../protocols/mcp/index.js';
import { milliseconds } from './build-parts.js';
import { sortProblems, TeamFileError, type TeamFileProblem } from './team-file-error.js';
import type { TeamFile } from './team-file-schema.js';
import type { TeamFileMcpServer } from './team-mcp-schema.js';
import { nameList } from './team-words.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/**
 * The environment variable that lets team files start their `mcp:` servers that have a `command:`
 * (they run programs): `1` or `true`.
 *
 * @example
 * ```sh
 * BATON_ALLOW_MCP_COMMANDS=1 baton run team.yaml "List the files"
 * ```
 */
export const allowMcpCommandsVariable = 'BATON_ALLOW_MCP_COMMANDS';

/** The connected servers of a team file. */
export interface TeamMcp {
  /** Every server's tools by (prefixed) name, resource tools included. */
  readonly tools: ReadonlyMap<string, AnyTool>;
  /** The server that offers each tool, by tool name. */
  readonly owners: ReadonlyMap<string, string>;
  /** Each server's tools, by server name (what `agents[].mcp` gives an agent). */
  readonly serverTools: ReadonlyMap<string, readonly AnyTool[]>;
  /** The live connections, by server name. */
  readonly servers: ReadonlyMap<string, McpToolSet>;
  /** Closes every connection (and stops spawned servers). */
  close(): Promise<void>;
}

/**
 * Checks the `mcp:` servers and the agents' `mcp:` lists, then connects to every server (at once)
 * and gathers their tools. Every problem is reported at its line; connections made before a
 * problem was found are closed before the error is thrown.
 */
export async function connectTeamMcp(
  source: YamlSource,
  team: TeamFile,
  options: { here: string; env: Readonly<Record<string, string | undefined>>; allowCommands: boolean },
): Promise<TeamMcp> {
  const declared = team.mcp ?? [];
  const problems = checkServers(source, team, options);
  if (declared.length === 0) {
    if (problems.length > 0) throw new TeamFileError(sortProblems(problems));
    return {
      tools: new Map(),
      owners: new Map(),
      serverTools: new Map(),
      servers: new Map(),
      close: async () => {},
    };
  }
  const servers = declared.map((server, index) => serverOf(source, server, index, options, problems));
  if (problems.length > 0) throw new TeamFileError(sortProblems(problems));

  let mcp: typeof import('../protocols/mcp/index.js');
  try {
    mcp = await import('../protocols/mcp/index.js');
  } catch (error) {
    throw new TeamFileError(
      [
        source.problem(
          ['mcp'],
          `MCP servers need the optional peer @modelcontextprotocol/sdk, which could not be loaded (${errorMessage(error)}). Install it in your project: npm install @modelcontextprotocol/sdk`,
        ),
      ],
      { cause: error },
    );
  }
  const settled = await Promise.allSettled(
    declared.map((server, index) =>
      mcp.mcpTools(servers[index] as McpServer, {
        name: server.name,
        ...(server.prefix === undefined ? {} : { prefix: server.prefix }),
        ...(server.include === undefined ? {} : { include: server.include }),
        ...(server.exclude === undefined ? {} : { exclude: server.exclude }),
        ...(server.timeout === undefined ? {} : { timeoutMs: milliseconds(server.timeout) }),
      }),
    ),
  );
  const connected = new Map<string, McpToolSet>();
  const close = async () => {
    await Promise.allSettled([...connected.values()].map((set) => set.close()));
  };
  const tools = new Map<string, AnyTool>();
  const owners = new Map<string, string>();
  const serverTools = new Map<string, AnyTool[]>();
  for (const [index, outcome] of settled.entries()) {
    const server = declared[index] as TeamFileMcpServer;
    if (outcome.status === 'rejected') {
      const error = outcome.reason;
      // A name under include or exclude that the server does not offer.
      const filter =
        error instanceof ConfigError && /no tool named/.test(error.message) ? filterOf(server) : undefined;
      problems.push(
        source.problem(filter === undefined ? ['mcp', index] : ['mcp', index, filter], errorMessage(error)),
      );
      continue;
    }
    const set = outcome.value;
    connected.set(server.name, set);
    const offered: AnyTool[] = [
      ...(set.tools as AnyTool[]),
      ...(server.resources === true ? (set.resourceTools() as AnyTool[]) : []),
    ];
    serverTools.set(server.name, offered);
    for (const tool of offered) {
      const owner = owners.get(tool.name);
      if (owner !== undefined) {
        problems.push(
          source.problem(
            ['mcp', index],
            `MCP server "${server.name}" offers a tool named "${tool.name}", and so does MCP server "${owner}"; set prefix: on one of them (e.g. prefix: ${server.name}_).`,
          ),
        );
        continue;
      }
      owners.set(tool.name, server.name);
      tools.set(tool.name, tool);
    }
  }
  if (problems.length > 0) {
    await close();
    throw new TeamFileError(sortProblems(problems));
  }
  return { tools, owners, serverTools, servers: connected, close };
}

/** Checks what needs no connection: names, command or url, what goes with each, the agents' mcp lists. */
function checkServers(
  source: YamlSource,
  team: TeamFile,
  options: { allowCommands: boolean },
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const declared = team.mcp ?? [];
  const names = declared.map((server) => server.name);
  for (const [index, server] of declared.entries()) {
    const path: DataPath = ['mcp', index];
    if (names.indexOf(server.name) !== index)
      problems.push(
        source.problem(
          [...path, 'name'],
          `two MCP servers are named "${server.name}"; give each its own name.`,
        ),
      );
    const stdio = server.command !== undefined;
    const http = server.url !== undefined;
    if (stdio && http)
      problems.push(
        source.keyProblem(
          path,
          'url',
          'an MCP server has command: (stdio, a process this starts) or url: (Streamable HTTP, a running server), not both.',
        ),
      );
    if (!stdio && !http)
      problems.push(
        source.problem(
          path,
          `MCP server "${server.name}" needs command: (stdio: the command that starts it) or url: (Streamable HTTP: where it runs).`,
        ),
      );
    for (const key of ['args', 'env', 'cwd'] as const)
      if (!stdio && http && server[key] !== undefined)
        problems.push(
          source.keyProblem(path, key, `${key}: applies to a stdio server (command:); this one has url:.`),
        );
    if (!http && stdio && server.headers !== undefined)
      problems.push(
        source.keyProblem(
          path,
          'headers',
          'headers: applies to a Streamable HTTP server (url:); this one has command:.',
        ),
      );
    if (stdio && !options.allowCommands)
      problems.push(
        source.problem(
          [...path, 'command'],
          `refused to start MCP server "${server.name}" (${[server.command, ...(server.args ?? [])].join(' ')}): a team file runs commands only when allowed, so that running a team file you did not write cannot run programs on your machine. Allow it with ${allowMcpCommandsVariable}=1 for the baton CLI, or loadTeamFile(file, { allowMcpCommands: true }); or use a Streamable HTTP server (url:).`,
        ),
      );
  }
  for (const [index, agent] of team.agents.entries()) {
    for (const [position, name] of (agent.mcp ?? []).entries()) {
      if (names.includes(name)) continue;
      problems.push(
        source.problem(
          ['agents', index, 'mcp', position],
          names.length === 0
            ? `unknown MCP server "${name}": this team declares none; add it under the top-level mcp:.`
            : `unknown MCP server "${name}" (declared: ${nameList(names)}).${didYouMean(name, names)}`,
        ),
      );
    }
  }
  return problems;
}

/** The server as `mcpTools()` takes it, with `${VAR}` references replaced; problems for unset variables and bad URLs. */
function serverOf(
  source: YamlSource,
  server: TeamFileMcpServer,
  index: number,
  options: { here: string; env: Readonly<Record<string, string | undefined>> },
  problems: TeamFileProblem[],
): McpServer | undefined {
  const path: DataPath = ['mcp', index];
  const expand = (value: string, at: DataPath): string =>
    value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_reference, variable: string) => {
      const found = options.env[variable];
      if (found === undefined || found === '') {
        problems.push(
          source.problem(
            at,
            `\${${variable}} refers to the environment variable ${variable}, which is not set; set it, or write the value here.`,
          ),
        );
        return '';
      }
      return found;
    });
  const mapOf = (values: Record<string, string> | undefined, key: string) =>
    values === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(values).map(([name, value]) => [name, expand(value, [...path, key, name])]),
        );
  if (server.command !== undefined) {
    const env = mapOf(server.env, 'env');
    return {
      command: expand(server.command, [...path, 'command']),
      args: (server.args ?? []).map((argument, position) => expand(argument, [...path, 'args', position])),
      cwd: resolve(options.here, server.cwd ?? '.'),
      ...(env === undefined ? {} : { env }),
    };
  }
  if (server.url === undefined) return undefined;
  const url = expand(server.url, [...path, 'url']);
  try {
    new URL(url);
  } catch {
    problems.push(
      source.problem(
        [...path, 'url'],
        `"${url}" is not a URL; write it in full, e.g. http://localhost:3001/mcp.`,
      ),
    );
  }
  const headers = mapOf(server.headers, 'headers');
  return { url, ...(headers === undefined ? {} : { headers }) };
}

function filterOf(server: TeamFileMcpServer): 'include' | 'exclude' | undefined {
  if (server.include !== undefined) return 'include';
  if (server.exclude !== undefined) return 'exclude';
  return undefined;
}

/** loadTeamFile(): read a team YAML file, validate it, and build its agents and pattern. */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import type { ZodType } from 'zod';
import { findForbiddenKey, forbiddenKeyMessage } from '../core/forbidden-keys.js';
import type { AnyRunnable } from '../core/runnable.js';
import { didYouMean } from '../core/suggest.js';
import type { Agent, AgentInput, AnyTool, ModelChain, ModelSpec, Runnable, Store } from '../index.js';
import type { Human } from '../patterns/human.js';
import type { McpToolSet } from '../protocols/mcp/index.js';
import { loadScript, scriptedModel } from '../testing/index.js';
import { allowedFoldersFromEnv } from './allowed-folders.js';
import { buildTeam } from './build-team.js';
import { checkAgentOptions } from './check-agent-options.js';
import { checkTeam } from './check-team.js';
import { jsonSchemaToZod } from './json-schema-output.js';
import { schemaProblems } from './schema-problems.js';
import { sortProblems, TeamFileError, type TeamFileProblem } from './team-file-error.js';
import { type TeamFile, type TeamPattern, teamFileSchema } from './team-file-schema.js';
import { allowMcpCommandsVariable, connectTeamMcp, type TeamMcp } from './team-mcp.js';
import { type ModelPlan, planModels, type TeamModelOption } from './team-models.js';
import { loadExports, loadTools } from './team-modules.js';
import { inlineModels, internalAgents } from './team-references.js';
import { nameList } from './team-words.js';
import { YamlSource } from './yaml-source.js';

/**
 * Options of {@link loadTeamFile}.
 *
 * @example
 * ```ts
 * const options: LoadTeamFileOptions = { model: 'offline', offlineChunkDelayMs: 0 };
 * ```
 */
export interface LoadTeamFileOptions {
  /** How agents get their models; see {@link TeamModelOption}. Default `'auto'`. */
  model?: TeamModelOption;
  /** Environment read by `'auto'` (BATON_MODEL, provider keys). Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Paths in messages are shown relative to this directory. Default `process.cwd()`. */
  cwd?: string;
  /** Pause between streamed words when running offline, so text appears live. Default 12 ms. */
  offlineChunkDelayMs?: number;
  /**
   * The store `evolving` teams keep their outcomes in: pass the store of the runtime that runs
   * the team (the policy reads each run's cost from its journal there). Needed only by them.
   */
  store?: Store;
  /**
   * More folders the team file may load code from (`tools:`, `./file.ts#export` fields), relative
   * to `cwd`. By default only the team file's own folder (and folders below it) is allowed, so a
   * team file you did not write cannot run `../` or absolute-path modules. The variable
   * `BATON_ALLOW_MODULES_FROM` in `env` adds folders too (how the `baton` CLI is told).
   */
  allowModulesFrom?: readonly string[];
  /**
   * Lets the file's `mcp:` servers with a `command:` start (they run programs). Off by default, so
   * a team file you did not write cannot run programs on your machine; the variable
   * `BATON_ALLOW_MCP_COMMANDS=1` in `env` allows it too (how the `baton` CLI is told). Servers
   * reached by `url:` need no permission.
   */
  allowMcpCommands?: boolean;
}

/**
 * A loaded team: its runnable plus what was loaded to build it.
 *
 * @example
 * ```ts
 * const team: LoadedTeam = await loadTeamFile('team.yaml');
 * console.log(team.name, team.pattern, [...team.agents.keys()], team.offline);
 * ```
 */
export interface LoadedTeam {
  /** The team as something a runtime can run: an agent run or a pattern named after the team. */
  readonly runnable: Runnable<AgentInput, unknown>;
  readonly name: string;
  readonly version: string;
  readonly description: string | undefined;
  readonly pattern: TeamPattern;
  /** Absolute path of the team file. */
  readonly file: string;
  readonly agents: ReadonlyMap<string, Agent<unknown>>;
  /** The nested teams (`teams:`), by name. */
  readonly teams: ReadonlyMap<string, AnyRunnable>;
  /** The humans (`humans:`), by name; answer one with `runtime.signal(runId, 'human:<name>', text)`. */
  readonly humans: ReadonlyMap<string, Human>;
  /** The tools the tools module exports, by tool name. */
  readonly tools: ReadonlyMap<string, AnyTool>;
  /** The tools module's exports (its own instance: module state lives here). */
  readonly toolsModule: Readonly<Record<string, unknown>> | undefined;
  /** The connections to the file's MCP servers (`mcp:`), by server name: resources and prompts too. */
  readonly mcp: ReadonlyMap<string, McpToolSet>;
  /** Closes the MCP connections (and stops the servers it started). The process may also just exit. */
  close(): Promise<void>;
  /** True when the agents run on the offline script instead of a real model. */
  readonly offline: boolean;
  /** A one-line notice to show the user when running offline. */
  readonly notice: string | undefined;
  /** The validated file. */
  readonly definition: TeamFile;
}

/**
 * Reads a team file (YAML), validates it and builds its agents and pattern. Every problem
 * is a {@link TeamFileError} naming the file, line and column, the field path, what is wrong
 * and how to fix it. See docs/team-files.md for the format.
 *
 * @example
 * ```ts
 * const team = await loadTeamFile('examples/customer-support/team.yaml');
 * if (team.notice) console.log(team.notice);
 * const runtime = createRuntime({ store: createMemoryStore() });
 * const handle = await runtime.start(team.runnable, 'I was charged twice for A-1001');
 * console.log(await handle.result());
 * ```
 */
export async function loadTeamFile(path: string, options: LoadTeamFileOptions = {}): Promise<LoadedTeam> {
  const cwd = options.cwd ?? process.cwd();
  const file = resolve(cwd, path);
  const display = (target: string): string => {
    const shown = relative(cwd, target);
    return shown === '' || shown.startsWith('..') || isAbsolute(shown) ? target : shown;
  };
  const shownFile = display(file);
  const fail = (problems: TeamFileProblem[], cause?: unknown): never => {
    throw new TeamFileError(problems, cause === undefined ? {} : { cause });
  };
  const located = (message: string): TeamFileProblem => ({
    file: shownFile,
    line: undefined,
    column: undefined,
    path: '',
    message,
  });

  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    return fail(
      [
        located(
          missing
            ? `file not found (looked for ${file}). Check the path; it is relative to ${cwd}.`
            : `cannot read the file: ${(error as Error).message}`,
        ),
      ],
      error,
    );
  }

  const parsed = YamlSource.parse(shownFile, text);
  if (!(parsed instanceof YamlSource)) return fail([parsed]);
  const source = parsed;
  if (source.data === null || source.data === undefined) {
    return fail([located('the file is empty; a team file needs at least name, pattern and agents.')]);
  }
  const forbidden = findForbiddenKey(source.data);
  if (forbidden !== undefined) {
    const mapPath = forbidden.slice(0, -1);
    return fail([source.keyProblem(mapPath, String(forbidden.at(-1)), forbiddenKeyMessage(forbidden))]);
  }
  const validated = teamFileSchema.safeParse(source.data);
  if (!validated.success)
    return fail(sortProblems(schemaProblems(source, teamFileSchema, validated.error.issues)));
  const team = validated.data;

  const problems = checkTeam(source, team);
  const outputs = new Map<number, ZodType>();
  const payloads = new Map<string, ZodType>();
  for (const [index, agent] of team.agents.entries()) {
    if (agent.output !== undefined) {
      const converted = jsonSchemaToZod(source, ['agents', index, 'output'], agent.output);
      if (Array.isArray(converted)) problems.push(...converted);
      else outputs.set(index, converted);
    }
    for (const [position, entry] of (agent.handoffs ?? []).entries()) {
      if (typeof entry === 'string' || entry.payload === undefined) continue;
      const converted = jsonSchemaToZod(
        source,
        ['agents', index, 'handoffs', position, 'payload'],
        entry.payload,
        {
          objectOnly: true,
        },
      );
      if (Array.isArray(converted)) problems.push(...converted);
      else payloads.set(`${index}.${position}`, converted);
    }
  }
  if (problems.length > 0) return fail(sortProblems(problems));

  const here = dirname(file);
  const plan = planModels(
    source,
    team,
    options.model ?? 'auto',
    options.env ?? process.env,
    (script) => display(resolve(here, script)),
    inlineModels(team),
  );
  if (Array.isArray(plan)) return fail(plan);

  const allowed = [
    here,
    ...(options.allowModulesFrom ?? []).map((folder) => resolve(cwd, folder)),
    ...allowedFoldersFromEnv(options.env ?? process.env, cwd),
  ];
  const env = options.env ?? process.env;
  const mcp = await connectTeamMcp(source, team, {
    here,
    env,
    allowCommands: options.allowMcpCommands ?? /^(1|true)$/i.test(env[allowMcpCommandsVariable] ?? ''),
  });
  // Whatever fails from here closes the servers just started.
  try {
    const { tools, toolsModule } = await loadTools(source, team, here, display, allowed, mcp);
    const optionProblems = checkAgentOptions(source, team, tools, mcp.serverTools);
    if (optionProblems.length > 0) return fail(sortProblems(optionProblems));
    const exports = await loadExports(source, team, here, display, allowed);

    const models = await modelChooser(source, team, plan, here, options.offlineChunkDelayMs ?? 12);
    const built = buildTeam(source, team, {
      ...models,
      tools,
      mcpTools: mcp.serverTools,
      outputs,
      payloads,
      exports,
      store: options.store,
    });
    if (Array.isArray(built)) return fail(sortProblems(built));
    return loaded(team, file, plan, built, tools, toolsModule, mcp);
  } catch (error) {
    await mcp.close();
    throw error;
  }
}

/** The loaded team, once built. */
function loaded(
  team: TeamFile,
  file: string,
  plan: Exclude<ModelPlan, TeamFileProblem[]>,
  built: Exclude<ReturnType<typeof buildTeam>, TeamFileProblem[]>,
  tools: ReadonlyMap<string, AnyTool>,
  toolsModule: Record<string, unknown> | undefined,
  mcp: TeamMcp,
): LoadedTeam {
  return {
    runnable: built.runnable,
    name: team.name,
    version: String(team.version ?? '1'),
    description: team.description,
    pattern: team.pattern,
    file,
    agents: built.agents,
    teams: built.teams,
    humans: built.humans,
    tools,
    toolsModule,
    mcp: mcp.servers,
    close: () => mcp.close(),
    offline: plan.kind === 'offline',
    notice: plan.kind === 'offline' ? plan.notice : undefined,
    definition: team,
  };
}

async function modelChooser(
  source: YamlSource,
  team: TeamFile,
  plan: ModelPlan,
  here: string,
  chunkDelayMs: number,
): Promise<{
  modelOf: (agent: TeamFile['agents'][number]) => ModelChain;
  inlineModel: (spec: string) => ModelSpec;
}> {
  if (plan.kind === 'file') return { modelOf: plan.modelOf, inlineModel: (spec) => spec };
  if (plan.kind === 'all') return { modelOf: () => plan.model, inlineModel: () => plan.model };
  const scriptPath = resolve(here, plan.script);
  if (!existsSync(scriptPath)) {
    throw new TeamFileError([
      source.problem(
        ['offline', 'script'],
        `offline script not found: ${plan.script} (looked for ${scriptPath}).`,
      ),
    ]);
  }
  const script = await loadScript(scriptPath);
  const names = [...team.agents.map((agent) => agent.name), ...internalAgents(team)];
  const known = new Set(names);
  const strangers = Object.keys(script).filter((name) => !known.has(name));
  if (strangers.length > 0) {
    throw new TeamFileError([
      source.problem(
        ['offline', 'script'],
        `${plan.script} has turns for ${nameList(strangers.map((name) => `"${name}"`))}, which ${strangers.length === 1 ? 'is not an agent' : 'are not agents'} of this team (agents: ${nameList(names)}).${didYouMean(strangers[0] as string, names)}`,
      ),
    ]);
  }
  const model = scriptedModel(script, { chunkDelayMs });
  return { modelOf: () => model, inlineModel: () => model };
}

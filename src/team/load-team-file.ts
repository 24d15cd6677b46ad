/** loadTeamFile(): read a team YAML file, validate it, and build its agents and pattern. */

import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import type { ZodType } from 'zod';
import type { Agent, AgentInput, AnyTool, ModelSpec, Runnable } from '../index.js';
import { loadScript, scriptedModel } from '../testing/index.js';
import { buildTeam } from './build-team.js';
import { checkTeam } from './check-team.js';
import { importModule, moduleExtensions } from './import-module.js';
import { jsonSchemaToZod } from './json-schema-output.js';
import { schemaProblems } from './schema-problems.js';
import { didYouMean } from './suggest.js';
import { TeamFileError, type TeamFileProblem } from './team-file-error.js';
import { type TeamFile, type TeamPattern, teamFileSchema } from './team-file-schema.js';
import { type ModelPlan, planModels, type TeamModelOption } from './team-models.js';
import { collectTools } from './team-tools.js';
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
  /** The tools the tools module exports, by tool name. */
  readonly tools: ReadonlyMap<string, AnyTool>;
  /** The tools module's exports (its own instance: module state lives here). */
  readonly toolsModule: Readonly<Record<string, unknown>> | undefined;
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
  const plan = planModels(source, team, options.model ?? 'auto', options.env ?? process.env, (script) =>
    display(resolve(here, script)),
  );
  if (Array.isArray(plan)) return fail(plan);

  const { tools, toolsModule } = await loadTools(source, team, here, display);

  const modelOf = await modelChooser(source, team, plan, here, options.offlineChunkDelayMs ?? 12);
  const built = buildTeam(source, team, { modelOf, tools, outputs, payloads });
  if (Array.isArray(built)) return fail(built);
  return {
    runnable: built.runnable,
    name: team.name,
    version: String(team.version ?? '1'),
    description: team.description,
    pattern: team.pattern,
    file,
    agents: built.agents,
    tools,
    toolsModule,
    offline: plan.kind === 'offline',
    notice: plan.kind === 'offline' ? plan.notice : undefined,
    definition: team,
  };
}

async function loadTools(
  source: YamlSource,
  team: TeamFile,
  here: string,
  display: (target: string) => string,
): Promise<{ tools: Map<string, AnyTool>; toolsModule: Record<string, unknown> | undefined }> {
  let tools = new Map<string, AnyTool>();
  let toolsModule: Record<string, unknown> | undefined;
  const problems: TeamFileProblem[] = [];
  if (team.tools !== undefined) {
    const modulePath = resolve(here, team.tools);
    if (!moduleExtensions.includes(extname(modulePath))) {
      throw new TeamFileError([
        source.problem(
          ['tools'],
          `the tools module must be a .ts or .js file (${moduleExtensions.join(', ')}).`,
        ),
      ]);
    }
    if (!existsSync(modulePath)) {
      throw new TeamFileError([
        source.problem(['tools'], `tools module not found: ${team.tools} (looked for ${modulePath}).`),
      ]);
    }
    try {
      toolsModule = await importModule(modulePath);
    } catch (error) {
      throw new TeamFileError(
        [
          source.problem(
            ['tools'],
            `could not load the tools module ${display(modulePath)}: ${(error as Error)?.message ?? String(error)}`,
          ),
        ],
        { cause: error },
      );
    }
    const collected = collectTools(toolsModule);
    tools = collected.tools;
    for (const name of collected.clashes) {
      problems.push(
        source.problem(['tools'], `${team.tools} exports two different tools named "${name}"; rename one.`),
      );
    }
  }
  const known = [...tools.keys()];
  const exported =
    team.tools === undefined
      ? ''
      : known.length === 0
        ? ` (${team.tools} exports no tool() definitions)`
        : ` (${team.tools} exports: ${known.join(', ')})`;
  for (const [index, agent] of team.agents.entries()) {
    for (const [position, name] of (agent.tools ?? []).entries()) {
      if (tools.has(name)) continue;
      problems.push(
        source.problem(
          ['agents', index, 'tools', position],
          team.tools === undefined
            ? `unknown tool "${name}": this team has no tools module; add tools: ./tools.ts at the top level, a module that exports tool() definitions.`
            : `unknown tool "${name}"${exported}.${didYouMean(name, known)}`,
        ),
      );
    }
  }
  if (problems.length > 0) throw new TeamFileError(sortProblems(problems));
  return { tools, toolsModule };
}

async function modelChooser(
  source: YamlSource,
  team: TeamFile,
  plan: ModelPlan,
  here: string,
  chunkDelayMs: number,
): Promise<(agent: TeamFile['agents'][number]) => ModelSpec> {
  if (plan.kind === 'file') return plan.modelOf;
  if (plan.kind === 'all') return () => plan.model;
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
  const names = team.agents.map((agent) => agent.name);
  const strangers = Object.keys(script).filter((name) => !names.includes(name));
  if (strangers.length > 0) {
    throw new TeamFileError([
      source.problem(
        ['offline', 'script'],
        `${plan.script} has turns for ${strangers.map((name) => `"${name}"`).join(', ')}, which ${strangers.length === 1 ? 'is not an agent' : 'are not agents'} of this team (agents: ${names.join(', ')}).${didYouMean(strangers[0] as string, names)}`,
      ),
    ]);
  }
  const model = scriptedModel(script, { chunkDelayMs });
  return () => model;
}

function sortProblems(problems: TeamFileProblem[]): TeamFileProblem[] {
  return [...problems].sort(
    (a, b) =>
      (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

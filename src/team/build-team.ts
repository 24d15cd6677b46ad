/** Builds the agents and the pattern of a checked team file with Baton's public API. */

import type { ZodType } from 'zod';
import { errorMessage } from '../core/errors.js';
import type { AnyRunnable } from '../core/runnable.js';
import type { Store } from '../core/store.js';
import {
  type Agent,
  type AgentInput,
  type AgentOptions,
  type AnyTool,
  agent,
  BatonError,
  detectInjection,
  type Guardrail,
  handoffFilters,
  type InstructionContext,
  type ModelChain,
  type ModelSpec,
  type Runnable,
  redactPii,
  redactSecrets,
  type Transfer,
  type TransferOptions,
  transfer,
} from '../index.js';
import { type Human, human } from '../patterns/human.js';
import { type AgentOptionParts, agentOptionsOf, sharedResources } from './build-agent-options.js';
import { compact, milliseconds } from './build-parts.js';
import { buildPattern, type PatternContext } from './build-pattern.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamDefinition, TeamFile, TeamFileAgent } from './team-file-schema.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/** What the builder needs besides the file: models, tools, module exports and the converted JSON Schemas. */
export interface TeamParts {
  modelOf: (agent: TeamFileAgent) => ModelChain;
  /** The model for a "provider:model" written in the file (a selector, a manager, a planner). */
  inlineModel: (spec: string) => ModelSpec;
  tools: ReadonlyMap<string, AnyTool>;
  /** Each MCP server's tools, by server name (an agent's `mcp:` list takes them whole). */
  mcpTools?: ReadonlyMap<string, readonly AnyTool[]>;
  /** Output schema per agent index. */
  outputs: ReadonlyMap<number, ZodType>;
  /** Payload schema per `agentIndex.handoffIndex`. */
  payloads: ReadonlyMap<string, ZodType>;
  /** Values of the "./file.ts#export" references in the file. */
  exports: ReadonlyMap<string, unknown>;
  /** The store evolving teams keep their outcomes in. */
  store: Store | undefined;
}

/** The built team. */
export interface BuiltTeam {
  runnable: Runnable<AgentInput, unknown>;
  agents: ReadonlyMap<string, Agent<unknown>>;
  /** The nested teams, by name. */
  teams: ReadonlyMap<string, AnyRunnable>;
  /** The humans, by name. */
  humans: ReadonlyMap<string, Human>;
}

/** Thrown past a definition that uses a member whose build already failed (and was reported). */
class MemberFailed extends Error {}

/**
 * Builds every agent, then the pattern and, on first use, the nested teams and humans it
 * refers to; definition errors become problems located at the agent, team or human.
 */
export function buildTeam(
  source: YamlSource,
  team: TeamFile,
  parts: TeamParts,
): BuiltTeam | TeamFileProblem[] {
  const agents = new Map<string, Agent<unknown>>();
  const problems: TeamFileProblem[] = [];
  const optionParts: AgentOptionParts = {
    exports: parts.exports,
    inlineModel: parts.inlineModel,
    ...sharedResources(parts.store),
  };
  for (const [index, definition] of team.agents.entries()) {
    try {
      agents.set(definition.name, agent(agentOptions(definition, index, team, parts, agents, optionParts)));
    } catch (error) {
      problems.push(source.problem(['agents', index], messageOf(error)));
    }
  }
  if (problems.length > 0) return problems;
  for (const [index, definition] of team.agents.entries()) {
    try {
      agents.get(definition.name)?.handoffs();
    } catch (error) {
      problems.push(source.problem(['agents', index, 'handoffs'], messageOf(error)));
    }
  }
  if (problems.length > 0) return problems;

  const fileVersion = String(team.version ?? '1');
  const teams = new Map<string, AnyRunnable>();
  const humans = new Map<string, Human>();
  const failed = new Set<string>();
  const nestedIndex = new Map((team.teams ?? []).map((nested, index) => [nested.name, index]));
  const humanIndex = new Map((team.humans ?? []).map((person, index) => [person.name, index]));

  const describe = (name: string): string => {
    const nested = team.teams?.[nestedIndex.get(name) ?? -1];
    if (nested !== undefined) return nested.description ?? `A ${nested.pattern} team named ${name}.`;
    const person = team.humans?.[humanIndex.get(name) ?? -1];
    if (person !== undefined) return person.description ?? name;
    return agents.get(name)?.description ?? name;
  };

  const member = (name: string): AnyRunnable => {
    const found = agents.get(name) ?? teams.get(name) ?? humans.get(name);
    if (found !== undefined) return found;
    if (failed.has(name)) throw new MemberFailed(name);
    const index = nestedIndex.get(name);
    const path: DataPath = index === undefined ? ['humans', humanIndex.get(name) ?? 0] : ['teams', index];
    try {
      if (index !== undefined) {
        const nested = team.teams?.[index] as TeamDefinition;
        const runnable = buildPattern(nested, String(nested.version ?? fileVersion), true, context);
        const described = { ...runnable, description: describe(name) };
        teams.set(name, described);
        return described;
      }
      const person = buildHuman(humanIndex.get(name) ?? 0);
      humans.set(name, person);
      return person;
    } catch (error) {
      failed.add(name);
      if (!(error instanceof MemberFailed))
        problems.push(
          index === undefined
            ? source.problem(path, messageOf(error))
            : source.keyProblem(path, 'pattern', messageOf(error)),
        );
      throw new MemberFailed(name);
    }
  };

  const buildHuman = (index: number): Human => {
    const person = (team.humans ?? [])[index] as NonNullable<TeamFile['humans']>[number];
    const fallback = person.fallback;
    return human({
      name: person.name,
      version: fileVersion,
      ...compact({
        description: person.description,
        prompt: person.prompt,
        timeoutMs: person.timeout === undefined ? undefined : milliseconds(person.timeout),
        fallback:
          fallback === undefined
            ? undefined
            : typeof fallback === 'string'
              ? fallback
              : member(fallback.agent),
      }),
    });
  };

  const context: PatternContext = {
    file: team,
    store: parts.store,
    agent: (name: string) => agents.get(name) as Agent<unknown>,
    member,
    describe,
    inlineModel: parts.inlineModel,
    moduleExport: (reference: string) => parts.exports.get(reference),
  };

  let runnable: Runnable<AgentInput, unknown> | undefined;
  try {
    runnable = buildPattern(team, fileVersion, false, context);
  } catch (error) {
    if (!(error instanceof MemberFailed)) problems.push(source.keyProblem([], 'pattern', messageOf(error)));
  }
  // Teams and humans no pattern uses are built too, so their mistakes surface now.
  for (const name of [...nestedIndex.keys(), ...humanIndex.keys()]) {
    try {
      member(name);
    } catch (error) {
      if (!(error instanceof MemberFailed)) throw error;
    }
  }
  if (problems.length > 0 || runnable === undefined) return problems;
  return { runnable, agents, teams, humans };
}

function agentOptions(
  definition: TeamFileAgent,
  index: number,
  team: TeamFile,
  parts: TeamParts,
  agents: ReadonlyMap<string, Agent<unknown>>,
  optionParts: AgentOptionParts,
): AgentOptions<unknown> {
  const more = agentOptionsOf(definition, optionParts);
  const options: AgentOptions<unknown> = {
    ...more.options,
    name: definition.name,
    instructions: withPayload(definition.instructions),
    model: parts.modelOf(definition),
    tools: agentTools(definition, parts, more.tools),
    handoffs: () =>
      (definition.handoffs ?? []).map((entry, position) => handoffTo(entry, `${index}.${position}`)),
    version: String(definition.version ?? team.version ?? '1'),
  };
  const handoffTo = (entry: NonNullable<TeamFileAgent['handoffs']>[number], key: string): Transfer => {
    const spec = typeof entry === 'string' ? { agent: entry } : entry;
    const transferOptions: TransferOptions<unknown> = {};
    const payload = parts.payloads.get(key);
    if (payload !== undefined) transferOptions.payload = payload;
    if (spec.description !== undefined) transferOptions.description = spec.description;
    if (spec.filter !== undefined)
      transferOptions.inputFilter =
        typeof spec.filter === 'string'
          ? handoffFilters[spec.filter]
          : handoffFilters.lastN(spec.filter.lastN);
    return transfer(agents.get(spec.agent) as Agent<unknown>, transferOptions);
  };
  const output = parts.outputs.get(index);
  if (output !== undefined) options.output = output;
  if (definition.description !== undefined) options.description = definition.description;
  if (definition.maxTurns !== undefined) options.maxTurns = definition.maxTurns;
  if (definition.maxToolErrors !== undefined) options.maxToolErrors = definition.maxToolErrors;
  if (definition.maxRepairs !== undefined) options.maxRepairs = definition.maxRepairs;
  if (definition.settings !== undefined) {
    const { temperature, maxOutputTokens, topP, seed } = definition.settings;
    options.settings = {
      ...(temperature === undefined ? {} : { temperature }),
      ...(maxOutputTokens === undefined ? {} : { maxOutputTokens }),
      ...(topP === undefined ? {} : { topP }),
      ...(seed === undefined ? {} : { seed }),
    };
  }
  if (definition.retry !== undefined) options.retry = compact(definition.retry);
  if (definition.timeout !== undefined) options.timeoutMs = milliseconds(definition.timeout);
  if (definition.budget !== undefined) {
    const { maxTurns, maxTokens, maxCostUsd, maxWallTime, allowUnpricedModels, alertAt } = definition.budget;
    options.budget = compact({
      maxTurns,
      maxTokens,
      maxCostUsd,
      maxWallTimeMs: maxWallTime === undefined ? undefined : milliseconds(maxWallTime),
      allowUnpricedModels,
      alertAt,
    });
  }
  if (definition.permissions !== undefined) options.permissions = compact(definition.permissions);
  if (definition.guardrails !== undefined)
    options.guardrails = definition.guardrails.map((name) => builtinGuardrails[name]());
  return options;
}

/** The built-in guardrails a team file names. */
const builtinGuardrails: Record<NonNullable<TeamFileAgent['guardrails']>[number], () => Guardrail> = {
  pii: () => redactPii(),
  secrets: () => redactSecrets(),
  injection: () => detectInjection(),
};

/** Instructions that show the agent the payload of the handoff that gave it control. */
function withPayload(text: string): (context: InstructionContext) => string {
  return ({ payload }) => {
    const empty =
      payload === undefined ||
      payload === null ||
      (typeof payload === 'object' && Object.keys(payload as object).length === 0);
    return empty
      ? text
      : `${text.trimEnd()}\n\nHandoff payload from the previous agent:\n${JSON.stringify(payload, null, 2)}`;
  };
}

function messageOf(error: unknown): string {
  const message = errorMessage(error);
  return BatonError.isInstance(error) ? message.replace(/^agent\("[^"]*"\): /, '') : message;
}

/** An agent's tools: those it names, every tool of the MCP servers it lists (each name once), and those its options add. */
function agentTools(definition: TeamFileAgent, parts: TeamParts, added: readonly AnyTool[]): AnyTool[] {
  const tools = new Map<string, AnyTool>();
  for (const name of definition.tools ?? []) tools.set(name, parts.tools.get(name) as AnyTool);
  for (const server of definition.mcp ?? [])
    for (const tool of parts.mcpTools?.get(server) ?? [])
      if (!tools.has(tool.name)) tools.set(tool.name, tool);
  return [...tools.values(), ...added];
}

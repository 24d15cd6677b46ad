/** Builds the agents and the pattern of a checked team file with Baton's public API. */

import type { ZodType } from 'zod';
import {
  type Agent,
  type AgentInput,
  type AgentOptions,
  type AnyTool,
  agent,
  BatonError,
  concurrent,
  handoff,
  handoffFilters,
  type InstructionContext,
  type ModelSpec,
  type Runnable,
  runAgent,
  sequential,
  type Transfer,
  type TransferOptions,
  transfer,
} from '../index.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamFile, TeamFileAgent } from './team-file-schema.js';
import type { YamlSource } from './yaml-source.js';

/** What the builder needs besides the file: models, tools and the converted JSON Schemas. */
export interface TeamParts {
  modelOf: (agent: TeamFileAgent) => ModelSpec;
  tools: ReadonlyMap<string, AnyTool>;
  /** Output schema per agent index. */
  outputs: ReadonlyMap<number, ZodType>;
  /** Payload schema per `agentIndex.handoffIndex`. */
  payloads: ReadonlyMap<string, ZodType>;
}

/** The built team. */
export interface BuiltTeam {
  runnable: Runnable<AgentInput, unknown>;
  agents: ReadonlyMap<string, Agent<unknown>>;
}

/** Builds every agent, then the pattern; definition errors become problems located at the agent. */
export function buildTeam(
  source: YamlSource,
  team: TeamFile,
  parts: TeamParts,
): BuiltTeam | TeamFileProblem[] {
  const agents = new Map<string, Agent<unknown>>();
  const problems: TeamFileProblem[] = [];
  for (const [index, definition] of team.agents.entries()) {
    try {
      agents.set(definition.name, agent(agentOptions(definition, index, team, parts, agents)));
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
  try {
    return { runnable: pattern(team, agents), agents };
  } catch (error) {
    return [source.keyProblem([], 'pattern', messageOf(error))];
  }
}

function agentOptions(
  definition: TeamFileAgent,
  index: number,
  team: TeamFile,
  parts: TeamParts,
  agents: ReadonlyMap<string, Agent<unknown>>,
): AgentOptions<unknown> {
  const options: AgentOptions<unknown> = {
    name: definition.name,
    instructions: withPayload(definition.instructions),
    model: parts.modelOf(definition),
    tools: (definition.tools ?? []).map((name) => parts.tools.get(name) as AnyTool),
    handoffs: () =>
      (definition.handoffs ?? []).map((entry, position) => handoffTo(entry, `${index}.${position}`)),
    version: String(team.version ?? '1'),
  };
  const handoffTo = (entry: NonNullable<TeamFileAgent['handoffs']>[number], key: string): Transfer => {
    const spec = typeof entry === 'string' ? { agent: entry } : entry;
    const transferOptions: TransferOptions<unknown> = {};
    const payload = parts.payloads.get(key);
    if (payload !== undefined) transferOptions.payload = payload;
    if (spec.description !== undefined) transferOptions.description = spec.description;
    if (spec.filter !== undefined) transferOptions.inputFilter = handoffFilters[spec.filter];
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
  return options;
}

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

function pattern(team: TeamFile, agents: ReadonlyMap<string, Agent<unknown>>): Runnable<AgentInput, unknown> {
  const name = team.name;
  const version = String(team.version ?? '1');
  const byName = (agentName: string): Agent<unknown> => agents.get(agentName) as Agent<unknown>;
  const entry = byName(team.entry ?? (team.agents[0] as TeamFileAgent).name);
  switch (team.pattern) {
    case 'agent':
      return {
        kind: 'pattern',
        name,
        version,
        async execute(ctx, input) {
          return (await runAgent(ctx, entry, input)).output;
        },
      };
    case 'handoff':
      return handoff({
        name,
        version,
        entry,
        agents: [...agents.values()].filter((member) => member !== entry),
        ...(team.allowReturn === undefined ? {} : { allowReturn: team.allowReturn }),
        ...(team.maxHandoffs === undefined ? {} : { maxHandoffs: team.maxHandoffs }),
      });
    case 'sequential':
      return sequential<AgentInput, unknown>({
        name,
        version,
        stages: (team.stages ?? []).map((stage) => ({ run: byName(stage), input: asAgentInput })),
      });
    case 'concurrent':
      return concurrent<AgentInput, unknown>({
        name,
        version,
        units: (team.units ?? []).map(byName),
        aggregate:
          team.aggregate === undefined || team.aggregate === 'collect' ? 'collect' : byName(team.aggregate),
        ...(team.require === undefined ? {} : { require: team.require }),
      });
  }
}

/** A stage's input: text and conversations pass through; structured outputs become JSON text. */
function asAgentInput(previous: unknown): AgentInput {
  if (typeof previous === 'string') return previous;
  if (
    previous !== null &&
    typeof previous === 'object' &&
    Array.isArray((previous as { messages?: unknown }).messages)
  )
    return previous as AgentInput;
  return JSON.stringify(previous, null, 2);
}

function messageOf(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return BatonError.isInstance(error) ? message.replace(/^agent\("[^"]*"\): /, '') : message;
}

/** agent(): an LLM agent definition (instructions, model, tools, handoffs, typed output) usable as a run, a child or a tool. */

import type { ZodType } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import { runnableTool, type Tool, toJsonSchema } from '../tools/tool.js';
import { type Transfer, transfer } from './handoff.js';
import type { AgentInput } from './messages.js';
import { runAgent } from './run-agent.js';

/** Any tool, whatever its input and output types. */
// biome-ignore lint/suspicious/noExplicitAny: a list of tools mixes input types; each is checked by its own schema.
export type AnyTool = Tool<any, any>;

/** What dynamic instructions receive. */
export interface InstructionContext {
  agent: string;
  runId: string;
  /** The payload of the handoff that gave this agent control, if any. */
  payload: unknown;
}

/** Model settings passed through to the provider. */
export interface ModelSettings {
  temperature?: number;
  maxOutputTokens?: number;
  topP?: number;
  seed?: number;
}

/** Options of `agent()`. */
export interface AgentOptions<OUTPUT> {
  name: string;
  /** What the agent does; shown to other agents that can hand off or delegate to it. */
  description?: string;
  instructions: string | ((context: InstructionContext) => string);
  model: ModelSpec;
  tools?: readonly AnyTool[];
  /** Agents (or `transfer()`s) this agent can hand the conversation to. A function allows cycles. */
  handoffs?: readonly (Agent<unknown> | Transfer)[] | (() => readonly (Agent<unknown> | Transfer)[]);
  /** Schema of the final answer; the model is asked for JSON and the result is validated and typed. */
  output?: ZodType<OUTPUT>;
  /** Model turns this agent may take before the run fails. Default 10. */
  maxTurns?: number;
  /** Turns in a row whose tool calls all fail before the run fails. Default 3. */
  maxToolErrors?: number;
  /** Extra turns to repair a final answer that does not match `output`. Default 2. */
  maxRepairs?: number;
  settings?: ModelSettings;
  version?: string;
}

/** An agent definition. */
export interface Agent<OUTPUT = string> extends Runnable<AgentInput, OUTPUT> {
  readonly kind: 'agent';
  readonly description: string;
  readonly instructions: string | ((context: InstructionContext) => string);
  readonly model: ModelSpec;
  readonly tools: readonly AnyTool[];
  readonly output: ZodType<OUTPUT> | undefined;
  readonly maxTurns: number;
  readonly maxToolErrors: number;
  readonly maxRepairs: number;
  readonly settings: ModelSettings;
  /** The handoff targets, resolved. */
  handoffs(): readonly Transfer[];
  /** This agent as a tool another agent can call; it runs as a child run. */
  asTool(options?: { name?: string; description?: string }): Tool<{ input: string }, OUTPUT>;
}

function count(
  where: string,
  field: string,
  value: number | undefined,
  fallback: number,
  minimum: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < minimum)
    throw new ConfigError(`${where}: ${field} must be an integer >= ${minimum}, got ${value}.`);
  return value;
}

/**
 * Defines an agent.
 *
 * @example
 * ```ts
 * const billing = agent({
 *   name: 'billing',
 *   description: 'Refunds and invoices',
 *   instructions: 'You handle billing questions. Use the refund tool for duplicate charges.',
 *   model: 'openai:gpt-4o-mini',
 *   tools: [refund],
 * });
 * const handle = await runtime.start(billing, 'I was charged twice for order A-1001');
 * ```
 */
export function agent<OUTPUT = string>(options: AgentOptions<OUTPUT>): Agent<OUTPUT> {
  assertName('agent', options?.name);
  const where = `agent("${options.name}")`;
  if (typeof options.instructions !== 'string' && typeof options.instructions !== 'function') {
    throw new ConfigError(`${where}: instructions must be a string or a function returning one.`);
  }
  if (options.model === undefined || options.model === null || options.model === '') {
    throw new ConfigError(`${where}: model is required ("provider:model" or an AI SDK model).`);
  }
  const tools = [...(options.tools ?? [])];
  const seen = new Set<string>();
  for (const [index, candidate] of tools.entries()) {
    if (candidate?.kind !== 'tool')
      throw new ConfigError(`${where}: tools[${index}] is not a tool (create it with tool()).`);
    if (seen.has(candidate.name)) throw new ConfigError(`${where}: two tools are named "${candidate.name}".`);
    seen.add(candidate.name);
  }
  if (options.output !== undefined) toJsonSchema(options.output, `${where} output`);
  let resolvedHandoffs: readonly Transfer[] | undefined;
  const definition: Agent<OUTPUT> = {
    kind: 'agent',
    name: options.name,
    version: options.version ?? '1',
    description: options.description ?? options.name,
    instructions: options.instructions,
    model: options.model,
    tools,
    output: options.output,
    maxTurns: count(where, 'maxTurns', options.maxTurns, 10, 1),
    maxToolErrors: count(where, 'maxToolErrors', options.maxToolErrors, 3, 1),
    maxRepairs: count(where, 'maxRepairs', options.maxRepairs, 2, 0),
    settings: options.settings ?? {},
    handoffs() {
      if (resolvedHandoffs === undefined) {
        const list = typeof options.handoffs === 'function' ? options.handoffs() : (options.handoffs ?? []);
        resolvedHandoffs = list.map((entry, index) => {
          if (entry?.kind === 'transfer') return entry;
          if (entry?.kind === 'agent') return transfer(entry);
          throw new ConfigError(`${where}: handoffs[${index}] must be an agent or transfer(agent).`);
        });
        for (const handoff of resolvedHandoffs) {
          if (seen.has(handoff.toolName))
            throw new ConfigError(
              `${where}: handoff tool "${handoff.toolName}" clashes with a tool of the same name.`,
            );
        }
      }
      return resolvedHandoffs;
    },
    async execute(ctx: RunContext, input: AgentInput): Promise<OUTPUT> {
      return (await runAgent(ctx, definition, input)).output;
    },
    asTool(toolOptions = {}) {
      return runnableTool(definition as unknown as Runnable<string, OUTPUT>, {
        description: toolOptions.description ?? definition.description,
        ...(toolOptions.name === undefined ? {} : { name: toolOptions.name }),
      });
    },
  };
  return definition;
}

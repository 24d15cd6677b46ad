/** agent(): an LLM agent definition (instructions, model, tools, handoffs, typed output) usable as a run, a child or a tool. */

import type { Tool as AiSdkTool, LanguageModelMiddleware } from 'ai';
import type { ZodType } from 'zod';
import { type ContextOptions, type ContextPolicy, resolveContextPolicy } from '../context/context-policy.js';
import type { AgentInput } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RetryOptions } from '../core/retry-options.js';
import type { RunContext } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import { type ApprovalRule, checkApprovals } from '../governance/approvals.js';
import { type Budget, checkBudget, checkPricedModels } from '../governance/budget.js';
import { checkGuardrails, type Guardrail } from '../governance/guardrails.js';
import { checkLoopDetection, type LoopDetectionOptions } from '../governance/loop-detection.js';
import { checkPermissions, type Permissions } from '../governance/permissions.js';
import { withThread } from '../memory/threads.js';
import { checkMiddleware } from '../models/model-middleware.js';
import { type AgentResilience, checkAgentResilience, firstModel } from '../models/resilience/agent-model.js';
import { canonicalModelSpec, type ModelChain, type ModelSpec } from '../models/resolve-model.js';
import {
  type ResolvedResponseCache,
  type ResponseCacheOptions,
  resolveResponseCache,
} from '../models/response-cache.js';
import { fromAiSdkTool, isAiSdkTool } from '../tools/ai-sdk-tool.js';
import { runnableTool, type Tool, toJsonSchema } from '../tools/tool.js';
import { createToolRouter, type ToolRouter, type ToolRoutingOptions } from '../tools/tool-router.js';
import { type AgentHooks, type HookPlan, hookPlan } from './agent-hooks.js';
import { agentInputSchema, toPromptInput } from './agent-input.js';
import { runAgent, runAgentOutput } from './agent-loop.js';
import { type Transfer, transfer } from './handoff.js';
import { policyHooks } from './policy-hooks.js';
import type { RunAgentOptions } from './run-agent.js';

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
  /** A model, or a fallback chain tried in order when a model keeps failing (`['openai:gpt-4o', 'anthropic:...']`). */
  model: ModelChain;
  /**
   * Its tools: a list, or a record of them as AI SDK users write it (`{ lookup_order: lookupOrder }`;
   * each key must be its tool's name). Tools made with Baton's `tool()` go in either; AI SDK tools
   * (`tool()` from 'ai') go in a record, whose key names them, and are converted once, here (see
   * `fromAiSdkTool`).
   */
  tools?: readonly AnyTool[] | Readonly<Record<string, AnyTool | AiSdkTool>>;
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
  /** Explicit allow-list of tools and capabilities; a call outside it is denied, journaled, audited and reported to the model. */
  permissions?: Permissions;
  /** Approval rules per tool name (`'always'`, a predicate on the input, or `{ when?, timeout?, onTimeout? }` for a deadline and escalation); they win over the tool's own `approval`. */
  approvals?: Readonly<Record<string, ApprovalRule>>;
  /** Limits on this agent's turns, tokens, cost and wall time in a run; past them the run ends `budget-exceeded`. */
  budget?: Budget;
  /** Checks on its input, final output, tool arguments and tool results (`guardrail()`, `modelJudge()`, `redactPii()`, ...). */
  guardrails?: readonly Guardrail[];
  /** Detects repeated identical tool calls and stops, warns the model or asks a human. */
  loopDetection?: LoopDetectionOptions;
  /** Cache model answers keyed on model, messages, tools and settings (`{ ttlMs }`); off by default or with `false`. */
  cache?: ResponseCacheOptions | false;
  /** Offer only the tools that fit each turn (for large registries), plus a `search_tools` tool. */
  toolRouting?: ToolRoutingOptions;
  /** Retries of transient model failures (429, 5xx, network, timeouts) inside the model step. Default 3 attempts. */
  retry?: RetryOptions;
  /** Timeout per model call attempt; default from `configureResilience`, the model's p95 latency, or 300 s. */
  timeoutMs?: number;
  /** Cap on this agent's concurrent model calls across all runs in the process. */
  maxConcurrent?: number;
  /** Classifies model failures (`transient`, `escalate`, `fatal`, ...); undefined keeps the built-in rules. */
  classifyError?: AgentResilience['classifyError'];
  /** How the conversation is fitted into the model's window: history policy, pruning, scoped context (docs/context.md). */
  context?: ContextOptions;
  /**
   * Your own hook sets on this agent's turns (`AgentHooks`: beforeModel, afterModel, beforeTool,
   * afterTool, onHandoff, onOutput, ...). They run after the built-in policies, in the order given.
   */
  hooks?: readonly AgentHooks[];
  /**
   * AI SDK `LanguageModelMiddleware` around every call of this agent's models (each model of a
   * fallback chain, each retry): `transformParams` sees the call options Baton built (prompt after
   * the context policy and `beforeModel` hooks, tools, settings, `responseFormat`); `wrapGenerate`
   * and `wrapStream` wrap the provider's call. The first entry is outermost, as in
   * `wrapLanguageModel`. Inside the response cache and the retries (docs/middleware.md).
   */
  middleware?: readonly LanguageModelMiddleware[];
}

/** An agent definition. */
export interface Agent<OUTPUT = string> extends Runnable<AgentInput, OUTPUT> {
  readonly kind: 'agent';
  readonly description: string;
  readonly instructions: string | ((context: InstructionContext) => string);
  /** Its model (the first of its chain). */
  readonly model: ModelSpec;
  /** Its model chain: `model` first, then the fallbacks. */
  readonly models: readonly ModelSpec[];
  /** Retry, timeout, concurrency and classification options of its model calls, when set. */
  readonly resilience: AgentResilience | undefined;
  readonly tools: readonly AnyTool[];
  readonly output: ZodType<OUTPUT> | undefined;
  readonly maxTurns: number;
  readonly maxToolErrors: number;
  readonly maxRepairs: number;
  readonly settings: ModelSettings;
  readonly permissions: Readonly<Permissions> | undefined;
  readonly approvals: Readonly<Record<string, ApprovalRule>> | undefined;
  readonly budget: Budget | undefined;
  readonly guardrails: readonly Guardrail[];
  readonly loopDetection: Required<LoopDetectionOptions> | undefined;
  /** The response cache, when enabled. */
  readonly cache: ResolvedResponseCache | undefined;
  /** Picks the tools offered per turn, when `toolRouting` is set. */
  readonly toolRouter: ToolRouter | undefined;
  /** The context policy the window guard applies before every model call. */
  readonly context: ContextPolicy;
  /**
   * Every hook set on its turns, in the order they run: the built-in policies its options call for
   * (`context`, `budget`, `loop-detection`, `permissions`, `guardrails`, `approvals`), then its own `hooks`.
   */
  readonly hooks: readonly AgentHooks[];
  /** The hook sets compiled by phase, once, when the agent is defined. */
  readonly hookPlan: HookPlan;
  /** Its AI SDK middleware, first entry outermost (empty without any). */
  readonly middleware: readonly LanguageModelMiddleware[];
  /** The handoff targets, resolved. */
  handoffs(): readonly Transfer[];
  /** This agent as a tool another agent can call; it runs as a child run. */
  asTool(options?: { name?: string; description?: string }): Tool<{ input: string }, OUTPUT>;
}

const endsRunOptions: RunAgentOptions = Object.freeze({ endsRun: true });

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

const agentOptionNames = optionNames<AgentOptions<unknown>>(
  {
    name: true,
    description: true,
    instructions: true,
    model: true,
    tools: true,
    handoffs: true,
    output: true,
    maxTurns: true,
    maxToolErrors: true,
    maxRepairs: true,
    settings: true,
    version: true,
    permissions: true,
    approvals: true,
    budget: true,
    guardrails: true,
    loopDetection: true,
    cache: true,
    toolRouting: true,
    retry: true,
    timeoutMs: true,
    maxConcurrent: true,
    classifyError: true,
    context: true,
    hooks: true,
    middleware: true,
  },
  {
    outputType: 'output',
    outputSchema: 'output',
    structuredOutput: 'output',
    schema: 'output',
    system: 'instructions',
    systemPrompt: 'instructions',
    maxSteps: 'maxTurns',
    stopWhen: 'maxTurns',
    modelSettings: 'settings',
    inputGuardrails: 'guardrails',
    outputGuardrails: 'guardrails',
    handoffDescription: 'description',
  },
);

/**
 * The agent's tools as a list: from a list or a record keyed by tool name, names unique. Baton
 * `tool()`s pass as they are; AI SDK tools (`tool()` from 'ai', in a record, whose key names
 * them) are converted here, once per agent definition.
 */
function toolList(where: string, given: AgentOptions<unknown>['tools']): AnyTool[] {
  if (given === undefined) return [];
  let entries: [string, unknown][];
  const isList = Array.isArray(given);
  if (isList) entries = given.map((candidate, index) => [`tools[${index}]`, candidate]);
  else if (typeof given === 'object' && given !== null) {
    entries = Object.entries(given).map(([key, candidate]) => [`tools.${key}`, candidate]);
    for (const [key, candidate] of Object.entries(given)) {
      const named = candidate as AnyTool | undefined;
      if (named?.kind === 'tool' && named.name !== key)
        throw new ConfigError(
          `${where}: tools.${key} is the tool named "${named.name}"; in a tools record each key must be its tool's name (the name the model calls). Use "${named.name}" as the key, or pass a list.`,
        );
    }
  } else throw new ConfigError(`${where}: tools must be a list of tools or a record of them by name.`);
  const tools: AnyTool[] = [];
  const seen = new Set<string>();
  for (const [label, candidate] of entries) {
    let found: AnyTool;
    if ((candidate as AnyTool | undefined)?.kind === 'tool') found = candidate as AnyTool;
    else if (isAiSdkTool(candidate)) {
      if (isList)
        throw new ConfigError(
          `${where}: ${label} is an AI SDK tool, which has no name of its own: pass tools as a record keyed by name ({ get_weather: tool({...}) }), or convert it with fromAiSdkTool(name, tool).`,
        );
      found = fromAiSdkTool(label.slice('tools.'.length), candidate, {}, `${where}: ${label}`);
    } else
      throw new ConfigError(
        `${where}: ${label} is not a tool (create it with tool() from baton, or with tool() from 'ai' in a tools record).`,
      );
    if (seen.has(found.name)) throw new ConfigError(`${where}: two tools are named "${found.name}".`);
    seen.add(found.name);
    tools.push(found);
  }
  return tools;
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
  checkOptionNames(where, options, agentOptionNames);
  // `provider/model` strings become `provider:model` once, here: pricing, windows and traces read that spelling.
  const chain: ModelChain = Array.isArray(options.model)
    ? options.model.map(canonicalModelSpec)
    : canonicalModelSpec(options.model as ModelSpec);
  const tools = toolList(where, options.tools);
  if (options.output !== undefined) toJsonSchema(options.output, `${where} output`);
  const budget = checkBudget(options.budget, where);
  // A cost budget over a model without a price could never stop it: refuse it now.
  checkPricedModels(budget, chain, where);
  let resolvedHandoffs: readonly Transfer[] | undefined;
  const definition: Agent<OUTPUT> = {
    kind: 'agent',
    name: options.name,
    version: options.version ?? '1',
    inputSchema: agentInputSchema(),
    description: options.description ?? options.name,
    instructions: options.instructions,
    model: firstModel(chain),
    models: Array.isArray(chain) ? [...chain] : [chain],
    resilience: checkAgentResilience(where, chain, options),
    tools,
    output: options.output,
    maxTurns: count(where, 'maxTurns', options.maxTurns, 10, 1),
    maxToolErrors: count(where, 'maxToolErrors', options.maxToolErrors, 3, 1),
    maxRepairs: count(where, 'maxRepairs', options.maxRepairs, 2, 0),
    settings: options.settings ?? {},
    permissions: checkPermissions(where, options.permissions),
    approvals: checkApprovals(where, options.approvals),
    budget,
    guardrails: checkGuardrails(options.guardrails, where),
    loopDetection: checkLoopDetection(options.loopDetection, where),
    cache: resolveResponseCache(options.cache, where),
    toolRouter:
      options.toolRouting === undefined ? undefined : createToolRouter(tools, options.toolRouting, where),
    context: resolveContextPolicy(where, options.context, firstModel(chain)),
    middleware: checkMiddleware(where, options.middleware),
    // Set below, once the definition exists (the built-in sets read it).
    hooks: [],
    hookPlan: undefined as unknown as HookPlan,
    handoffs() {
      if (resolvedHandoffs === undefined) {
        const list = typeof options.handoffs === 'function' ? options.handoffs() : (options.handoffs ?? []);
        resolvedHandoffs = list.map((entry, index) => {
          if (entry?.kind === 'transfer') return entry;
          if (entry?.kind === 'agent') return transfer(entry);
          throw new ConfigError(`${where}: handoffs[${index}] must be an agent or transfer(agent).`);
        });
        for (const handoff of resolvedHandoffs) {
          if (tools.some((entry) => entry.name === handoff.toolName))
            throw new ConfigError(
              `${where}: handoff tool "${handoff.toolName}" clashes with a tool of the same name.`,
            );
        }
      }
      return resolvedHandoffs;
    },
    execute(ctx: RunContext, input: AgentInput): Promise<OUTPUT> {
      // The usual run (a prompt, no thread): the agent loop itself, with no async frame around
      // it (one would be held for as long as the run waits).
      if (typeof input === 'string' && ctx.threadId === undefined)
        return runAgentOutput(ctx, definition, input, ctx.scope === 'r' ? endsRunOptions : undefined);
      return executeWithThread(ctx, input);
    },
    asTool(toolOptions = {}) {
      return runnableTool(definition as unknown as Runnable<string, OUTPUT>, {
        description: toolOptions.description ?? definition.description,
        ...(toolOptions.name === undefined ? {} : { name: toolOptions.name }),
      });
    },
  };
  async function executeWithThread(ctx: RunContext, input: AgentInput): Promise<OUTPUT> {
    const prepared = typeof input === 'string' ? input : await toPromptInput(input);
    // The agent is the run itself (root scope, no thread to save after it): its final answer ends the run.
    const options = ctx.scope === 'r' && ctx.threadId === undefined ? endsRunOptions : undefined;
    return (await withThread(ctx, prepared, (messages) => runAgent(ctx, definition, messages, options)))
      .output;
  }
  if (options.hooks !== undefined && !Array.isArray(options.hooks))
    throw new ConfigError(
      `${where}: hooks must be a list of hook sets ([{ name: 'audit', beforeTool() {...} }]).`,
    );
  const plan = hookPlan(policyHooks(definition), options.hooks ?? [], where);
  const compiled = definition as { hooks: readonly AgentHooks[]; hookPlan: HookPlan };
  compiled.hooks = plan.sets;
  compiled.hookPlan = plan;
  return definition;
}

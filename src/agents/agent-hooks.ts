/** Agent hooks: the typed points where policies (built-in or the user's) plug into the agent turn, compiled once per agent. */

import type {
  LanguageModelV3FunctionTool,
  LanguageModelV3Prompt,
  LanguageModelV3ToolResultOutput,
} from '@ai-sdk/provider';
import type { AgentInput, Message, ParsedToolInput } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { ModelResponse, ModelToolCall } from '../models/call-model.js';
import type { Agent, AnyTool } from './agent.js';
import type { Transfer } from './handoff.js';

/**
 * One `runAgent` call as hooks see it: made once per call (only when an agent of the call has
 * hooks), updated in place as turns pass and control moves. `messages` is the live conversation.
 */
export interface AgentRun {
  readonly ctx: RunContext;
  /** The agent in control. */
  agent: Agent<unknown>;
  /** The conversation so far (hooks may rewrite it in place, e.g. input guardrails). */
  readonly messages: Message[];
  /** The input the call started with. */
  readonly input: AgentInput;
  /** Model turns taken so far in this call, across agents. */
  turns: number;
  /** Per-call state of a hook (a loop detector, a budget reservation), keyed by anything the hook owns. */
  get<VALUE>(key: object): VALUE | undefined;
  set(key: object, value: unknown): void;
}

/** A tool call about to run, its arguments validated; a `beforeTool` hook may replace `input`. */
export interface ToolCallInfo {
  readonly tool: AnyTool;
  readonly toolCallId: string;
  input: unknown;
}

/** A value, or a promise of it: hooks that decide at once return no promise, and the loop awaits nothing. */
export type MaybePromise<VALUE> = VALUE | Promise<VALUE>;

/**
 * A set of hooks on the agent turn; every hook is optional. They run on every execution and on
 * replay, in the same order, so anything they decide must be deterministic (journal what is not,
 * with `run.ctx.step`). Throwing from a hook stops the run with that error.
 *
 * Phases of a turn, in order: `onInput` (once, before the first turn) -> `beforeModel` ->
 * model step -> `afterModel` -> either `onOutput` (a final answer) or, per tool call,
 * `authorizeTool` -> argument validation -> `beforeTool` -> `wrapTool` -> the tool step, then
 * `afterTool` on each result in the model's order -> `onHandoff` when the model handed off.
 *
 * @example
 * ```ts
 * const calls: string[] = [];
 * const noDeletes: AgentHooks = {
 *   name: 'no-deletes',
 *   beforeModel: (run) => { calls.push(run.agent.name); },
 *   beforeTool: (_run, call) => (call.tool.name === 'delete_order' ? 'Deleting orders is disabled; ask a human.' : undefined),
 *   afterTool: (_run, _call, output) => (output.type === 'text' ? { type: 'text', value: output.value.trim() } : undefined),
 * };
 * const support = agent({ name: 'support', model, instructions: '...', tools: [deleteOrder], hooks: [noDeletes] });
 * ```
 */
export interface AgentHooks {
  /** Names the set in errors and in `agent.hooks` (built-in sets: `context`, `budget`, `loop-detection`, `permissions`, `guardrails`, `approvals`). */
  readonly name: string;
  /**
   * Checked when an agent takes control in a `runAgent` call; false leaves this set out of that
   * stretch. Omit it for a set that always applies. A set with `when` must still be safe to run
   * (a no-op) when it does not apply: sets are switched in and out together.
   */
  when?(run: AgentRun): boolean;
  /** Once per `runAgent` call, before the first turn, on `run.messages` (rewrite them in place). */
  onInput?(run: AgentRun): MaybePromise<void>;
  /** Before each model call: return a prompt to send instead, or undefined to keep it. */
  beforeModel?(
    run: AgentRun,
    prompt: LanguageModelV3Prompt,
    tools: readonly LanguageModelV3FunctionTool[],
  ): MaybePromise<LanguageModelV3Prompt | undefined>;
  /** When the model call failed (the error is rethrown after every hook ran): give back what `beforeModel` held. */
  onModelError?(run: AgentRun, error: unknown): void;
  /**
   * After each model call, its assistant message already in `run.messages`. A returned string is
   * a note for the model, added as a user message after this turn's tool results.
   */
  afterModel?(
    run: AgentRun,
    response: ModelResponse,
    inputs: readonly ParsedToolInput[],
  ): MaybePromise<string | undefined>;
  /** Before a tool call's arguments are checked: a returned string denies the call (the model gets it as the tool's error). */
  authorizeTool?(run: AgentRun, tool: AnyTool, call: ModelToolCall): MaybePromise<string | undefined>;
  /** Before a tool call runs, its arguments valid: a returned string denies it (the model gets it as the tool's error); may replace `call.input`. */
  beforeTool?(run: AgentRun, call: ToolCallInfo): MaybePromise<string | undefined>;
  /** Around a tool call: call `execute` (with `run.ctx` or a scope of it) or return an output of your own. */
  wrapTool?(
    run: AgentRun,
    call: ToolCallInfo,
    execute: (ctx: RunContext) => Promise<LanguageModelV3ToolResultOutput>,
  ): Promise<LanguageModelV3ToolResultOutput>;
  /** After all of a turn's tool calls settled, on each non-handoff result in the model's order: return an output to use instead. */
  afterTool?(
    run: AgentRun,
    call: ModelToolCall,
    output: LanguageModelV3ToolResultOutput,
  ): MaybePromise<LanguageModelV3ToolResultOutput | undefined>;
  /** When control moves to `to`: throw to stop the handoff, or return a transfer to send control there instead. */
  onHandoff?(
    run: AgentRun,
    from: Agent<unknown>,
    to: Agent<unknown>,
    payload: unknown,
  ): MaybePromise<Transfer | undefined>;
  /** On a final answer's text, before it is checked against the output schema: return a text to use instead. */
  onOutput?(run: AgentRun, text: string): MaybePromise<string | undefined>;
}

type Phase = Exclude<keyof AgentHooks, 'name' | 'when'>;
const phases: readonly Phase[] = [
  'onInput',
  'beforeModel',
  'onModelError',
  'afterModel',
  'authorizeTool',
  'beforeTool',
  'wrapTool',
  'afterTool',
  'onHandoff',
  'onOutput',
];

/** Hooks by phase, each list bound and in order; an empty list is `undefined`, so the loop skips it with one check. */
export type HookPipeline = {
  readonly [PHASE in Phase]: readonly NonNullable<AgentHooks[PHASE]>[] | undefined;
} & { readonly empty: boolean };

/** An agent's compiled hooks: built once, when the agent is defined. */
export interface HookPlan {
  /** Every set, in the order they run. */
  readonly sets: readonly AgentHooks[];
  /** The sets without `when`. */
  readonly always: HookPipeline;
  /** Every set (used when some `when` holds). */
  readonly all: HookPipeline;
  /** Any `when` of the sets, or undefined when no set has one. */
  readonly when: ((run: AgentRun) => boolean) | undefined;
}

function compile(sets: readonly AgentHooks[]): HookPipeline {
  const pipeline: Record<string, unknown> = { empty: true };
  for (const phase of phases) {
    const list: unknown[] = [];
    for (const set of sets) {
      const hook = set[phase] as ((...args: never[]) => unknown) | undefined;
      if (hook !== undefined) list.push(hook.bind(set));
    }
    pipeline[phase] = list.length === 0 ? undefined : Object.freeze(list);
    if (list.length > 0) pipeline.empty = false;
  }
  return Object.freeze(pipeline) as HookPipeline;
}

/**
 * Compiles hook sets (the built-in policies, then the agent's own `hooks`) into per-phase lists, once.
 *
 * @example
 * ```ts
 * const plan = hookPlan(policyHooks(definition), [auditHooks], 'agent("support")');
 * ```
 */
export function hookPlan(
  builtIn: readonly AgentHooks[],
  own: readonly AgentHooks[],
  where: string,
): HookPlan {
  const names = new Set(builtIn.map((set) => set.name));
  own.forEach((set, index) => {
    if (set === null || typeof set !== 'object' || typeof set.name !== 'string' || set.name === '')
      throw new ConfigError(
        `${where}: hooks[${index}] must be an object with a name ({ name: 'audit', beforeTool() {...} }).`,
      );
    if (names.has(set.name))
      throw new ConfigError(
        `${where}: hooks[${index}] is named "${set.name}", like another hook set of this agent (built-in: ${builtIn.map((entry) => entry.name).join(', ')}). Give it a name of its own.`,
      );
    names.add(set.name);
    for (const key of Object.keys(set)) {
      if (key !== 'name' && key !== 'when' && !phases.includes(key as Phase))
        throw new ConfigError(
          `${where}: hook set "${set.name}" has an unknown hook "${key}" (known: ${phases.join(', ')}, when).`,
        );
    }
  });
  const sets = [...builtIn, ...own];
  const conditional = sets.filter((set) => set.when !== undefined);
  const always = compile(sets.filter((set) => set.when === undefined));
  const checks = conditional.map((set) => (set.when as (run: AgentRun) => boolean).bind(set));
  return Object.freeze({
    sets: Object.freeze(sets),
    always,
    all: conditional.length === 0 ? always : compile(sets),
    when: checks.length === 0 ? undefined : (run: AgentRun) => checks.some((check) => check(run)),
  });
}

/**
 * The hooks in play for the agent now in control of `run`.
 *
 * @example
 * ```ts
 * const hooks = activeHooks(agent.hookPlan, run);
 * ```
 */
export function activeHooks(plan: HookPlan, run: AgentRun): HookPipeline {
  return plan.when?.(run) === true ? plan.all : plan.always;
}

/**
 * A new per-call view for hooks (one object; its state map is made on first `set`).
 *
 * @example
 * ```ts
 * const run = createAgentRun(ctx, agent, history, input);
 * ```
 */
export function createAgentRun(
  ctx: RunContext,
  agent: Agent<unknown>,
  messages: Message[],
  input: AgentInput,
): AgentRun {
  return new HookRun(ctx, agent, messages, input);
}

/**
 * The same view for hooks nested inside a scope an outer `wrapTool` opened: its `ctx` is the
 * scope's; its state and everything else are the run's.
 *
 * @example
 * ```ts
 * const inner = scopedAgentRun(run, scoped);
 * ```
 */
export function scopedAgentRun(run: AgentRun, ctx: RunContext): AgentRun {
  if (ctx === run.ctx) return run;
  const scoped = new HookRun(
    ctx,
    run.agent,
    run.messages,
    run.input,
    run instanceof HookRun ? run.sharedState() : { map: undefined },
  );
  scoped.turns = run.turns;
  return scoped;
}

/** The hook state of a run, shared by its view and the views of its scopes. */
interface HookState {
  map: Map<object, unknown> | undefined;
}

class HookRun implements AgentRun {
  turns = 0;
  /** Made on the first `set` or when a scope's view shares it (most runs store nothing). */
  #state: HookState | undefined;
  constructor(
    readonly ctx: RunContext,
    public agent: Agent<unknown>,
    readonly messages: Message[],
    readonly input: AgentInput,
    state?: HookState,
  ) {
    this.#state = state;
  }
  /** The state to share with a scope's view. */
  sharedState(): HookState {
    this.#state ??= { map: undefined };
    return this.#state;
  }
  get<VALUE>(key: object): VALUE | undefined {
    return this.#state?.map?.get(key) as VALUE | undefined;
  }
  set(key: object, value: unknown): void {
    const state = this.sharedState();
    state.map ??= new Map();
    state.map.set(key, value);
  }
}

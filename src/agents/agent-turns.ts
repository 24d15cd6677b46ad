/** One agent run's state and the phases of its turns (what `runAgent` drives): offers, prompt, model step, tool steps, answer, handoff. */

import type {
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Prompt,
} from '@ai-sdk/provider';
import {
  assistantMessage,
  inputMessages,
  type Message,
  type ParsedToolInput,
  type PromptInput,
  parseToolInputs,
  toolMessage,
  userMessage,
} from '../context/messages.js';
import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import { findForbiddenKey, forbiddenKeyMessage } from '../core/forbidden-keys.js';
import { withoutCodeFence } from '../core/json-value.js';
import type { RunContext } from '../core/run-context.js';
import type { ModelResponse } from '../models/call-model.js';
import type { Agent, AnyTool } from './agent.js';
import {
  type AgentHooks,
  type AgentRun,
  activeHooks,
  createAgentRun,
  type HookPipeline,
} from './agent-hooks.js';
import type { Transfer } from './handoff.js';
import { ModelCall } from './model-step.js';
import { modelTools, preparePrompt } from './prepare-context.js';
import { responseFormat } from './response-format.js';
import type { AgentRunResult, RunAgentOptions } from './run-agent.js';
import { type HandoffRequest, type ToolStepsResult, toolSteps } from './tool-steps.js';
/** What a turn offers the model: tools, handoffs and the response format. */
export interface Offer {
  transfers: readonly Transfer[];
  /** The agent's tools plus any extra ones. */
  own: readonly AnyTool[];
  tools: LanguageModelV3FunctionTool[];
  responseFormat: LanguageModelV3CallOptions['responseFormat'];
}

const offers = new WeakMap<Agent<unknown>, Offer>();
/** Offers for options with extra tools or handoffs: computed once per options object and agent. */
const optionOffers = new WeakMap<RunAgentOptions, WeakMap<Agent<unknown>, Offer>>();

export function offerOf(agent: Agent<unknown>, options: RunAgentOptions): Offer {
  const cacheable = options.extraHandoffs === undefined && options.extraTools === undefined;
  let cache = offers;
  if (!cacheable) {
    let perOptions = optionOffers.get(options);
    if (perOptions === undefined) {
      perOptions = new WeakMap();
      optionOffers.set(options, perOptions);
    }
    cache = perOptions;
  }
  const cached = cache.get(agent);
  if (cached !== undefined) return cached;
  const extra = options.extraHandoffs?.(agent) ?? [];
  const ownHandoffs = agent.handoffs();
  const transfers =
    extra.length === 0
      ? ownHandoffs
      : [
          ...ownHandoffs,
          ...extra.filter((edge) => !ownHandoffs.some((mine) => mine.toolName === edge.toolName)),
        ];
  const extraTools = options.extraTools?.(agent) ?? [];
  const offered = extraTools.length === 0 ? agent.tools : [...agent.tools, ...extraTools];
  if (extraTools.length > 0) {
    const names = new Set<string>();
    for (const name of [...offered.map((tool) => tool.name), ...transfers.map((edge) => edge.toolName)]) {
      if (names.has(name))
        throw new ConfigError(
          `agent("${agent.name}"): two tools offered to the model are named "${name}" (an extra tool clashes with one of its own).`,
        );
      names.add(name);
    }
  }
  const offer: Offer = {
    transfers,
    own: offered,
    tools: modelTools(agent, transfers, offered),
    responseFormat: responseFormat(agent),
  };
  cache.set(agent, offer);
  return offer;
}

const noInputs: readonly ParsedToolInput[] = Object.freeze([]);

/**
 * One agent run's state, and the phases of its turns (see `drive` in run-agent.ts).
 *
 * @example
 * ```ts
 * const loop = new AgentLoop(ctx, agent, 'What is 2 + 3?', {});
 * loop.prepare();
 * const response = await loop.callModel();
 * ```
 */
export class AgentLoop {
  readonly ctx: RunContext;
  readonly options: RunAgentOptions;
  readonly history: Message[];
  readonly scope: string;
  /**
   * The hook view, made when first needed (a hook or a `when` condition to show it to): most
   * agents have neither, and it would be held for as long as the run waits on its model. `run`
   * is it while the current agent has hooks, else undefined.
   */
  #hookRun: HookView | undefined;
  /** What the agent run was given, for the hook view (`AgentRun.input`). */
  readonly #input: PromptInput;
  run: AgentRun | undefined;
  hooks: HookPipeline;
  current: Agent<unknown>;
  turnsOfAgent = 0;
  turns = 0;
  failingTurns = 0;
  repairs = 0;
  payload: unknown;
  /**
   * Turns per agent in this loop, so a scripted or replayed model sees stable turn numbers. Made
   * at the first handoff: until then only the first agent speaks (its turns in `soloTurns`).
   */
  agentTurns: Map<string, number> | undefined;
  soloTurns = 0;
  /** This turn's offer and prompt (set by `prepare`). */
  offer: Offer | undefined;
  prompt: LanguageModelV3Prompt | undefined;
  /** This turn's parsed tool inputs and `afterModel` notes (set by `afterModel`). */
  inputs: readonly ParsedToolInput[] = noInputs;
  notes: string[] | undefined;
  /** This turn's model call (set by `callModel`; `modelFailed` escalates it). */
  #call: ModelCall | undefined;

  constructor(ctx: RunContext, start: Agent<unknown>, prepared: PromptInput, options: RunAgentOptions) {
    this.ctx = ctx;
    this.options = options;
    this.current = start;
    this.history = inputMessages(prepared);
    this.agentTurns = options.turnCounter;
    this.scope = ctx.scope;
    this.#input = prepared;
    // Policies plug in through the agent's hooks (agent-hooks.ts), compiled once per agent. An agent
    // with none gets the shared empty pipeline: no view object, and each phase is one check.
    this.hooks = this.#hooksOf(start);
  }

  /** The hook view, made on first use (with the current agent; its turns are counted while `run` is set). */
  #hookView(): HookView {
    let view = this.#hookRun;
    if (view === undefined) {
      view = createAgentRun(this.ctx, this.current, this.history, this.#input) as HookView;
      this.#hookRun = view;
    }
    return view;
  }

  /** The hooks of `agent` (its `when` conditions see the hook view); sets `run` when there are any. */
  #hooksOf(agent: Agent<unknown>): HookPipeline {
    const plan = agent.hookPlan;
    const hooks = plan.when === undefined ? plan.always : activeHooks(plan, this.#hookView());
    if (!hooks.empty) this.run = this.#hookView();
    return hooks;
  }

  /** The start of the agent run: its event and the `onInput` hooks. */
  begin(): Promise<void> | undefined {
    if (this.ctx.observed)
      this.ctx.emitEvent({ type: 'agent-start', scope: this.scope, agent: this.current.name });
    const onInput = this.hooks.onInput;
    if (onInput === undefined) return undefined;
    return this.#onInput(onInput);
  }

  async #onInput(onInput: Hooks<'onInput'>): Promise<void> {
    for (let index = 0; index < onInput.length; index++) {
      const done = (onInput[index] as Hook<'onInput'>)(this.run as AgentRun);
      if (done !== undefined) await done;
    }
  }

  /** Phase 1: the turn limit, the tools offered and the prompt (through the `beforeModel` hooks). */
  prepare(): Promise<void> | undefined {
    const current = this.current;
    if (this.turnsOfAgent >= current.maxTurns) {
      throw new ModelBehaviorError(
        `Agent "${current.name}" reached maxTurns (${current.maxTurns}) without a final answer. Raise maxTurns or tighten its instructions.`,
        {
          agent: current.name,
          code: 'MAX_TURNS',
          runId: this.ctx.runId,
        },
      );
    }
    const offer = offerOf(current, this.options);
    if (current.toolRouter !== undefined) return this.#routed(offer);
    this.offer = offer;
    this.prompt = preparePrompt(current, this.history, this.ctx.runId, this.payload);
    // Hook lists are run inline (not through a helper): a hook that answers at once costs no promise.
    return this.hooks.beforeModel === undefined ? undefined : this.#beforeModel(0);
  }

  async #routed(offer: Offer): Promise<void> {
    this.offer = await routedOffer(this.ctx, this.current, offer, this.history);
    this.prompt = preparePrompt(this.current, this.history, this.ctx.runId, this.payload);
    if (this.hooks.beforeModel !== undefined) await this.#beforeModel(0);
  }

  /** The `beforeModel` hooks from `from` on, each seeing the prompt the previous one returned. */
  #beforeModel(from: number): Promise<void> | undefined {
    const beforeModel = this.hooks.beforeModel as Hooks<'beforeModel'>;
    for (let index = from; index < beforeModel.length; index++) {
      const returned = (beforeModel[index] as Hook<'beforeModel'>)(
        this.run as AgentRun,
        this.prompt as LanguageModelV3Prompt,
        (this.offer as Offer).tools,
      );
      if (returned instanceof Promise)
        return returned.then((replaced) => {
          if (replaced !== undefined) this.prompt = replaced;
          return this.#beforeModel(index + 1);
        });
      if (returned !== undefined) this.prompt = returned;
    }
    return undefined;
  }

  /** Phase 2: the model step (`onModelError` hooks see a failure before it propagates). */
  callModel(): Promise<ModelResponse> {
    const current = this.current;
    let turn: number;
    const agentTurns = this.agentTurns;
    if (agentTurns === undefined) turn = this.soloTurns++;
    else {
      turn = agentTurns.get(current.name) ?? 0;
      agentTurns.set(current.name, turn + 1);
    }
    const hooks = this.hooks;
    // A final answer ends the run when nothing but returning it follows: no output schema to
    // check (a repair turn), no hook that sees the response or the answer.
    const endsRun =
      this.options.endsRun === true &&
      current.output === undefined &&
      hooks.afterModel === undefined &&
      hooks.onOutput === undefined;
    const offer = this.offer as Offer;
    const call = new ModelCall(
      this.ctx,
      current,
      this.prompt as LanguageModelV3Prompt,
      offer.tools,
      offer.responseFormat,
      turn,
      endsRun,
    );
    this.#call = call;
    return call.run();
  }

  /**
   * The model step of `callModel` failed with `error`: an escalated failure waits for a human's
   * decision (`escalated`); what still fails goes past the `onModelError` hooks. (Here, not in a
   * `catch` made per call: a call that succeeds holds no handler while the model takes its time.)
   */
  modelFailed(error: unknown): Promise<ModelResponse> {
    const escalating = (this.#call as ModelCall).escalate(error);
    const hooks = this.hooks;
    return hooks.onModelError === undefined
      ? escalating
      : escalating.catch(failing(hooks, this.run as AgentRun));
  }

  /** The response joins the history; the `afterModel` hooks may add notes for the next turn. */
  afterModel(response: ModelResponse): Promise<void> | undefined {
    this.turnsOfAgent++;
    this.turns++;
    if (this.run !== undefined) (this.#hookRun as HookView).turns = this.turns;
    const inputs = parseToolInputs(response);
    this.inputs = inputs;
    this.notes = undefined;
    this.history.push(assistantMessage(response, inputs));
    return this.hooks.afterModel === undefined ? undefined : this.#afterModel(response, 0);
  }

  #afterModel(response: ModelResponse, from: number): Promise<void> | undefined {
    const afterModel = this.hooks.afterModel as Hooks<'afterModel'>;
    for (let index = from; index < afterModel.length; index++) {
      const returned = (afterModel[index] as Hook<'afterModel'>)(this.run as AgentRun, response, this.inputs);
      if (returned instanceof Promise)
        return returned.then((note) => {
          this.#note(note);
          return this.#afterModel(response, index + 1);
        });
      this.#note(returned);
    }
    return undefined;
  }

  #note(note: string | undefined): void {
    if (note === undefined) return;
    this.notes ??= [];
    this.notes.push(note);
  }

  /**
   * Phase 4 of a turn without tool calls: the `onOutput` hooks, then the check against the
   * output schema. The run's result, or undefined after asking the model for a repair.
   */
  answer(text: string): AgentRunResult<unknown> | undefined | Promise<AgentRunResult<unknown> | undefined> {
    return this.hooks.onOutput === undefined ? this.#finish(text) : this.#onOutput(text, 0);
  }

  #onOutput(
    text: string,
    from: number,
  ): AgentRunResult<unknown> | undefined | Promise<AgentRunResult<unknown> | undefined> {
    const onOutput = this.hooks.onOutput as Hooks<'onOutput'>;
    let current = text;
    for (let index = from; index < onOutput.length; index++) {
      const returned = (onOutput[index] as Hook<'onOutput'>)(this.run as AgentRun, current);
      if (returned instanceof Promise) {
        const before = current;
        return returned.then((replaced) => this.#onOutput(replaced ?? before, index + 1));
      }
      if (returned !== undefined) current = returned;
    }
    return this.#finish(current);
  }

  #finish(text: string): AgentRunResult<unknown> | undefined {
    const current = this.current;
    const final = finish(current, text);
    if (final.ok) {
      if (this.ctx.observed)
        this.ctx.emitEvent({
          type: 'agent-end',
          scope: this.scope,
          agent: current.name,
          output: final.value,
        });
      return {
        output: final.value,
        text,
        agent: current.name,
        messages: this.history,
        turns: this.turns,
      };
    }
    if (this.repairs >= current.maxRepairs) {
      throw new ModelBehaviorError(
        `Agent "${current.name}" gave a final answer that does not match its output schema after ${this.repairs} repair turns: ${final.error}`,
        {
          agent: current.name,
          code: 'OUTPUT_INVALID',
          rawOutput: text,
          runId: this.ctx.runId,
        },
      );
    }
    this.repairs++;
    this.history.push(
      userMessage(
        `Your answer does not match the required output schema: ${final.error}. Reply with only the corrected JSON.`,
      ),
    );
    return undefined;
  }

  /** Phase 3: the turn's tool calls. */
  toolSteps(response: ModelResponse): Promise<ToolStepsResult> {
    const offer = this.offer as Offer;
    return toolSteps(
      this.ctx,
      this.current,
      response.toolCalls,
      this.inputs,
      offer.transfers,
      offer.own,
      this.options.beforeToolCall,
      this.history,
      this.hooks,
      this.run,
    );
  }

  /** The tool results join the history; failing turns are counted; a handoff moves control. */
  afterTools(response: ModelResponse, outcome: ToolStepsResult): Promise<void> | undefined {
    const history = this.history;
    // The parsed inputs were for this turn's tool steps only (the history keeps the values).
    this.inputs = noInputs;
    history.push(toolMessage(outcome.results));
    const notes = this.notes;
    if (notes !== undefined) for (const note of notes) history.push(userMessage(note));
    this.failingTurns = outcome.errors.length === response.toolCalls.length ? this.failingTurns + 1 : 0;
    const current = this.current;
    if (this.failingTurns >= current.maxToolErrors) {
      throw new ModelBehaviorError(
        `Agent "${current.name}" made failing tool calls ${this.failingTurns} turns in a row; last: ${outcome.errors.at(-1)}`,
        {
          agent: current.name,
          code: 'TOOL_CALLS_FAILING',
          runId: this.ctx.runId,
        },
      );
    }
    return outcome.handoff === undefined ? undefined : this.#handoff(outcome.handoff);
  }

  async #handoff({ transfer: requested, payload: handoffPayload }: HandoffRequest): Promise<void> {
    const { ctx, scope, current } = this;
    const redirected = this.options.onHandoff?.(current, requested.agent, handoffPayload);
    let transfer = (redirected instanceof Promise ? await redirected : redirected) ?? requested;
    if (this.hooks.onHandoff !== undefined)
      transfer = await onHandoff(
        this.hooks.onHandoff,
        this.run as AgentRun,
        current,
        transfer,
        handoffPayload,
      );
    ctx.emitEvent({ type: 'agent-end', scope, agent: current.name, output: undefined });
    ctx.emitEvent({
      type: 'handoff',
      scope,
      from: current.name,
      to: transfer.agent.name,
      ...(handoffPayload === undefined ? {} : { payload: handoffPayload }),
    });
    const history = this.history;
    if (transfer.inputFilter !== undefined)
      history.splice(0, history.length, ...transfer.inputFilter(history));
    this.agentTurns ??= new Map([[current.name, this.soloTurns]]);
    const next = transfer.agent;
    this.current = next;
    if (this.#hookRun !== undefined) this.#hookRun.agent = next;
    this.hooks = this.#hooksOf(next);
    this.payload = handoffPayload;
    this.turnsOfAgent = 0;
    this.failingTurns = 0;
    this.repairs = 0;
    if (ctx.observed) ctx.emitEvent({ type: 'agent-start', scope, agent: next.name });
  }
}

/** A rejection handler that lets every `onModelError` hook give back what it held, then rethrows. */
function failing(hooks: HookPipeline, run: AgentRun): (error: unknown) => never {
  return (error) => {
    for (const hook of hooks.onModelError ?? []) hook(run, error);
    throw error;
  };
}

/** The hook view the loop keeps current (agent and turns). */
type HookView = AgentRun & { agent: Agent<unknown>; turns: number };

type Hooks<PHASE extends keyof HookPipeline> = NonNullable<HookPipeline[PHASE]>;
type Hook<PHASE extends keyof HookPipeline> = NonNullable<AgentHooks[PHASE & keyof AgentHooks]>;

/** `onHandoff` hooks in order, each seeing the target the previous one chose. */
async function onHandoff(
  list: Hooks<'onHandoff'>,
  run: AgentRun,
  from: Agent<unknown>,
  requested: Transfer,
  payload: unknown,
): Promise<Transfer> {
  let current = requested;
  for (const hook of list) {
    const returned = hook(run, from, current.agent, payload);
    const replaced = returned instanceof Promise ? await returned : returned;
    if (replaced !== undefined) current = replaced;
  }
  return current;
}

/** With `toolRouting`, this turn's tools: the best matches for the latest messages, plus `search_tools`. */
async function routedOffer(
  ctx: RunContext,
  agent: Agent<unknown>,
  offer: Offer,
  history: readonly Message[],
): Promise<Offer> {
  if (agent.toolRouter === undefined) return offer;
  return { ...offer, ...(await agent.toolRouter.route(offer, history, { ctx, agent: agent.name })) };
}

type Final = { ok: true; value: unknown } | { ok: false; error: string };

function finish(agent: Agent<unknown>, text: string): Final {
  if (agent.output === undefined) return { ok: true, value: text };
  let value: unknown;
  try {
    value = JSON.parse(withoutCodeFence(text));
  } catch {
    return { ok: false, error: 'it is not valid JSON' };
  }
  const forbidden = findForbiddenKey(value);
  if (forbidden !== undefined) return { ok: false, error: forbiddenKeyMessage(forbidden) };
  const parsed = agent.output.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data };
  return {
    ok: false,
    error: parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; '),
  };
}

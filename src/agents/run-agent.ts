/** The agent loop: prepare context -> model step -> tool steps -> handoff or finish, until an answer or a limit. */

import type { LanguageModelV3CallOptions, LanguageModelV3FunctionTool } from '@ai-sdk/provider';
import {
  type AgentInput,
  assistantMessage,
  inputMessages,
  type Message,
  parseToolInputs,
  toolMessage,
  userMessage,
} from '../context/messages.js';
import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import { findForbiddenKey, forbiddenKeyMessage } from '../core/forbidden-keys.js';
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
import { toPromptInput } from './agent-input.js';
import type { Transfer } from './handoff.js';
import { modelStep } from './model-step.js';
import { modelTools, preparePrompt } from './prepare-context.js';
import { responseFormat } from './response-format.js';
import { type BeforeToolCall, toolSteps } from './tool-steps.js';

/** Everything an agent run produced, for patterns that need more than the output. */
export interface AgentRunResult<OUTPUT> {
  output: OUTPUT;
  /** The final answer's text. */
  text: string;
  /** The agent that gave the final answer (differs from the first one after handoffs). */
  agent: string;
  messages: Message[];
  /** Model turns taken, across all agents of the run. */
  turns: number;
}

/** Options of `runAgent`. */
export interface RunAgentOptions {
  /** Extra handoffs per agent (patterns add edges this way). */
  extraHandoffs?: (agent: Agent<unknown>) => readonly Transfer[];
  /**
   * Called when control moves, in order, on every execution and replay (so it must be
   * deterministic). May throw to stop the handoff (loop guards), or return a transfer to send
   * control there instead of to `to` (a fallback agent); the handoff payload goes along. May
   * return a promise, to wait durably (`ctx.waitFor`) before deciding.
   */
  onHandoff?: (
    from: Agent<unknown>,
    to: Agent<unknown>,
    payload: unknown,
    // biome-ignore lint/suspicious/noConfusingVoidType: guards written as `() => void` (they only throw) must stay assignable.
  ) => Transfer | void | Promise<Transfer | undefined>;
  /** Extra tools per agent, offered after its own (patterns add delegation tools this way). */
  extraTools?: (agent: Agent<unknown>) => readonly AnyTool[];
  /** Checks each tool call before it runs; a returned string denies it and goes to the model as the error. */
  beforeToolCall?: BeforeToolCall;
  /**
   * Model turns taken so far per agent name, read and updated by this call. Share one map across
   * the `runAgent` calls of a pattern so an agent that speaks again continues its turn numbering
   * (scripted models and replays rely on it). Calls sharing a map must run one after another.
   */
  turnCounter?: Map<string, number>;
  /**
   * Nothing runs after this call but the end of the run (the agent is the run itself): the
   * final answer's model step is then stored with the run's end, in one write (one transaction
   * on SQLite). Set by the agent's own `execute`; leave it unset when code follows the call.
   */
  endsRun?: boolean;
}

interface Offer {
  transfers: readonly Transfer[];
  /** The agent's tools plus any extra ones. */
  own: readonly AnyTool[];
  tools: LanguageModelV3FunctionTool[];
  responseFormat: LanguageModelV3CallOptions['responseFormat'];
}

const noOptions: RunAgentOptions = Object.freeze({});

const offers = new WeakMap<Agent<unknown>, Offer>();
/** Offers for options with extra tools or handoffs: computed once per options object and agent. */
const optionOffers = new WeakMap<RunAgentOptions, WeakMap<Agent<unknown>, Offer>>();

function offerOf(agent: Agent<unknown>, options: RunAgentOptions): Offer {
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

/**
 * Runs an agent (and whoever it hands off to) inside a run context until a final answer.
 * Every model call and tool call is its own journaled step.
 *
 * @example
 * ```ts
 * const flow = workflow({ name: 'answer' }, async (ctx, question: string) => {
 *   const result = await runAgent(ctx, researcher, question);
 *   return { answer: result.output, answeredBy: result.agent };
 * });
 * ```
 */
export async function runAgent<OUTPUT>(
  ctx: RunContext,
  start: Agent<OUTPUT>,
  input: AgentInput,
  options: RunAgentOptions = noOptions,
): Promise<AgentRunResult<OUTPUT>> {
  let current = start as Agent<unknown>;
  // Converted once per agent run (not per turn); a string or prompt-format messages cost nothing.
  const prepared = typeof input === 'string' ? input : await toPromptInput(input);
  const history = inputMessages(prepared);
  let turnsOfAgent = 0;
  let turns = 0;
  let failingTurns = 0;
  let repairs = 0;
  let payload: unknown;
  /**
   * Turns per agent in this loop, so a scripted or replayed model sees stable turn numbers. Made
   * at the first handoff: until then only the first agent speaks (its turns in `soloTurns`).
   */
  let agentTurns = options.turnCounter;
  let soloTurns = 0;
  const scope = ctx.scope;
  if (ctx.observed) ctx.emitEvent({ type: 'agent-start', scope, agent: current.name });
  // Policies plug in through the agent's hooks (agent-hooks.ts), compiled once per agent. An agent
  // with none gets the shared empty pipeline: no view object, and each phase is one check.
  const hookRun = createAgentRun(ctx, current, history, prepared);
  let run: AgentRun | undefined;
  let hooks = activeHooks(current.hookPlan, hookRun);
  if (!hooks.empty) run = hookRun;
  const onInput = hooks.onInput;
  if (onInput !== undefined)
    for (let index = 0; index < onInput.length; index++) {
      const done = (onInput[index] as Hook<'onInput'>)(run as AgentRun);
      if (done !== undefined) await done;
    }
  for (;;) {
    if (turnsOfAgent >= current.maxTurns) {
      throw new ModelBehaviorError(
        `Agent "${current.name}" reached maxTurns (${current.maxTurns}) without a final answer. Raise maxTurns or tighten its instructions.`,
        {
          agent: current.name,
          code: 'MAX_TURNS',
          runId: ctx.runId,
        },
      );
    }
    const offer =
      current.toolRouter === undefined
        ? offerOf(current, options)
        : await routedOffer(ctx, current, offerOf(current, options), history);
    let prompt = preparePrompt(current, history, ctx.runId, payload);
    // Hook lists are run inline (not through a helper): a hook that answers at once costs no promise.
    const beforeModel = hooks.beforeModel;
    if (beforeModel !== undefined)
      for (let index = 0; index < beforeModel.length; index++) {
        const returned = (beforeModel[index] as Hook<'beforeModel'>)(run as AgentRun, prompt, offer.tools);
        const replaced = returned instanceof Promise ? await returned : returned;
        if (replaced !== undefined) prompt = replaced;
      }
    let turn: number;
    if (agentTurns === undefined) turn = soloTurns++;
    else {
      turn = agentTurns.get(current.name) ?? 0;
      agentTurns.set(current.name, turn + 1);
    }
    // A final answer ends the run when nothing but returning it follows: no output schema to
    // check (a repair turn), no hook that sees the response or the answer.
    const endsRun =
      options.endsRun === true &&
      current.output === undefined &&
      hooks.afterModel === undefined &&
      hooks.onOutput === undefined;
    const calling = modelStep(ctx, current, prompt, offer.tools, offer.responseFormat, turn, endsRun);
    const response: ModelResponse =
      hooks.onModelError === undefined ? await calling : await calling.catch(failing(hooks, run as AgentRun));
    turnsOfAgent++;
    turns++;
    if (run !== undefined) run.turns = turns;
    const inputs = parseToolInputs(response);
    history.push(assistantMessage(response, inputs));
    let notes: string[] | undefined;
    const afterModel = hooks.afterModel;
    if (afterModel !== undefined)
      for (let index = 0; index < afterModel.length; index++) {
        const returned = (afterModel[index] as Hook<'afterModel'>)(run as AgentRun, response, inputs);
        const note = returned instanceof Promise ? await returned : returned;
        if (note === undefined) continue;
        notes ??= [];
        notes.push(note);
      }

    if (response.toolCalls.length === 0) {
      let text = response.text;
      const onOutput = hooks.onOutput;
      if (onOutput !== undefined)
        for (let index = 0; index < onOutput.length; index++) {
          const returned = (onOutput[index] as Hook<'onOutput'>)(run as AgentRun, text);
          const replaced = returned instanceof Promise ? await returned : returned;
          if (replaced !== undefined) text = replaced;
        }
      const final = finish(current, text);
      if (final.ok) {
        if (ctx.observed)
          ctx.emitEvent({ type: 'agent-end', scope, agent: current.name, output: final.value });
        return {
          output: final.value as OUTPUT,
          text,
          agent: current.name,
          messages: history,
          turns,
        };
      }
      if (repairs >= current.maxRepairs) {
        throw new ModelBehaviorError(
          `Agent "${current.name}" gave a final answer that does not match its output schema after ${repairs} repair turns: ${final.error}`,
          {
            agent: current.name,
            code: 'OUTPUT_INVALID',
            rawOutput: text,
            runId: ctx.runId,
          },
        );
      }
      repairs++;
      history.push(
        userMessage(
          `Your answer does not match the required output schema: ${final.error}. Reply with only the corrected JSON.`,
        ),
      );
      continue;
    }

    const outcome = await toolSteps(
      ctx,
      current,
      response.toolCalls,
      inputs,
      offer.transfers,
      offer.own,
      options.beforeToolCall,
      history,
      hooks,
      run,
    );
    history.push(toolMessage(outcome.results));
    if (notes !== undefined) for (const note of notes) history.push(userMessage(note));
    failingTurns = outcome.errors.length === response.toolCalls.length ? failingTurns + 1 : 0;
    if (failingTurns >= current.maxToolErrors) {
      throw new ModelBehaviorError(
        `Agent "${current.name}" made failing tool calls ${failingTurns} turns in a row; last: ${outcome.errors.at(-1)}`,
        {
          agent: current.name,
          code: 'TOOL_CALLS_FAILING',
          runId: ctx.runId,
        },
      );
    }
    if (outcome.handoff !== undefined) {
      const { transfer: requested, payload: handoffPayload } = outcome.handoff;
      const redirected = options.onHandoff?.(current, requested.agent, handoffPayload);
      let transfer = (redirected instanceof Promise ? await redirected : redirected) ?? requested;
      if (hooks.onHandoff !== undefined)
        transfer = await onHandoff(hooks.onHandoff, run as AgentRun, current, transfer, handoffPayload);
      ctx.emitEvent({ type: 'agent-end', scope, agent: current.name, output: undefined });
      ctx.emitEvent({
        type: 'handoff',
        scope,
        from: current.name,
        to: transfer.agent.name,
        ...(handoffPayload === undefined ? {} : { payload: handoffPayload }),
      });
      if (transfer.inputFilter !== undefined)
        history.splice(0, history.length, ...transfer.inputFilter(history));
      agentTurns ??= new Map([[current.name, soloTurns]]);
      current = transfer.agent;
      hookRun.agent = current;
      hooks = activeHooks(current.hookPlan, hookRun);
      if (!hooks.empty) run = hookRun;
      payload = handoffPayload;
      turnsOfAgent = 0;
      failingTurns = 0;
      repairs = 0;
      if (ctx.observed) ctx.emitEvent({ type: 'agent-start', scope, agent: current.name });
    }
  }
}

/** A rejection handler that lets every `onModelError` hook give back what it held, then rethrows. */
function failing(hooks: HookPipeline, run: AgentRun): (error: unknown) => never {
  return (error) => {
    for (const hook of hooks.onModelError ?? []) hook(run, error);
    throw error;
  };
}

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
    value = JSON.parse(stripFence(text));
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

function stripFence(text: string): string {
  const match = /^\s*```(?:json)?\s*([\s\S]*?)\s*```\s*$/.exec(text);
  return match?.[1] ?? text;
}

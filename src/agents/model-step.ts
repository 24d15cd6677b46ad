/** Phase 2 of a turn: one journaled model call, streamed to listeners, with usage and cost recorded. */

import type {
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Prompt,
} from '@ai-sdk/provider';
import { contextMeta } from '../context/context-guard.js';
import type { RunContext, StepContext, StepOptions } from '../core/run-context.js';
import type { StepMeta } from '../core/store.js';
import { hasStage } from '../governance/agent-governance.js';
import type { ModelResponse } from '../models/call-model.js';
import { resolveRunModel } from '../models/model-providers.js';
import { pricesOf } from '../models/pricing.js';
import { agentModelCall, resilienceMeta } from '../models/resilience/agent-model.js';
import { escalated } from '../models/resilience/escalation.js';
import { modelName } from '../models/resolve-model.js';
import { cacheMeta, runtimeResponseCache, withResponseCache } from '../models/response-cache.js';
import type { Agent } from './agent.js';
import { recordedPrompt } from './prompt-record.js';

/** Emits the streamed text of an agent's model call, marked `guarded` when output guardrails will judge a final answer. */
function deltaEmitter(ctx: RunContext, agent: Agent<unknown>, scope: string): (text: string) => void {
  if (hasStage(agent, 'output'))
    return (text) => ctx.emitEvent({ type: 'model-delta', scope, agent: agent.name, text, guarded: true });
  return (text) => ctx.emitEvent({ type: 'model-delta', scope, agent: agent.name, text });
}

/** A response without tool calls: the agent's final answer. */
const isFinalAnswer = (response: ModelResponse): boolean => response.toolCalls.length === 0;

/**
 * One model call of an agent turn, as the step `model:<agent>` (on replay, the recorded response).
 * `providerOptions.baton` tells the model which agent calls and its turn number in the run
 * (deterministic across replays); real providers ignore that namespace, scripted models use it.
 *
 * The object is also the step's options (its kind, the meta made from the response, whether a
 * final answer ends the run) and makes the call again when an escalation is retried: one object
 * rather than closures over the call's arguments, since it is held for as long as the model
 * takes, per run in flight. The agent loop calls `run`, and `escalate` when it failed.
 *
 * @example
 * ```ts
 * const call = new ModelCall(ctx, agent, prompt, tools, undefined, 0, false);
 * const response = await call.run().catch((error) => call.escalate(error));
 * ```
 */
export class ModelCall implements StepOptions<ModelResponse> {
  readonly endsRun?: (response: ModelResponse) => boolean;
  readonly #ctx: RunContext;
  readonly #agent: Agent<unknown>;
  readonly #prompt: LanguageModelV3Prompt;
  readonly #tools: LanguageModelV3FunctionTool[];
  readonly #responseSchema: LanguageModelV3CallOptions['responseFormat'];
  readonly #turn: number;

  constructor(
    ctx: RunContext,
    agent: Agent<unknown>,
    prompt: LanguageModelV3Prompt,
    tools: LanguageModelV3FunctionTool[],
    responseSchema: LanguageModelV3CallOptions['responseFormat'],
    turn: number,
    endsRun: boolean,
  ) {
    this.#ctx = ctx;
    this.#agent = agent;
    this.#prompt = prompt;
    this.#tools = tools;
    this.#responseSchema = responseSchema;
    this.#turn = turn;
    if (endsRun) this.endsRun = isFinalAnswer;
  }

  /** The journal entry's kind (on the prototype: no field per call). */
  get kind(): 'model' {
    return 'model';
  }

  /** The step's meta, from its response (called by the step as `options.meta(response)`). */
  meta(response: ModelResponse): StepMeta {
    const ctx = this.#ctx;
    const prompt = this.#prompt;
    const meta = contextMeta(prompt, modelMeta(ctx, this.#agent, response, this.#tools));
    // The answer is the entry's result; `baton show --full` shows it as the output guardrails left it.
    if (ctx.services.tenant.journalPrompts === true) meta.prompt = recordedPrompt(prompt);
    return meta;
  }

  /** The model step (a new one on each call). */
  run(): Promise<ModelResponse> {
    return this.#ctx.step(stepName('model:', this.#agent.name), (step) => this.#call(step), this);
  }

  /** After `run` failed with `error`: an escalated failure waits for a human, who may retry it (as a new step). */
  escalate(error: unknown): Promise<ModelResponse> {
    return escalated(this.#ctx, this.#agent.name, undefined, () => this.run(), error);
  }

  #call(step: StepContext): Promise<ModelResponse> {
    const ctx = this.#ctx;
    const agent = this.#agent;
    // No abortSignal here: the resilient call adds a lazy one, so AbortControllers are only made for models that read it.
    const options: LanguageModelV3CallOptions = {
      prompt: this.#prompt,
      providerOptions: { baton: { agent: agent.name, runId: ctx.runId, turn: this.#turn } },
      ...agent.settings,
    };
    const tools = this.#tools;
    if (tools.length > 0) {
      options.tools = tools;
      options.toolChoice = autoToolChoice;
    }
    const responseSchema = this.#responseSchema;
    if (responseSchema !== undefined) options.responseFormat = responseSchema;
    const scope = ctx.scope;
    const onDelta = ctx.streaming ? deltaEmitter(ctx, agent, scope) : undefined;
    const cache = agent.cache;
    if (cache === undefined) return agentModelCall(ctx, agent, options, step, onDelta);
    return cachedModelCall(cache, ctx, agent, options, step, onDelta);
  }
}

/** A model call through the agent's response cache (keyed by the first model's name). */
async function cachedModelCall(
  cache: NonNullable<Agent<unknown>['cache']>,
  ctx: RunContext,
  agent: Agent<unknown>,
  options: LanguageModelV3CallOptions,
  step: StepContext,
  onDelta: ((text: string) => void) | undefined,
): Promise<ModelResponse> {
  const model = await resolveRunModel(ctx, agent.model);
  return withResponseCache(
    cache,
    modelName(model),
    options,
    onDelta,
    () => agentModelCall(ctx, agent, options, step, onDelta),
    cache.store ?? runtimeResponseCache(ctx),
  );
}

const autoToolChoice: NonNullable<LanguageModelV3CallOptions['toolChoice']> = Object.freeze({
  type: 'auto' as const,
});

/**
 * Interned step names by prefix, then name: a string is its own value, so no runtime's state is
 * in here. Bounded (cleared when full), so a process hosting many tenants' agents does not grow
 * it forever.
 */
const stepNames = { 'model:': new Map<string, string>(), 'tool:': new Map<string, string>() };
const maxStepNames = 4096;

/** `prefix + name`, interned: every journal entry of an agent shares one string, and looking it up makes none. */
export function stepName(prefix: 'model:' | 'tool:', name: string): string {
  const names = stepNames[prefix];
  let interned = names.get(name);
  if (interned === undefined) {
    interned = prefix + name;
    if (names.size >= maxStepNames) names.clear();
    names.set(name, interned);
  }
  return interned;
}

/** Display data of a model step; the agent's version lets cost and outcomes be compared across versions. */
function modelMeta(
  ctx: RunContext,
  agent: Agent<unknown>,
  response: ModelResponse,
  tools: readonly LanguageModelV3FunctionTool[],
): StepMeta {
  const meta: StepMeta = {
    agent: agent.name,
    agentVersion: agent.version,
    model: response.model,
    usage: response.usage,
    finishReason: response.finishReason,
  };
  const cost = pricesOf(ctx).costOf(response.model, response.usage, response.cachedInputTokens);
  if (cost !== undefined) meta.costUsd = cost;
  if (agent.toolRouter !== undefined) meta.offeredTools = tools.map((offered) => offered.name);
  return cacheMeta(response, resilienceMeta(response, meta));
}

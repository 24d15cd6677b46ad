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

/**
 * Calls the agent's model once as the step `model:<agent>`; on replay returns the recorded response.
 * `providerOptions.baton` tells the model which agent calls and its turn number in the run
 * (deterministic across replays); real providers ignore that namespace, scripted models use it.
 */
export function modelStep(
  ctx: RunContext,
  agent: Agent<unknown>,
  prompt: LanguageModelV3Prompt,
  tools: LanguageModelV3FunctionTool[],
  responseSchema: LanguageModelV3CallOptions['responseFormat'],
  turn: number,
  endsRun = false,
): Promise<ModelResponse> {
  // As `withEscalation`, with the retrying closure made only once a call failed (not per call).
  return modelStepOnce(ctx, agent, prompt, tools, responseSchema, turn, endsRun).catch((error: unknown) =>
    escalated(
      ctx,
      agent.name,
      undefined,
      () => modelStepOnce(ctx, agent, prompt, tools, responseSchema, turn, endsRun),
      error,
    ),
  );
}

/** Emits the streamed text of an agent's model call, marked `guarded` when output guardrails will judge a final answer. */
function deltaEmitter(ctx: RunContext, agent: Agent<unknown>, scope: string): (text: string) => void {
  if (hasStage(agent, 'output'))
    return (text) => ctx.emitEvent({ type: 'model-delta', scope, agent: agent.name, text, guarded: true });
  return (text) => ctx.emitEvent({ type: 'model-delta', scope, agent: agent.name, text });
}

/** A response without tool calls: the agent's final answer. */
const isFinalAnswer = (response: ModelResponse): boolean => response.toolCalls.length === 0;

function modelStepOnce(
  ctx: RunContext,
  agent: Agent<unknown>,
  prompt: LanguageModelV3Prompt,
  tools: LanguageModelV3FunctionTool[],
  responseSchema: LanguageModelV3CallOptions['responseFormat'],
  turn: number,
  endsRun: boolean,
): Promise<ModelResponse> {
  const stepOptions: StepOptions<ModelResponse> = {
    kind: 'model',
    meta: (response) => {
      const meta = contextMeta(prompt, modelMeta(ctx, agent, response, tools));
      // The answer is the entry's result; `baton show --full` shows it as the output guardrails left it.
      if (ctx.services.tenant.journalPrompts === true) meta.prompt = recordedPrompt(prompt);
      return meta;
    },
  };
  if (endsRun) stepOptions.endsRun = isFinalAnswer;
  return ctx.step(
    stepName('model:', agent.name),
    (step) => {
      // No abortSignal here: the resilient call adds a lazy one, so AbortControllers are only made for models that read it.
      const options: LanguageModelV3CallOptions = {
        prompt,
        providerOptions: { baton: { agent: agent.name, runId: ctx.runId, turn } },
        ...agent.settings,
      };
      if (tools.length > 0) {
        options.tools = tools;
        options.toolChoice = autoToolChoice;
      }
      if (responseSchema !== undefined) options.responseFormat = responseSchema;
      const scope = ctx.scope;
      const onDelta = ctx.streaming ? deltaEmitter(ctx, agent, scope) : undefined;
      const cache = agent.cache;
      if (cache === undefined) return agentModelCall(ctx, agent, options, step, onDelta);
      return cachedModelCall(cache, ctx, agent, options, step, onDelta);
    },
    stepOptions,
  );
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

/** Phase 2 of a turn: one journaled model call, streamed to listeners, with usage and cost recorded. */

import type {
  LanguageModelV3CallOptions,
  LanguageModelV3FunctionTool,
  LanguageModelV3Prompt,
} from '@ai-sdk/provider';
import type { RunContext } from '../core/run-context.js';
import { callModel, type ModelResponse } from '../models/call-model.js';
import { costOf } from '../models/pricing.js';
import { resolveModel } from '../models/resolve-model.js';
import type { StepMeta } from '../stores/store.js';
import type { Agent } from './agent.js';

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
): Promise<ModelResponse> {
  return ctx.step(
    stepName('model:', agent.name),
    async (step) => {
      const model = await resolveModel(agent.model);
      const options: LanguageModelV3CallOptions = {
        prompt,
        // A getter, so the run's AbortController is only made for models that use the signal.
        get abortSignal() {
          return step.signal;
        },
        providerOptions: { baton: { agent: agent.name, runId: ctx.runId, turn } },
        ...agent.settings,
      };
      if (tools.length > 0) {
        options.tools = tools;
        options.toolChoice = autoToolChoice;
      }
      if (responseSchema !== undefined) options.responseFormat = responseSchema;
      const scope = ctx.scope;
      const onDelta = ctx.observed
        ? (text: string) => ctx.emitEvent({ type: 'model-delta', scope, agent: agent.name, text })
        : undefined;
      return callModel(model, options, onDelta);
    },
    { kind: 'model', meta: (response) => modelMeta(agent, response) },
  );
}

const autoToolChoice: NonNullable<LanguageModelV3CallOptions['toolChoice']> = Object.freeze({
  type: 'auto' as const,
});

const stepNames = new Map<string, string>();

/** `prefix + name`, interned: every journal entry of an agent shares one string instead of a copy each. */
export function stepName(prefix: 'model:' | 'tool:', name: string): string {
  const key = prefix + name;
  let interned = stepNames.get(key);
  if (interned === undefined) {
    interned = key;
    stepNames.set(key, interned);
  }
  return interned;
}

/** Display data of a model step; the agent's version lets cost and outcomes be compared across versions. */
function modelMeta(agent: Agent<unknown>, response: ModelResponse): StepMeta {
  const meta: StepMeta = {
    agent: agent.name,
    agentVersion: agent.version,
    model: response.model,
    usage: response.usage,
  };
  const cost = costOf(response.model, response.usage, response.cachedInputTokens);
  if (cost !== undefined) meta.costUsd = cost;
  return meta;
}

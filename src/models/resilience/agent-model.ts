/** The glue between an agent's model step and the resilient model call (options, events, meta). */

import type { LanguageModelV3CallOptions, LanguageModelV3Middleware } from '@ai-sdk/provider';
import { ConfigError, type ErrorClass } from '../../core/errors.js';
import { checkRetry, type RetryOptions } from '../../core/retry-options.js';
import type { RunContext } from '../../core/run-context.js';
import type { StepMeta } from '../../core/store.js';
import type { DeltaListener, ModelResponse } from '../call-model.js';
import { middlewareWrapper } from '../model-middleware.js';
import type { ModelChain, ModelSpec } from '../resolve-model.js';
import { callModelResilient, type ModelCallPolicy } from './model-call.js';
import type { SignalSource } from './run-resilient.js';

/** Resilience options of an agent (the `retry`, `timeoutMs`, `maxConcurrent`, `classifyError` options of `agent()`). */
export interface AgentResilience {
  retry?: RetryOptions | undefined;
  timeoutMs?: number | undefined;
  maxConcurrent?: number | undefined;
  classifyError?: ((error: unknown) => ErrorClass | undefined) | undefined;
}

/** Checks an agent's model chain and resilience options at definition time. */
export function checkAgentResilience(
  where: string,
  model: ModelChain,
  options: AgentResilience,
): AgentResilience | undefined {
  if (Array.isArray(model)) {
    if (model.length === 0) throw new ConfigError(`${where}: model must not be an empty list.`);
    for (const [index, entry] of model.entries())
      if (entry === undefined || entry === null || entry === '')
        throw new ConfigError(
          `${where}: model[${index}] is empty; give "provider:model" or an AI SDK model.`,
        );
  }
  checkRetry(`${where}: retry`, options.retry);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0))
    throw new ConfigError(`${where}: timeoutMs must be positive, got ${String(options.timeoutMs)}.`);
  if (
    options.maxConcurrent !== undefined &&
    !(Number.isInteger(options.maxConcurrent) && options.maxConcurrent >= 1)
  )
    throw new ConfigError(`${where}: maxConcurrent must be an integer >= 1.`);
  if (options.classifyError !== undefined && typeof options.classifyError !== 'function')
    throw new ConfigError(`${where}: classifyError must be a function returning an error class.`);
  const { retry, timeoutMs, maxConcurrent, classifyError } = options;
  if ([retry, timeoutMs, maxConcurrent, classifyError].every((value) => value === undefined))
    return undefined;
  return { retry, timeoutMs, maxConcurrent, classifyError };
}

/** The first model of a chain (the one tried first). */
export function firstModel(chain: ModelChain): ModelSpec {
  return (Array.isArray(chain) ? chain[0] : chain) as ModelSpec;
}

/** The agent whose model chain is called (structural, so this layer does not import agents). */
export interface ResilientAgent {
  name: string;
  models: readonly ModelSpec[];
  resilience?: AgentResilience | undefined;
  /** AI SDK middleware wrapped around each model of the chain (`agent({ middleware })`). */
  middleware?: readonly LanguageModelV3Middleware[] | undefined;
}

const policies = new WeakMap<ResilientAgent, ModelCallPolicy>();

/** An agent's model-call policy, one object per agent (call plans and middleware-wrapped models are cached by it). */
function policyOf(agent: ResilientAgent): ModelCallPolicy {
  let policy = policies.get(agent);
  if (policy === undefined) {
    const resilience = agent.resilience;
    policy = {
      agent: agent.name,
      retry: resilience?.retry,
      timeoutMs: resilience?.timeoutMs,
      limit:
        resilience?.maxConcurrent === undefined ? undefined : { maxConcurrent: resilience.maxConcurrent },
      classify: resilience?.classifyError,
      wrap: middlewareWrapper(agent.middleware ?? []),
    };
    policies.set(agent, policy);
  }
  return policy;
}

/**
 * Calls an agent's model chain with its resilience options, emitting retry/breaker/fallback
 * events when observed. `signal` (the step) is read only if the call needs it.
 */
export function agentModelCall(
  ctx: RunContext,
  agent: ResilientAgent,
  options: Omit<LanguageModelV3CallOptions, 'abortSignal'>,
  signal: SignalSource,
  onDelta: DeltaListener | undefined,
): Promise<ModelResponse> {
  return callModelResilient(
    ctx.services.tenant,
    agent.models,
    policyOf(agent),
    options,
    signal,
    onDelta,
    // The context itself takes the events (it adds its scope): no closure held per call.
    ctx.observed ? ctx : undefined,
  );
}

/** Adds `attempts` and `fallbackFrom` (when present) to a model step's meta. */
export function resilienceMeta(response: ModelResponse, meta: StepMeta): StepMeta {
  if (response.attempts !== undefined) meta.attempts = response.attempts;
  if (response.fallbackFrom !== undefined) meta.fallbackFrom = response.fallbackFrom;
  return meta;
}

/** A model call with retries, timeout, breaker, bulkheads and a fallback chain, inside one journaled model step. */

import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3GenerateResult,
} from '@ai-sdk/provider';
import { ConfigError, type ErrorClass, errorMessage, ModelCallError } from '../../core/errors.js';
import type { Tenant } from '../../core/run-context.js';
import {
  asModelError,
  callModel,
  type DeltaListener,
  generatedResponse,
  type ModelResponse,
} from '../call-model.js';
import type { ModelWrapper } from '../model-middleware.js';
import { resolveTenantModel } from '../model-providers.js';
import { type ModelChain, type ModelSpec, modelName } from '../resolve-model.js';
import { classifyError } from './classify.js';
import {
  type BreakerState,
  type LimitOptions,
  type Resilience,
  type RetryOptions,
  tenantResilience,
} from './registry.js';
import {
  type AttemptCall,
  defineLazySignal,
  isCircuitOpen,
  type ResilientObserver,
  type ResilientPlan,
  retryBackoff,
  retryDefaults,
  runResilient,
  type SignalSource,
  setSignalSource,
} from './run-resilient.js';
import { callWithSharedLimits, type SharedLimits } from './shared-limits.js';

/** An agent's resilience options for its model calls. */
export interface ModelCallPolicy {
  agent: string;
  retry?: RetryOptions | undefined;
  /** Fixed timeout per attempt. */
  timeoutMs?: number | undefined;
  /** Cap on this agent's concurrent model calls across the process. */
  limit?: LimitOptions | undefined;
  /** Overrides the built-in classification (return undefined to keep it). */
  classify?: ((error: unknown) => ErrorClass | undefined) | undefined;
  /** The agent's AI SDK middleware around each model it calls (each attempt runs through it); undefined without any. */
  wrap?: ModelWrapper | undefined;
}

/** Resilience events of a model call, without run id, time and scope. */
export type ModelCallEvent =
  | {
      type: 'call-retry';
      agent: string;
      target: 'model';
      name: string;
      attempt: number;
      delayMs: number;
      error: string;
    }
  | { type: 'breaker-state'; breaker: 'provider'; name: string; state: BreakerState }
  | { type: 'model-fallback'; agent: string; from: string; to: string; error: string };

/** A model's plan for one agent policy: policies, errors and timeouts made once per configuration. */
interface ModelPlan extends ResilientPlan {
  name: string;
  /** The agent's or the model's configured timeout, else undefined (derived or default then). */
  fixedTimeoutMs: number | undefined;
  defaultTimeoutMs: number;
}

/** The plan of `policy` calling model `name`, cached in `resilience` (so a runtime's breakers stay its own). */
function modelPlan(resilience: Resilience, policy: ModelCallPolicy, name: string): ModelPlan {
  // Looked up first: the build closure is made only when the plan is (not once per call).
  return (
    resilience.cachedPlan<ModelPlan>(policy, name) ??
    resilience.plan(policy, name, () => buildModelPlan(resilience, policy, name))
  );
}

function buildModelPlan(resilience: Resilience, policy: ModelCallPolicy, name: string): ModelPlan {
  const provider = name.slice(0, name.indexOf(':'));
  const config = resilience.config;
  const retry = { ...config.retry, ...policy.retry };
  const own = policy.classify;
  return {
    resilience,
    name,
    fixedTimeoutMs: policy.timeoutMs ?? config.models?.[name]?.timeoutMs,
    defaultTimeoutMs: config.modelTimeoutMs ?? 300_000,
    maxAttempts: retry.maxAttempts ?? retryDefaults.maxAttempts,
    backoff: retryBackoff(retry),
    breaker: resilience.breakerFor(
      'provider',
      provider,
      (error) => classifyError(error, 'model') === 'transient',
    ),
    bulkheads: [
      resilience.bulkheadFor('agent', policy.agent, policy.limit),
      resilience.bulkheadFor('provider', provider),
    ].filter((entry) => entry !== undefined),
    latencyKey: `model:${name}`,
    classify:
      own === undefined
        ? (error) => classifyError(error, 'model')
        : (error) => own(error) ?? classifyError(error, 'model'),
    timeoutError: (ms) =>
      new ModelCallError(
        `Model ${name} did not answer within ${ms} ms. Set a longer timeoutMs on the agent or configureResilience({ models: { '${name}': { timeoutMs } } }).`,
        { model: name, code: 'MODEL_TIMEOUT' },
      ),
    openError: (cause) =>
      Object.assign(
        new ModelCallError(
          `Circuit breaker for provider "${provider}" is open after repeated failures; calls to ${name} fail fast until a probe succeeds.`,
          { model: name, code: 'CIRCUIT_OPEN', cause },
        ),
        { errorClass: 'transient' as const },
      ),
  };
}

/**
 * Where an observed call's events go: the run context of its step, which adds its scope. (An
 * object, not a closure over the context: held for as long as the call takes.)
 */
export interface ModelEventTarget {
  readonly scope: string;
  emitEvent(event: ModelCallEvent & { scope: string }): void;
}

/** Emits `event` in the target's scope. */
function emitTo(target: ModelEventTarget, event: ModelCallEvent): void {
  target.emitEvent({ ...event, scope: target.scope });
}

/** Retry and breaker events of one call, for an observed run (one object, no closures: held for as long as the call takes). */
function modelObserver(plan: ModelPlan, agent: string, events: ModelEventTarget): ResilientObserver {
  return new ModelObserver(plan.name, agent, events);
}

class ModelObserver implements ResilientObserver {
  readonly #name: string;
  readonly #agent: string;
  readonly #events: ModelEventTarget;

  constructor(name: string, agent: string, events: ModelEventTarget) {
    this.#name = name;
    this.#agent = agent;
    this.#events = events;
  }

  onRetry(attempt: number, delayMs: number, error: unknown): void {
    retryEvent(this.#events, this.#name, this.#agent, attempt, delayMs, error);
  }

  onBreakerState(state: BreakerState): void {
    breakerEvent(this.#events, this.#name, state);
  }
}

/** A model call's `call-retry` event. */
function retryEvent(
  events: ModelEventTarget,
  name: string,
  agent: string,
  attempt: number,
  delayMs: number,
  error: unknown,
): void {
  emitTo(events, {
    type: 'call-retry',
    agent,
    target: 'model',
    name,
    attempt,
    delayMs,
    error: errorMessage(error),
  });
}

/** A `breaker-state` event of the breaker of model `name`'s provider. */
function breakerEvent(events: ModelEventTarget, name: string, state: BreakerState): void {
  emitTo(events, {
    type: 'breaker-state',
    breaker: 'provider',
    name: name.slice(0, name.indexOf(':')),
    state,
  });
}

/**
 * One attempt under limits shared across processes (`ResilienceConfig.sharedLimits`): the
 * provider's shared breaker, then its and the model's slots and rates; only transient failures
 * count against the breaker, as in-process. A refusal by an open shared breaker is reported as a
 * `breaker-state` event and thrown as `CIRCUIT_OPEN` (the next model of the chain is tried).
 */
async function callShared(
  shared: SharedLimits,
  plan: ModelPlan,
  source: SignalSource,
  events: ModelEventTarget | undefined,
  call: () => Promise<ModelResponse>,
): Promise<ModelResponse> {
  const name = plan.name;
  const colon = name.indexOf(':');
  const provider = name.slice(0, colon);
  try {
    return await callWithSharedLimits(
      shared,
      {
        provider,
        model: name.slice(colon + 1),
        usedTokens: (response) => response.usage.totalTokens,
        counts: (error) => plan.classify(error) === 'transient',
        signal: source.signal,
      },
      call,
    );
  } catch (error) {
    const state = (error as { breakerState?: BreakerState } | null)?.breakerState;
    if (state !== undefined && events !== undefined)
      emitTo(events, { type: 'breaker-state', breaker: 'provider', name: provider, state });
    throw error;
  }
}

/**
 * Calls the first model of the chain with retries for transient errors (backoff with jitter,
 * honouring `retry-after`), a timeout per attempt, the provider's breaker and bulkheads; when it
 * still fails with a transient error (or its breaker is open), the next model is tried.
 * The response says how many attempts were made and which models failed before it (`fallbackFrom`).
 * `signal` (the step, usually) is read only when needed, so its AbortController is made lazily;
 * `options` (the caller's own object, made for this call) gets an `abortSignal` that is read lazily too.
 */
export function callModelResilient(
  tenant: Tenant,
  chain: ModelChain,
  policy: ModelCallPolicy,
  options: Omit<LanguageModelV3CallOptions, 'abortSignal'>,
  signal: SignalSource,
  onDelta: DeltaListener | undefined,
  events: ModelEventTarget | undefined,
): Promise<ModelResponse> {
  // One model, no middleware, no shared limits, a model at hand: the resilient call is all
  // there is, with no async frame around it (one held per call in flight).
  const only = Array.isArray(chain) ? (chain.length === 1 ? chain[0] : undefined) : chain;
  const resilience = tenantResilience(tenant);
  if (only !== undefined && policy.wrap === undefined && resilience.config.sharedLimits === undefined) {
    let model: LanguageModelV3 | Promise<LanguageModelV3>;
    try {
      model = resolveTenantModel(tenant, only);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!(model instanceof Promise)) {
      const called = model;
      const plan = modelPlan(resilience, policy, modelName(called));
      const timeoutMs =
        plan.fixedTimeoutMs ?? resilience.derivedTimeoutMs(plan.latencyKey) ?? plan.defaultTimeoutMs;
      const callOptions = defineLazySignal(options as LanguageModelV3CallOptions, 'abortSignal', signal);
      const parts = new ModelCallParts(called, plan.name, callOptions, onDelta, policy.agent, events);
      return runResilient(
        plan,
        timeoutMs,
        signal,
        parts,
        events === undefined ? undefined : parts,
        withAttempts,
      );
    }
  }
  return callChain(resilience, tenant, chain, policy, options, signal, onDelta, events);
}

/**
 * One model call in parts (see `AttemptCall`): each attempt points the options' lazy signal at
 * its own source and calls the model; the attempt makes the response of the result, or the
 * error of a failure, itself. Nothing else waits on the model while it takes its time (a promise
 * layer and two closures over the call, per call in flight). For an observed run it also hears
 * of the call's retries and breaker changes (as `ModelObserver` does), in the same object.
 */
class ModelCallParts implements AttemptCall<ModelResponse>, ResilientObserver {
  readonly #model: LanguageModelV3;
  readonly #name: string;
  readonly #options: LanguageModelV3CallOptions;
  readonly #onDelta: DeltaListener | undefined;
  readonly #agent: string;
  readonly #events: ModelEventTarget | undefined;

  constructor(
    model: LanguageModelV3,
    name: string,
    options: LanguageModelV3CallOptions,
    onDelta: DeltaListener | undefined,
    agent: string,
    events: ModelEventTarget | undefined,
  ) {
    this.#model = model;
    this.#name = name;
    this.#options = options;
    this.#onDelta = onDelta;
    this.#agent = agent;
    this.#events = events;
  }

  start(source: SignalSource): unknown {
    const options = this.#options;
    setSignalSource(options, source);
    // A streamed call is `callModel`'s own (its deltas, its errors wrapped as it reads the stream).
    if (this.#onDelta !== undefined) return callModel(this.#model, options, this.#onDelta);
    return this.#model.doGenerate(options);
  }

  value(result: unknown): ModelResponse {
    if (this.#onDelta !== undefined) return result as ModelResponse;
    return generatedResponse(this.#name, result as LanguageModelV3GenerateResult);
  }

  error(cause: unknown): unknown {
    if (this.#onDelta !== undefined) return cause;
    return asModelError(this.#name, cause, this.#options.abortSignal);
  }

  onRetry(attempt: number, delayMs: number, error: unknown): void {
    if (this.#events !== undefined)
      retryEvent(this.#events, this.#name, this.#agent, attempt, delayMs, error);
  }

  onBreakerState(state: BreakerState): void {
    if (this.#events !== undefined) breakerEvent(this.#events, this.#name, state);
  }
}

/** A response that took more than one attempt says how many. */
function withAttempts(response: ModelResponse, attempts: number): ModelResponse {
  return { ...response, attempts };
}

/** `callModelResilient` through a chain of models (or middleware, shared limits, a model still loading). */
async function callChain(
  resilience: Resilience,
  tenant: Tenant,
  chain: ModelChain,
  policy: ModelCallPolicy,
  options: Omit<LanguageModelV3CallOptions, 'abortSignal'>,
  signal: SignalSource,
  onDelta: DeltaListener | undefined,
  events: ModelEventTarget | undefined,
): Promise<ModelResponse> {
  const specs = Array.isArray(chain) ? chain : [chain];
  let failed: string[] | undefined;
  let attempts = 0;
  // One options object for every attempt: its `abortSignal` reads the current attempt's signal.
  const callOptions = defineLazySignal(options as LanguageModelV3CallOptions, 'abortSignal', signal);
  for (let index = 0; index < specs.length; index++) {
    const spec = specs[index] as ModelSpec;
    const resolved = resolveTenantModel(tenant, spec);
    const model = resolved instanceof Promise ? await resolved : resolved;
    // Breakers, plans and fallbacks go by the provider's model; the call goes through the agent's middleware.
    const name = modelName(model);
    const plan = modelPlan(resilience, policy, name);
    let called = model;
    if (policy.wrap !== undefined) {
      const wrapped = policy.wrap(model);
      called = wrapped instanceof Promise ? await wrapped : wrapped;
    }
    const timeoutMs =
      plan.fixedTimeoutMs ?? resilience.derivedTimeoutMs(plan.latencyKey) ?? plan.defaultTimeoutMs;
    const shared = resilience.config.sharedLimits;
    try {
      const value = await runResilient(
        plan,
        timeoutMs,
        signal,
        (source) => {
          setSignalSource(callOptions, source);
          if (shared === undefined) return callModel(called, callOptions, onDelta);
          return callShared(shared, plan, source, events, () => callModel(called, callOptions, onDelta));
        },
        events === undefined ? undefined : modelObserver(plan, policy.agent, events),
        withAttempts,
      );
      attempts += value.attempts ?? 1;
      if (attempts === 1 && failed === undefined) return value;
      const response: ModelResponse = { ...value };
      if (attempts > 1) response.attempts = attempts;
      if (failed !== undefined) response.fallbackFrom = failed;
      return response;
    } catch (error) {
      attempts += (error as { attempts?: number }).attempts ?? 1;
      const next = specs[index + 1];
      const transient = isCircuitOpen(error) || plan.classify(error) === 'transient';
      if (next === undefined || !transient || signal.signal.aborted) {
        if (typeof error === 'object' && error !== null) (error as { attempts?: number }).attempts = attempts;
        throw error;
      }
      failed ??= [];
      failed.push(name);
      if (events !== undefined)
        emitTo(events, {
          type: 'model-fallback',
          agent: policy.agent,
          from: name,
          to: typeof next === 'string' ? next : modelName(await resolveTenantModel(tenant, next)),
          error: errorMessage(error),
        });
    }
  }
  throw new ConfigError(`Agent "${policy.agent}" has an empty model chain.`);
}

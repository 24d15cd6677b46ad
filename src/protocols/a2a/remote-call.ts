/** One call to a remote A2A agent under a model call's policies (timeout per attempt, retries of transient failures, circuit breaker, bulkhead), and its errors. */

import { BatonError, type ErrorClass, errorMessage } from '../../core/errors.js';
import type { RetryOptions } from '../../core/retry-options.js';
import type { RunContext, StepContext } from '../../core/run-context.js';
import { classifyError, statusClass } from '../../models/resilience/classify.js';
import { resilienceOf } from '../../models/resilience/registry.js';
import {
  type ResilientPlan,
  retryBackoff,
  retryDefaults,
  runResilient,
  type SignalSource,
} from '../../models/resilience/run-resilient.js';

/** Codes of remote agent failures. */
export type RemoteAgentErrorCode =
  | 'REMOTE_AGENT_FAILED'
  | 'REMOTE_AGENT_UNAVAILABLE'
  | 'REMOTE_AGENT_TIMEOUT'
  | 'REMOTE_INPUT_REQUIRED'
  | 'CIRCUIT_OPEN';

/**
 * A remote A2A agent failed: its task ended failed, rejected or canceled (`REMOTE_AGENT_FAILED`),
 * it could not be reached or answered an HTTP error (`REMOTE_AGENT_UNAVAILABLE`, with
 * `statusCode`), an attempt timed out (`REMOTE_AGENT_TIMEOUT`), it needs input that cannot be
 * given (`REMOTE_INPUT_REQUIRED`), or its breaker is open (`CIRCUIT_OPEN`).
 *
 * @example
 * ```ts
 * if (BatonError.isInstance(error) && error.code === 'REMOTE_AGENT_UNAVAILABLE') console.log((error as RemoteAgentError).statusCode);
 * ```
 */
export class RemoteAgentError extends BatonError {
  readonly agent: string;
  readonly statusCode: number | undefined;
  readonly retryAfterMs: number | undefined;
  constructor(
    message: string,
    options: {
      agent: string;
      code: RemoteAgentErrorCode;
      statusCode?: number;
      retryAfterMs?: number;
      cause?: unknown;
    },
  ) {
    super(message, { code: options.code, fault: 'provider', cause: options.cause });
    this.name = 'RemoteAgentError';
    this.agent = options.agent;
    this.statusCode = options.statusCode;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The class of a remote call's failure: HTTP 408, 409, 429 and 5xx, network errors and timeouts
 * are transient (retried); other HTTP errors, A2A errors (unknown task, bad request) and failed
 * tasks are fatal.
 *
 * @example
 * ```ts
 * classifyRemote(new RemoteAgentError('busy', { agent: 'research', code: 'REMOTE_AGENT_UNAVAILABLE', statusCode: 503 })); // 'transient'
 * ```
 */
export function classifyRemote(error: unknown): ErrorClass {
  if (error instanceof RemoteAgentError) {
    if (error.statusCode !== undefined) return statusClass(error.statusCode);
    if (error.code === 'REMOTE_AGENT_TIMEOUT' || error.code === 'CIRCUIT_OPEN') return 'transient';
    return 'fatal';
  }
  return classifyError(error, 'model');
}

/** The protection settings of one remote agent. */
export interface RemotePolicy {
  name: string;
  url: string;
  timeoutMs: number;
  retry: RetryOptions | undefined;
  maxConcurrent: number | undefined;
  breaker: boolean;
}

function planOf(ctx: RunContext, owner: object, policy: RemotePolicy): ResilientPlan {
  const resilience = resilienceOf(ctx);
  return resilience.plan(owner, 'call', () => {
    const key = `a2a:${policy.name}`;
    const retry = policy.retry ?? {};
    const bulkhead =
      policy.maxConcurrent === undefined
        ? undefined
        : resilience.bulkheadFor('tool', key, { maxConcurrent: policy.maxConcurrent });
    return {
      resilience,
      maxAttempts: retry.maxAttempts ?? retryDefaults.maxAttempts,
      backoff: retryBackoff(retry),
      breaker: policy.breaker
        ? resilience.breakerFor('tool', key, (error) => classifyRemote(error) === 'transient')
        : undefined,
      bulkheads: bulkhead === undefined ? [] : [bulkhead],
      latencyKey: key,
      classify: classifyRemote,
      timeoutError: (ms) =>
        new RemoteAgentError(`Remote agent ${policy.name} (${policy.url}) did not answer within ${ms} ms.`, {
          agent: policy.name,
          code: 'REMOTE_AGENT_TIMEOUT',
        }),
      openError: (cause) =>
        new RemoteAgentError(
          `Remote agent ${policy.name} is unavailable: its circuit breaker is open after repeated failures.`,
          { agent: policy.name, code: 'CIRCUIT_OPEN', cause },
        ),
    };
  });
}

/**
 * Runs `call` inside a step with the remote agent's policies: a timeout per attempt, retries of
 * transient failures with backoff (and `retry-after`), its breaker and bulkhead (kept in the run's
 * runtime, under the tool name `a2a:<name>`). Reports the attempts made through `onAttempts`.
 */
export async function callRemote<T>(
  ctx: RunContext,
  step: StepContext,
  owner: object,
  policy: RemotePolicy,
  call: (signal: AbortSignal) => Promise<T>,
  onAttempts: (attempts: number) => void,
): Promise<T> {
  const plan = planOf(ctx, owner, policy);
  const scope = ctx.scope;
  const name = `a2a:${policy.name}`;
  const observer = ctx.observed
    ? {
        onRetry: (attempt: number, delayMs: number, error: unknown) =>
          ctx.emitEvent({
            type: 'call-retry',
            scope,
            agent: policy.name,
            target: 'tool',
            name,
            attempt,
            delayMs,
            error: errorMessage(error),
          }),
        onBreakerState: (state: 'closed' | 'open' | 'half-open') =>
          ctx.emitEvent({ type: 'breaker-state', scope, breaker: 'tool', name, state }),
      }
    : undefined;
  return runResilient(
    plan,
    policy.timeoutMs,
    step,
    (source: SignalSource) => call(source.signal),
    observer,
    (value, attempts) => {
      onAttempts(attempts);
      return value;
    },
  );
}

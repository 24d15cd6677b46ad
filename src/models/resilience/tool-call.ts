/** A tool execution with timeout, retries (idempotent tools), breaker and bulkhead, inside its journaled step. */

import { BatonError, type ErrorClass, errorMessage, ToolError } from '../../core/errors.js';
import type { RunContext } from '../../core/run-context.js';
import type { StepMeta } from '../../core/store.js';
import type { Tool } from '../../tools/tool.js';
import { classifyError } from './classify.js';
import type { BreakerState, Resilience } from './registry.js';
import {
  type Attempted,
  type ResilientObserver,
  type ResilientPlan,
  retryBackoff,
  retryDefaults,
  runResilient,
  type SignalSource,
} from './run-resilient.js';

/** The parts of a tool that decide how its calls are protected. */
export type ToolPolicy = Pick<
  Tool,
  'name' | 'idempotent' | 'timeoutMs' | 'classify' | 'retry' | 'maxConcurrent'
>;

/** Resilience events of a tool call, without run id, time and scope. */
export type ToolCallEvent =
  | {
      type: 'call-retry';
      agent: string;
      target: 'tool';
      name: string;
      attempt: number;
      delayMs: number;
      error: string;
    }
  | { type: 'breaker-state'; breaker: 'tool'; name: string; state: BreakerState };

/**
 * The class of a tool failure: the tool's own `classify`, else the error's `errorClass`, else
 * the built-in rules (timeouts, network errors and 5xx statuses are transient, anything else recoverable).
 */
export function classifyToolError(tool: ToolPolicy, error: unknown): ErrorClass {
  return tool.classify?.(error) ?? classifyError(error, 'tool');
}

/** A tool's plan for one calling agent, made once per configuration. */
interface ToolPlan extends ResilientPlan {
  /** The tool's or the configured timeout, else undefined (derived, or none). */
  fixedTimeoutMs: number | undefined;
}

/** The plan of `tool` called by `agent`, cached in `resilience` (so a runtime's breakers stay its own). */
function toolPlan(resilience: Resilience, tool: ToolPolicy, agent: string): ToolPlan {
  // Looked up first: the build closure is made only when the plan is (not once per call).
  return (
    resilience.cachedPlan<ToolPlan>(tool, agent) ??
    resilience.plan(tool, agent, () => buildToolPlan(resilience, tool, agent))
  );
}

function buildToolPlan(resilience: Resilience, tool: ToolPolicy, agent: string): ToolPlan {
  const name = tool.name;
  const retry = tool.retry ?? { maxAttempts: tool.idempotent ? 3 : 1 };
  const bulkhead = resilience.bulkheadFor(
    'tool',
    name,
    tool.maxConcurrent === undefined ? undefined : { maxConcurrent: tool.maxConcurrent },
  );
  return {
    resilience,
    fixedTimeoutMs: tool.timeoutMs ?? resilience.config.tools?.[name]?.timeoutMs,
    maxAttempts: retry.maxAttempts ?? retryDefaults.maxAttempts,
    backoff: retryBackoff(retry),
    breaker: resilience.breakerFor('tool', name, (error) => classifyError(error, 'tool') === 'transient'),
    bulkheads: bulkhead === undefined ? [] : [bulkhead],
    latencyKey: `tool:${name}`,
    classify: (error) => classifyToolError(tool, error),
    timeoutError: (ms) =>
      new ToolError(`Tool ${name} timed out after ${ms} ms.`, { tool: name, agent, code: 'TOOL_TIMEOUT' }),
    openError: (cause) =>
      new ToolError(
        `Tool ${name} is unavailable: its circuit breaker is open after repeated failures. Try another approach or try again later.`,
        { tool: name, agent, code: 'CIRCUIT_OPEN', cause },
      ),
  };
}

function toolObserver(name: string, agent: string, emit: (event: ToolCallEvent) => void): ResilientObserver {
  return {
    onRetry: (attempt, delayMs, error) =>
      emit({
        type: 'call-retry',
        agent,
        target: 'tool',
        name,
        attempt,
        delayMs,
        error: errorMessage(error),
      }),
    onBreakerState: (state) => emit({ type: 'breaker-state', breaker: 'tool', name, state }),
  };
}

/**
 * Runs `execute` for one tool call: a timeout per attempt (the tool's `timeoutMs`, the configured
 * one, or one derived from its observed p95 latency), retries of transient failures (idempotent
 * tools, or tools with a `retry` option), and the tool's breaker and bulkhead in `resilience` (the
 * run's runtime's, or the process state).
 * Failures are thrown as `ToolError`s with `errorClass` and `attempts`, so the class is journaled.
 * `signal` (the step) is read only when needed; `execute` gets a source whose signal aborts on
 * timeout or cancellation (read it only when the tool asks for it).
 */
export function executeToolResilient<T>(
  resilience: Resilience,
  tool: ToolPolicy,
  agent: string,
  signal: SignalSource,
  execute: Attempted<T>,
  emit: ((event: ToolCallEvent) => void) | undefined,
  onAttempts: ((attempts: number) => void) | undefined,
): Promise<T> {
  let plan: ToolPlan;
  let timeoutMs: number | undefined;
  try {
    plan = toolPlan(resilience, tool, agent);
    timeoutMs = plan.fixedTimeoutMs ?? resilience.derivedTimeoutMs(plan.latencyKey);
  } catch (error) {
    return Promise.reject(error);
  }
  let running: Promise<T>;
  try {
    running = runResilient(
      plan,
      timeoutMs,
      signal,
      execute,
      emit === undefined ? undefined : toolObserver(tool.name, agent, emit),
      (value, attempts) => {
        onAttempts?.(attempts);
        return value;
      },
    );
  } catch (error) {
    running = Promise.reject(error);
  }
  // No async frame around the call (one would be held for as long as the tool takes).
  return running.then(undefined, (error: unknown) => {
    throw asToolError(tool, agent, signal, error);
  });
}

/** A tool's failure as thrown from its step: a plain `Error` becomes a `ToolError` keeping its class and attempts. */
function asToolError(tool: ToolPolicy, agent: string, signal: SignalSource, error: unknown): unknown {
  if (signal.signal.aborted || BatonError.isInstance(error) || !(error instanceof Error)) return error;
  const tagged = error as Error & { errorClass?: ErrorClass; attempts?: number };
  return Object.assign(new ToolError(error.message, { tool: tool.name, agent, cause: error }), {
    errorClass: tagged.errorClass,
    attempts: tagged.attempts,
  });
}

/** The emitter of a tool call's resilience events, or undefined when nobody listens. */
export function toolCallEmitter(ctx: RunContext): ((event: ToolCallEvent) => void) | undefined {
  if (!ctx.observed) return undefined;
  const scope = ctx.scope;
  return (event) => ctx.emitEvent({ ...event, scope });
}

/** A tool step's meta with `attempts` when the call took more than one. */
export function toolStepMeta(meta: StepMeta, attempts: number): StepMeta {
  return attempts > 1 ? { ...meta, attempts } : meta;
}

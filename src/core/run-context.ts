/** The context durable code receives: journaled steps, child runs, parallel branches, signals and timers. */

import type { ZodType } from 'zod';
import type { Budget } from './budget-limits.js';
import type { Clock } from './clock.js';
import type { BatonEvent } from './events.js';
import type { Runnable } from './runnable.js';
import type { JournalEntry, JournalEntryKind, StepMeta, Store } from './store.js';

/** What a step's function receives. */
export interface StepContext {
  readonly runId: string;
  /** The step's journal key. */
  readonly key: string;
  /** Stable across retries and crash recovery of this step: pass it to external APIs that deduplicate. */
  readonly idempotencyKey: string;
  /** Aborted when the run is cancelled or the runtime shuts down. */
  readonly signal: AbortSignal;
  /** The run's store, for steps that keep state outside the journal (threads, blackboards). */
  readonly store: Store;
  /** The thread the run belongs to, if it was started with one. */
  readonly threadId: string | undefined;
}

/** Options of `ctx.step`. */
export interface StepOptions<T> {
  /** The kind recorded in the journal; `step` by default. */
  kind?: JournalEntryKind;
  /**
   * Display data recorded with the result (agent, model, usage, cost). A function is called with
   * the result as a method of these options (`options.meta(result)`), so an options object may
   * keep what it needs in its own fields.
   */
  meta?: StepMeta | ((result: T) => StepMeta);
  /**
   * Says, from the step's result, that nothing follows the step but the end of the run: no
   * other step and no side effect. Its entry is then stored together with the run's end (one
   * transaction on SQLite) instead of before the step returns; the run's result is reported
   * only once both are stored. (Another step would still wait for the entry before it runs.)
   * The agent loop sets it on the final model step of an agent that is the run itself.
   */
  endsRun?: (result: T) => boolean;
}

/** Options of `ctx.waitFor`. */
/** Options of `ctx.run`. */
export interface ChildRunOptions {
  /**
   * Dispatch the child as its own run (its own record, linked to this run by its id
   * `<runId>.child.<key>`) for any worker to execute, and wait for it durably. Needs a runtime
   * with a dispatcher; elsewhere the child runs inline, as without it. Default false.
   */
  distribute?: boolean;
}

export interface WaitOptions {
  /** Give up after this long (durable: survives restarts) with a `WaitTimeoutError`. */
  timeoutMs?: number;
  /**
   * What the payload must be. Recorded as JSON Schema when the run suspends, so
   * `runtime.signal` (in any process, the CLI included) refuses a payload that does not match,
   * before storing it, and the run keeps waiting. A stored signal that does not match is
   * skipped, never returned. The payload is returned as sent (not the schema's parsed output);
   * refinements (`.refine`) cannot be written as JSON Schema, so only the process running the
   * wait checks them. Example: `{ schema: z.object({ approved: z.boolean() }) }`.
   */
  schema?: ZodType;
}

/** An event a pattern or user code emits through `ctx.emit`. */
export interface CustomEvent {
  name: string;
  data?: unknown;
}

/** Governance state of one run: the budget given to `runtime.start` and its spend (kept by src/governance/budget.ts). */
export interface RunGovernance {
  readonly budget: Budget | undefined;
  /** When the run was created (the start of its wall-time budget). */
  readonly startedAt: number;
  /**
   * The runtime's clock, read directly (not journaled like `ctx.now()`): wall-time budgets use
   * it, and only while the run is not replaying.
   */
  readonly clock: Clock;
  spend?: unknown;
  /**
   * Model steps inside recorded child runs that a replay returned without running them again,
   * in replay order: budgets count their spend when they next look (and empty the list).
   */
  readonly skippedModelEntries: JournalEntry[];
}

/**
 * A runtime's own state for the layers above the kernel: what `createRuntime` was given, shared
 * by the runs of that runtime and by no other. `undefined` means the process default
 * (`registerModelProvider`, `registerPrices`, `configureResilience`).
 *
 * The kernel carries it without reading it: the model layer declares its fields by declaration
 * merging, each beside its type (`models` in models/model-providers.ts, `prices` in
 * models/pricing.ts, `resilience` in models/resilience/registry.ts).
 */
// biome-ignore lint/suspicious/noEmptyInterface: its fields are added by declaration merging in the layers that own them.
export interface Tenant {}

/**
 * The per-run slot: made once when a run starts executing and carried by every context of the
 * run. It is a required property of `RunContext`, so an object that wraps `ctx` (a pattern's
 * metering view) must pass it on, `services: ctx.services`, or it does not compile; code never
 * looks for it with `instanceof`.
 *
 * @example
 * ```ts
 * const view: RunContext = { ...delegatingMethods, services: ctx.services };
 * ```
 */
export interface RunServices {
  /** The run's budget and spend. */
  readonly governance: RunGovernance;
  /** The state of the runtime executing the run (model providers, prices, resilience). */
  readonly tenant: Tenant;
  /** The input the run was started with, as stored (input guardrails mark a decision on it, so it shows redacted). */
  readonly input: unknown;
}

/**
 * The durable context of a run. Everything non-deterministic or costly goes through it so
 * that a replay after a crash returns recorded results instead of running them again.
 *
 * @example
 * ```ts
 * const order = workflow({ name: 'order', version: '1' }, async (ctx, input: { id: string }) => {
 *   const charge = await ctx.step('charge', () => payments.charge(input.id));
 *   const approval = await ctx.waitFor<{ ok: boolean }>('approval', { timeoutMs: 86_400_000 });
 *   return approval.ok ? charge : null;
 * });
 * ```
 */
export interface RunContext {
  readonly runId: string;
  readonly threadId: string | undefined;
  /** This context's scope path (`r`, `r/2`, `r/3.1`). */
  readonly scope: string;
  /** Aborted when the run is cancelled or the runtime shuts down. */
  readonly signal: AbortSignal;
  /** Stable for this run and scope; combine with your own suffix for external deduplication. */
  readonly idempotencyKey: string;
  /** True while the code re-executes steps already in the journal. */
  readonly replaying: boolean;

  /** Runs `fn` once; its result (or error) is journaled and returned from the journal on replay. */
  step<T>(name: string, fn: (step: StepContext) => T | Promise<T>, options?: StepOptions<T>): Promise<T>;
  /**
   * Runs an agent, workflow or pattern as a child in its own scope; its output is journaled.
   * With `{ distribute: true }` on a runtime with a dispatcher (workers), the child is a run of
   * its own, executed by any worker, and this run waits for it durably (docs/workers.md).
   */
  run<INPUT, OUTPUT>(
    target: Runnable<INPUT, OUTPUT>,
    input: INPUT,
    options?: ChildRunOptions,
  ): Promise<OUTPUT>;
  /** Runs branches concurrently, each in its own scope, and returns their results in order. */
  parallel<T extends readonly unknown[]>(
    branches: { [K in keyof T]: (ctx: RunContext) => Promise<T[K]> },
  ): Promise<T>;
  /** Like `parallel`, but returns each branch's outcome instead of failing on the first error. */
  parallelSettled<T extends readonly unknown[]>(
    branches: { [K in keyof T]: (ctx: RunContext) => Promise<T[K]> },
  ): Promise<{ [K in keyof T]: PromiseSettledResult<T[K]> }>;
  /** Waits for a signal sent with `runtime.signal(runId, name, payload)`; suspends the run until then. */
  waitFor<T = unknown>(name: string, options?: WaitOptions): Promise<T>;
  /** Sleeps durably: a long sleep suspends the run and the timer survives restarts. */
  sleep(ms: number): Promise<void>;
  /** The current time, recorded so replays see the same value. */
  now(): number;
  /** A random number in [0, 1), recorded so replays see the same value. */
  random(): number;
  /** A random UUID, recorded so replays see the same value. */
  uuid(): string;
  /** Emits a custom event (not journaled; suppressed while replaying). */
  emit(event: CustomEvent): void;
  /** Emits a built-in event for this run (used by agents and patterns; suppressed while replaying). */
  emitEvent(event: DistributiveOmit<BatonEvent, 'runId' | 'at'>): void;
  /** True when someone listens to this runtime's events (so work like streaming can be skipped otherwise). */
  readonly observed: boolean;
  /** True when a listener wants events live, text deltas included (so a model call streams); implies `observed`. */
  readonly streaming: boolean;
  /** The run's slot (governance, tenant state): a wrapper of `ctx` must pass it on as it is. */
  readonly services: RunServices;
}

/** `Omit` that keeps a union a union. */
export type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

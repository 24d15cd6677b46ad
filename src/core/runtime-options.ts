/** The options of `createRuntime` and `runtime.start`, with their defaults and the names they accept. */

import type { Budget } from './budget-limits.js';
import type { Clock } from './clock.js';
import type { RunDispatcher, RunEventFeed } from './dispatch.js';
import { ConfigError } from './errors.js';
import type { AuditOpener } from './execution-host.js';
import { optionNames } from './option-names.js';
import type { RunObserver } from './run-observer.js';
import type { Runnable } from './runnable.js';
import type { Store } from './store.js';

/**
 * Options of `createRuntime`. The model layer adds `models`, `prices` and `resilience` (the
 * runtime's tenant state, carried to its runs as `ctx.services.tenant`) by declaration merging,
 * beside the types they name (models/model-providers.ts, models/pricing.ts,
 * models/resilience/registry.ts): the kernel names those options but not their types.
 */
export interface RuntimeOptions {
  /** Where runs live. Default: SQLite at `.baton/baton.db` (from `batonjs/sqlite`). */
  store?: Store;
  /** Definitions this runtime can start, resume and recover by name. */
  workflows?: readonly Runnable[];
  clock?: Clock;
  /** How long a process owns a run without renewing. Default 30 s; renewed every third of it. */
  leaseMs?: number;
  /** Pick up runs left by dead processes and due timers or signals of other processes. Default true. */
  recover?: boolean;
  /** How often to look for runs to recover. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Sleeps and wait timeouts up to this long are waited in memory rather than by suspending. Default 1000 ms. */
  inlineWaitMs?: number;
  /** Identifies this process in leases. Default: host, pid and a random suffix. */
  owner?: string;
  /**
   * Keep a hash-chained audit log per run: pass `createAuditWriter` (from `batonjs`), which
   * appends model decisions, tool calls, handoffs, approvals and denials to the stream
   * `audit:<runId>` after each journal append (docs/audit.md). Called once per store. Default: none.
   */
  audit?: (store: Store) => AuditOpener;
  /**
   * Hand runs to a queue instead of running them here (`createBullmqDispatcher` from
   * `batonjs/redis`): `start` stores the run and dispatches it, and a signal, a due timer or a
   * released run is dispatched again; workers run them with `runtime.execute(runId)`.
   * Default: none (this process runs what it starts).
   */
  dispatcher?: RunDispatcher;
  /**
   * With a dispatcher: how long a stored run may wait in the queue before the recovery poll
   * dispatches it again (the queue lost its job). Default 5 minutes.
   */
  queuedLeaseMs?: number;
  /**
   * Where `handle.events()` reads the events of a run that executes in another process (with a
   * dispatcher: on a worker). Default: none (such a handle's events end at once; its result
   * is read from the store every `pollIntervalMs`).
   */
  eventFeed?: RunEventFeed;
  /**
   * Watches this runtime's runs (told as each is created and as each execution begins and ends,
   * with its events). The package's `createRuntime` sets one for OpenTelemetry tracing
   * (`tracing`, docs/observability.md); a kernel runtime has none by default.
   */
  observer?: RunObserver;
}

/** Options of `runtime.start`. */
export interface StartOptions {
  /** Use this id instead of a generated one (idempotent start: an existing id is an error). */
  runId?: string;
  /** Groups runs of one conversation. */
  threadId?: string;
  /** Where the definition was loaded from, so `baton resume` can load it again. */
  source?: string;
  /**
   * Limits for the whole run (turns, tokens, cost, wall time), checked before every model call;
   * a run that would exceed them ends with status `budget-exceeded`. Stored, so a resumed run keeps it.
   */
  budget?: Budget;
}

export const startOptionNames = optionNames<StartOptions>({
  runId: true,
  threadId: true,
  source: true,
  budget: true,
});

export const runtimeOptionNames = optionNames<RuntimeOptions>({
  store: true,
  workflows: true,
  clock: true,
  leaseMs: true,
  recover: true,
  pollIntervalMs: true,
  inlineWaitMs: true,
  owner: true,
  audit: true,
  models: true,
  prices: true,
  resilience: true,
  dispatcher: true,
  queuedLeaseMs: true,
  eventFeed: true,
  observer: true,
  contextWindows: true,
  tokenizers: true,
  journalPrompts: true,
});

export const runtimeDefaults = {
  leaseMs: 30_000,
  recover: true,
  pollIntervalMs: 1000,
  inlineWaitMs: 1000,
} satisfies Partial<RuntimeOptions>;

export function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(
      `createRuntime(): ${name} must be a positive number of milliseconds, got ${value}.`,
    );
  return value;
}

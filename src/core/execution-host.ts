/** What the runtime gives an execution of a run (its host) and what the execution gives back (its outcome). */

import type { Clock } from './clock.js';
import type { SpawnChild } from './distributed-child.js';
import type { SerializedError } from './errors.js';
import type { EventBus } from './events.js';
import type { RunChangeLog } from './run-changes.js';
import type { Tenant } from './run-context.js';
import type { RunObserver } from './run-observer.js';
import type { JournalEntry, RunStatus, Store, StreamRecord } from './store.js';

/** The execution an audit chain is opened for: `startedEmpty` when its run's journal was empty as it began (nothing can be audited yet). */
export interface AuditedRun {
  readonly runId: string;
  readonly startedEmpty: boolean;
}

/**
 * Opens the audit chain of one execution of a run: returns the function that audits each
 * journal entry after the execution appends it. With `openChain`, the chain itself, which can
 * also seal an entry's records into the entry's own write.
 */
export interface AuditOpener {
  (execution: AuditedRun): (entry: JournalEntry) => Promise<void>;
  readonly openChain?: (execution: AuditedRun) => JournalAuditor;
}

/**
 * Audits one execution's journal entries: `append`, called and awaited after each entry is
 * appended; with `seal`, an entry's audit records may instead be stored in the entry's own
 * write (`Store.appendJournalWith`).
 */
export interface JournalAuditor {
  append(entry: JournalEntry): Promise<void>;
  /**
   * The records that audit `entry`, sealed into the chain now to be stored with it; undefined
   * when it must be audited after its append instead (the chain is still being read, another
   * write of it is in flight). The caller reports the write's outcome with `stored`.
   */
  seal?(entry: JournalEntry): SealedAudit | undefined;
}

/** An entry's audit records, sealed to be stored in the entry's own write. */
export interface SealedAudit {
  readonly records: readonly StreamRecord[];
  /** The write holding the entry and the records was stored (true), or refused or failed (false: nothing of it). */
  stored(written: boolean): void;
}

/** What the runtime provides to an execution. */
export interface ExecutionHost {
  readonly store: Store;
  readonly clock: Clock;
  /** This process's lease owner id: every journal append and run update is fenced on it. */
  readonly owner: string;
  /** How long a lease lasts; a lease this execution finds expired is renewed for this long. */
  readonly leaseMs: number;
  readonly events: EventBus;
  /** Sleeps and wait timeouts at most this long are waited in memory instead of suspending. */
  readonly inlineWaitMs: number;
  /**
   * Set when the runtime keeps an audit log (`audit: createAuditWriter`): opened once per
   * execution, at its first journal append; each entry's records are stored with it
   * (`seal` and `Store.appendJournalWith`) or, failing that, audited right after its append.
   */
  readonly audit?: AuditOpener;
  /** The runtime's own state, carried to every run in `ctx.services.tenant`. */
  readonly tenant: Tenant;
  /** Set when something watches this runtime's runs (tracing): told of every execution. */
  readonly observer?: RunObserver;
  /**
   * Set by `runtime.replay`: the run is re-executed against its journal only, so a step the
   * journal does not hold is a divergence (a `NonDeterminismError`), never run.
   */
  readonly replayOnly?: boolean;
  /** Set when the runtime has a dispatcher: starts a distributed child run (`ctx.run(..., { distribute: true })`). */
  readonly spawnChild?: SpawnChild;
  /** The store's change feed (run-changes.ts): told of every run end and wait for a signal. Absent in a replay. */
  readonly changes?: RunChangeLog;
}

/**
 * How an execution ended. `released` means it stopped without a final status (shutdown, lost
 * lease, a failing store); a release by a failing store carries the `STORE_UNAVAILABLE` error.
 */
export interface ExecutionOutcome {
  status: RunStatus | 'released';
  output?: unknown;
  error?: SerializedError;
  /** Set on a release whose lease could not be cleared (the store failed): the runtime clears it later. */
  leaseHeld?: boolean;
  wakeAt?: number;
  /** A signal it waits for is already there: resume at once. */
  wakeNow?: boolean;
  /**
   * The run that ended so (set by the scheduler as its execution stops): one handler per runtime
   * makes any run's result of its outcome, with no closure over the run held while it is in flight.
   */
  runId?: string;
}

/** A failed run's outcome; a budget stop (`BUDGET_EXCEEDED`) ends as `budget-exceeded` with its partial result as output. */
export function failedOutcome(error: SerializedError): ExecutionOutcome {
  if (error.code !== 'BUDGET_EXCEEDED') return { status: 'failed', error };
  return { status: 'budget-exceeded', error, output: error.data?.partial ?? null };
}

/**
 * Why an execution stopped before its code ended. `not-created`: the run was started while its
 * creation was queued (`Store.createsWithFirstStep`) and the creation failed.
 */
export type StopReason = 'cancelled' | 'shutdown' | 'lost-lease' | 'store-failed' | 'not-created';

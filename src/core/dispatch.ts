/** Handing runs to other processes: the contracts a queue (BullMQ, say) and an event transport implement for the kernel. */

import type { BatonEvent } from './events.js';

/** Why a run is handed to the queue. */
export type DispatchReason = 'start' | 'signal' | 'timer' | 'released' | 'recover';

/**
 * Asks some process to execute (or continue) a run. A runtime given a dispatcher never runs a
 * run on its own initiative: `start` stores the run and dispatches it; a signal, a due timer or
 * a run released by a draining process is dispatched again. A worker takes the job and calls
 * `runtime.execute(runId)`.
 *
 * `dispatch` may be called more than once for the same run and reason (a recovery poll, a
 * retried signal): an implementation drops or tolerates duplicates, and `execute` of a run
 * already running elsewhere refuses with `RUN_LEASED` and changes nothing. Resolves once the
 * job is stored where workers find it.
 */
export interface RunDispatcher {
  dispatch(runId: string, reason: DispatchReason, options?: DispatchOptions): Promise<void>;
}

/** Options of one dispatch. */
export interface DispatchOptions {
  /** Not before this time (ms since the epoch): a timer or a wait's deadline. Default: now. */
  at?: number;
  /** What makes this dispatch distinct from others of the same run and reason (a wake time, a state's `updatedAt`). */
  key?: string;
}

/**
 * The lease owner of a run that is stored and queued but not yet taken by a worker. The first
 * worker to take the run replaces it with its own lease in one fenced write, so two workers
 * given the same run never both run it; a queued run whose lease runs out (the queue lost
 * its job) is found by the recovery poll and dispatched again.
 */
export const QUEUED_OWNER = 'baton:queued';

/** How a run stopped in `runtime.execute`. */
export interface ExecutionReport {
  runId: string;
  /** `released`: it stopped before its end (the process is draining, its lease was lost, the store failed) and must be dispatched again. */
  status: 'completed' | 'failed' | 'cancelled' | 'budget-exceeded' | 'suspended' | 'released';
  /** A suspended run's next due time, if it has one (a timer, a deadline). */
  wakeAt?: number;
}

/**
 * Events of runs that execute in another process (a worker), so `handle.events()` works in the
 * process that started them (`createRuntime({ eventFeed })`; `redisEventFeed` in `batonjs/redis`).
 */
export interface RunEventFeed {
  /**
   * The events of the run's current (or next) execution, those already published first, then
   * live; ends after `run-end` or `run-suspended`, or when `signal` aborts. A run that is
   * suspended now yields nothing, as a local one does.
   */
  follow(runId: string, signal: AbortSignal): AsyncIterable<BatonEvent>;
}

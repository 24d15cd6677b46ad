/**
 * What watches runs from outside the kernel (tracing, metrics): told as a run is created and as
 * each execution of it begins and ends, it gets the execution's events. The kernel names no
 * telemetry library; the package entry plugs OpenTelemetry in through this (ADR 0014).
 */

import type { SerializedError } from './errors.js';
import type { BatonEvent } from './events.js';
import type { RunRecord, RunStatus } from './store.js';

/** Watches the runs of one runtime. Every method must be cheap when it watches nothing, and must not throw. */
export interface RunObserver {
  /**
   * A run is being created by this process (`runtime.start`): returns the trace context to store
   * with it (`RunRecord.trace`, a W3C `traceparent`), so every later execution, in any process,
   * joins the same trace. Undefined: nothing to store.
   */
  created(run: RunRecord): string | undefined;
  /**
   * A run `created` here will not execute here now: it was handed to a queue (a worker runs it),
   * or storing it failed (`error`). What was begun for it at creation ends.
   */
  handedOff(run: RunRecord, error?: SerializedError): void;
  /**
   * An execution of `run` begins (`resumed`: its journal was not empty). Returns what receives
   * the execution's events and its end, or undefined when this run is not watched (then the
   * execution builds no event for it).
   */
  watch(run: RunRecord, resumed: boolean): ExecutionWatch | undefined;
}

/** One watched execution of a run. */
export interface ExecutionWatch {
  /** Every event of the execution except those of replayed steps, in order. */
  event(event: BatonEvent): void;
  /** The execution stopped: the run ended, suspended, or was released (shutdown, lost lease, store failure). */
  end(status: RunStatus | 'released', error?: SerializedError): void;
}

/** How a run's code is interrupted rather than failed: suspension, and shutdown of its runtime. */

import { BatonError } from './errors.js';
import type { RunContext } from './run-context.js';

const suspensionMarker = Symbol.for('baton.suspension');

/** Thrown through workflow code to unwind it when the run suspends. Never journaled. */
export class Suspension extends Error {
  readonly [suspensionMarker] = true;
  constructor() {
    super('The run is suspended; this error unwinds its code and must not be caught by workflow code.');
    this.name = 'Suspension';
  }
}

/**
 * True when `error` means the run is being suspended, cancelled, shut down or taken over, not
 * that the work failed. Code that catches errors inside a run (patterns, agent loops) must
 * rethrow these instead of handling them.
 *
 * @example
 * ```ts
 * try {
 *   await ctx.run(stage, input);
 * } catch (error) {
 *   if (isInterruption(error, ctx)) throw error;
 *   return fallback;
 * }
 * ```
 */
export function isInterruption(error: unknown, ctx: RunContext): boolean {
  return (
    (typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[suspensionMarker] === true) ||
    ctx.signal.aborted
  );
}

/** Thrown into running code when its runtime shuts down; the run stays resumable. */
export class ShutdownError extends BatonError {
  constructor(runId: string) {
    super('The runtime is shutting down; the run will be resumed by the next runtime.', {
      code: 'RUNTIME_SHUTDOWN',
      fault: 'system',
      runId,
    });
    this.name = 'ShutdownError';
  }
}

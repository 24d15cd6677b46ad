/** The errors every store raises for the same contract violations, shared so all stores word them alike. */

import { BatonError, ConfigError, errorMessage, LeaseLostError } from './errors.js';
import type { LeaseFence } from './store.js';

/** `createRun` with an id that is taken. */
export function runExistsError(runId: string): BatonError {
  return new BatonError(`A run with id "${runId}" already exists in the store; run ids must be unique.`, {
    code: 'RUN_EXISTS',
    fault: 'system',
    runId,
  });
}

/**
 * A write to a run queued behind that run's `createRun` in the same transaction, refused because
 * the `createRun` failed: the run this process meant to create does not exist (`RUN_NOT_FOUND`).
 */
export function runNotCreatedError(runId: string): BatonError {
  return new BatonError(
    `Run "${runId}" was not created (its createRun failed), so a write to it queued behind that createRun was refused.`,
    { code: 'RUN_NOT_FOUND', fault: 'system', runId },
  );
}

/** `appendJournal` with a key already recorded for the run. */
export function journalConflictError(runId: string, key: string): BatonError {
  return new BatonError(
    `Journal entry "${key}" of run "${runId}" is already recorded. Another process may be executing this run; ` +
      'check its lease before resuming it.',
    { code: 'JOURNAL_CONFLICT', fault: 'system', runId },
  );
}

/** A fenced write whose owner no longer holds the run's lease at the fence's time. */
export function leaseLostError(runId: string, fence: LeaseFence): BatonError {
  return new LeaseLostError(runId, fence.owner, 'its lease expired or another process took the run over');
}

/** Any call after `close()`; `store` names it (for example "The SQLite store on .baton/baton.db"). */
export function storeClosedError(store: string): BatonError {
  return new BatonError(`${store} is closed; create a new store to keep using it.`, {
    code: 'STORE_CLOSED',
    fault: 'user',
  });
}

/** The error for a database file that could not be opened: Baton's own errors as they are, anything else wrapped with the file and reason. */
export function storeOpenError(what: string, path: string, error: unknown): Error {
  if (BatonError.isInstance(error)) return error;
  const reason = errorMessage(error);
  return new ConfigError(`Could not open ${what} ${path}: ${reason}`, {
    code: 'STORE_OPEN_FAILED',
    cause: error,
  });
}

/** One subscription to a store's change notifications per server tenant, routed by run id, so each open event stream hears only its own run's changes. */

import type { Store, StoreChange } from '../core/store.js';

/** Listeners of a store's changes: per run, and for every run. */
export interface StoreChanges {
  /** Calls `listener` on each change of run `runId` (journal appends and status updates, not signals). Returns the function that stops it. */
  onRun(runId: string, listener: () => void): () => void;
  /** Calls `listener` on each run's status change. Returns the function that stops it. */
  onAnyRun(listener: () => void): () => void;
}

/**
 * Routes the store's `subscribe` notifications to listeners by run id (one lookup per change,
 * whatever the number of open streams). Subscribes to the store while at least one listener is
 * registered. A store without `subscribe` gets listeners that are never called: streams then
 * read the store on their poll interval only.
 *
 * @example
 * ```ts
 * const changes = storeChanges(store);
 * const stop = changes.onRun(runId, () => wake());
 * ```
 */
export function storeChanges(store: Store): StoreChanges {
  const byRun = new Map<string, Set<() => void>>();
  const anyRun = new Set<() => void>();
  let unsubscribe: (() => void) | undefined;
  const deliver = (change: StoreChange): void => {
    if (change.kind === 'signal') return;
    const listeners = byRun.get(change.runId);
    if (listeners !== undefined) for (const listener of listeners) listener();
    if (change.kind === 'run') for (const listener of anyRun) listener();
  };
  const retain = (): void => {
    if (unsubscribe === undefined && store.subscribe !== undefined) unsubscribe = store.subscribe(deliver);
  };
  const release = (): void => {
    if (byRun.size === 0 && anyRun.size === 0) {
      unsubscribe?.();
      unsubscribe = undefined;
    }
  };
  return {
    onRun(runId, listener) {
      let listeners = byRun.get(runId);
      if (listeners === undefined) {
        listeners = new Set();
        byRun.set(runId, listeners);
      }
      listeners.add(listener);
      retain();
      return () => {
        const current = byRun.get(runId);
        current?.delete(listener);
        if (current?.size === 0) byRun.delete(runId);
        release();
      };
    },
    onAnyRun(listener) {
      anyRun.add(listener);
      retain();
      return () => {
        anyRun.delete(listener);
        release();
      };
    },
  };
}

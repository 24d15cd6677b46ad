/** Following a task from the store: its view now, and each change of its state or open questions until it ends (streams, blocking sends, push notifications). */

import type { Message, Task } from '@a2a-js/sdk';
import { listPending, type Store, withGuardedInput } from '../../index.js';
import { partsOf, signatureOf, type TaskView, taskOf } from './a2a-task.js';

/** The record stream of a task's client messages (`{ type: 'message', message }`, the message as A2A JSON). */
export function taskStream(taskId: string): string {
  return `a2a:task:${taskId}`;
}

/** Reads the task of `runId` from the store, or `undefined` when there is no such run. */
export async function readView(
  store: Store,
  runId: string,
  decode: (json: unknown) => Message,
): Promise<TaskView | undefined> {
  const run = await store.getRun(runId);
  if (run === undefined) return undefined;
  const [pending, records] = await Promise.all([
    run.status === 'suspended' ? listPending(store, { runId }) : Promise.resolve([]),
    store.readRecords(taskStream(runId)),
  ]);
  const messages: Message[] = [];
  for (const { data } of records) {
    const record = data as { type?: unknown; message?: unknown } | null;
    if (record?.type === 'message') messages.push(decode(record.message));
  }
  return { run, pending, messages };
}

/**
 * The task of `view` as a client is shown it (`taskOf`), its history as the run's guardrails left
 * it: the opening message, which became the run's input, carries the input as the top agent's
 * input guardrails left it when one of them rewrote or refused it (`withGuardedInput`, one part).
 * Reads the run's journal, unless no history is sent.
 */
export async function shownTask(store: Store, view: TaskView, historyLength?: number): Promise<Task> {
  if (view.messages.length === 0 || (historyLength !== undefined && historyLength <= 0))
    return taskOf(view, historyLength);
  const shown = withGuardedInput(view.run, await store.loadJournal(view.run.id));
  if (shown === view.run) return taskOf(view, historyLength);
  // Two racing requests with the same message may both have stored it: every copy is the opening one.
  const opening = view.messages[0]?.messageId;
  const parts = partsOf(shown.input);
  const messages = view.messages.map((message) =>
    message.messageId === opening ? { ...message, parts } : message,
  );
  return taskOf({ ...view, messages }, historyLength);
}

/** Options of {@link watchTask}. */
export interface WatchOptions {
  store: Store;
  runId: string;
  /** How often the store is read when it announces no change. */
  pollMs: number;
  /** Ends the watch (a client that left, a server that stops). */
  signal?: AbortSignal | undefined;
  decode: (json: unknown) => Message;
}

/**
 * Yields the task's view now, then again each time its state or open questions change; ends after
 * a view whose run has ended, or when `signal` aborts. Reads the store on its change
 * notifications (`Store.subscribe`, the Postgres store) and every `pollMs` otherwise, so it follows
 * runs that any process executes.
 */
export async function* watchTask(options: WatchOptions): AsyncGenerator<TaskView, void, undefined> {
  const { store, runId, signal } = options;
  let wake: (() => void) | undefined;
  let pending = false;
  const nudge = (): void => {
    const resolve = wake;
    wake = undefined;
    if (resolve === undefined) pending = true;
    else resolve();
  };
  signal?.addEventListener('abort', nudge, { once: true });
  const unsubscribe = store.subscribe?.((change) => {
    if (change.runId === runId) nudge();
  });
  let last: string | undefined;
  try {
    while (signal?.aborted !== true) {
      pending = false;
      const view = await readView(store, runId, options.decode);
      if (view === undefined) return;
      const signature = signatureOf(view);
      if (signature !== last) {
        last = signature;
        yield view;
      }
      if (isEnded(view)) return;
      if (pending) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(nudge, options.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    unsubscribe?.();
    signal?.removeEventListener('abort', nudge);
  }
}

/** True when the view's run has ended. */
export function isEnded(view: TaskView): boolean {
  const status = view.run.status;
  return (
    status === 'completed' || status === 'failed' || status === 'cancelled' || status === 'budget-exceeded'
  );
}

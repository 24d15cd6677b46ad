/** Threads: conversations that outlive a run, kept as a record stream (`thread:<id>`) in the run store. */

import type { Message } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { RunRecord, Store } from '../core/store.js';

/** One record of a thread's stream: the messages a run added, or a clear marker. */
type ThreadRecord = { runId: string; messages: Message[] } | { cleared: true };

/**
 * The record stream that holds a thread's history.
 *
 * @example
 * ```ts
 * threadStream('customer-42'); // 'thread:customer-42'
 * ```
 */
export function threadStream(threadId: string): string {
  if (typeof threadId !== 'string' || threadId === '')
    throw new ConfigError('A thread id must be a non-empty string.', { code: 'INVALID_THREAD' });
  return `thread:${threadId}`;
}

/**
 * Reads a thread's messages in order, oldest first: every message the runs of the thread added
 * since it was last cleared. A run's messages appear once even if a crash made it append twice.
 *
 * @example
 * ```ts
 * const messages = await readThread(runtime.store, 'customer-42');
 * ```
 */
export async function readThread(store: Store, threadId: string): Promise<Message[]> {
  return (await readThreadTurns(store, threadId)).flatMap((turn) => turn.messages);
}

/** The messages one run (or another writer) added to a thread. */
export interface ThreadTurn {
  runId: string;
  messages: Message[];
}

/**
 * A thread's messages as {@link readThread} reads them, grouped by the run that added them (in
 * order, each run once): for a reader that shows each run's messages with something of that run,
 * such as its journal (`guardedMessages`).
 *
 * @example
 * ```ts
 * for (const { runId, messages } of await readThreadTurns(runtime.store, 'customer-42')) console.log(runId, messages.length);
 * ```
 */
export async function readThreadTurns(store: Store, threadId: string): Promise<ThreadTurn[]> {
  const records = await store.readRecords(threadStream(threadId));
  let turns: ThreadTurn[] = [];
  let seen = new Set<string>();
  for (const record of records) {
    const data = record.data as ThreadRecord;
    if ('cleared' in data) {
      turns = [];
      seen = new Set();
      continue;
    }
    if (seen.has(data.runId)) continue;
    seen.add(data.runId);
    turns.push({ runId: data.runId, messages: data.messages });
  }
  return turns;
}

/**
 * Appends messages a run added to a thread. Idempotent per run: appending again for the same
 * `runId` is ignored when reading. Outside a run, pass any id that names the writer.
 *
 * @example
 * ```ts
 * await appendThread(store, 'customer-42', 'import-1', [userMessage('Hello')]);
 * ```
 */
export async function appendThread(
  store: Store,
  threadId: string,
  runId: string,
  messages: readonly Message[],
): Promise<void> {
  if (messages.length === 0) return;
  await store.appendRecord(threadStream(threadId), { runId, messages: [...messages] });
}

/**
 * Empties a thread: later reads start after this point (the stream stays append-only, so
 * earlier records remain in the store for audit).
 *
 * @example
 * ```ts
 * await clearThread(store, 'customer-42');
 * ```
 */
export async function clearThread(store: Store, threadId: string): Promise<void> {
  await store.appendRecord(threadStream(threadId), { cleared: true });
}

/**
 * The runs of a thread, newest first (as `store.listRuns({ threadId })`).
 *
 * @example
 * ```ts
 * const runs = await listThreadRuns(store, 'customer-42');
 * ```
 */
export function listThreadRuns(store: Store, threadId: string, limit?: number): Promise<RunRecord[]> {
  threadStream(threadId);
  return store.listRuns(limit === undefined ? { threadId } : { threadId, limit });
}

/**
 * Inside a run started with a `threadId`: the thread's earlier messages, read in a journaled
 * step (`thread:load`) so a replay sees the same history. `[]` when the run has no thread.
 *
 * @example
 * ```ts
 * const earlier = await loadThreadMessages(ctx);
 * ```
 */
export async function loadThreadMessages(ctx: RunContext): Promise<Message[]> {
  const threadId = ctx.threadId;
  if (threadId === undefined) return [];
  return ctx.step('thread:load', (step) => readThread(step.store, threadId));
}

/**
 * Inside a run started with a `threadId`: appends the run's new messages to the thread, in a
 * journaled step (`thread:append`) so a replay does not append again.
 *
 * @example
 * ```ts
 * await saveThreadMessages(ctx, result.messages.slice(earlier.length));
 * ```
 */
export async function saveThreadMessages(ctx: RunContext, messages: readonly Message[]): Promise<void> {
  const threadId = ctx.threadId;
  if (threadId === undefined || messages.length === 0) return;
  await ctx.step('thread:append', async (step) => {
    await appendThread(step.store, threadId, step.runId, messages);
    return messages.length;
  });
}

/** What `withThread` needs from an agent run's result. */
export interface ThreadRunResult {
  messages: Message[];
}

/**
 * Runs an agent loop as part of the run's thread: when the run was started with a `threadId`
 * and this is the run's own agent (the root scope, not a child or a pattern member), the loop
 * starts from the thread's earlier messages followed by `input`, and the messages it added are
 * appended to the thread when it finishes. Otherwise it just runs `input`. Used by `agent()`.
 *
 * @example
 * ```ts
 * const result = await withThread(ctx, input, (messages) => runAgent(ctx, support, messages));
 * ```
 */
export async function withThread<RESULT extends ThreadRunResult>(
  ctx: RunContext,
  input: string | { messages: readonly Message[] },
  run: (input: string | { messages: readonly Message[] }) => Promise<RESULT>,
): Promise<RESULT> {
  if (ctx.threadId === undefined || ctx.scope !== 'r') return run(input);
  const earlier = await loadThreadMessages(ctx);
  if (earlier.length === 0) {
    const result = await run(input);
    await saveThreadMessages(ctx, result.messages);
    return result;
  }
  const incoming: Message[] =
    typeof input === 'string'
      ? [{ role: 'user', content: [{ type: 'text', text: input }] }]
      : [...(input?.messages ?? [])];
  const result = await run({ messages: [...earlier, ...incoming] });
  await saveThreadMessages(ctx, result.messages.slice(earlier.length));
  return result;
}

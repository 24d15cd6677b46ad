/** A run's live events over SSE, read from the store (journal entries, status changes, the end), so a client resumes with Last-Event-ID across reconnects and server restarts. */

import type { Context } from 'hono';
import { terminalStatuses } from '../core/store.js';
import type { JournalEntry, RunRecord, RunStatus, Store } from '../index.js';
import { HttpError } from './http-error.js';
import { readShownJournal } from './shown-journal.js';
import type { StoreChanges } from './store-changes.js';
import { streamFromStore } from './store-stream.js';

/** Where a client stands in a run's event stream: journal entries seen, and the last run status seen. */
export interface EventPosition {
  /** How many journal entries the client has (the id of the last `step` event). */
  entries: number;
  /** The last status a `run` event gave it (`running` after a step event), none at the start. */
  status: RunStatus | 'end' | undefined;
}

/** Options of {@link streamRunEvents}. */
export interface RunEventsOptions {
  store: Store;
  /** The store's changes by run: the stream reads again as soon as its run changes. */
  changes: StoreChanges;
  runId: string;
  /** Where to resume (from `Last-Event-ID`); the start by default. */
  from: EventPosition;
  /** Step events carry the entry's result. */
  content: boolean;
  heartbeatMs: number;
  /** How often the store is read when nothing announced a change (a store with `subscribe` is read on its changes too). */
  pollMs: number;
  /** Ends the stream (server shutdown). */
  signal: AbortSignal | undefined;
}

/**
 * Parses `Last-Event-ID`: `<n>` after a step event, `<n>:<status>` after a run event,
 * `<n>:end` after the end. Throws a 400 for anything else.
 *
 * @example
 * ```ts
 * parseEventId('4:suspended'); // { entries: 4, status: 'suspended' }
 * parseEventId('4'); // { entries: 4, status: 'running' }
 * ```
 */
export function parseEventId(text: string | undefined): EventPosition {
  if (text === undefined || text === '') return { entries: 0, status: undefined };
  // After a step event the client's status is `running` (see streamRunEvents).
  const match = /^(\d{1,9})(?::(running|suspended|completed|failed|cancelled|budget-exceeded|end))?$/.exec(
    text.trim(),
  );
  if (match === null) {
    throw new HttpError(
      400,
      'INVALID_EVENT_ID',
      `Last-Event-ID "${text}" is not an event id of this stream.`,
    );
  }
  return { entries: Number(match[1]), status: (match[2] ?? 'running') as EventPosition['status'] };
}

/**
 * Streams a run's events from the store: each journal entry as a `step` event (id = its
 * position in the journal, from 1; data = the entry, without `result` unless `content`; with
 * `content` the result is as the guardrails left it, and a step is sent once settled, see
 * `readShownJournal`), each
 * status change as a `run` event (id `<entries>:<status>`: a change to `running` before the steps
 * read with it, any other after them), and a last `end` event when the run is terminal and every
 * entry was sent. Status changes between two reads of the store are seen as one. Comment lines keep the connection alive every
 * `heartbeatMs`. Stops when the client disconnects. Writes are awaited, so a slow client slows
 * only its own stream.
 *
 * @example
 * ```ts
 * app.get('/v1/runs/:id/events', (c) => streamRunEvents(c, { store, changes: storeChanges(store), runId, from, content: false, heartbeatMs: 15_000, pollMs: 500, signal: undefined }));
 * ```
 */
export function streamRunEvents(c: Context, options: RunEventsOptions): Response {
  const { store, runId, content } = options;
  let entries = options.from.entries;
  let status = options.from.status;
  const waits = { ...options, watch: (nudge: () => void) => options.changes.onRun(runId, nudge) };
  return streamFromStore(c, waits, async (stream, stopped) => {
    // The record before the journal: a run that is terminal here has all its entries in the read after.
    let record: RunRecord | undefined;
    let fresh: JournalEntry[];
    if (content) {
      // Content as the guardrails left it, and only what no guardrail decision can still rewrite
      // (a later guardrail step rewrites an earlier entry, so the journal is read whole).
      const shown = await readShownJournal(store, runId);
      record = shown?.record;
      fresh = shown?.entries.slice(entries) ?? [];
    } else {
      record = await store.getRun(runId);
      // Only the entries the client does not have yet: a long run is not read whole on each change.
      fresh = record === undefined ? [] : await store.loadJournal(runId, entries);
    }
    if (record === undefined) return 'end';
    // Steps are appended only while a run is running, so new steps come after a `running` event
    // (sent even when the run has ended since: it ran to append them), and any other status
    // after its steps. So after any step event the client's status is `running`.
    if ((record.status === 'running' || fresh.length > 0) && status !== 'running' && status !== 'end') {
      status = 'running';
      await stream.writeSSE({
        id: `${entries}:running`,
        event: 'run',
        data: JSON.stringify({ runId, status: 'running' }),
      });
    }
    for (const entry of fresh) {
      if (stopped()) break;
      await stream.writeSSE({
        id: String(entries + 1),
        event: 'step',
        data: JSON.stringify(stepData(entry, entries + 1, content)),
      });
      entries++;
    }
    if (stopped()) return 'end';
    if (status !== record.status && status !== 'end') {
      status = record.status;
      await stream.writeSSE({
        id: `${entries}:${record.status}`,
        event: 'run',
        data: JSON.stringify(runData(record)),
      });
    }
    if (terminalStatuses.has(record.status)) {
      await stream.writeSSE({
        id: `${entries}:end`,
        event: 'end',
        data: JSON.stringify({ runId, status: record.status }),
      });
      return 'end';
    }
    return 'wait';
  });
}

function stepData(entry: JournalEntry, position: number, content: boolean): Record<string, unknown> {
  const { result, ...rest } = entry;
  return content && result !== undefined ? { position, ...rest, result } : { position, ...rest };
}

function runData(record: RunRecord): Record<string, unknown> {
  const data: Record<string, unknown> = { runId: record.id, status: record.status };
  if (record.error !== undefined) data.error = record.error;
  if (record.wakeAt !== undefined) data.wakeAt = record.wakeAt;
  if (terminalStatuses.has(record.status) && record.output !== undefined) data.output = record.output;
  return data;
}

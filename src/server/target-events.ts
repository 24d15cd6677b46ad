/** Live status changes of every run (of a target) over SSE, read from the store so a reconnecting client resumes after the last change it saw. */

import { z } from 'zod';
import { terminalStatuses } from '../core/store.js';
import type { RunRecord, Store } from '../index.js';
import { HttpError } from './http-error.js';
import { assertTarget, type Route, type Tenant } from './route.js';
import { waitingFor } from './run-details.js';
import { streamFromStore } from './store-stream.js';

const eventsQuery = z.strictObject({
  target: z.string().min(1).max(200).optional().describe('Only runs of this target'),
  after: z.coerce
    .number()
    .int()
    .min(0)
    .optional()
    .describe('Send every run changed after this time (ms since the epoch), then live changes'),
});

/** How many of the newest runs each read looks at, besides the running and suspended ones. */
const newestPage = 100;

/** Options of {@link targetEventsRoute}. */
export interface TargetEventsOptions {
  heartbeatMs: number;
  pollMs: number;
  signal: AbortSignal | undefined;
}

/**
 * `GET /v1/events`: a `run` event each time a run (of `?target=`, or of every target the key
 * reaches) is created or changes status, with the run's summary; id `<updatedAt>:<runId>`.
 * Without `Last-Event-ID` or `?after=` it starts with the changes after connecting; with one,
 * it first sends every run changed after that time (of the running runs and the newest 100),
 * oldest change first.
 *
 * @example
 * ```ts
 * routes.push(targetEventsRoute({ heartbeatMs: 15_000, pollMs: 500, signal: undefined }));
 * ```
 */
export function targetEventsRoute(options: TargetEventsOptions): Route {
  return {
    method: 'get',
    path: '/v1/events',
    operationId: 'streamRunChanges',
    summary: 'Status changes of every run (of a target) over SSE, resumable with Last-Event-ID',
    scope: 'read',
    query: eventsQuery,
    headers: [
      {
        name: 'Last-Event-ID',
        required: false,
        description: 'Resume after this event (<updatedAt>:<runId>)',
      },
    ],
    responses: {
      200: {
        description: 'Server-sent events: run (one per change, the run summary)',
        contentType: 'text/event-stream',
      },
    },
    handle(c, { query, key, tenant }) {
      const request = query as z.infer<typeof eventsQuery>;
      let target = request.target;
      if (target !== undefined) assertTarget(key, target);
      else if (key?.targets !== undefined && !key.scopes.includes('admin')) {
        if (key.targets.length !== 1)
          throw new HttpError(
            403,
            'FORBIDDEN',
            `This key reaches only the targets ${key.targets.join(', ')}: name one with ?target=.`,
          );
        target = key.targets[0];
      }
      const after = resumePoint(c.req.header('last-event-id'), request.after);
      return streamChanges(c, tenant, target, after, options);
    },
  };
}

/** Where to start: the Last-Event-ID's time (and run), `?after=`, or now (nothing before connecting). */
function resumePoint(
  header: string | undefined,
  after: number | undefined,
): { at: number; id: string } | undefined {
  if (header !== undefined && header !== '') {
    const match = /^(\d{1,15}):(.{0,200})$/.exec(header.trim());
    if (match === null)
      throw new HttpError(
        400,
        'INVALID_EVENT_ID',
        `Last-Event-ID "${header}" is not an event id of this stream.`,
      );
    return { at: Number(match[1]), id: match[2] as string };
  }
  return after === undefined ? undefined : { at: after, id: '' };
}

function streamChanges(
  c: Parameters<Route['handle']>[0],
  { store, changes }: Tenant,
  target: string | undefined,
  after: { at: number; id: string } | undefined,
  options: TargetEventsOptions,
): Response {
  /** What the client was last told of each run it may still hear of: status and updatedAt. */
  const seen = new Map<string, { status: string; updatedAt: number }>();
  let first = true;
  return streamFromStore(
    c,
    { ...options, watch: (nudge) => changes.onAnyRun(nudge) },
    async (stream, stopped) => {
      const runs = await readCandidates(store, target, seen);
      const changed: RunRecord[] = [];
      for (const run of runs) {
        const before = seen.get(run.id);
        if (before !== undefined && before.status === run.status && before.updatedAt === run.updatedAt)
          continue;
        seen.set(run.id, { status: run.status, updatedAt: run.updatedAt });
        // The first read only sets the baseline, unless the client resumes from a point.
        if (first && (after === undefined || !isAfter(run, after))) continue;
        changed.push(run);
      }
      first = false;
      changed.sort((a, b) => a.updatedAt - b.updatedAt || (a.id < b.id ? -1 : 1));
      for (const run of changed) {
        if (stopped()) break;
        await stream.writeSSE({
          id: `${run.updatedAt}:${run.id}`,
          event: 'run',
          data: JSON.stringify(await summary(store, run)),
        });
      }
      forget(seen);
      return 'wait';
    },
  );
}

/** The runs that may have changed: running ones (up to 1,000), the newest, and those last seen not ended. */
async function readCandidates(
  store: Store,
  target: string | undefined,
  seen: ReadonlyMap<string, { status: string }>,
): Promise<RunRecord[]> {
  const scope = target === undefined ? {} : { target };
  const [open, newest] = await Promise.all([
    store.listRuns({ ...scope, status: 'running', limit: 1000 }),
    store.listRuns({ ...scope, limit: newestPage }),
  ]);
  const byId = new Map<string, RunRecord>();
  for (const run of [...open, ...newest]) byId.set(run.id, run);
  for (const [id, state] of seen) {
    if (byId.has(id) || terminalStatuses.has(state.status as RunRecord['status'])) continue;
    const run = await store.getRun(id);
    if (run !== undefined) byId.set(id, run);
  }
  return [...byId.values()];
}

/**
 * Keeps what is remembered bounded: ended runs are forgotten (nothing changes them any more),
 * and beyond 2,000 runs the least recently changed ones (read again only if they show up
 * among the running or newest runs).
 */
function forget(seen: Map<string, { status: string; updatedAt: number }>): void {
  if (seen.size <= 4 * newestPage) return;
  for (const [id, state] of seen)
    if (terminalStatuses.has(state.status as RunRecord['status'])) seen.delete(id);
  if (seen.size <= 2000) return;
  const oldest = [...seen].sort((a, b) => a[1].updatedAt - b[1].updatedAt).slice(0, seen.size - 2000);
  for (const [id] of oldest) seen.delete(id);
}

function isAfter(run: RunRecord, point: { at: number; id: string }): boolean {
  return run.updatedAt > point.at || (run.updatedAt === point.at && run.id > point.id);
}

/** What a `run` event says of a run: its summary, and the signals a suspended one waits for. */
async function summary(store: Store, run: RunRecord): Promise<Record<string, unknown>> {
  const data: Record<string, unknown> = {
    runId: run.id,
    target: run.target,
    status: run.status,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    usage: run.usage,
    costUsd: run.costUsd,
  };
  if (run.threadId !== undefined) data.threadId = run.threadId;
  if (run.endedAt !== undefined) data.endedAt = run.endedAt;
  if (run.wakeAt !== undefined) data.wakeAt = run.wakeAt;
  if (run.error !== undefined) data.error = run.error;
  const waits = await waitingFor(store, run);
  if (waits !== undefined) data.waitingFor = waits;
  return data;
}

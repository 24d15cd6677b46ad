/** The events webhooks send: built from a record of the run change feed once the run's stored status confirms it. */

import { createHash } from 'node:crypto';
import type { RunChange } from '../core/run-changes.js';
import { terminalStatuses } from '../core/store.js';
import { waitsStream } from '../core/wait-payload.js';
import {
  listPending,
  type PendingRequest,
  type RunRecord,
  type RunStatus,
  type Store,
  type Usage,
} from '../index.js';
import type { WebhookEventType } from './webhooks.js';

/** A request of a `run.waiting` event: an inbox row; an input over 8 KiB is left out (`inputOmitted`). */
export type WebhookPendingRequest = PendingRequest & { inputOmitted?: true };

/** What a webhook request's body holds (JSON). */
export interface WebhookEvent {
  /** `evt_` and 32 hex digits: the same for every subscription and every retry of this event. */
  id: string;
  type: WebhookEventType;
  /** When the run ended or began to wait (ISO 8601). */
  timestamp: string;
  runId: string;
  target: string;
  status: RunStatus;
  threadId?: string;
  /** The run's output (a terminal run), when its JSON is at most 8 KiB. */
  output?: unknown;
  /** Set instead of `output` when it is larger: its first 1,000 characters of JSON. */
  outputPreview?: string;
  error?: { name: string; message: string; code?: string; fault?: string };
  /** `run.waiting`: the requests a person can answer (`baton inbox`'s rows). */
  pending?: WebhookPendingRequest[];
  usage: Usage;
  costUsd: number;
}

const statusEvents: Readonly<Partial<Record<RunStatus, WebhookEventType>>> = {
  completed: 'run.completed',
  failed: 'run.failed',
  cancelled: 'run.cancelled',
  'budget-exceeded': 'run.budget_exceeded',
  suspended: 'run.waiting',
};

/** The event type a change of the feed may become (`undefined`: none). */
export function eventTypeOf(status: RunStatus): WebhookEventType | undefined {
  return statusEvents[status];
}

const maxValueJson = 8 * 1024;

/** What to do with a change of the feed: send `event`, skip it (`reason`), or look again later (its status write is still in flight). */
export type ChangeOutcome =
  | { kind: 'event'; event: WebhookEvent }
  | { kind: 'skip'; reason: string }
  | { kind: 'later' };

/**
 * Confirms a change against the store and builds its event. A terminal change is an event once
 * the run's stored status is terminal (its type is the stored status's). A suspension is an
 * event while the run is still suspended on that same wait and a person can answer it (an
 * approval, a human member, a plain `waitFor`; not a child run's end); a wait answered or
 * replaced before it is looked at is skipped. While the run is still `running` under the
 * lease of the process that wrote the change, with an older `updatedAt`, the status write is in
 * flight: `later`. Otherwise the write did not happen (the lease was lost), and the process
 * that ends the run writes a change of its own: skipped.
 */
export async function eventOf(store: Store, change: RunChange, now: number): Promise<ChangeOutcome> {
  const run = await store.getRun(change.runId);
  if (run === undefined) return { kind: 'skip', reason: 'no such run' };
  if (terminalStatuses.has(change.status)) {
    if (terminalStatuses.has(run.status)) return { kind: 'event', event: endEvent(run) };
    return inFlight(run, change, now)
      ? { kind: 'later' }
      : { kind: 'skip', reason: 'the end was not stored' };
  }
  if (change.status !== 'suspended' || change.waits === undefined)
    return { kind: 'skip', reason: 'not announced' };
  if (run.status !== 'suspended') {
    return inFlight(run, change, now) ? { kind: 'later' } : { kind: 'skip', reason: 'no longer waiting' };
  }
  const waits = await store.readRecords(waitsStream(run.id), { after: change.waits - 1 });
  if (waits.length !== 1) return { kind: 'skip', reason: 'waiting on a newer wait' };
  const pending = (await listPending(store, { runId: run.id })).filter(
    (request) => !request.answered && !request.signal.startsWith('child:'),
  );
  if (pending.length === 0) return { kind: 'skip', reason: 'no wait for a person' };
  const event = baseEvent(run, 'run.waiting', `${run.id}|waiting|${change.waits}`, change.at);
  event.pending = pending.map(boundedRequest);
  return { kind: 'event', event };
}

/** How long a change whose status write is not seen yet may be looked at again: then it is skipped. */
const inFlightLimitMs = 60_000;

function inFlight(run: RunRecord, change: RunChange, now: number): boolean {
  if (now - change.at > inFlightLimitMs) return false;
  const leased = run.leaseOwner !== undefined && run.leaseExpiresAt !== undefined && run.leaseExpiresAt > now;
  if (change.owner === undefined) return run.updatedAt < change.at && !terminalStatuses.has(run.status);
  return leased && run.leaseOwner === change.owner && run.updatedAt < change.at;
}

function endEvent(run: RunRecord): WebhookEvent {
  const type = statusEvents[run.status] as WebhookEventType;
  const event = baseEvent(run, type, `${run.id}|end`, run.endedAt ?? run.updatedAt);
  if (run.output !== undefined && run.status !== 'failed' && run.status !== 'cancelled') {
    const json = JSON.stringify(run.output);
    if (json === undefined || json.length <= maxValueJson) event.output = run.output;
    else event.outputPreview = json.slice(0, 1000);
  }
  if (run.error !== undefined) {
    const { name, message, code, fault } = run.error;
    event.error = { name, message: message.length > 2000 ? `${message.slice(0, 2000)}…` : message };
    if (code !== undefined) event.error.code = code;
    if (fault !== undefined) event.error.fault = fault;
  }
  return event;
}

function baseEvent(run: RunRecord, type: WebhookEventType, identity: string, at: number): WebhookEvent {
  const event: WebhookEvent = {
    id: `evt_${createHash('sha256').update(identity).digest('hex').slice(0, 32)}`,
    type,
    timestamp: new Date(at).toISOString(),
    runId: run.id,
    target: run.target,
    status: run.status,
    usage: run.usage,
    costUsd: run.costUsd,
  };
  if (run.threadId !== undefined) event.threadId = run.threadId;
  return event;
}

/** A pending request whose input is small enough to send; a larger input is left out (`inputOmitted`). */
function boundedRequest(request: PendingRequest): WebhookPendingRequest {
  if (request.input === undefined) return request;
  const json = JSON.stringify(request.input);
  if (json === undefined || json.length <= maxValueJson) return request;
  const { input: _input, ...rest } = request;
  return { ...rest, inputOmitted: true };
}

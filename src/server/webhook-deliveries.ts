/**
 * The delivery log of webhooks: one record stream where dispatchers claim attempts (the first
 * claim in the stream wins), record each attempt's outcome, and mark how far they took in the
 * run change feed; folded by every dispatcher into the same state.
 */

import type { Store } from '../index.js';

/**
 * The record stream of deliveries: claims, attempts, cancellations and feed positions.
 *
 * @example
 * ```ts
 * const records = await store.readRecords(webhookDeliveryStream, { after: 0, limit: 500 });
 * ```
 */
export const webhookDeliveryStream = 'webhooks:deliveries';

/** A dispatcher takes an attempt of a delivery. The first claim of an attempt that `replaces` the current claim (0: none) wins. */
export interface ClaimRecord {
  type: 'claim';
  /** `<webhook id>:<event id>`. */
  delivery: string;
  webhook: string;
  attempt: number;
  /** The seq of the claim this one takes over (its owner did not report in time), or 0. */
  replaces: number;
  owner: string;
  at: number;
  /** Until when the claim holds: another dispatcher may take over after it. */
  until: number;
  /** A delivery's first claim: its event, the exact body every attempt sends, and its feed position. */
  event?: { id: string; type: string; runId: string };
  body?: string;
  feed?: number;
}

/** How one attempt went: `delivered` (2xx), `retry` (at `nextAt`), `failed` (no more attempts). */
export interface AttemptRecord {
  type: 'attempt';
  delivery: string;
  webhook: string;
  event: { id: string; type: string; runId: string };
  attempt: number;
  outcome: 'delivered' | 'retry' | 'failed';
  /** The response's status code; absent when none came (a network error, a timeout). */
  statusCode?: number;
  error?: string;
  durationMs: number;
  at: number;
  nextAt?: number;
  owner: string;
}

/** A delivery stopped without an attempt (its subscription was revoked). */
export interface CancelRecord {
  type: 'cancel';
  delivery: string;
  webhook: string;
  event: { id: string; type: string; runId: string };
  reason: string;
  at: number;
}

/** Every change of the feed up to `feed` has its deliveries claimed. */
export interface CursorRecord {
  type: 'cursor';
  feed: number;
  at: number;
}

/** A record of the delivery stream. */
export type DeliveryRecord = ClaimRecord | AttemptRecord | CancelRecord | CursorRecord;

/** The state of one delivery, as the stream says. */
export interface DeliveryState {
  id: string;
  webhook: string;
  event: { id: string; type: string; runId: string };
  body: string;
  feed: number;
  /** The attempt claimed last. */
  attempt: number;
  claimSeq: number;
  claimOwner: string;
  claimUntil: number;
  /** The outcome of `attempt`, once reported. */
  outcome?: AttemptRecord['outcome'];
  nextAt?: number;
  done: boolean;
}

/**
 * The folded delivery stream. Every dispatcher folds the same records in the same order, so all
 * agree on which claim won. A delivery ended (delivered, failed, cancelled) whose feed position
 * a cursor passed is forgotten: a first claim at or below the cursor is a late duplicate and
 * ignored by every fold.
 */
export class DeliveryBook {
  readonly #open = new Map<string, DeliveryState>();
  /** The last seq read. */
  seen = 0;
  /** The highest feed position a cursor record gave. */
  cursor = 0;
  #reading: Promise<void> | undefined;

  /** Reads the records appended since the last read (concurrent calls share one read). */
  sync(store: Pick<Store, 'readRecords'>): Promise<void> {
    this.#reading ??= (async () => {
      for (;;) {
        const records = await store.readRecords(webhookDeliveryStream, { after: this.seen, limit: 500 });
        for (const record of records) {
          this.seen = record.seq;
          this.apply(record.seq, record.data as DeliveryRecord);
        }
        if (records.length < 500) return;
      }
    })().finally(() => {
      this.#reading = undefined;
    });
    return this.#reading;
  }

  get(id: string): DeliveryState | undefined {
    return this.#open.get(id);
  }

  /** Deliveries not ended. */
  pending(): DeliveryState[] {
    return [...this.#open.values()].filter((state) => !state.done);
  }

  apply(seq: number, record: DeliveryRecord): void {
    if (record === null || typeof record !== 'object') return;
    if (record.type === 'cursor') {
      if (typeof record.feed !== 'number' || record.feed <= this.cursor) return;
      this.cursor = record.feed;
      for (const [id, state] of this.#open)
        if (state.done && state.feed <= this.cursor) this.#open.delete(id);
      return;
    }
    if (typeof record.delivery !== 'string') return;
    const state = this.#open.get(record.delivery);
    if (record.type === 'claim') {
      if (state === undefined) {
        if (
          record.attempt !== 1 ||
          record.replaces !== 0 ||
          typeof record.body !== 'string' ||
          record.event === undefined ||
          typeof record.feed !== 'number' ||
          record.feed <= this.cursor
        )
          return;
        this.#open.set(record.delivery, {
          id: record.delivery,
          webhook: record.webhook,
          event: record.event,
          body: record.body,
          feed: record.feed,
          attempt: 1,
          claimSeq: seq,
          claimOwner: record.owner,
          claimUntil: record.until,
          done: false,
        });
        return;
      }
      if (state.done) return;
      const takeover =
        record.attempt === state.attempt && state.outcome === undefined && record.replaces === state.claimSeq;
      const next = record.attempt === state.attempt + 1 && state.outcome === 'retry' && record.replaces === 0;
      if (!takeover && !next) return;
      state.attempt = record.attempt;
      state.claimSeq = seq;
      state.claimOwner = record.owner;
      state.claimUntil = record.until;
      delete state.outcome;
      delete state.nextAt;
      return;
    }
    if (state === undefined || state.done) return;
    if (record.type === 'attempt') {
      // The first outcome of the current attempt counts (a claim taken over may still report).
      if (record.attempt !== state.attempt || state.outcome !== undefined) return;
      state.outcome = record.outcome;
      if (record.nextAt !== undefined) state.nextAt = record.nextAt;
      if (record.outcome !== 'retry') state.done = true;
    } else if (record.type === 'cancel') {
      state.done = true;
    }
  }
}

/** One row of a subscription's delivery log. */
export type WebhookDelivery =
  | Omit<AttemptRecord, 'type' | 'owner'>
  | (Omit<CancelRecord, 'type'> & { outcome: 'cancelled' });

/**
 * A subscription's delivery log, newest first: every attempt (with its outcome, status code,
 * error and duration) and every delivery cancelled by a revocation; at most `limit` (default 50).
 * Reads the whole delivery stream.
 *
 * @example
 * ```ts
 * for (const row of await listWebhookDeliveries(store, 'wh_0123456789ab', { limit: 20 }))
 *   console.log(row.event.type, row.outcome, 'statusCode' in row ? row.statusCode : '');
 * ```
 */
export async function listWebhookDeliveries(
  store: Pick<Store, 'readRecords'>,
  webhookId: string,
  options: { limit?: number } = {},
): Promise<WebhookDelivery[]> {
  const limit = options.limit ?? 50;
  const rows: WebhookDelivery[] = [];
  for (let after = 0; ; ) {
    const records = await store.readRecords(webhookDeliveryStream, { after, limit: 1000 });
    for (const { seq, data } of records) {
      after = seq;
      const record = data as DeliveryRecord;
      if (
        record === null ||
        typeof record !== 'object' ||
        !('webhook' in record) ||
        record.webhook !== webhookId
      )
        continue;
      if (record.type === 'attempt') {
        const { type: _type, owner: _owner, ...row } = record;
        rows.push(row);
      } else if (record.type === 'cancel') {
        const { type: _type, ...row } = record;
        rows.push({ ...row, outcome: 'cancelled' });
      }
    }
    if (records.length < 1000) break;
  }
  return rows.reverse().slice(0, limit);
}

/** The webhook dispatcher: follows the run change feed through the store, claims each delivery through the delivery stream, sends it signed, and retries with backoff. */

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import { type RunChange, runChangesStream } from '../core/run-changes.js';
import { ConfigError, type Store } from '../index.js';
import { firstAtOrAfter } from './record-search.js';
import {
  type ClaimRecord,
  DeliveryBook,
  type DeliveryState,
  webhookDeliveryStream,
} from './webhook-deliveries.js';
import { eventOf, eventTypeOf } from './webhook-events.js';
import { attemptDelivery, type WebhookRetryPolicy } from './webhook-send.js';
import { WebhookFold, type WebhookSubscription, webhookStream } from './webhooks.js';

/** Options of {@link createWebhookDispatcher}. */
export interface WebhookDispatcherOptions {
  /** The store the runs (and the subscriptions) live in. */
  store: Store;
  /** How often the store is read when nothing announced a change, in ms. Default 1000. */
  pollMs?: number;
  /** How long an attempt may wait for an answer, in ms. Default 10000. */
  timeoutMs?: number;
  /** Attempts in all per delivery. Default 12. */
  maxAttempts?: number;
  /** The delay before the second attempt, doubling after (with jitter). Default 5000. */
  retryBaseMs?: number;
  /** The longest delay between attempts (also caps Retry-After). Default 3600000 (1 h). */
  retryMaxMs?: number;
  /** A claim holds for `timeoutMs` plus this; then another dispatcher may take the attempt over. Default 10000. */
  claimGraceMs?: number;
  /** Requests in flight at once. Default 8. */
  concurrency?: number;
  /** The fetch to send with (default: the global one). */
  fetch?: typeof fetch;
  /** A failure of the store while dispatching (it is tried again at the next poll). Default: a line on stderr. */
  onError?: (error: unknown) => void;
}

const defaults = {
  pollMs: 1000,
  timeoutMs: 10_000,
  maxAttempts: 12,
  retryBaseMs: 5000,
  retryMaxMs: 3_600_000,
  claimGraceMs: 10_000,
  concurrency: 8,
} satisfies Partial<WebhookDispatcherOptions>;

const dispatcherOptionNames = optionNames<WebhookDispatcherOptions>({
  store: true,
  pollMs: true,
  timeoutMs: true,
  maxAttempts: true,
  retryBaseMs: true,
  retryMaxMs: true,
  claimGraceMs: true,
  concurrency: true,
  fetch: true,
  onError: true,
});

/** A running dispatcher. */
export interface WebhookDispatcher {
  /** This dispatcher's name in claims (`<host>:<pid>:<random>`). */
  readonly owner: string;
  /** Looks at the store now rather than at the next poll. */
  wake(): void;
  /** Stops: no new attempt starts; resolves once the attempts in flight have ended and been recorded. */
  close(): Promise<void>;
}

/** Changes that were subscribed to before this margin are looked for when a dispatcher starts without a cursor. */
const startMarginMs = 60_000;
/** A cursor record at most this often per dispatcher (a lagging cursor only means re-reading changes). */
const cursorEveryMs = 5000;

/**
 * Starts a dispatcher on `store`. Any number may run on one store (in `baton serve`, in workers,
 * in your own process): each delivery attempt is claimed in the delivery stream and the first
 * claim wins, so one dispatcher sends it. Delivery is at least once (docs/webhooks.md): a
 * dispatcher that dies after sending and before recording the outcome leaves the attempt to be
 * taken over once its claim runs out, and it is sent again with the same `Baton-Webhook-Id`.
 *
 * @example
 * ```ts
 * import { createWebhookDispatcher } from 'batonjs/server';
 * const dispatcher = createWebhookDispatcher({ store });
 * process.on('SIGTERM', () => void dispatcher.close());
 * ```
 */
export function createWebhookDispatcher(options: WebhookDispatcherOptions): WebhookDispatcher {
  checkOptionNames('createWebhookDispatcher()', options, dispatcherOptionNames);
  if (typeof options.store?.readRecords !== 'function')
    throw new ConfigError('createWebhookDispatcher(): store must be a Store (the one the runs live in).', {
      code: 'INVALID_OPTION',
    });
  const settings = { ...defaults, ...options };
  for (const name of Object.keys(defaults) as (keyof typeof defaults)[]) {
    const value = settings[name];
    const minimum = name === 'retryBaseMs' || name === 'claimGraceMs' ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < minimum)
      throw new ConfigError(
        `createWebhookDispatcher(): ${name} must be a whole number ≥ ${minimum}; got ${String(value)}.`,
        { code: 'INVALID_OPTION' },
      );
  }
  return new Dispatcher(settings);
}

type Settings = typeof defaults & WebhookDispatcherOptions;

class Dispatcher implements WebhookDispatcher {
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  readonly #settings: Settings;
  readonly #store: Store;
  readonly #book = new DeliveryBook();
  readonly #hooks = new WebhookFold();
  #hooksSeen = 0;
  /** The feed position taken in; undefined until there is a subscription. */
  #position: number | undefined;
  #cursorWrittenAt = 0;
  readonly #sending = new Map<string, Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #again = false;
  #closed = false;
  readonly #unsubscribe: (() => void) | undefined;
  readonly #retry: WebhookRetryPolicy;
  readonly #fetch: typeof fetch;

  constructor(settings: Settings) {
    this.#settings = settings;
    this.#store = settings.store;
    this.#retry = {
      maxAttempts: settings.maxAttempts,
      baseDelayMs: settings.retryBaseMs,
      maxDelayMs: settings.retryMaxMs,
    };
    this.#fetch = settings.fetch ?? fetch;
    // A run's status changed in some process (Postgres LISTEN/NOTIFY): look now.
    this.#unsubscribe = this.#store.subscribe?.((change) => {
      if (change.kind === 'run') this.wake();
    });
    this.wake();
  }

  wake(): void {
    if (this.#closed) return;
    if (this.#ticking !== undefined) {
      this.#again = true;
      return;
    }
    clearTimeout(this.#timer);
    this.#ticking = this.#tick()
      .catch((error: unknown) => this.#report(error))
      .finally(() => {
        this.#ticking = undefined;
        if (this.#closed) return;
        if (this.#again) {
          this.#again = false;
          this.wake();
        } else this.#schedule();
      });
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#unsubscribe?.();
    await this.#ticking;
    await Promise.all(this.#sending.values());
  }

  #report(error: unknown): void {
    if (this.#settings.onError !== undefined) this.#settings.onError(error);
    else process.stderr.write(`baton webhooks: ${error instanceof Error ? error.message : String(error)}\n`);
  }

  /** The next look: at the next poll, or sooner when a retry or a claim to take over falls due. */
  #schedule(): void {
    const now = Date.now();
    let next = now + this.#settings.pollMs;
    for (const state of this.#book.pending()) {
      if (this.#sending.has(state.id)) continue;
      const due = state.outcome === 'retry' ? (state.nextAt ?? now) : state.claimUntil;
      next = Math.min(next, due);
    }
    this.#timer = setTimeout(() => this.wake(), Math.max(10, next - now));
    this.#timer.unref?.();
  }

  async #tick(): Promise<void> {
    await this.#intake();
    if (this.#closed) return;
    await this.#dueWork();
  }

  /** Takes in new changes of the feed: each one a subscription wants becomes a claimed delivery. */
  async #intake(): Promise<void> {
    const store = this.#store;
    await this.#book.sync(store);
    let live = await this.#liveHooks();
    if (live.length === 0) {
      this.#position = undefined;
      return;
    }
    this.#position ??= await this.#startPosition(live);
    const from = Math.max(this.#position, this.#book.cursor);
    const changes = await store.readRecords(runChangesStream, { after: from, limit: 200 });
    if (changes.length === 0) {
      this.#position = from;
      return;
    }
    // Subscriptions read after the changes: one created before a change was stored is seen.
    live = await this.#liveHooks();
    let taken = from;
    const claims: Promise<{ delivery: string; seq: number }>[] = [];
    for (const { seq, data } of changes) {
      const change = data as RunChange;
      const type = eventTypeOf(change.status);
      const wanted = live.filter(
        (hook) =>
          hook.createdAt <= change.at &&
          (hook.targets === undefined || hook.targets.includes(change.target)) &&
          (type === 'run.waiting'
            ? hook.events.includes('run.waiting')
            : hook.events.some((event) => event !== 'run.waiting')),
      );
      if (type === undefined || wanted.length === 0) {
        taken = seq;
        continue;
      }
      const outcome = await eventOf(store, change, Date.now());
      if (outcome.kind === 'later') break;
      taken = seq;
      if (outcome.kind === 'skip') continue;
      const { event } = outcome;
      const body = JSON.stringify(event);
      for (const hook of wanted) {
        if (!hook.events.includes(event.type)) continue;
        const delivery = `${hook.id}:${event.id}`;
        if (this.#book.get(delivery) !== undefined) continue;
        claims.push(
          this.#claim({
            delivery,
            webhook: hook.id,
            attempt: 1,
            replaces: 0,
            event: { id: event.id, type: event.type, runId: event.runId },
            body,
            feed: seq,
          }),
        );
      }
    }
    await this.#sendWon(await Promise.all(claims));
    this.#position = taken;
    const now = Date.now();
    if (
      taken > this.#book.cursor &&
      (now - this.#cursorWrittenAt >= cursorEveryMs || taken - this.#book.cursor >= 500)
    ) {
      this.#cursorWrittenAt = now;
      await store.appendRecord(webhookDeliveryStream, { type: 'cursor', feed: taken, at: now }, now);
    }
    if (changes.length === 200) this.#again = true;
  }

  /** Where a dispatcher with no position starts in the feed: past the cursor, and not before the oldest live subscription. */
  async #startPosition(live: readonly WebhookSubscription[]): Promise<number> {
    const oldest = Math.min(...live.map((hook) => hook.createdAt));
    const first = await firstAtOrAfter(this.#store, runChangesStream, oldest - startMarginMs);
    return Math.max(this.#book.cursor, first - 1);
  }

  /** Retries that fell due and claims that ran out: claimed again. */
  async #dueWork(): Promise<void> {
    const now = Date.now();
    const claims: Promise<{ delivery: string; seq: number }>[] = [];
    for (const state of this.#book.pending()) {
      if (this.#sending.has(state.id)) continue;
      if (this.#sending.size + claims.length >= this.#settings.concurrency) break;
      const hook = this.#hooks.get(state.webhook);
      // Not read yet: subscriptions are append-only, so the next look has it.
      if (hook === undefined) continue;
      if (hook.revokedAt !== undefined) {
        await this.#cancel(state, 'the subscription was revoked');
        continue;
      }
      const base = { delivery: state.id, webhook: state.webhook };
      if (state.outcome === 'retry' && (state.nextAt ?? 0) <= now)
        claims.push(this.#claim({ ...base, attempt: state.attempt + 1, replaces: 0 }));
      else if (state.outcome === undefined && state.claimUntil <= now)
        claims.push(this.#claim({ ...base, attempt: state.attempt, replaces: state.claimSeq }));
    }
    await this.#sendWon(await Promise.all(claims));
  }

  async #claim(
    fields: Omit<ClaimRecord, 'type' | 'owner' | 'at' | 'until'>,
  ): Promise<{ delivery: string; seq: number }> {
    const at = Date.now();
    const record: ClaimRecord = {
      type: 'claim',
      ...fields,
      owner: this.owner,
      at,
      until: at + this.#settings.timeoutMs + this.#settings.claimGraceMs,
    };
    return {
      delivery: fields.delivery,
      seq: await this.#store.appendRecord(webhookDeliveryStream, record, at),
    };
  }

  /** Reads the stream up to the claims just made, and sends those that won. */
  async #sendWon(claims: readonly { delivery: string; seq: number }[]): Promise<void> {
    if (claims.length === 0) return;
    // Up to the last claim (a read shared with one begun before the claims were stored may stop short).
    const last = Math.max(...claims.map((claim) => claim.seq));
    do await this.#book.sync(this.#store);
    while (this.#book.seen < last);
    for (const { delivery, seq } of claims) {
      const state = this.#book.get(delivery);
      if (state === undefined || state.claimSeq !== seq || this.#closed) continue;
      const sending = this.#send(state).finally(() => {
        this.#sending.delete(delivery);
        this.wake();
      });
      this.#sending.set(delivery, sending);
    }
  }

  async #send(state: DeliveryState): Promise<void> {
    const hook = this.#hooks.get(state.webhook);
    if (hook === undefined) return;
    if (hook.revokedAt !== undefined) {
      await this.#cancel(state, 'the subscription was revoked').catch((error: unknown) =>
        this.#report(error),
      );
      return;
    }
    const result = await attemptDelivery({
      url: hook.url,
      secret: hook.secret,
      eventId: state.event.id,
      body: state.body,
      attempt: state.attempt,
      timeoutMs: this.#settings.timeoutMs,
      retry: this.#retry,
      fetch: this.#fetch,
      now: Date.now,
      random: Math.random,
    });
    const at = Date.now();
    await this.#store
      .appendRecord(
        webhookDeliveryStream,
        {
          type: 'attempt',
          delivery: state.id,
          webhook: state.webhook,
          event: state.event,
          attempt: state.attempt,
          ...result,
          at,
          owner: this.owner,
        },
        at,
      )
      .catch((error: unknown) => this.#report(error));
  }

  async #cancel(state: DeliveryState, reason: string): Promise<void> {
    const at = Date.now();
    await this.#store.appendRecord(
      webhookDeliveryStream,
      { type: 'cancel', delivery: state.id, webhook: state.webhook, event: state.event, reason, at },
      at,
    );
    // Marked at once, so this look does not cancel it again.
    this.#book.apply(0, {
      type: 'cancel',
      delivery: state.id,
      webhook: state.webhook,
      event: state.event,
      reason,
      at,
    });
  }

  /** The subscriptions not revoked, after reading the records added since the last look. */
  async #liveHooks(): Promise<WebhookSubscription[]> {
    for (;;) {
      const records = await this.#store.readRecords(webhookStream, { after: this.#hooksSeen, limit: 500 });
      for (const record of records) {
        this.#hooksSeen = record.seq;
        this.#hooks.apply(record.data);
      }
      if (records.length < 500) break;
    }
    return this.#hooks.all().filter((hook) => hook.revokedAt === undefined);
  }
}

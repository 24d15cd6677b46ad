/** Webhook subscriptions: created with a signing secret shown once, listed, revoked; kept as a record stream in the store, like API keys. */

import { randomBytes } from 'node:crypto';
import { runChangeConsumersStream } from '../core/run-changes.js';
import { didYouMean } from '../core/suggest.js';
import { ConfigError, type Store } from '../index.js';

/** What a subscription can be sent. `run.waiting`: the run waits for a person (an approval, a human member, a `waitFor` signal). */
export type WebhookEventType =
  | 'run.completed'
  | 'run.failed'
  | 'run.cancelled'
  | 'run.budget_exceeded'
  | 'run.waiting';

/**
 * Every event type, in order.
 *
 * @example
 * ```ts
 * webhookEventTypes.includes('run.waiting'); // true
 * ```
 */
export const webhookEventTypes: readonly WebhookEventType[] = [
  'run.completed',
  'run.failed',
  'run.cancelled',
  'run.budget_exceeded',
  'run.waiting',
];

/** A stored subscription, without its secret. */
export interface WebhookInfo {
  /** `wh_` and 12 hex digits. */
  id: string;
  url: string;
  events: WebhookEventType[];
  /** When set, only runs of these targets. */
  targets?: string[];
  description?: string;
  createdAt: number;
  revokedAt?: number;
}

/** A subscription with the secret its requests are signed with (the dispatcher's view). */
export interface WebhookSubscription extends WebhookInfo {
  secret: string;
}

/**
 * The record stream of subscriptions (`create` records, which hold the signing secret, and
 * `revoke` records; folded when read).
 *
 * @example
 * ```ts
 * const records = await store.readRecords(webhookStream);
 * ```
 */
export const webhookStream = 'webhooks:subscriptions';

/** Options of {@link createWebhook}. */
export interface CreateWebhookOptions {
  /** Where to POST events: `https://…`; `http://` only to a loopback host unless `allowHttp`. */
  url: string;
  events: readonly string[];
  targets?: readonly string[];
  description?: string;
  /** Allow a plain `http://` URL to a host other than loopback (requests and signatures travel in clear). */
  allowHttp?: boolean;
  now?: number;
}

/** One problem of a subscription's options: where (`url`, `events.1`, …) and what. */
export interface WebhookProblem {
  path: (string | number)[];
  message: string;
}

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The problems of a subscription's options, each with where it is; empty when they are fine.
 * `createWebhook` throws them; the HTTP API answers them as 400 `INVALID_REQUEST` issues.
 *
 * @example
 * ```ts
 * webhookProblems({ url: 'ftp://x', events: ['run.complete'] });
 * // [{ path: ['url'], … }, { path: ['events', 0], message: 'unknown event "run.complete". Did you mean "run.completed"? …' }]
 * ```
 */
export function webhookProblems(options: CreateWebhookOptions): WebhookProblem[] {
  const problems: WebhookProblem[] = [];
  const url = urlProblem(options.url, options.allowHttp === true);
  if (url !== undefined) problems.push({ path: ['url'], message: url });
  if (!Array.isArray(options.events) || options.events.length === 0) {
    problems.push({ path: ['events'], message: `name at least one event: ${webhookEventTypes.join(', ')}` });
  } else {
    options.events.forEach((event, index) => {
      if (typeof event !== 'string' || !webhookEventTypes.includes(event as WebhookEventType)) {
        const name = String(event);
        const normalized = name.toLowerCase().replace(/-/g, '_');
        const hint = webhookEventTypes.includes(normalized as WebhookEventType)
          ? ` Did you mean "${normalized}"?`
          : didYouMean(normalized, webhookEventTypes);
        problems.push({
          path: ['events', index],
          message: `unknown event "${name}".${hint} Events: ${webhookEventTypes.join(', ')}`,
        });
      }
    });
  }
  if (options.targets !== undefined) {
    if (!Array.isArray(options.targets))
      problems.push({ path: ['targets'], message: 'must be a list of names' });
    else
      options.targets.forEach((target, index) => {
        if (typeof target !== 'string' || target.length === 0 || target.length > 200)
          problems.push({ path: ['targets', index], message: 'a target name is 1 to 200 characters' });
      });
  }
  if (
    options.description !== undefined &&
    (typeof options.description !== 'string' || options.description.length > 200)
  )
    problems.push({ path: ['description'], message: 'at most 200 characters' });
  return problems;
}

function urlProblem(value: unknown, allowHttp: boolean): string | undefined {
  if (typeof value !== 'string' || value === '') return 'give the URL to POST events to (https://…)';
  if (value.length > 2000) return 'a URL of at most 2000 characters';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not a URL; give an absolute https:// URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    return `"${value}" is a ${url.protocol} URL; webhooks are sent to http(s) URLs only`;
  if (url.protocol === 'http:' && !allowHttp && !loopbackHosts.has(url.hostname))
    return `"${value}" is plain http to a host that is not loopback: use https (or allowHttp / --allow-http to send in clear)`;
  if (url.username !== '' || url.password !== '')
    return 'the URL holds a user name or password: they would be stored and listed; authenticate requests by their signature';
  if (url.hash !== '') return 'the URL has a #fragment, which is never sent; remove it';
  return undefined;
}

/**
 * Creates a subscription and its signing secret (`whsec_` and 32 random bytes, base64url),
 * returned once. The store keeps the secret itself, in the subscription's record: computing an
 * HMAC needs it, so anyone who can read the store can sign events (protect the store as you
 * would the secret). Throws a `ConfigError` coded `INVALID_OPTION` naming each problem.
 *
 * @example
 * ```ts
 * const { secret, info } = await createWebhook(store, {
 *   url: 'https://hooks.example.com/baton',
 *   events: ['run.completed', 'run.failed', 'run.waiting'],
 *   targets: ['expense'],
 * });
 * ```
 */
export async function createWebhook(
  store: Store,
  options: CreateWebhookOptions,
): Promise<{ secret: string; info: WebhookInfo }> {
  const problems = webhookProblems(options);
  if (problems.length > 0) {
    throw new ConfigError(
      `createWebhook(): ${problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`).join('; ')}.`,
      { code: 'INVALID_OPTION' },
    );
  }
  const info: WebhookInfo = {
    id: `wh_${randomBytes(6).toString('hex')}`,
    url: new URL(options.url).href,
    events: webhookEventTypes.filter((event) => options.events.includes(event)),
    createdAt: options.now ?? Date.now(),
  };
  if (options.targets !== undefined && options.targets.length > 0)
    info.targets = [...new Set(options.targets)];
  if (options.description !== undefined) info.description = options.description;
  const secret = `whsec_${randomBytes(32).toString('base64url')}`;
  // Runtimes write the change feed while someone wants it: from now on (within about a second).
  await store.appendRecord(
    runChangeConsumersStream,
    { consumer: `webhook:${info.id}`, wanted: true },
    info.createdAt,
  );
  await store.appendRecord(webhookStream, { type: 'create', ...info, secret }, info.createdAt);
  return { secret, info };
}

/**
 * Every subscription ever created, oldest first, without secrets; revoked ones with `revokedAt`.
 *
 * @example
 * ```ts
 * for (const hook of await listWebhooks(store)) console.log(hook.id, hook.url, hook.events.join(','));
 * ```
 */
export async function listWebhooks(store: Store): Promise<WebhookInfo[]> {
  return (await readWebhooks(store)).map(({ secret: _secret, ...info }) => info);
}

/**
 * Revokes a subscription: nothing more is sent to it, retries pending included. Resolves false
 * when there is no such subscription.
 *
 * @example
 * ```ts
 * await revokeWebhook(store, 'wh_0123456789ab');
 * ```
 */
export async function revokeWebhook(store: Store, id: string, now = Date.now()): Promise<boolean> {
  const found = (await readWebhooks(store)).find((hook) => hook.id === id);
  if (found === undefined) return false;
  if (found.revokedAt === undefined) {
    await store.appendRecord(webhookStream, { type: 'revoke', id, at: now }, now);
    await store.appendRecord(runChangeConsumersStream, { consumer: `webhook:${id}`, wanted: false }, now);
  }
  return true;
}

/** Every subscription with its secret (the dispatcher's view). */
export async function readWebhooks(store: Pick<Store, 'readRecords'>): Promise<WebhookSubscription[]> {
  const folded = new WebhookFold();
  for (const record of await store.readRecords(webhookStream)) folded.apply(record.data);
  return folded.all();
}

/** Subscriptions folded from their records, one record at a time (for a tail that reads only new records). */
export class WebhookFold {
  readonly #hooks = new Map<string, WebhookSubscription>();

  /** Applies one record; malformed ones are skipped. */
  apply(data: unknown): void {
    const record = data as Partial<WebhookSubscription & { type: string; at: number }> | null;
    if (record === null || typeof record !== 'object' || typeof record.id !== 'string') return;
    if (
      record.type === 'create' &&
      typeof record.secret === 'string' &&
      typeof record.url === 'string' &&
      Array.isArray(record.events)
    ) {
      const { type: _type, ...hook } = record as WebhookSubscription & { type: string };
      this.#hooks.set(hook.id, hook);
    } else if (record.type === 'revoke') {
      const hook = this.#hooks.get(record.id);
      if (hook !== undefined && hook.revokedAt === undefined && typeof record.at === 'number')
        hook.revokedAt = record.at;
    }
  }

  get(id: string): WebhookSubscription | undefined {
    return this.#hooks.get(id);
  }

  all(): WebhookSubscription[] {
    return [...this.#hooks.values()];
  }
}

/** Signing webhook requests (HMAC-SHA256 over `<id>.<timestamp>.<body>`) and checking a signature on the receiving side. */

import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The headers of every webhook request: the event id (the same on every retry), the time of the
 * attempt (seconds since the epoch) and the signature (`v1=<hex>`).
 *
 * @example
 * ```ts
 * request.headers.get(webhookHeaders.id); // 'evt_…'
 * ```
 */
export const webhookHeaders = {
  id: 'Baton-Webhook-Id',
  timestamp: 'Baton-Webhook-Timestamp',
  signature: 'Baton-Webhook-Signature',
} as const;

/**
 * The signature header's value: `v1=` and the hex HMAC-SHA256, keyed with the secret's UTF-8
 * bytes (the whole `whsec_…` string), of `<id>.<timestamp>.<body>`.
 *
 * @example
 * ```ts
 * const signature = signWebhook(secret, 'evt_1', 1765000000, '{"type":"run.completed"}'); // 'v1=5f…'
 * ```
 */
export function signWebhook(secret: string, id: string, timestamp: number | string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('hex')}`;
}

/** Options of {@link verifyWebhookSignature}. */
export interface VerifyWebhookOptions {
  /** The subscription's secret (`whsec_…`). */
  secret: string;
  /** The request body exactly as received (the raw text, before any JSON parsing). */
  body: string;
  /** The request headers: a `Headers` or a plain object (Node's `req.headers`, any case). */
  headers: Headers | Readonly<Record<string, string | readonly string[] | undefined>>;
  /** How far the timestamp may be from now, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Now, in ms since the epoch (tests). Default `Date.now()`. */
  now?: number;
}

/**
 * True when the request carries a valid signature for its body, made with `secret`, and its
 * timestamp is within `toleranceSeconds` (default 5 minutes) of now, so a captured request
 * cannot be replayed later. The header may hold several space-separated `v1=` signatures; one
 * that matches is enough. Compares in constant time.
 *
 * @example
 * ```ts
 * import { verifyWebhookSignature } from 'batonjs/server';
 * const body = await request.text();
 * if (!verifyWebhookSignature({ secret: process.env.BATON_WEBHOOK_SECRET!, body, headers: request.headers }))
 *   return new Response('bad signature', { status: 401 });
 * const event = JSON.parse(body);
 * ```
 */
export function verifyWebhookSignature(options: VerifyWebhookOptions): boolean {
  const id = header(options.headers, webhookHeaders.id);
  const timestamp = header(options.headers, webhookHeaders.timestamp);
  const signatures = header(options.headers, webhookHeaders.signature);
  if (id === undefined || timestamp === undefined || signatures === undefined) return false;
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  const tolerance = options.toleranceSeconds ?? 300;
  const now = (options.now ?? Date.now()) / 1000;
  if (Math.abs(now - Number(timestamp)) > tolerance) return false;
  const expected = Buffer.from(signWebhook(options.secret, id, timestamp, options.body));
  let valid = false;
  for (const candidate of signatures.split(' ')) {
    const given = Buffer.from(candidate);
    if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true;
  }
  return valid;
}

function header(headers: VerifyWebhookOptions['headers'], name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted) continue;
    return typeof value === 'string' ? value : Array.isArray(value) ? value.join(' ') : undefined;
  }
  return undefined;
}

/** One webhook attempt: the signed POST, and how its answer decides what happens next (delivered, retry with backoff, failed). */

import { signWebhook, webhookHeaders } from './webhook-signature.js';

/** How attempts are retried. */
export interface WebhookRetryPolicy {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** The delay before the second attempt; it doubles for each attempt after. */
  baseDelayMs: number;
  /** No delay (backoff or Retry-After) is longer. */
  maxDelayMs: number;
}

/** What one attempt gave. */
export interface AttemptResult {
  outcome: 'delivered' | 'retry' | 'failed';
  statusCode?: number;
  error?: string;
  durationMs: number;
  nextAt?: number;
}

/** What the attempt sends. */
export interface AttemptRequest {
  url: string;
  secret: string;
  eventId: string;
  body: string;
  attempt: number;
  timeoutMs: number;
  retry: WebhookRetryPolicy;
  fetch: typeof fetch;
  now: () => number;
  random: () => number;
}

/**
 * POSTs the body once, signed for this attempt's timestamp, and classifies the answer: 2xx is
 * delivered; a network error, a timeout, 429 or 5xx is retried after the backoff (or the
 * answer's `Retry-After`) unless this was the last attempt; any other status (a redirect, 4xx)
 * fails at once. Never throws.
 */
export async function attemptDelivery(request: AttemptRequest): Promise<AttemptResult> {
  const started = request.now();
  const timestamp = Math.floor(started / 1000);
  let statusCode: number | undefined;
  let retryAfter: string | null = null;
  let error: string | undefined;
  try {
    const response = await request.fetch(request.url, {
      method: 'POST',
      body: request.body,
      redirect: 'manual',
      signal: AbortSignal.timeout(request.timeoutMs),
      headers: {
        'content-type': 'application/json',
        'user-agent': 'Baton-Webhooks/1',
        [webhookHeaders.id]: request.eventId,
        [webhookHeaders.timestamp]: String(timestamp),
        [webhookHeaders.signature]: signWebhook(request.secret, request.eventId, timestamp, request.body),
      },
    });
    statusCode = response.status;
    retryAfter = response.headers.get('retry-after');
    const answer = await readSome(response, 500);
    if (statusCode < 200 || statusCode >= 300)
      error = `HTTP ${statusCode}${answer === '' ? '' : `: ${answer.replace(/\s+/g, ' ').trim()}`}`;
  } catch (caught) {
    const name = (caught as Error)?.name;
    error =
      name === 'TimeoutError' || name === 'AbortError'
        ? `no answer within ${request.timeoutMs} ms`
        : `request failed: ${describe(caught)}`;
  }
  const ended = request.now();
  const durationMs = ended - started;
  if (statusCode !== undefined && statusCode >= 200 && statusCode < 300)
    return { outcome: 'delivered', statusCode, durationMs };
  const retryable = statusCode === undefined || statusCode === 429 || statusCode >= 500;
  const result: AttemptResult = { outcome: 'failed', durationMs };
  if (statusCode !== undefined) result.statusCode = statusCode;
  if (!retryable) {
    result.error = `${error ?? `HTTP ${statusCode}`} (not retried: only network errors, timeouts, 429 and 5xx are)`;
    return result;
  }
  if (request.attempt >= request.retry.maxAttempts) {
    result.error = `${error}; gave up after ${request.attempt} attempts`;
    return result;
  }
  result.outcome = 'retry';
  if (error !== undefined) result.error = error;
  result.nextAt = ended + retryDelay(request, retryAfter, ended);
  return result;
}

/**
 * The delay before the next attempt: `Retry-After` (seconds or an HTTP date) when the answer
 * had one, else `baseDelayMs × 2^(attempt − 1)` with jitter (between half and all of it); both
 * at most `maxDelayMs`.
 */
export function retryDelay(
  request: Pick<AttemptRequest, 'attempt' | 'retry' | 'random'>,
  retryAfter: string | null,
  now: number,
): number {
  const { baseDelayMs, maxDelayMs } = request.retry;
  const asked = parseRetryAfter(retryAfter, now);
  if (asked !== undefined) return Math.min(maxDelayMs, asked);
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (request.attempt - 1));
  return Math.round(exponential / 2 + (request.random() * exponential) / 2);
}

function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Up to `limit` characters of the answer's body; the rest is not read. */
async function readSome(response: Response, limit: number): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < limit) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += decoder.decode(chunk.value, { stream: true });
    }
  } catch {
    // A body cut short says nothing more about the attempt than its status.
  } finally {
    reader.cancel().catch(() => {});
  }
  return text.slice(0, limit);
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const message = error instanceof Error ? error.message : String(error);
  if (cause?.code !== undefined) return `${message} (${cause.code})`;
  return cause?.message === undefined ? message : `${message}: ${cause.message}`;
}

/** Error classification: which route (retry, back to the model, human, fail fast) a failure takes. */

import type { APICallError } from '@ai-sdk/provider';
import { BatonError, type ErrorClass } from '../../core/errors.js';
import { isPolicyError } from './cockatiel.js';

const classes: readonly ErrorClass[] = ['transient', 'recoverable', 'escalate', 'fatal'];

/**
 * True for an AI SDK error of the given name (`AI_APICallError`, ...), from any copy of the AI
 * SDK: the check its own `isInstance` makes (a `Symbol.for('vercel.ai.error.<name>')` marker set
 * to true), without loading `@ai-sdk/provider` when the package is imported.
 *
 * @example
 * ```ts
 * if (isAiSdkError(error, 'AI_APICallError')) console.log(error.statusCode);
 * ```
 */
export function isAiSdkError(value: unknown, name: 'AI_APICallError'): value is APICallError;
export function isAiSdkError(value: unknown, name: string): value is Error;
export function isAiSdkError(value: unknown, name: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const marker = Symbol.for(`vercel.ai.error.${name}`);
  return marker in value && (value as Record<symbol, unknown>)[marker] === true;
}

/**
 * True for the four error classes.
 *
 * @example
 * ```ts
 * isErrorClass('transient'); // true
 * ```
 */
export function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === 'string' && (classes as readonly string[]).includes(value);
}

/** Baton error codes of failures that a later attempt can get past. */
const transientCodes = new Set(['TOOL_TIMEOUT', 'MODEL_TIMEOUT', 'MODEL_STREAM_ERROR', 'CIRCUIT_OPEN']);

const networkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/** The class of an HTTP status: 408, 409, 429 and 5xx are transient; a 2xx failure is a malformed body (transient); other 4xx are fatal. */
export function statusClass(status: number): ErrorClass {
  if (status === 408 || status === 409 || status === 429 || status >= 500) return 'transient';
  if (status < 300) return 'transient';
  return 'fatal';
}

/**
 * Classifies a failure of a model call (`kind: 'model'`) or a tool (`kind: 'tool'`):
 * an `errorClass` property on the error (or its causes) wins; then breaker/bulkhead/timeout
 * errors, HTTP statuses, malformed or incomplete responses, a stream's error part
 * (`MODEL_STREAM_ERROR`) and network errors are `transient`; configuration
 * errors and other 4xx are `fatal`; anything else is `fatal` for models and `recoverable` for tools.
 *
 * @example
 * ```ts
 * classifyError(new ModelCallError('rate limited', { model: 'openai:gpt-4o', statusCode: 429 }), 'model'); // 'transient'
 * ```
 */
export function classifyError(error: unknown, kind: 'model' | 'tool'): ErrorClass {
  const declared = declaredClass(error);
  if (declared !== undefined) return declared;
  if (isPolicyError(error)) return 'transient';
  if (BatonError.isInstance(error)) {
    if (error.name === 'ConfigError' || error.code === 'CONFIG') return 'fatal';
    if (transientCodes.has(error.code)) return 'transient';
    const status = (error as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number') return statusClass(status);
  }
  const api = findCause(error, (candidate) => isAiSdkError(candidate, 'AI_APICallError')) as
    | APICallError
    | undefined;
  if (api !== undefined) {
    if (api.statusCode !== undefined) return statusClass(api.statusCode);
    return api.isRetryable ? 'transient' : 'fatal';
  }
  if (
    findCause(
      error,
      (candidate) =>
        isAiSdkError(candidate, 'AI_JSONParseError') ||
        isAiSdkError(candidate, 'AI_TypeValidationError') ||
        isAiSdkError(candidate, 'AI_InvalidResponseDataError'),
    )
  )
    return 'transient';
  if (findCause(error, isNetworkError)) return 'transient';
  return kind === 'model' ? 'fatal' : 'recoverable';
}

/**
 * How long the provider asked to wait before retrying (`retry-after-ms`, or `retry-after` in
 * seconds or as an HTTP date), from the error's `retryAfterMs` property or the response headers
 * of an AI SDK `APICallError` among its causes.
 *
 * @example
 * ```ts
 * retryAfterMs(new APICallError({ message: 'slow down', url, requestBodyValues: {}, statusCode: 429, responseHeaders: { 'retry-after': '2' } })); // 2000
 * ```
 */
export function retryAfterMs(error: unknown, now: number = Date.now()): number | undefined {
  const own = findCause(
    error,
    (candidate) => typeof (candidate as { retryAfterMs?: unknown }).retryAfterMs === 'number',
  );
  if (own !== undefined) return (own as { retryAfterMs: number }).retryAfterMs;
  const api = findCause(error, (candidate) => isAiSdkError(candidate, 'AI_APICallError')) as
    | APICallError
    | undefined;
  const headers = api?.responseHeaders;
  if (headers === undefined) return undefined;
  const header = (name: string) => {
    for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === name) return value;
    return undefined;
  };
  const ms = Number.parseFloat(header('retry-after-ms') ?? '');
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const after = header('retry-after');
  if (after === undefined) return undefined;
  const seconds = Number.parseFloat(after);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}

function declaredClass(error: unknown): ErrorClass | undefined {
  const found = findCause(error, (candidate) =>
    isErrorClass((candidate as { errorClass?: unknown }).errorClass),
  );
  return found === undefined ? undefined : (found as { errorClass: ErrorClass }).errorClass;
}

function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && networkCodes.has(code)) return true;
  return error instanceof TypeError && /fetch failed|network|socket/i.test(error.message);
}

/** The error or the first of its causes (up to 5 deep) that matches. */
function findCause(error: unknown, test: (candidate: object) => boolean): object | undefined {
  let current = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    if (test(current)) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

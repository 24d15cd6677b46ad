/** The dashboard's client of the HTTP API: the API key (kept in localStorage), JSON requests, and SSE read over fetch (so the key goes in a header). */

import { signal } from '@preact/signals';

const keyItem = 'baton.apiKey';

function readStoredKey(): string | undefined {
  try {
    return localStorage.getItem(keyItem) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The API key this browser sends (`Authorization: Bearer …`), if one was given. */
export const apiKey = signal<string | undefined>(readStoredKey());

/** Why the key prompt shows: set by a 401 (no key, or one the server refuses); cleared by a new key. */
export const keyProblem = signal<string | undefined>(undefined);

/**
 * Keeps `key` in this browser and uses it from now on; `undefined` forgets it.
 *
 * @example
 * ```ts
 * saveKey('bk_…');
 * ```
 */
export function saveKey(key: string | undefined): void {
  try {
    if (key === undefined) localStorage.removeItem(keyItem);
    else localStorage.setItem(keyItem, key);
  } catch {
    // Private windows may refuse storage: the key then lasts for this page only.
  }
  apiKey.value = key;
  keyProblem.value = key === undefined ? 'No API key: paste one to continue.' : undefined;
}

/** An error answer of the API: its HTTP status, code and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** API paths resolve against the page, so a dashboard mounted under a prefix calls the API under it. */
function url(path: string): string {
  return new URL(path, document.baseURI).href;
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = apiKey.value;
  return key === undefined ? extra : { ...extra, authorization: `Bearer ${key}` };
}

async function failure(response: Response, signal?: AbortSignal): Promise<ApiError> {
  let code = 'HTTP_ERROR';
  let message = `${response.status} ${response.statusText}`;
  let read = false;
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
    read = true;
  } catch {
    // Not JSON (or the request was aborted while its body was read): the status line says enough.
  }
  // A request aborted meanwhile (the page moved on) does not replace what another answer said.
  const stale = signal?.aborted === true || (!read && keyProblem.value !== undefined);
  if (response.status === 401 && !stale) {
    keyProblem.value =
      apiKey.value === undefined
        ? 'This server needs an API key.'
        : `The server refused this key: ${message}`;
  }
  return new ApiError(response.status, code, message);
}

/**
 * A JSON request to the API (`v1/…`, relative to the page). Rejects with an {@link ApiError}; a
 * 401 also raises the key prompt.
 *
 * @example
 * ```ts
 * const { runs } = await api<{ runs: Run[] }>('v1/runs?limit=50');
 * ```
 */
export async function api<T>(
  path: string,
  options: { method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  const init: RequestInit = {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    headers: headers(options.body === undefined ? {} : { 'content-type': 'application/json' }),
  };
  if (options.body !== undefined) init.body = JSON.stringify(options.body);
  if (options.signal !== undefined) init.signal = options.signal;
  const response = await fetch(url(path), init);
  if (!response.ok) throw await failure(response, options.signal);
  return (await response.json()) as T;
}

/** One server-sent event. */
export interface StreamEvent {
  id: string | undefined;
  event: string;
  data: string;
}

/** Options of {@link followStream}. */
export interface FollowOptions {
  /** Called with each event, in order. */
  onEvent(event: StreamEvent): void;
  /** Called when the stream connects (true) or drops (false). */
  onState?(connected: boolean): void;
  /** Called with an answer other than 200 (the stream stops; a 401 also raises the key prompt). */
  onError?(error: ApiError): void;
  /** Where to resume from when the stream starts (`Last-Event-ID`). */
  lastEventId?: string;
  /** Ends the stream. */
  signal: AbortSignal;
}

/**
 * Follows an SSE route of the API over `fetch` (EventSource cannot send the key), reconnecting
 * with `Last-Event-ID` after a drop, until `signal` aborts or the server ends the stream on
 * purpose (an `end` event) or answers with an error.
 *
 * @example
 * ```ts
 * followStream('v1/events', { signal, onEvent: (event) => console.log(event.data) });
 * ```
 */
export async function followStream(path: string, options: FollowOptions): Promise<void> {
  let lastEventId = options.lastEventId;
  let ended = false;
  while (!options.signal.aborted && !ended) {
    try {
      const extra: Record<string, string> = { accept: 'text/event-stream' };
      if (lastEventId !== undefined) extra['last-event-id'] = lastEventId;
      const response = await fetch(url(path), { headers: headers(extra), signal: options.signal });
      if (!response.ok || response.body === null) {
        options.onError?.(await failure(response, options.signal));
        return;
      }
      options.onState?.(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += chunk.value.replace(/\r\n?/g, '\n');
        let boundary = buffer.indexOf('\n\n');
        while (boundary !== -1) {
          const event = parseBlock(buffer.slice(0, boundary));
          buffer = buffer.slice(boundary + 2);
          boundary = buffer.indexOf('\n\n');
          if (event === undefined) continue;
          if (event.id !== undefined) lastEventId = event.id;
          if (event.event === 'end') ended = true;
          options.onEvent(event);
        }
      }
    } catch {
      // A dropped connection (or an abort): reconnect below unless aborted.
    }
    if (options.signal.aborted || ended) break;
    options.onState?.(false);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** One SSE block (lines up to a blank line); undefined for a comment-only block (a heartbeat). */
function parseBlock(block: string): StreamEvent | undefined {
  let id: string | undefined;
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') id = value;
    else if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0 && id === undefined) return undefined;
  return { id, event, data: data.join('\n') };
}

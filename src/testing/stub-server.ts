/** A real HTTP server speaking the OpenAI Chat Completions API, with scripted replies and injectable faults. */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  completionBody,
  completionChunks,
  errorBody,
  openingChunk,
  resolveCompletion,
  type StubChatRequest,
  type StubCompletion,
} from './chat-completion-wire.js';
import { sleep } from './playback-helpers.js';

export type {
  StubChatMessage,
  StubChatRequest,
  StubCompletion,
  StubToolCall,
} from './chat-completion-wire.js';

/**
 * A scripted failure.
 * - `status`: answer with this HTTP status, headers (e.g. `retry-after`) and body (an object is
 *   sent as JSON, a string as is; defaults to an OpenAI-style error object).
 * - `delay`: wait `ms`, then answer with `reply`.
 * - `hang`: never answer, until the client aborts or the server closes.
 * - `malformed`: answer 200 with a body that is not valid JSON (for streams: an SSE event whose data is not JSON).
 * - `disconnect`: drop the connection mid-response; a stream sends its first chunk (with
 *   `text`, if given) before dropping.
 * - `unfinished`: answer 200 and end the body early but cleanly, as a proxy that cuts a
 *   response short does: a stream sends its first chunk (with `text`, if given) and ends with
 *   no finish reason and no `[DONE]`; a plain body ends mid-JSON.
 * - `error-event`: answer 200, then report an error in the body, as providers do when they
 *   fail after starting an answer: a stream sends its first chunk (with `text`, if given) then
 *   an event `{"error": {...}}` with `message`; a plain body is that error object.
 *
 * @example
 * ```ts
 * stub.enqueue(
 *   { fault: 'status', status: 429, headers: { 'retry-after': '0' } },
 *   { fault: 'delay', ms: 200, reply: { text: 'slow but fine' } },
 * );
 * ```
 */
export type StubFault =
  | { fault: 'status'; status: number; headers?: Record<string, string>; body?: unknown }
  | { fault: 'delay'; ms: number; reply: StubReply }
  | { fault: 'hang' }
  | { fault: 'malformed' }
  | { fault: 'disconnect'; text?: string }
  | { fault: 'unfinished'; text?: string }
  | { fault: 'error-event'; message?: string; text?: string };

/**
 * What the stub answers to one chat completion request: a completion or a fault.
 *
 * @example
 * ```ts
 * const replies: StubReply[] = [{ toolCalls: [{ name: 'refund', arguments: { orderId: 'A-1' } }] }, { text: 'Done.' }];
 * ```
 */
export type StubReply = StubCompletion | StubFault;

/**
 * A chat completion request as the stub received it.
 *
 * @example
 * ```ts
 * const last = stub.requests.at(-1);
 * expect(last?.body.messages.at(-1)).toMatchObject({ role: 'tool' });
 * expect(last?.headers.authorization).toBe('Bearer test-key');
 * ```
 */
export interface StubRequest {
  method: string;
  path: string;
  /** Lower-case header names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  body: StubChatRequest;
}

/**
 * Decides the reply to a request when no queued reply is left.
 *
 * @example
 * ```ts
 * const echo: StubHandler = ({ body }) => ({ text: `you said ${String(body.messages.at(-1)?.content)}` });
 * ```
 */
export type StubHandler = (request: StubRequest) => StubReply | Promise<StubReply>;

/**
 * Options for {@link createStubServer}.
 *
 * @example
 * ```ts
 * const stub = await createStubServer({ replies: [{ text: 'hi' }], chunkDelayMs: 5 });
 * ```
 */
export interface StubServerOptions {
  /** Port on 127.0.0.1; defaults to 0 (a free port). */
  port?: number;
  /** Model ids listed by `GET /v1/models`; defaults to `['stub-model']`. */
  models?: string[];
  /** Pause between stream chunks; defaults to 0. */
  chunkDelayMs?: number;
  /** Replies to queue from the start. */
  replies?: StubReply[];
  /** Handler to use when the queue is empty. */
  handler?: StubHandler;
}

/**
 * A running stub server. Replies are taken from the queue first, then from the handler;
 * with neither, the stub answers 500 with an error saying no reply was queued.
 *
 * @example
 * ```ts
 * const stub = await createStubServer();
 * const model = createOpenAICompatible({ baseURL: stub.url, name: 'stub' }).chatModel('stub-model');
 * stub.enqueue({ text: 'Hello!' });
 * const { text } = await generateText({ model, prompt: 'Hi' });
 * await stub.close();
 * ```
 */
export interface StubServer {
  /** Base URL ending in `/v1`, e.g. `http://127.0.0.1:49152/v1`. */
  readonly url: string;
  /** Every chat completion request received, in order. */
  readonly requests: readonly StubRequest[];
  /** How many queued replies are still unused. */
  readonly pendingReplies: number;
  /** Queues replies; each request takes the next one. */
  enqueue(...replies: StubReply[]): void;
  /** Sets (or, with `undefined`, clears) the handler used when the queue is empty. */
  setHandler(handler: StubHandler | undefined): void;
  /** Clears the queue, the handler and the recorded requests. */
  reset(): void;
  /** Stops the server, dropping any open (for example hanging) connections. */
  close(): Promise<void>;
}

/**
 * Starts a stub OpenAI-compatible server on 127.0.0.1 serving `POST /v1/chat/completions`
 * (plain and streaming) and `GET /v1/models`.
 *
 * @example
 * ```ts
 * const stub = await createStubServer();
 * stub.enqueue({ fault: 'status', status: 503, headers: { 'retry-after': '0' } }, { text: 'recovered' });
 * const model = createOpenAICompatible({ baseURL: stub.url, name: 'stub', includeUsage: true }).chatModel('m');
 * const { text } = await generateText({ model, prompt: 'Hi', maxRetries: 1 }); // 'recovered', on the retry
 * ```
 */
export async function createStubServer(options: StubServerOptions = {}): Promise<StubServer> {
  const models = options.models ?? ['stub-model'];
  const chunkDelayMs = options.chunkDelayMs ?? 0;
  const queue: StubReply[] = [...(options.replies ?? [])];
  const requests: StubRequest[] = [];
  let handler = options.handler;
  let requestCount = 0;

  const server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        sendJson(response, 500, errorBody(`Baton stub server failed: ${describeError(error)}`, 'stub_error'));
      } else {
        response.destroy();
      }
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://stub').pathname.replace(/\/+$/, '');
    if (request.method === 'GET' && path === '/v1/models') {
      const data = models.map((id) => ({ id, object: 'model', created: 0, owned_by: 'baton-stub' }));
      sendJson(response, 200, { object: 'list', data });
      return;
    }
    if (request.method !== 'POST' || path !== '/v1/chat/completions') {
      const message = `Baton stub server: no route for ${request.method} ${path}. It serves POST /v1/chat/completions and GET /v1/models.`;
      sendJson(response, 404, errorBody(message, 'not_found'));
      return;
    }
    const body = parseChatRequest(await readBody(request));
    if (typeof body === 'string') {
      sendJson(response, 400, errorBody(`Baton stub server: ${body}`, 'invalid_request_error'));
      return;
    }
    requestCount += 1;
    const requestNumber = requestCount;
    const recorded: StubRequest = { method: 'POST', path, headers: flattenHeaders(request), body };
    requests.push(recorded);
    const aborted = new AbortController();
    response.on('close', () => aborted.abort());

    let reply = queue.shift();
    if (reply === undefined && handler !== undefined) {
      try {
        reply = await handler(recorded);
      } catch (error) {
        const message = `Baton stub server: the handler threw on request #${requestNumber}: ${describeError(error)}`;
        sendJson(response, 500, errorBody(message, 'stub_handler_error'));
        return;
      }
    }
    if (reply === undefined) {
      const message =
        `Baton stub server: no reply queued for request #${requestNumber} (POST ${path}). ` +
        'Call stub.enqueue(...) or stub.setHandler(...) before making the request.';
      sendJson(response, 500, errorBody(message, 'stub_no_reply'));
      return;
    }

    await answer(reply, { response, body, requestNumber, signal: aborted.signal, chunkDelayMs });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    get pendingReplies() {
      return queue.length;
    },
    enqueue(...replies) {
      queue.push(...replies);
    },
    setHandler(next) {
      handler = next;
    },
    reset() {
      queue.length = 0;
      requests.length = 0;
      handler = undefined;
      requestCount = 0;
    },
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

interface AnswerContext {
  response: ServerResponse;
  body: StubChatRequest;
  requestNumber: number;
  signal: AbortSignal;
  chunkDelayMs: number;
}

async function answer(reply: StubReply, context: AnswerContext): Promise<void> {
  const { response, body, requestNumber, signal } = context;
  const streaming = body.stream === true;
  if (!('fault' in reply)) {
    const completion = resolveCompletion(reply, body, requestNumber);
    if (!streaming) {
      sendJson(response, 200, completionBody(completion));
      return;
    }
    openStream(response);
    for (const [index, chunk] of completionChunks(
      completion,
      body.stream_options?.include_usage === true,
    ).entries()) {
      if (index > 0 && context.chunkDelayMs > 0 && !(await pause(context.chunkDelayMs, signal))) return;
      if (signal.aborted) return;
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    response.end('data: [DONE]\n\n');
    return;
  }
  switch (reply.fault) {
    case 'status': {
      const text =
        reply.body === undefined
          ? JSON.stringify(
              errorBody(`Stub server answered ${reply.status} as scripted.`, 'stub_fault', reply.status),
            )
          : typeof reply.body === 'string'
            ? reply.body
            : JSON.stringify(reply.body);
      const contentType = typeof reply.body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
      response.writeHead(reply.status, { 'content-type': contentType, ...reply.headers });
      response.end(text);
      return;
    }
    case 'delay':
      if (await pause(reply.ms, signal)) await answer(reply.reply, context);
      return;
    case 'hang':
      return;
    case 'malformed':
      if (streaming) {
        openStream(response);
        response.end('data: {"id": "chatcmpl-stub", "choices": [{"delta": \n\ndata: [DONE]\n\n');
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"id": "chatcmpl-stub", "object": "chat.completion", "choices": [{"message": ');
      }
      return;
    case 'disconnect': {
      const text = streaming
        ? `data: ${JSON.stringify(firstChunk(context, reply.text))}\n\n`
        : '{"id": "chatcmpl-stub", "object": "chat.completion", "choices": [';
      if (streaming) openStream(response);
      // Promise a longer body than will come, so the client sees a truncated response.
      else
        response.writeHead(200, {
          'content-type': 'application/json',
          'content-length': String(text.length + 1024),
        });
      await new Promise<void>((resolve) => response.write(text, () => resolve()));
      // Let the client take in the first chunk before the connection drops.
      await pause(20, signal);
      response.socket?.destroy();
      return;
    }
    case 'unfinished':
      if (streaming) {
        openStream(response);
        response.end(`data: ${JSON.stringify(firstChunk(context, reply.text))}\n\n`);
      } else {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end('{"id": "chatcmpl-stub", "object": "chat.completion", "choices": [{"message": ');
      }
      return;
    case 'error-event': {
      const error = errorBody(
        reply.message ?? 'The server had an error while processing your request.',
        'server_error',
      );
      if (streaming) {
        openStream(response);
        response.write(`data: ${JSON.stringify(firstChunk(context, reply.text))}\n\n`);
        response.end(`data: ${JSON.stringify(error)}\n\n`);
      } else {
        sendJson(response, 200, error);
      }
      return;
    }
    default: {
      const unknown: unknown = reply;
      const message = `Baton stub server: unknown reply ${JSON.stringify(unknown)}.`;
      sendJson(response, 500, errorBody(message, 'stub_error'));
    }
  }
}

/** The opening chunk of a stream that a fault cuts short, carrying `text` if given. */
function firstChunk(context: AnswerContext, text: string | undefined): Record<string, unknown> {
  const model = typeof context.body.model === 'string' ? context.body.model : 'stub-model';
  return openingChunk(`chatcmpl-stub-${context.requestNumber}`, model, text ?? '');
}

/** Waits `ms`; false if the client went away meanwhile. */
async function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, signal);
    return true;
  } catch {
    return false;
  }
}

function openStream(response: ServerResponse): void {
  response.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  response.flushHeaders();
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The parsed body, or a string saying what is wrong with it. */
function parseChatRequest(text: string): StubChatRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the request body is not valid JSON.';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'the request body must be a JSON object.';
  }
  if (!Array.isArray((value as { messages?: unknown }).messages)) {
    return 'the request body has no "messages" array.';
  }
  return value as StubChatRequest;
}

function flattenHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

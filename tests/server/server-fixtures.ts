/** What the server tests share: served targets, a server on an ephemeral port, an SSE reader. */

import { z } from 'zod';
import { agent, createRuntime, type Runtime, type Store, workflow } from '../../src/index.js';
import { type ApiKeyScope, createApiKey, createServer, type ServerOptions } from '../../src/server/index.js';
import { type Listening, listen } from '../../src/server/listen.js';
import { scriptedModel } from '../../src/testing/index.js';

/** Says hello in one step; its input must be `{ name }`. */
export const greet = workflow({ name: 'greet', input: z.object({ name: z.string() }) }, async (ctx, input) =>
  ctx.step('hello', async () => `Hello, ${input.name}`),
);

/** Three steps, then waits for `approval` ({ approved }), then three more steps. */
export const approval = workflow({ name: 'approval' }, async (ctx, input: { amount: number }) => {
  for (const name of ['check', 'price', 'reserve'])
    await ctx.step(name, async () => `${name} ${input.amount}`);
  const answer = await ctx.waitFor<{ approved: boolean }>('approval', {
    schema: z.object({ approved: z.boolean() }),
  });
  for (const name of ['charge', 'ship', 'notify'])
    await ctx.step(name, async () => `${name} ${answer.approved}`);
  return answer.approved ? 'done' : 'refused';
});

/** An agent on a scripted model. */
export const helper = (): ReturnType<typeof agent> =>
  agent({ name: 'helper', instructions: 'Help.', model: scriptedModel([{ text: 'Glad to help.' }]) });

/** A runtime and a server on `store`, listening on an ephemeral port. */
export async function startServer(
  store: Store,
  options: Partial<ServerOptions> = {},
): Promise<{ runtime: Runtime; server: Listening; abort: AbortController; stop(): Promise<void> }> {
  const runtime = createRuntime({ store, pollIntervalMs: 50 });
  const abort = new AbortController();
  const app = createServer({
    runtime,
    targets: [greet, approval, helper()],
    keyCacheMs: 0,
    pollMs: 20,
    signal: abort.signal,
    ...options,
  });
  const server = await listen(app, { port: 0 });
  return {
    runtime,
    server,
    abort,
    async stop() {
      abort.abort();
      await server.close();
      await runtime.close();
    },
  };
}

/** A new key with these scopes. */
export async function keyWith(store: Store, scopes: ApiKeyScope[], targets?: string[]): Promise<string> {
  return (await createApiKey(store, { scopes, ...(targets === undefined ? {} : { targets }) })).key;
}

/** A JSON request. */
export async function call(
  url: string,
  options: { method?: string; key?: string; body?: unknown; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: a JSON answer, checked by each test's assertions
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
  }
  const response = await fetch(url, {
    method: options.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : JSON.parse(text),
    headers: response.headers,
  };
}

/** One parsed SSE event (comments are counted, not returned). */
export interface SseEvent {
  id: string | undefined;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: a JSON event, checked by each test's assertions
  data: any;
}

/**
 * Reads an SSE stream until `stop` says so (or the stream ends), then disconnects.
 * Returns the events and how many comment lines (heartbeats) came.
 */
export async function readEvents(
  url: string,
  options: {
    key?: string;
    lastEventId?: string;
    stop?: (events: SseEvent[]) => boolean;
    signal?: AbortSignal;
  } = {},
): Promise<{ events: SseEvent[]; comments: number; ended: boolean }> {
  const abort = new AbortController();
  options.signal?.addEventListener('abort', () => abort.abort());
  const headers: Record<string, string> = { accept: 'text/event-stream' };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = options.lastEventId;
  const response = await fetch(url, { headers, signal: abort.signal });
  if (response.status !== 200 || response.body === null)
    throw new Error(`SSE answered ${response.status}: ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let comments = 0;
  let buffer = '';
  let ended = false;
  try {
    for (;;) {
      const chunk = await reader.read();
      if (chunk.done) {
        ended = true;
        break;
      }
      buffer += chunk.value;
      let boundary = buffer.indexOf('\n\n');
      let stop = false;
      while (boundary !== -1) {
        const block = buffer.slice(0, boundary);
        buffer = buffer.slice(boundary + 2);
        boundary = buffer.indexOf('\n\n');
        if (block.startsWith(':')) {
          comments++;
          continue;
        }
        const event: SseEvent = { id: undefined, event: 'message', data: undefined };
        const data: string[] = [];
        for (const line of block.split('\n')) {
          const colon = line.indexOf(':');
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') event.id = value;
          else if (field === 'event') event.event = value;
          else if (field === 'data') data.push(value);
        }
        event.data = JSON.parse(data.join('\n'));
        events.push(event);
        if (options.stop?.(events) === true) {
          stop = true;
          break;
        }
      }
      if (stop) break;
    }
  } catch (error) {
    // A connection the server dropped (a restart) ends the read like a disconnect.
    if (!abort.signal.aborted && !(error instanceof TypeError && error.message === 'terminated')) throw error;
  } finally {
    abort.abort();
  }
  return { events, comments, ended };
}

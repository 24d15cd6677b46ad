/** The HTTP API, handler by handler, over real HTTP on an ephemeral port (memory store, auth off unless a test needs keys). */

import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type Store } from '../../src/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { call, startServer } from './server-fixtures.js';

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops) await stop();
  stops = [];
});

async function open(store: Store = createMemoryStore(), options = {}) {
  const started = await startServer(store, { auth: false, ...options });
  stops.push(started.stop);
  return { ...started, store, url: started.server.url };
}

describe('HTTP API', () => {
  it('starts a run (201 with Location), gets it, and reads its journal', async () => {
    const { url, runtime } = await open();
    const started = await call(`${url}/v1/runs`, { body: { target: 'greet', input: { name: 'Ada' } } });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ target: 'greet', input: { name: 'Ada' } });
    expect(started.body.leaseOwner).toBeUndefined();
    expect(started.headers.get('location')).toBe(`/v1/runs/${started.body.id}`);
    await waitForStatus(runtime, started.body.id, 'completed');
    const got = await call(`${url}/v1/runs/${started.body.id}`);
    expect(got).toMatchObject({ status: 200, body: { status: 'completed', output: 'Hello, Ada' } });
    const journal = await call(`${url}/v1/runs/${started.body.id}/journal`);
    expect(journal.status).toBe(200);
    expect(journal.body.entries.map((entry: { name: string }) => entry.name)).toEqual(['hello']);
    expect(journal.body.entries[0].result).toBe('Hello, Ada');
  });

  it('runs an agent on a scripted model, with a thread id', async () => {
    const { url, runtime } = await open();
    const started = await call(`${url}/v1/runs`, {
      body: { target: 'helper', input: 'hi', threadId: 'thread-1' },
    });
    expect(started.status).toBe(201);
    expect(started.body.threadId).toBe('thread-1');
    await waitForStatus(runtime, started.body.id, 'completed');
    expect((await call(`${url}/v1/runs/${started.body.id}`)).body.output).toBe('Glad to help.');
  });

  it('is idempotent with an Idempotency-Key: the same run, 201 then 200; another target with that key is 409', async () => {
    const { url } = await open();
    const request = {
      body: { target: 'greet', input: { name: 'Ada' } },
      headers: { 'idempotency-key': 'order-42' },
    };
    const first = await call(`${url}/v1/runs`, request);
    const second = await call(`${url}/v1/runs`, request);
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(first.body.id).toMatch(/^run_idem_[0-9a-f]{40}$/);
    const [a, b] = await Promise.all([
      call(`${url}/v1/runs`, { ...request, headers: { 'idempotency-key': 'race' } }),
      call(`${url}/v1/runs`, { ...request, headers: { 'idempotency-key': 'race' } }),
    ]);
    expect([a.status, b.status].sort()).toEqual([200, 201]);
    expect(a.body.id).toBe(b.body.id);
    const other = await call(`${url}/v1/runs`, {
      body: { target: 'approval', input: { amount: 1 } },
      headers: { 'idempotency-key': 'order-42' },
    });
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_CONFLICT' } } });
    const listed = await call(`${url}/v1/runs?limit=100`);
    expect(listed.body.runs).toHaveLength(2);
  });

  it('refuses bad start requests with 400 and the zod issues, an unknown target with 404, bad input with 400', async () => {
    const { url } = await open();
    const missing = await call(`${url}/v1/runs`, { body: { input: 1, extra: true } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('INVALID_REQUEST');
    expect(missing.body.error.issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: ['target'] }),
        expect.objectContaining({ message: expect.stringContaining('extra') }),
      ]),
    );
    const unknown = await call(`${url}/v1/runs`, { body: { target: 'nope', input: 1 } });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'TARGET_NOT_FOUND' } } });
    const badInput = await call(`${url}/v1/runs`, { body: { target: 'greet', input: { name: 3 } } });
    expect(badInput).toMatchObject({ status: 400, body: { error: { code: 'INVALID_INPUT' } } });
    const badKey = await call(`${url}/v1/runs`, {
      body: { target: 'greet', input: { name: 'a' } },
      headers: { 'idempotency-key': 'x'.repeat(201) },
    });
    expect(badKey).toMatchObject({ status: 400, body: { error: { code: 'INVALID_IDEMPOTENCY_KEY' } } });
  });

  it('answers an unknown run with 404 and a JSON error on every run route', async () => {
    const { url } = await open();
    for (const [path, method] of [
      ['/v1/runs/run_nope', 'GET'],
      ['/v1/runs/run_nope/journal', 'GET'],
      ['/v1/runs/run_nope/events', 'GET'],
      ['/v1/runs/run_nope/cancel', 'POST'],
    ] as const) {
      const answer = await call(`${url}${path}`, { method });
      expect(answer, path).toMatchObject({ status: 404, body: { error: { code: 'RUN_NOT_FOUND' } } });
      expect(answer.body.error.message).toContain('run_nope');
    }
    const signal = await call(`${url}/v1/runs/run_nope/signal`, { body: { name: 'approval' } });
    expect(signal).toMatchObject({ status: 404, body: { error: { code: 'RUN_NOT_FOUND' } } });
    expect(await call(`${url}/v2/nothing`)).toMatchObject({
      status: 404,
      body: { error: { code: 'NOT_FOUND' } },
    });
  });

  it('signals a waiting run: a payload its wait refuses is 400 and not stored; a good one continues it', async () => {
    const { url, runtime, store } = await open();
    const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 5 } } });
    await waitForStatus(runtime, started.body.id, 'suspended');
    const refused = await call(`${url}/v1/runs/${started.body.id}/signal`, {
      body: { name: 'approval', payload: { approved: 'yes' } },
    });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'INVALID_SIGNAL_PAYLOAD' } } });
    expect(await store.listSignals(started.body.id)).toEqual([]);
    const noName = await call(`${url}/v1/runs/${started.body.id}/signal`, { body: { payload: 1 } });
    expect(noName.status).toBe(400);
    expect(noName.body.error.issues[0].path).toEqual(['name']);
    const sent = await call(`${url}/v1/runs/${started.body.id}/signal`, {
      body: { name: 'approval', payload: { approved: true } },
    });
    expect(sent.status).toBe(202);
    await waitForStatus(runtime, started.body.id, 'completed');
    expect((await runtime.get(started.body.id)).output).toBe('done');
    const ended = await call(`${url}/v1/runs/${started.body.id}/signal`, {
      body: { name: 'approval', payload: { approved: true } },
    });
    expect(ended).toMatchObject({ status: 409, body: { error: { code: 'RUN_ENDED' } } });
  });

  it('holds nothing for a run that waits: no poll of the store per suspended run', async () => {
    const inner = createMemoryStore();
    const reads = { count: 0 };
    const store = new Proxy(inner, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        if (property !== 'getRun') return value.bind(target);
        return (...args: unknown[]) => {
          reads.count++;
          return value.apply(target, args);
        };
      },
    });
    const { url, runtime } = await open(store);
    const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 5 } } });
    await waitForStatus(runtime, started.body.id, 'suspended');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const before = reads.count;
    // The runtime polls every 50 ms here: a waiter on the run's result would read it about 6 times.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reads.count - before).toBe(0);
  });

  it('cancels a run, and returns an ended run as it is', async () => {
    const { url, runtime } = await open();
    const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 5 } } });
    await waitForStatus(runtime, started.body.id, 'suspended');
    const cancelled = await call(`${url}/v1/runs/${started.body.id}/cancel`, { method: 'POST' });
    expect(cancelled).toMatchObject({ status: 200, body: { status: 'cancelled' } });
    const again = await call(`${url}/v1/runs/${started.body.id}/cancel`, { method: 'POST' });
    expect(again).toMatchObject({
      status: 200,
      body: { status: 'cancelled', endedAt: cancelled.body.endedAt },
    });
  });

  it('lists runs newest first with filters and cursor paging, runs of the same millisecond included', async () => {
    const store = createMemoryStore();
    const { url, runtime } = await open(store);
    // 7 runs in 3 milliseconds, created straight in the store so several share a createdAt.
    const base = {
      targetVersion: '1',
      input: null,
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      costUsd: 0,
      schemaVersion: 1,
    };
    const times = [100, 100, 100, 200, 200, 300, 300];
    for (const [index, createdAt] of times.entries()) {
      await store.createRun({
        ...base,
        id: `run_${index}`,
        target: index % 2 === 0 ? 'greet' : 'approval',
        status: index === 3 ? 'failed' : 'completed',
        createdAt,
        updatedAt: createdAt,
        ...(index < 2 ? { threadId: 't1' } : {}),
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof call>> = await call(
        `${url}/v1/runs?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(page.status).toBe(200);
      seen.push(...page.body.runs.map((run: { id: string }) => run.id));
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(seen).toEqual(['run_6', 'run_5', 'run_4', 'run_3', 'run_2', 'run_1', 'run_0']);
    expect(pages).toBe(4);
    const greets = await call(`${url}/v1/runs?target=greet`);
    expect(greets.body.runs.map((run: { id: string }) => run.id)).toEqual([
      'run_6',
      'run_4',
      'run_2',
      'run_0',
    ]);
    expect(
      (await call(`${url}/v1/runs?status=failed`)).body.runs.map((run: { id: string }) => run.id),
    ).toEqual(['run_3']);
    expect((await call(`${url}/v1/runs?thread=t1`)).body.runs.map((run: { id: string }) => run.id)).toEqual([
      'run_1',
      'run_0',
    ]);
    const bad = await call(`${url}/v1/runs?limit=0&status=asleep`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((issue: { path: string[] }) => issue.path[0]).sort()).toEqual([
      'limit',
      'status',
    ]);
    expect((await call(`${url}/v1/runs?cursor=garbage`)).body.error.code).toBe('INVALID_CURSOR');
    expect((await call(`${url}/v1/runs?colour=red`)).status).toBe(400);
    expect(runtime).toBeDefined();
  });

  it('lists its targets with their input schemas', async () => {
    const { url } = await open();
    const answer = await call(`${url}/v1/targets`);
    expect(answer.status).toBe(200);
    expect(answer.body.targets.map((target: { name: string }) => target.name)).toEqual([
      'greet',
      'approval',
      'helper',
    ]);
    expect(answer.body.targets[0]).toMatchObject({
      kind: 'workflow',
      inputSchema: { type: 'object', properties: { name: { type: 'string' } } },
    });
  });

  it('refuses malformed JSON (400), __proto__ in a body (400), and an oversized body (413)', async () => {
    const { url } = await open(createMemoryStore(), { bodyLimit: 2000 });
    const malformed = await call(`${url}/v1/runs`, { body: '{"target": "greet", ' });
    expect(malformed).toMatchObject({ status: 400, body: { error: { code: 'INVALID_JSON' } } });
    const proto = await call(`${url}/v1/runs`, {
      body: '{"target": "greet", "input": {"name": "a", "__proto__": {"admin": true}}}',
    });
    expect(proto).toMatchObject({ status: 400, body: { error: { code: 'FORBIDDEN_KEY' } } });
    expect(proto.body.error.issues[0].path).toEqual(['input', '__proto__']);
    const big = await call(`${url}/v1/runs`, {
      body: { target: 'greet', input: { name: 'x'.repeat(3000) } },
    });
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'BODY_TOO_LARGE' } } });
    // Without a Content-Length (chunked), the limit holds while the body streams in.
    const chunks = [`{"target": "greet", "input": {"name": "`, 'x'.repeat(1500), 'x'.repeat(1500), '"}}'];
    const chunked = await fetch(`${url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new ReadableStream({
        pull(controller) {
          const chunk = chunks.shift();
          if (chunk === undefined) controller.close();
          else controller.enqueue(new TextEncoder().encode(chunk));
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await call(`${url}/v1/runs?limit=100`)).body.runs).toEqual([]);
  });

  it('limits bodies to 1 MiB by default', async () => {
    const { url } = await open();
    const big = await call(`${url}/v1/runs`, {
      body: { target: 'greet', input: { name: 'x'.repeat(1024 * 1024) } },
    });
    expect(big.status).toBe(413);
    const fits = await call(`${url}/v1/runs`, {
      body: { target: 'greet', input: { name: 'x'.repeat(1000 * 1000) } },
    });
    expect(fits.status).toBe(201);
  });

  it('answers CORS preflights for the configured origin only', async () => {
    const { url } = await open(createMemoryStore(), { cors: 'https://app.example' });
    const allowed = await fetch(`${url}/v1/runs`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fetch(`${url}/v1/runs`, { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});

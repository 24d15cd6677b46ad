/** The routes beyond single runs: the inbox, approving and replying (approve scope), threads, stats, the stream of run changes, per-key rate limits and tenants. */

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createMemoryStore,
  createRuntime,
  human,
  type Store,
  sequential,
  tool,
  workflow,
} from '../../src/index.js';
import { createApiKey } from '../../src/server/index.js';
import { scriptedModel, waitForStatus } from '../../src/testing/index.js';
import { call, greet, keyWith, readEvents, startServer } from './server-fixtures.js';

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

/** A billing agent whose refund tool needs approval; `log` records each refund made. */
function billing(log: string[]) {
  const refund = tool({
    name: 'refund',
    description: 'Refunds an amount',
    input: z.object({ orderId: z.string(), amount: z.number() }),
    approval: 'always',
    execute: ({ orderId, amount }) => {
      log.push(`refund ${orderId} ${amount}`);
      return { refundId: `RF-${orderId}` };
    },
  });
  return agent({
    name: 'billing',
    instructions: 'Refund.',
    tools: [refund],
    model: scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1', amount: 40 }, id: 'call_refund' }] },
      { text: 'Refunded.' },
    ]),
  });
}

const review = sequential({
  name: 'reviewed-post',
  stages: [
    workflow({ name: 'draft' }, async (ctx, topic: string) =>
      ctx.step('write', () => `Draft about ${topic}`),
    ),
    human({ name: 'lead', description: 'Approves or corrects the draft' }),
    workflow({ name: 'publish' }, async (ctx, verdict: string) =>
      ctx.step('publish', () => `Published: ${verdict}`),
    ),
  ],
});

async function serve(store: Store, options: Parameters<typeof startServer>[1] = {}) {
  const started = await startServer(store, options);
  stops.push(() => started.stop());
  return started;
}

describe('waits for a person', () => {
  it('lists an approval in the inbox; only an approve key answers it, by route or signal; the tool runs once', async () => {
    const store = createMemoryStore();
    const log: string[] = [];
    const { runtime, server } = await serve(store, { targets: [billing(log)] });
    const runKey = await keyWith(store, ['read', 'run']);
    const approver = await createApiKey(store, { scopes: ['approve'], name: 'ana-phone' });
    const started = await call(`${server.url}/v1/runs`, {
      key: runKey,
      body: { target: 'billing', input: 'Refund A-1' },
    });
    const runId = started.body.id as string;
    await waitForStatus(runtime, runId, 'suspended');

    const inbox = await call(`${server.url}/v1/inbox`, { key: runKey });
    expect(inbox.status).toBe(200);
    expect(inbox.body.requests).toEqual([
      expect.objectContaining({
        kind: 'approval',
        runId,
        target: 'billing',
        tool: 'refund',
        toolCallId: 'call_refund',
        input: { orderId: 'A-1', amount: 40 },
        answered: false,
      }),
    ]);
    // A run key cannot answer a wait for a person, not even through the signal route.
    const byRoute = await call(`${server.url}/v1/runs/${runId}/approvals/call_refund`, {
      key: runKey,
      body: { approved: true },
    });
    expect(byRoute.status).toBe(403);
    const bySignal = await call(`${server.url}/v1/runs/${runId}/signal`, {
      key: runKey,
      body: { name: 'approval:call_refund', payload: { approved: true } },
    });
    expect(bySignal).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(bySignal.body.error.message).toContain('approve');
    // A rejection without a reason, an unknown call, a typo'd field: 400/404 that say what and where.
    const noReason = await call(`${server.url}/v1/runs/${runId}/approvals/call_refund`, {
      key: approver.key,
      body: { approved: false },
    });
    expect(noReason).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(noReason.body.error.issues).toEqual([expect.objectContaining({ path: ['reason'] })]);
    const typo = await call(`${server.url}/v1/runs/${runId}/approvals/call_refund`, {
      key: approver.key,
      body: { approve: true },
    });
    expect(typo.status).toBe(400);
    const unknown = await call(`${server.url}/v1/runs/${runId}/approvals/call_nope`, {
      key: approver.key,
      body: { approved: true },
    });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'REQUEST_NOT_FOUND' } } });
    expect(unknown.body.error.message).toContain('approval of call call_refund (refund)');
    expect(log).toEqual([]);

    const approved = await call(`${server.url}/v1/runs/${runId}/approvals/call_refund`, {
      key: approver.key,
      body: { approved: true, by: 'ana' },
    });
    expect(approved.status).toBe(202);
    await waitForStatus(runtime, runId, 'completed');
    expect((await runtime.get(runId)).output).toBe('Refunded.');
    expect(log).toEqual(['refund A-1 40']);
    // The decision is recorded with who said it and through which key.
    const signals = await store.listSignals(runId);
    expect(signals.at(-1)?.payload).toMatchObject({
      approved: true,
      by: `ana via api key ${approver.info.id} (ana-phone)`,
    });
    const again = await call(`${server.url}/v1/runs/${runId}/approvals/call_refund`, {
      key: approver.key,
      body: { approved: true },
    });
    expect(again.status).toBe(404);
    expect((await call(`${server.url}/v1/inbox`, { key: runKey })).body.requests).toEqual([]);
  });

  it('rejects with a reason the model sees; the tool never runs', async () => {
    const store = createMemoryStore();
    const log: string[] = [];
    const { runtime, server } = await serve(store, { targets: [billing(log)] });
    const admin = await keyWith(store, ['admin']);
    const runId = (
      await call(`${server.url}/v1/runs`, { key: admin, body: { target: 'billing', input: 'x' } })
    ).body.id;
    await waitForStatus(runtime, runId, 'suspended');
    const rejected = await call(`${server.url}/v1/runs/${runId}/approvals/call_refund`, {
      key: admin,
      body: { approved: false, reason: 'over the limit' },
    });
    expect(rejected.status).toBe(202);
    await waitForStatus(runtime, runId, 'completed');
    expect(log).toEqual([]);
    const signals = await store.listSignals(runId);
    expect(signals.at(-1)?.payload).toMatchObject({ approved: false, reason: 'over the limit' });
  });

  it('replies for a human member; a reply for another member is 404 naming who is asked', async () => {
    const store = createMemoryStore();
    const { runtime, server } = await serve(store, { targets: [review] });
    const admin = await keyWith(store, ['admin']);
    const approver = await keyWith(store, ['approve', 'read']);
    const runId = (
      await call(`${server.url}/v1/runs`, { key: admin, body: { target: 'reviewed-post', input: 'tea' } })
    ).body.id;
    await waitForStatus(runtime, runId, 'suspended');
    const inbox = await call(`${server.url}/v1/inbox?run=${runId}`, { key: approver });
    expect(inbox.body.requests).toEqual([
      expect.objectContaining({
        kind: 'human',
        member: 'lead',
        signal: 'human:lead',
        input: 'Draft about tea',
      }),
    ]);
    const wrong = await call(`${server.url}/v1/runs/${runId}/reply`, {
      key: approver,
      body: { member: 'editor', text: 'ok' },
    });
    expect(wrong).toMatchObject({ status: 404, body: { error: { code: 'REQUEST_NOT_FOUND' } } });
    expect(wrong.body.error.message).toContain('a reply from lead');
    const replied = await call(`${server.url}/v1/runs/${runId}/reply`, {
      key: approver,
      body: { member: 'lead', text: 'Ship it' },
    });
    expect(replied.status).toBe(202);
    await waitForStatus(runtime, runId, 'completed');
    expect((await runtime.get(runId)).output).toBe('Published: Ship it');
  });
});

describe('threads and stats', () => {
  it("reads a thread's messages and runs; a key limited to other targets is refused; an unknown thread is 404", async () => {
    const store = createMemoryStore();
    const chat = agent({
      name: 'helper',
      instructions: 'Help.',
      model: scriptedModel([{ text: 'Hello.' }, { text: 'Welcome.' }]),
    });
    const { runtime, server } = await serve(store, { targets: [greet, chat] });
    const admin = await keyWith(store, ['admin']);
    for (const text of ['Hi', 'Thanks']) {
      const started = await call(`${server.url}/v1/runs`, {
        key: admin,
        body: { target: 'helper', input: text, threadId: 'chat-1' },
      });
      await waitForStatus(runtime, started.body.id, 'completed');
    }
    const thread = await call(`${server.url}/v1/threads/chat-1`, { key: admin });
    expect(thread.status).toBe(200);
    expect(thread.body.runs).toHaveLength(2);
    expect(thread.body.messages.map((message: { role: string }) => message.role)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
    ]);
    expect((await call(`${server.url}/v1/threads/chat-1?runs=1`, { key: admin })).body.runs).toHaveLength(1);
    const greetOnly = await keyWith(store, ['read'], ['greet']);
    expect((await call(`${server.url}/v1/threads/chat-1`, { key: greetOnly })).status).toBe(403);
    const missing = await call(`${server.url}/v1/threads/nope`, { key: admin });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'THREAD_NOT_FOUND' } } });
  });

  it('gives run statistics by workflow or model; refuses a key limited to targets and a bad duration', async () => {
    const store = createMemoryStore();
    const { runtime, server } = await serve(store);
    const reader = await keyWith(store, ['read', 'run']);
    for (const name of ['a', 'b']) {
      const started = await call(`${server.url}/v1/runs`, {
        key: reader,
        body: { target: 'greet', input: { name } },
      });
      await waitForStatus(runtime, started.body.id, 'completed');
    }
    const stats = await call(`${server.url}/v1/stats?since=1h`, { key: reader });
    expect(stats.status).toBe(200);
    expect(stats.body.total).toMatchObject({ count: 2, completed: 2, completionRate: 1 });
    expect(stats.body.rows).toEqual([expect.objectContaining({ key: 'greet', count: 2 })]);
    expect((await call(`${server.url}/v1/stats?since=all&by=model`, { key: reader })).body.by).toBe('model');
    const bad = await call(`${server.url}/v1/stats?since=soon`, { key: reader });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    expect(bad.body.error.issues[0].path).toEqual(['since']);
    expect((await call(`${server.url}/v1/stats?by=team`, { key: reader })).status).toBe(400);
    const limited = await keyWith(store, ['read'], ['greet']);
    expect((await call(`${server.url}/v1/stats`, { key: limited })).status).toBe(403);
  });
});

describe('the stream of run changes', () => {
  it('sends each change of a target live, and after a reconnect the changes since the last id', async () => {
    const store = createMemoryStore();
    const { runtime, server } = await serve(store);
    const admin = await keyWith(store, ['admin']);
    const greetOnly = await keyWith(store, ['read', 'run'], ['greet']);
    // An earlier run is not replayed to a client that connects without a position.
    const before = await call(`${server.url}/v1/runs`, {
      key: admin,
      body: { target: 'greet', input: { name: 'old' } },
    });
    await waitForStatus(runtime, before.body.id, 'completed');
    const abort = new AbortController();
    const live = readEvents(`${server.url}/v1/events`, {
      key: greetOnly,
      signal: abort.signal,
      stop: (events) => events.some((event) => event.data.status === 'suspended'),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const run = await call(`${server.url}/v1/runs`, {
      key: admin,
      body: { target: 'greet', input: { name: 'new' } },
    });
    await waitForStatus(runtime, run.body.id, 'completed');
    // Another target's run is not sent to a key limited to greet.
    const other = await call(`${server.url}/v1/runs`, {
      key: admin,
      body: { target: 'approval', input: { amount: 3 } },
    });
    await waitForStatus(runtime, other.body.id, 'suspended');
    setTimeout(() => abort.abort(), 1500);
    const { events } = await live;
    expect(events.every((event) => event.data.target === 'greet')).toBe(true);
    expect(events.map((event) => event.data.runId)).not.toContain(before.body.id);
    const mine = events.filter((event) => event.data.runId === run.body.id);
    expect(mine.at(-1)?.data).toMatchObject({ status: 'completed', target: 'greet' });
    expect(mine.at(-1)?.id).toBe(`${mine.at(-1)?.data.updatedAt}:${run.body.id}`);

    // Every target (admin) from a position: the changes after it, oldest first, then live ones.
    const resumed = await readEvents(`${server.url}/v1/events`, {
      key: admin,
      lastEventId: `${before.body.createdAt - 1}:`,
      stop: (got) => got.length >= 3,
    });
    expect(resumed.events.map((event) => [event.data.runId, event.data.status])).toEqual([
      [before.body.id, 'completed'],
      [run.body.id, 'completed'],
      [other.body.id, 'suspended'],
    ]);
    const bad = await fetch(`${server.url}/v1/events`, {
      headers: { authorization: `Bearer ${admin}`, 'last-event-id': 'nonsense' },
    });
    expect(bad.status).toBe(400);
  });
});

describe('rate limits and tenants', () => {
  it("answers 429 with Retry-After past a key's per-minute limit (its own, else the server's)", async () => {
    const store = createMemoryStore();
    const { server } = await serve(store, { rateLimit: 3 });
    const plain = await keyWith(store, ['read']);
    const own = (await createApiKey(store, { scopes: ['read'], rateLimit: 1 })).key;
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(`${server.url}/v1/targets`, { key: plain })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await call(`${server.url}/v1/targets`, { key: plain });
    expect(limited.body.error.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await call(`${server.url}/v1/targets`, { key: own })).status).toBe(200);
    const second = await call(`${server.url}/v1/targets`, { key: own });
    expect(second.status).toBe(429);
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThan(50);
    await expect(createApiKey(store, { scopes: ['read'], rateLimit: 0 })).rejects.toThrow(/rate limit/);
  });

  it("keeps tenants apart: a tenant's key starts and reads only its tenant's runs, in its tenant's store", async () => {
    const store = createMemoryStore();
    const acmeStore = createMemoryStore();
    const acme = createRuntime({ store: acmeStore, pollIntervalMs: 50 });
    stops.push(() => acme.close());
    const { runtime, server } = await serve(store, {
      tenants: { acme: { runtime: acme, targets: [greet] } },
    });
    const ownKey = await keyWith(store, ['read', 'run']);
    const acmeKey = (await createApiKey(store, { scopes: ['read', 'run'], tenant: 'acme' })).key;
    const strayKey = (await createApiKey(store, { scopes: ['admin'], tenant: 'globex' })).key;
    const mine = await call(`${server.url}/v1/runs`, {
      key: ownKey,
      body: { target: 'greet', input: { name: 'own' } },
    });
    const theirs = await call(`${server.url}/v1/runs`, {
      key: acmeKey,
      body: { target: 'greet', input: { name: 'acme' } },
    });
    expect(theirs.status).toBe(201);
    await waitForStatus(runtime, mine.body.id, 'completed');
    await waitForStatus(acme, theirs.body.id, 'completed');
    expect(await store.getRun(theirs.body.id)).toBeUndefined();
    expect((await acmeStore.getRun(theirs.body.id))?.output).toBe('Hello, acme');
    expect((await call(`${server.url}/v1/runs/${theirs.body.id}`, { key: ownKey })).status).toBe(404);
    expect((await call(`${server.url}/v1/runs/${mine.body.id}`, { key: acmeKey })).status).toBe(404);
    const listed = await call(`${server.url}/v1/runs`, { key: acmeKey });
    expect(listed.body.runs.map((run: { id: string }) => run.id)).toEqual([theirs.body.id]);
    // A tenant serves only its targets: approval is the server's, not acme's.
    const notServed = await call(`${server.url}/v1/runs`, {
      key: acmeKey,
      body: { target: 'approval', input: {} },
    });
    expect(notServed).toMatchObject({ status: 404, body: { error: { code: 'TARGET_NOT_FOUND' } } });
    const stray = await call(`${server.url}/v1/runs`, { key: strayKey });
    expect(stray).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    expect(stray.body.error.message).toContain('globex');
    // A2A serves the server's own runtime only: a tenant's key is not valid there.
    const a2a = await call(`${server.url}/a2a`, {
      key: acmeKey,
      body: { jsonrpc: '2.0', id: 1, method: 'GetTask', params: { id: theirs.body.id } },
    });
    expect(a2a.status).toBe(401);
    // Webhooks are the server's own: a tenant's admin key is refused.
    const acmeAdmin = (await createApiKey(store, { scopes: ['admin'], tenant: 'acme' })).key;
    const hook = await call(`${server.url}/v1/webhooks`, {
      key: acmeAdmin,
      body: { url: 'https://example.com/hook', events: ['run.completed'] },
    });
    expect(hook).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    await expect(createApiKey(store, { scopes: ['read'], tenant: '../etc' })).rejects.toThrow(/tenant/);
  });
});

/** Webhooks end to end on a loopback receiver: run ends, waits for a person and budget stops each delivered once and signed; retries, the delivery log, revocation, target filters. */

import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createMemoryStore,
  createRuntime,
  human,
  type Runtime,
  type Store,
  tool,
  workflow,
} from '../../src/index.js';
import {
  createWebhook,
  createWebhookDispatcher,
  listWebhookDeliveries,
  revokeWebhook,
  verifyWebhookSignature,
  type WebhookDispatcherOptions,
} from '../../src/server/index.js';
import { scriptedModel, waitForStatus } from '../../src/testing/index.js';
import { type Answer, pause, type Received, startReceiver } from './webhook-receiver.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const greet = workflow({ name: 'greet' }, async (ctx, name: string) =>
  ctx.step('hello', async () => `Hello, ${name}`),
);
const broken = workflow({ name: 'broken' }, async (ctx) => {
  await ctx.step('fail', async () => {
    throw new Error('the printer is on fire');
  });
});
const expense = workflow({ name: 'expense' }, async (ctx, amount: number) => {
  const answer = await ctx.waitFor<{ approved: boolean }>('manager', {
    schema: z.object({ approved: z.boolean() }),
  });
  return answer.approved ? `paid ${amount}` : 'refused';
});
const refund = tool({
  name: 'refund',
  description: 'Refunds an order',
  input: z.object({ orderId: z.string() }),
  approval: 'always',
  execute: ({ orderId }) => `refunded ${orderId}`,
});
const refunder = agent({
  name: 'refunder',
  instructions: 'Refund.',
  model: scriptedModel([
    { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1' }, id: 'call_1' }] },
    { text: 'done' },
  ]),
  tools: [refund],
});
const editor = human({ name: 'editor', prompt: 'Approve the post?' });
const chatty = agent({
  name: 'chatty',
  instructions: 'Talk.',
  model: scriptedModel([{ toolCalls: [{ tool: 'echo', input: { text: 'a' } }] }, { text: 'never reached' }]),
  tools: [
    tool({
      name: 'echo',
      description: 'Echo',
      input: z.object({ text: z.string() }),
      execute: ({ text }) => text,
    }),
  ],
});

const napper = workflow({ name: 'napper' }, async (ctx) => {
  await ctx.sleep(60_000);
  return 'rested';
});

const fast = {
  pollMs: 25,
  retryBaseMs: 50,
  retryMaxMs: 2000,
  timeoutMs: 2000,
  claimGraceMs: 200,
} satisfies Partial<WebhookDispatcherOptions>;

async function setup(
  answer?: (request: Received, index: number) => Answer,
  options: Partial<WebhookDispatcherOptions> = {},
  store: Store = createMemoryStore(),
) {
  const receiver = await startReceiver(answer);
  const runtime = createRuntime({
    store,
    workflows: [greet, broken, expense, refunder, editor, chatty, napper],
  });
  const dispatcher = createWebhookDispatcher({ store, ...fast, ...options });
  cleanups.push(async () => {
    await dispatcher.close();
    await runtime.close();
    await receiver.close();
  });
  return { store, receiver, runtime, dispatcher };
}

function signed(request: Received, secret: string): boolean {
  return verifyWebhookSignature({ secret, body: request.body, headers: request.headers });
}

async function finished(runtime: Runtime, target: string, input: unknown) {
  const handle = await runtime.start(target, input);
  await handle.result().catch(() => undefined);
  return handle.runId;
}

describe('webhooks', () => {
  it('delivers a completed and a failed run once each, signed, with the run summary', async () => {
    const { store, receiver, runtime } = await setup();
    const { secret, info } = await createWebhook(store, {
      url: receiver.url,
      events: ['run.completed', 'run.failed'],
    });
    const completed = await finished(runtime, 'greet', 'Ada');
    const failed = await finished(runtime, 'broken', null);
    const requests = await receiver.waitFor(2);
    await pause(200);
    expect(receiver.received).toHaveLength(2);
    const byRun = new Map(requests.map((request) => [request.event.runId, request]));
    const done = byRun.get(completed) as Received;
    expect(done.event).toMatchObject({
      type: 'run.completed',
      runId: completed,
      target: 'greet',
      status: 'completed',
      output: 'Hello, Ada',
    });
    expect(done.event.id).toMatch(/^evt_[0-9a-f]{32}$/);
    expect(done.headers['baton-webhook-id']).toBe(done.event.id);
    expect(Date.parse(done.event.timestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(done.headers['content-type']).toBe('application/json');
    const fail = byRun.get(failed) as Received;
    expect(fail.event).toMatchObject({ type: 'run.failed', status: 'failed' });
    expect(fail.event.error.message).toContain('the printer is on fire');
    for (const request of requests) expect(signed(request, secret)).toBe(true);
    expect(signed(done, `${secret}x`)).toBe(false);
    const log = await listWebhookDeliveries(store, info.id);
    expect(log.map((row) => [row.outcome, 'statusCode' in row ? row.statusCode : undefined])).toEqual([
      ['delivered', 200],
      ['delivered', 200],
    ]);
  });

  it('announces a tool approval, a human member and a plain waitFor, each once, with the pending request', async () => {
    const { store, receiver, runtime } = await setup();
    const { secret } = await createWebhook(store, { url: receiver.url, events: ['run.waiting'] });
    const approval = await runtime.start(refunder, 'refund A-1');
    const member = await runtime.start(editor, 'Launch post draft');
    const wait = await runtime.start(expense, 40);
    for (const handle of [approval, member, wait]) await waitForStatus(runtime, handle.runId, 'suspended');
    const requests = await receiver.waitFor(3);
    await pause(200);
    expect(receiver.received).toHaveLength(3);
    const byRun = new Map(requests.map((request) => [request.event.runId, request.event]));
    expect(byRun.get(approval.runId)).toMatchObject({
      type: 'run.waiting',
      status: 'suspended',
      pending: [{ kind: 'approval', signal: 'approval:call_1', tool: 'refund', input: { orderId: 'A-1' } }],
    });
    expect(byRun.get(member.runId)).toMatchObject({
      pending: [{ kind: 'human', signal: 'human:editor', prompt: 'Approve the post?' }],
    });
    expect(byRun.get(wait.runId)).toMatchObject({ pending: [{ kind: 'signal', signal: 'manager' }] });
    for (const request of requests) expect(signed(request, secret)).toBe(true);
    // Answered, the run ends: no second waiting event (this subscription wants only waits).
    await runtime.signal(wait.runId, 'manager', { approved: true });
    expect(await wait.result()).toBe('paid 40');
    await pause(200);
    expect(receiver.received).toHaveLength(3);
  });

  it('announces a cancelled run, and nothing for a run that only sleeps', async () => {
    const { store, receiver, runtime } = await setup();
    await createWebhook(store, { url: receiver.url, events: ['run.cancelled', 'run.waiting'] });
    const sleeper = await runtime.start(napper, null);
    await waitForStatus(runtime, sleeper.runId, 'suspended');
    const wait = await runtime.start(expense, 7);
    await waitForStatus(runtime, wait.runId, 'suspended');
    await receiver.waitFor(1);
    await runtime.cancel(wait.runId);
    const [waiting, cancelled] = await receiver.waitFor(2);
    await pause(200);
    expect(receiver.received).toHaveLength(2);
    expect(waiting?.event).toMatchObject({ type: 'run.waiting', runId: wait.runId });
    expect(cancelled?.event).toMatchObject({
      type: 'run.cancelled',
      runId: wait.runId,
      status: 'cancelled',
      error: { code: 'RUN_CANCELLED' },
    });
  });

  it('announces a budget stop with its partial output', async () => {
    const { store, receiver, runtime } = await setup();
    await createWebhook(store, { url: receiver.url, events: ['run.budget_exceeded'] });
    const handle = await runtime.start(chatty, 'hi', { budget: { maxTurns: 1 } });
    await handle.result().catch(() => undefined);
    const [request] = await receiver.waitFor(1);
    expect(request?.event).toMatchObject({
      type: 'run.budget_exceeded',
      status: 'budget-exceeded',
      error: { code: 'BUDGET_EXCEEDED' },
    });
    // The partial result: the run's stored output, here null (the stopped agent had written no text).
    expect(request?.event.output).toEqual((await runtime.get(handle.runId)).output);
    expect(request?.event).toHaveProperty('output');
    await pause(150);
    expect(receiver.received).toHaveLength(1);
  });

  it('retries a 500 with backoff, then records the delivery; the log has every attempt', async () => {
    const { store, receiver, runtime } = await setup((_request, index) => ({
      status: index < 2 ? 500 : 204,
    }));
    const { info } = await createWebhook(store, { url: receiver.url, events: ['run.completed'] });
    await finished(runtime, 'greet', 'Bo');
    const requests = await receiver.waitFor(3);
    expect(new Set(requests.map((request) => request.headers['baton-webhook-id'])).size).toBe(1);
    expect(new Set(requests.map((request) => request.body)).size).toBe(1);
    // Backoff: at least half of 50 ms, then of 100 ms.
    expect((requests[1]?.at ?? 0) - (requests[0]?.at ?? 0)).toBeGreaterThanOrEqual(20);
    expect((requests[2]?.at ?? 0) - (requests[1]?.at ?? 0)).toBeGreaterThanOrEqual(45);
    await pause(150);
    const log = await listWebhookDeliveries(store, info.id);
    expect(log.map((row) => ('attempt' in row ? [row.attempt, row.outcome, row.statusCode] : []))).toEqual([
      [3, 'delivered', 204],
      [2, 'retry', 500],
      [1, 'retry', 500],
    ]);
    const first = log[2] as { error?: string; durationMs: number; nextAt?: number; at: number };
    expect(first.error).toBe('HTTP 500: refused with 500');
    expect(first.durationMs).toBeGreaterThanOrEqual(0);
    expect(first.nextAt).toBeGreaterThan(first.at);
  });

  it('honours Retry-After on a 429', async () => {
    const { store, receiver, runtime } = await setup((_request, index) =>
      index === 0 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 },
    );
    await createWebhook(store, { url: receiver.url, events: ['run.completed'] });
    await finished(runtime, 'greet', 'Cy');
    const [first, second] = await receiver.waitFor(2, 5000);
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
  });

  it.each([410, 400])('does not retry a %i', async (status) => {
    const { store, receiver, runtime } = await setup(() => ({ status }));
    const { info } = await createWebhook(store, { url: receiver.url, events: ['run.completed'] });
    await finished(runtime, 'greet', 'Di');
    await receiver.waitFor(1);
    await pause(300);
    expect(receiver.received).toHaveLength(1);
    const [row] = await listWebhookDeliveries(store, info.id);
    expect(row).toMatchObject({ attempt: 1, outcome: 'failed', statusCode: status });
    expect((row as { error: string }).error).toContain('not retried');
  });

  it('gives up after maxAttempts and marks the delivery failed', async () => {
    const receiver = await startReceiver(() => ({ status: 503 }));
    const store = createMemoryStore();
    const runtime = createRuntime({ store, workflows: [greet] });
    const dispatcher = createWebhookDispatcher({ store, ...fast, retryBaseMs: 10, maxAttempts: 3 });
    cleanups.push(async () => {
      await dispatcher.close();
      await runtime.close();
      await receiver.close();
    });
    const { info } = await createWebhook(store, { url: receiver.url, events: ['run.completed'] });
    await finished(runtime, 'greet', 'Ed');
    await receiver.waitFor(3);
    await pause(300);
    expect(receiver.received).toHaveLength(3);
    const [last] = await listWebhookDeliveries(store, info.id);
    expect(last).toMatchObject({ attempt: 3, outcome: 'failed', statusCode: 503 });
    expect((last as { error: string }).error).toContain('gave up after 3 attempts');
  });

  it('sends nothing to a revoked subscription, not even a pending retry', async () => {
    // The retry is due 0.5 to 1 s later: the revocation comes first.
    const { store, receiver, runtime } = await setup(() => ({ status: 500 }), { retryBaseMs: 1000 });
    const { info } = await createWebhook(store, { url: receiver.url, events: ['run.completed'] });
    await finished(runtime, 'greet', 'Fe');
    await receiver.waitFor(1);
    await revokeWebhook(store, info.id);
    await pause(1200);
    expect(receiver.received).toHaveLength(1);
    expect((await listWebhookDeliveries(store, info.id))[0]).toMatchObject({
      outcome: 'cancelled',
      reason: 'the subscription was revoked',
    });
    await finished(runtime, 'greet', 'Gu');
    await pause(300);
    expect(receiver.received).toHaveLength(1);
  });

  it('sends only the events and the targets a subscription names', async () => {
    const { store, receiver, runtime } = await setup();
    await createWebhook(store, {
      url: `${receiver.url}/greet`,
      events: ['run.completed'],
      targets: ['greet'],
    });
    await createWebhook(store, { url: `${receiver.url}/fail`, events: ['run.failed'] });
    await finished(runtime, 'broken', null);
    await finished(runtime, 'greet', 'Hu');
    const wait = await runtime.start(expense, 5);
    await waitForStatus(runtime, wait.runId, 'suspended');
    await receiver.waitFor(2);
    await pause(300);
    expect(
      receiver.received.map((request) => [request.path, request.event.type, request.event.target]).sort(),
    ).toEqual([
      ['/hook/fail', 'run.failed', 'broken'],
      ['/hook/greet', 'run.completed', 'greet'],
    ]);
  });

  it('does not send events of runs that ended before the subscription was created; sends those a second after', async () => {
    const { store, receiver, runtime } = await setup();
    await finished(runtime, 'greet', 'old');
    await pause(50);
    await createWebhook(store, { url: receiver.url, events: ['run.completed'] });
    // A runtime that saw no subscription writes the change feed again within about a second.
    await pause(1100);
    await finished(runtime, 'greet', 'new');
    const [request] = await receiver.waitFor(1);
    await pause(200);
    expect(receiver.received).toHaveLength(1);
    expect(request?.event.output).toBe('Hello, new');
  });
});

/** Webhook dispatchers sharing one SQLite file: each event sent once by one of them; a dispatcher stopped or SIGKILLed mid-backoff or mid-request is continued by another, within what docs/webhooks.md promises. */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Store, workflow } from '../../src/index.js';
import {
  createWebhook,
  createWebhookDispatcher,
  listWebhookDeliveries,
  type WebhookDispatcherOptions,
} from '../../src/server/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { waitUntil } from '../../src/testing/index.js';
import { assertCliBuilt } from '../baton-cli.js';
import { type Answer, pause, type Received, startReceiver } from './webhook-receiver.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
beforeAll(() => assertCliBuilt());

const greet = workflow({ name: 'greet' }, async (ctx, name: string) =>
  ctx.step('hello', async () => `Hello, ${name}`),
);

const fast = {
  pollMs: 25,
  retryBaseMs: 50,
  timeoutMs: 2000,
  claimGraceMs: 200,
} satisfies Partial<WebhookDispatcherOptions>;

/** A SQLite file and a store on it; `open` opens another connection to the same file. */
function sqliteFile(): { path: string; open(): Store } {
  const folder = mkdtempSync(join(tmpdir(), 'baton-webhooks-'));
  const path = join(folder, 'baton.db');
  const stores: Store[] = [];
  cleanups.push(async () => {
    for (const store of stores) await store.close();
    rmSync(folder, { recursive: true, force: true });
  });
  return {
    path,
    open() {
      const store = createSqliteStore({ path });
      stores.push(store);
      return store;
    },
  };
}

async function receiver(answer?: (request: Received, index: number) => Answer) {
  const started = await startReceiver(answer);
  cleanups.push(() => started.close());
  return started;
}

function dispatcherOn(store: Store, options: Partial<WebhookDispatcherOptions> = {}) {
  const dispatcher = createWebhookDispatcher({ store, ...fast, ...options });
  cleanups.push(() => dispatcher.close());
  return dispatcher;
}

/** A dispatcher in a child process on the SQLite file at `path`. */
async function dispatcherProcess(
  path: string,
  options: Partial<WebhookDispatcherOptions>,
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [join(import.meta.dirname, 'fixtures/webhook-dispatcher.mjs'), path, JSON.stringify(options)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  cleanups.push(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().startsWith('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`the dispatcher process exited with ${code}`)));
  });
  return child;
}

async function killed(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('webhook dispatchers on one SQLite file', () => {
  it('two dispatchers (two connections) deliver each of 30 events once', async () => {
    const file = sqliteFile();
    const [runs, first, second] = [file.open(), file.open(), file.open()];
    const hook = await receiver();
    await createWebhook(runs, { url: hook.url, events: ['run.completed'] });
    const dispatchers = [dispatcherOn(first), dispatcherOn(second)];
    const runtime = createRuntime({ store: runs, workflows: [greet] });
    cleanups.push(() => runtime.close());
    const handles = await Promise.all(
      Array.from({ length: 30 }, (_, index) => runtime.start(greet, `n${index}`)),
    );
    await Promise.all(handles.map((handle) => handle.result()));
    await hook.waitFor(30);
    await pause(400);
    const ids = hook.received.map((request) => request.headers['baton-webhook-id']);
    expect(ids).toHaveLength(30);
    expect(new Set(ids).size).toBe(30);
    expect(new Set(hook.received.map((request) => request.event.runId))).toEqual(
      new Set(handles.map((handle) => handle.runId)),
    );
    // Both competed: each claimed deliveries (the first claim of each in the stream won).
    const records = (await runs.readRecords('webhooks:deliveries')).map(
      (record) => record.data as { type: string; owner?: string },
    );
    for (const dispatcher of dispatchers)
      expect(records.some((record) => record.type === 'claim' && record.owner === dispatcher.owner)).toBe(
        true,
      );
    expect(records.filter((record) => record.type === 'attempt')).toHaveLength(30);
  });

  it('a dispatcher stopped mid-backoff: another continues at the retry time, nothing sent twice', async () => {
    const file = sqliteFile();
    const store = file.open();
    const hook = await receiver((_request, index) => ({ status: index === 0 ? 503 : 200 }));
    const { info } = await createWebhook(store, { url: hook.url, events: ['run.completed'] });
    const first = dispatcherOn(store, { retryBaseMs: 800 });
    const runtime = createRuntime({ store, workflows: [greet] });
    cleanups.push(() => runtime.close());
    await (await runtime.start(greet, 'Ada')).result();
    await hook.waitFor(1);
    await waitUntil(
      () => listWebhookDeliveries(store, info.id),
      (rows) => rows.length === 1,
    );
    await first.close();
    const [retry] = await listWebhookDeliveries(store, info.id);
    expect(retry).toMatchObject({ outcome: 'retry', statusCode: 503 });
    dispatcherOn(file.open(), { retryBaseMs: 800 });
    const [, second] = await hook.waitFor(2);
    expect(second?.at).toBeGreaterThanOrEqual((retry as { nextAt: number }).nextAt - 5);
    await pause(300);
    expect(hook.received).toHaveLength(2);
    expect((await listWebhookDeliveries(store, info.id)).map((row) => row.outcome)).toEqual([
      'delivered',
      'retry',
    ]);
  });

  it('a dispatcher process SIGKILLed mid-backoff: a restarted one sends the retry once', async () => {
    const file = sqliteFile();
    const store = file.open();
    const hook = await receiver((_request, index) => ({ status: index === 0 ? 500 : 200 }));
    const { info } = await createWebhook(store, { url: hook.url, events: ['run.completed'] });
    const child = await dispatcherProcess(file.path, { ...fast, retryBaseMs: 1500 });
    const runtime = createRuntime({ store, workflows: [greet] });
    cleanups.push(() => runtime.close());
    await (await runtime.start(greet, 'Bo')).result();
    await hook.waitFor(1);
    await waitUntil(
      () => listWebhookDeliveries(store, info.id),
      (rows) => rows.length === 1,
    );
    await killed(child);
    dispatcherOn(file.open());
    await hook.waitFor(2);
    await pause(300);
    expect(hook.received).toHaveLength(2);
    expect(hook.received[1]?.headers['baton-webhook-id']).toBe(hook.received[0]?.headers['baton-webhook-id']);
    const log = await listWebhookDeliveries(store, info.id);
    expect(log.map((row) => ('attempt' in row ? [row.attempt, row.outcome] : []))).toEqual([
      [2, 'delivered'],
      [1, 'retry'],
    ]);
  });

  it('a dispatcher process SIGKILLed mid-request: its claim runs out and the attempt is sent again (at least once)', async () => {
    const file = sqliteFile();
    const store = file.open();
    const hook = await receiver((_request, index) =>
      index === 0 ? { status: 200, hang: true } : { status: 200 },
    );
    const { info } = await createWebhook(store, { url: hook.url, events: ['run.completed'] });
    const child = await dispatcherProcess(file.path, { ...fast, timeoutMs: 1000, claimGraceMs: 300 });
    const runtime = createRuntime({ store, workflows: [greet] });
    cleanups.push(() => runtime.close());
    await (await runtime.start(greet, 'Cy')).result();
    const [first] = await hook.waitFor(1);
    await killed(child);
    const killedAt = Date.now();
    dispatcherOn(file.open());
    const [, again] = await hook.waitFor(2);
    // Not before the dead claim ran out (1000 + 300 ms after it was taken).
    expect((again?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(again?.headers['baton-webhook-id']).toBe(first?.headers['baton-webhook-id']);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    await pause(300);
    expect(hook.received).toHaveLength(2);
    expect(await listWebhookDeliveries(store, info.id)).toMatchObject([{ attempt: 1, outcome: 'delivered' }]);
  });

  it('a dispatcher started after runs ended while none ran delivers them (the feed is durable)', async () => {
    const file = sqliteFile();
    const store = file.open();
    const hook = await receiver();
    await createWebhook(store, { url: hook.url, events: ['run.completed'] });
    const runtime = createRuntime({ store, workflows: [greet] });
    cleanups.push(() => runtime.close());
    for (const name of ['a', 'b', 'c']) await (await runtime.start(greet, name)).result();
    dispatcherOn(file.open());
    await hook.waitFor(3);
    await pause(200);
    expect(hook.received.map((request) => request.event.output).sort()).toEqual([
      'Hello, a',
      'Hello, b',
      'Hello, c',
    ]);
  });
});

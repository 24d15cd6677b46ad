/**
 * Jobs whose worker could not take their run: a worker whose store fails while it takes a run
 * from the queue (the database restarting, say) tries the job again shortly, and the job of a
 * worker killed before it took the run goes to another worker within the lease; in neither case
 * does the run wait for its queue lease (5 minutes). Against the local Redis and a SQLite file.
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqDispatcher, createWorker } from '../../src/distributed/redis/index.js';
import { createRuntime, type Store } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { waitForStatus, waitUntil } from '../../src/testing/index.js';
import { kill, startWorker, waitForLine } from '../crash/crash-harness.js';
import { workerFlow } from './worker-flow.js';

const directory = mkdtempSync(join(tmpdir(), 'baton-worker-store-'));
const redis = 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(directory, { recursive: true, force: true });
});

/** The store, except that every read of a run fails while `failing.on` is set (as a lost connection would). */
function flakyStore(store: Store, failing: { on: boolean; failures: number }): Store {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (property === 'getRun') {
        return (...args: unknown[]) => {
          if (failing.on) {
            failing.failures++;
            return Promise.reject(new Error('Connection terminated unexpectedly'));
          }
          return (value as (...args: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...args: unknown[]) => unknown).bind(target);
    },
  });
}

describe('a job whose worker could not take its run', () => {
  it('is tried again once the store answers, instead of leaving the run queued', async () => {
    const queue = `store-failure-${randomUUID().slice(0, 8)}`;
    const prefix = `baton-test-${randomUUID().slice(0, 8)}`;
    const dbPath = join(directory, `${queue}.db`);
    const logPath = join(directory, `${queue}.log`);
    writeFileSync(logPath, '');
    const store = createSqliteStore({ path: dbPath });
    const dispatcher = createBullmqDispatcher({ redis, queue, prefix });
    const runtime = createRuntime({ store, dispatcher, workflows: [workerFlow(logPath)], recover: false });
    const workerStore = createSqliteStore({ path: dbPath });
    const failing = { on: true, failures: 0 };
    const worker = await createWorker({
      redis,
      queue,
      prefix,
      store: flakyStore(workerStore, failing),
      workflows: [workerFlow(logPath)],
      leaseMs: 2000,
      pollIntervalMs: 100,
      inlineWaitMs: 50,
    });
    cleanups.push(async () => {
      await worker.close();
      await runtime.close();
      await (await dispatcher.queue()).obliterate({ force: true });
      await dispatcher.close();
      await workerStore.close();
      await store.close();
    });
    const handle = await runtime.start('worker-flow', { n: 1, waitSignal: false, sleepMs: 0 });
    await waitUntil(
      () => failing.failures,
      (failures) => failures > 0,
      { timeoutMs: 5000, intervalMs: 10, what: 'a failed read' },
    );
    failing.on = false;
    // The queue lease is 5 minutes: only a retried job runs the run within seconds.
    await waitForStatus(runtime, handle.runId, 'completed', { timeoutMs: 10_000, intervalMs: 50 });
    expect(await handle.result()).toMatchObject({ n: 1, last: 5 });
  }, 30_000);

  it('goes to another worker soon after the worker that held it is killed before taking the run', async () => {
    const queue = `stranded-${randomUUID().slice(0, 8)}`;
    const prefix = `baton-test-${randomUUID().slice(0, 8)}`;
    const dbPath = join(directory, `${queue}.db`);
    const logPath = join(directory, `${queue}.log`);
    writeFileSync(logPath, '');
    const leaseMs = 1500;
    const store = createSqliteStore({ path: dbPath });
    const dispatcher = createBullmqDispatcher({ redis, queue, prefix });
    const runtime = createRuntime({ store, dispatcher, workflows: [workerFlow(logPath)], recover: false });
    cleanups.push(async () => {
      await runtime.close();
      await (await dispatcher.queue()).obliterate({ force: true });
      await dispatcher.close();
      await store.close();
    });
    // A worker that takes the job and hangs before it claims the run, then dies.
    const stuck = startWorker(
      join(import.meta.dirname, 'stuck-worker.ts'),
      [dbPath, logPath, queue, prefix, String(leaseMs)],
      '',
    );
    cleanups.push(() => kill(stuck));
    await waitForLine(stuck, 'READY');
    const handle = await runtime.start('worker-flow', { n: 2, waitSignal: false, sleepMs: 0 });
    const bull = await dispatcher.queue();
    await waitUntil(
      () => bull.getActiveCount(),
      (active) => active === 1,
      { intervalMs: 20, what: 'the job taken' },
    );
    await kill(stuck);
    const killedAt = Date.now();
    const workerStore = createSqliteStore({ path: dbPath });
    const worker = await createWorker({
      redis,
      queue,
      prefix,
      store: workerStore,
      workflows: [workerFlow(logPath)],
      leaseMs,
      pollIntervalMs: 100,
      inlineWaitMs: 50,
    });
    cleanups.push(async () => {
      await worker.close();
      await workerStore.close();
    });
    // BullMQ's default stalled-job check (every 30 s) would leave the run queued for 30–60 s.
    await waitForStatus(runtime, handle.runId, 'completed', {
      timeoutMs: 4 * leaseMs + 2000,
      intervalMs: 50,
    });
    process.stdout.write(`stranded job taken over ${Date.now() - killedAt} ms after the kill\n`);
    expect(await handle.result()).toMatchObject({ n: 2, last: 7 });
  }, 30_000);
});

/**
 * Runs on BullMQ workers, against the local Redis (never mocked; these tests fail when it is
 * down) and a SQLite file the processes share.
 */

import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type BatonWorker,
  createBullmqDispatcher,
  createRedisEventBus,
  createWorker,
  redisEventFeed,
} from '../../src/distributed/redis/index.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import { createSqliteStore, type SqliteStore } from '../../src/stores/sqlite/index.js';
import { exitOf, kill, startWorker, type WorkerProcess, waitForLine } from '../crash/crash-harness.js';
import { type FlowInput, workerFlow } from './worker-flow.js';
import { type Effect, readLog, redis, workerTestHarness } from './worker-harness.js';

const harness = workerTestHarness('baton-workers');
const { directory, prefix } = harness;
const cleanups = { push: harness.cleanup };

/** Executions of each step per run: `runId tag` → the pids that started it, in order. */
function startsByStep(effects: Effect[]): Map<string, number[]> {
  const starts = new Map<string, number[]>();
  for (const effect of effects) {
    if (effect.phase !== 'start') continue;
    const key = `${effect.runId} ${effect.tag}`;
    starts.set(key, [...(starts.get(key) ?? []), effect.pid]);
  }
  return starts;
}

/** A fresh queue, a SQLite file and a side-effect log, and an API runtime that only dispatches. */
function setup(name: string) {
  const made = harness.queue(name);
  const runtime = createRuntime({
    store: made.store,
    dispatcher: made.dispatcher,
    workflows: [workerFlow(made.logPath)],
    recover: false,
    pollIntervalMs: 50,
  });
  harness.cleanup(() => runtime.close());
  return { ...made, runtime };
}

function inputs(count: number): FlowInput[] {
  return Array.from({ length: count }, (_, n) => ({
    n,
    waitSignal: n % 3 === 0,
    sleepMs: n % 4 === 1 ? 300 : 0,
  }));
}

/** Starts the runs, sends `go` to those waiting for it once they wait, and returns every result. */
async function runAll(runtime: Runtime, all: FlowInput[], timeoutMs: number): Promise<unknown[]> {
  const handles = await Promise.all(all.map((input) => runtime.start('worker-flow', input)));
  const signalled = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  const results = Promise.all(handles.map((handle) => handle.result()));
  let done = false;
  void results.finally(() => {
    done = true;
  });
  while (!done) {
    if (Date.now() > deadline) throw new Error('runs did not finish in time');
    for (const [index, handle] of handles.entries()) {
      if (!all[index]?.waitSignal || signalled.has(handle.runId)) continue;
      // Half get the signal before they wait for it (it is kept), half once they wait for it.
      const early = (all[index]?.n ?? 0) % 2 === 0;
      const record = await runtime.get(handle.runId);
      if (early || (record.status === 'suspended' && (record.wakeAt ?? null) === null)) {
        await runtime.signal(handle.runId, 'go', { by: 'test' });
        signalled.add(handle.runId);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return results;
}

function expected(input: FlowInput) {
  return {
    n: input.n,
    left: input.n + 1,
    right: input.n + 2,
    signalled: input.waitSignal ? 'test' : 'none',
    answer: '5',
    last: 2 * input.n + 3,
  };
}

describe('BullMQ workers', () => {
  it('runs what a process without workers starts: steps, branches, durable timers, signals and agents, each step once', async () => {
    const { queue, dbPath, logPath, runtime, dispatcher } = setup('inproc');
    const workers: BatonWorker[] = [];
    const stores: SqliteStore[] = [];
    for (let index = 0; index < 2; index++) {
      const store = createSqliteStore({ path: dbPath });
      stores.push(store);
      workers.push(
        await createWorker({
          redis,
          queue,
          prefix,
          store,
          workflows: [workerFlow(logPath)],
          leaseMs: 2000,
          pollIntervalMs: 100,
          inlineWaitMs: 50,
        }),
      );
    }
    cleanups.push(async () => {
      for (const worker of workers) await worker.close();
      for (const store of stores) await store.close();
    });
    const all = inputs(24);
    const results = await runAll(runtime, all, 30_000);
    expect(results).toEqual(all.map(expected));
    // Both workers took part, and no step ran twice.
    expect(workers.every((worker) => worker.executed > 0)).toBe(true);
    const starts = startsByStep(readLog(logPath));
    expect([...starts].filter(([, pids]) => pids.length > 1).map(([step]) => step)).toEqual([]);
    expect(starts.size).toBe(24 * 5);
    // The API process ran nothing itself: every run was a job.
    expect(dispatcher.dispatched).toBeGreaterThanOrEqual(24);
  }, 60_000);

  it('takes over the runs of a SIGKILLed worker: every run completes once, and only steps in flight on the killed worker run again', async () => {
    const { queue, dbPath, logPath, runtime } = setup('kill');
    const script = join(import.meta.dirname, 'worker-child.ts');
    const children: WorkerProcess[] = [];
    for (let index = 0; index < 3; index++) {
      const child = startWorker(script, [dbPath, logPath, queue, prefix], '');
      children.push(child);
      await waitForLine(child, 'READY');
    }
    cleanups.push(async () => {
      for (const child of children) if (!child.closed) await kill(child);
    });
    const all = inputs(30).map((input) => ({ ...input, sleepMs: 0 }));
    const running = runAll(runtime, all, 60_000);
    // Kill the first worker once it has started some steps.
    const victim = children[0] as WorkerProcess;
    const victimPid = victim.child.pid as number;
    const deadline = Date.now() + 20_000;
    while (readLog(logPath).filter((effect) => effect.pid === victimPid).length < 6) {
      if (Date.now() > deadline) throw new Error('the first worker started no steps');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await kill(victim);
    const results = await running;
    expect(results).toEqual(all.map(expected));
    const starts = startsByStep(readLog(logPath));
    expect(starts.size).toBe(30 * 5);
    for (const [step, pids] of starts) {
      if (pids.length === 1) continue;
      // Run again only because the first execution died with its worker.
      expect({ step, first: pids[0] }).toEqual({ step, first: victimPid });
      expect(pids.slice(1).includes(victimPid)).toBe(false);
    }
    // No run is left running or leased.
    const records = await runtime.list({});
    expect(records.filter((record) => record.status !== 'completed')).toEqual([]);
  }, 90_000);

  it('drains on SIGTERM: running runs are handed to another worker, not abandoned', async () => {
    const { queue, dbPath, logPath, runtime } = setup('drain');
    const script = join(import.meta.dirname, 'worker-child.ts');
    const first = startWorker(script, [dbPath, logPath, queue, prefix], '');
    await waitForLine(first, 'READY');
    cleanups.push(async () => {
      if (!first.closed) await kill(first);
    });
    const all = inputs(10).map((input) => ({ ...input, sleepMs: 0, waitSignal: false }));
    const running = runAll(runtime, all, 60_000);
    const deadline = Date.now() + 20_000;
    while (readLog(logPath).length < 4) {
      if (Date.now() > deadline) throw new Error('the worker started no steps');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    first.child.kill('SIGTERM');
    await waitForLine(first, 'DRAINED');
    await exitOf(first);
    const second = startWorker(script, [dbPath, logPath, queue, prefix], '');
    cleanups.push(async () => {
      if (!second.closed) await kill(second);
    });
    await waitForLine(second, 'READY');
    expect(await running).toEqual(all.map(expected));
    // A drained worker finishes the step in hand before it lets go: nothing ran twice.
    const starts = startsByStep(readLog(logPath));
    expect([...starts.values()].filter((pids) => pids.length > 1)).toEqual([]);
  }, 90_000);

  it('follows, from the process that started it, the events of a run a worker executes', async () => {
    const queue = `events-${randomUUID().slice(0, 8)}`;
    const dbPath = join(directory, `${queue}.db`);
    const logPath = join(directory, `${queue}.log`);
    writeFileSync(logPath, '');
    const bus = await createRedisEventBus({ redis, prefix: `${prefix}:events` });
    const store = createSqliteStore({ path: dbPath });
    const dispatcher = createBullmqDispatcher({ redis, queue, prefix });
    const runtime = createRuntime({
      store,
      dispatcher,
      eventFeed: redisEventFeed(bus),
      workflows: [workerFlow(logPath)],
      recover: false,
      pollIntervalMs: 50,
    });
    const workerStore = createSqliteStore({ path: dbPath });
    const worker = await createWorker({
      redis,
      queue,
      prefix,
      store: workerStore,
      events: bus,
      workflows: [workerFlow(logPath)],
      leaseMs: 2000,
      inlineWaitMs: 50,
    });
    cleanups.push(async () => {
      await worker.close();
      await runtime.close();
      await (await dispatcher.queue()).obliterate({ force: true });
      await dispatcher.close();
      await bus.close();
      await workerStore.close();
      await store.close();
    });
    const handle = await runtime.start('worker-flow', { n: 7, waitSignal: false, sleepMs: 0 });
    const seen: string[] = [];
    for await (const event of handle.events()) {
      if (event.runId !== handle.runId) throw new Error(`an event of another run: ${event.runId}`);
      if (event.type === 'run-start' || event.type === 'run-end' || event.type === 'step-end')
        seen.push(event.type === 'step-end' ? `step-end ${event.name}` : event.type);
    }
    expect(seen[0]).toBe('run-start');
    expect(seen.at(-1)).toBe('run-end');
    expect(seen).toEqual(expect.arrayContaining(['step-end first', 'step-end tool:add', 'step-end last']));
    expect(await handle.result()).toEqual(expected({ n: 7, waitSignal: false, sleepMs: 0 }));
  }, 30_000);

  it('refuses a Redis address that is not a redis:// URL, naming it', () => {
    expect(() => createBullmqDispatcher({ redis: 'localhost:6379' })).toThrow(/localhost:6379.*redis:\/\//);
  });
});

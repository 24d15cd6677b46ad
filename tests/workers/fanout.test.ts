/**
 * Distributed fan-out: children dispatched as runs of their own (`ctx.run(..., { distribute: true })`,
 * `concurrent({ distribute: true })`) on BullMQ workers, against the local Redis (never mocked).
 */

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/distributed/redis/index.js';
import { concurrent, createRuntime, workflow } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { kill, startWorker, type WorkerProcess, waitForLine } from '../crash/crash-harness.js';
import { fanoutFlow } from './worker-flow.js';
import { readLog, redis, workerTestHarness } from './worker-harness.js';

const harness = workerTestHarness('baton-fanout');
const { prefix } = harness;
const cleanups = { push: harness.cleanup };
const setup = (name: string) => harness.queue(name);

describe('distributed fan-out', () => {
  it('runs each distributed child as a run of its own on the workers, linked to its waiting parent', async () => {
    const { queue, dbPath, logPath, store, dispatcher } = setup('fan');
    const runtime = createRuntime({
      store,
      dispatcher,
      workflows: [...fanoutFlow(logPath)],
      recover: false,
      pollIntervalMs: 50,
    });
    const workers = [];
    for (let index = 0; index < 2; index++) {
      const workerStore = createSqliteStore({ path: dbPath });
      const worker = await createWorker({
        redis,
        queue,
        prefix,
        store: workerStore,
        workflows: [...fanoutFlow(logPath)],
        leaseMs: 2000,
        pollIntervalMs: 100,
        concurrency: 20,
      });
      workers.push(worker);
      cleanups.push(async () => {
        await worker.close();
        await workerStore.close();
      });
    }
    cleanups.push(() => runtime.close());
    const count = 60;
    const handle = await runtime.start('fanout', count);
    // Sum of (2n + 1) for n < count.
    expect(await handle.result()).toBe(count * count);
    const children = (await runtime.list({})).filter((record) =>
      record.id.startsWith(`${handle.runId}.child.`),
    );
    expect(children).toHaveLength(count);
    expect(children.every((record) => record.status === 'completed' && record.target === 'fanout-unit')).toBe(
      true,
    );
    // Every unit's step ran once, and both workers executed units.
    const starts = readLog(logPath).filter((effect) => effect.phase === 'start');
    expect(new Set(starts.map((effect) => effect.runId)).size).toBe(count);
    expect(starts).toHaveLength(count);
    expect(workers.every((worker) => worker.executed > 1)).toBe(true);
    // The parent waited durably: its journal holds a spawn step and the child's answer per unit.
    const journal = await runtime.journal(handle.runId);
    expect(journal.filter((entry) => entry.name === 'spawn:fanout-unit')).toHaveLength(count);
  }, 60_000);

  it('dispatches concurrent() units as runs of their own with distribute: true', async () => {
    const { queue, dbPath, store, dispatcher } = setup('concurrent');
    const unit = (name: string, factor: number) =>
      workflow({ name }, async (ctx, input: number) => ctx.step('work', () => input * factor));
    const units = [unit('times-2', 2), unit('times-3', 3), unit('times-5', 5)];
    const team = concurrent({
      name: 'spread',
      units,
      aggregate: (results) => results.map((result) => (result.ok ? result.output : null)),
      distribute: true,
    });
    const workflows = [team, ...units];
    const runtime = createRuntime({
      store,
      dispatcher,
      workflows: [team],
      recover: false,
      pollIntervalMs: 50,
    });
    const workerStore = createSqliteStore({ path: dbPath });
    const worker = await createWorker({ redis, queue, prefix, store: workerStore, workflows, leaseMs: 2000 });
    cleanups.push(async () => {
      await worker.close();
      await runtime.close();
      await workerStore.close();
    });
    const handle = await runtime.start(team, 7);
    expect(await handle.result()).toEqual([14, 21, 35]);
    const children = (await runtime.list({})).filter((record) =>
      record.id.startsWith(`${handle.runId}.child.`),
    );
    expect(children.map((record) => record.target).sort()).toEqual(['times-2', 'times-3', 'times-5']);
  }, 30_000);

  it('re-runs only the unfinished units of a worker killed mid-fan-out', async () => {
    const { queue, dbPath, logPath, store, dispatcher } = setup('fankill');
    const runtime = createRuntime({
      store,
      dispatcher,
      workflows: [...fanoutFlow(logPath)],
      recover: false,
      pollIntervalMs: 50,
    });
    cleanups.push(() => runtime.close());
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
    const count = 120;
    const handle = await runtime.start('fanout', count);
    const victim = children[0] as WorkerProcess;
    const victimPid = victim.child.pid as number;
    const deadline = Date.now() + 20_000;
    while (readLog(logPath).filter((effect) => effect.pid === victimPid).length < 10) {
      if (Date.now() > deadline) throw new Error('the first worker ran no units');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await kill(victim);
    expect(await handle.result()).toBe(count * count);
    const byUnit = new Map<string, number[]>();
    for (const effect of readLog(logPath)) {
      if (effect.phase !== 'start') continue;
      byUnit.set(effect.runId, [...(byUnit.get(effect.runId) ?? []), effect.pid]);
    }
    expect(byUnit.size).toBe(count);
    const again = [...byUnit].filter(([, pids]) => pids.length > 1);
    // Only units the killed worker had in flight ran again, and far fewer than all of them.
    for (const [unit, pids] of again) expect({ unit, first: pids[0] }).toEqual({ unit, first: victimPid });
    expect(again.length).toBeLessThan(count / 3);
    const records = await runtime.list({});
    expect(records.filter((record) => record.status !== 'completed')).toEqual([]);
  }, 120_000);
});

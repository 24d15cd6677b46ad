/**
 * Workers in a rolling deploy: a worker without the run's version must not use up the run's
 * job, or the recovery poll's later dispatch of the same run state (the same BullMQ job id) is
 * dropped as a duplicate and the run waits forever. Local Redis, never mocked.
 */

import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/distributed/redis/index.js';
import { createRuntime, workflow } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { redis, workerTestHarness } from './worker-harness.js';

const harness = workerTestHarness('baton-versions');
const { prefix } = harness;

const versioned = (version: string) =>
  workflow({ name: 'versioned', version }, async (ctx, input: string) =>
    ctx.step('answer', () => `${input} by version ${version}`),
  );

describe('workers of two versions', () => {
  it('leaves a run of another version for a worker that has it, after the recovery poll saw it', async () => {
    const { queue, dbPath, store, dispatcher } = harness.queue('versions');
    const runtime = createRuntime({ store, dispatcher, workflows: [versioned('2')], recover: false });
    harness.cleanup(() => runtime.close());
    // The old worker takes the run first: its start job, then (once the lease it took runs out)
    // the job its own recovery poll dispatches for the run.
    const oldStore = createSqliteStore({ path: dbPath });
    const old = await createWorker({
      redis,
      queue,
      prefix,
      store: oldStore,
      workflows: [versioned('1')],
      leaseMs: 600,
      pollIntervalMs: 100,
    });
    harness.cleanup(async () => {
      await old.close();
      await oldStore.close();
    });
    const handle = await runtime.start('versioned', 'hello');
    await new Promise((resolve) => setTimeout(resolve, 2500));
    await old.close();
    // The new worker's recovery poll dispatches the same run state again.
    const newStore = createSqliteStore({ path: dbPath });
    const current = await createWorker({
      redis,
      queue,
      prefix,
      store: newStore,
      workflows: [versioned('2')],
      leaseMs: 600,
      pollIntervalMs: 100,
    });
    harness.cleanup(async () => {
      await current.close();
      await newStore.close();
    });
    const outcome = await Promise.race([
      handle.result(),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000)),
    ]);
    expect(outcome).toBe('hello by version 2');
  }, 30_000);
});

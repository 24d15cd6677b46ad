/**
 * Workers with different modules: a worker whose runtime does not register a run's target
 * leaves the run (and its job) for a worker that does, instead of failing the job. Local
 * Redis, never mocked.
 */

import { describe, expect, it } from 'vitest';
import { createWorker } from '../../src/distributed/redis/index.js';
import { createRuntime, workflow } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { redis, workerTestHarness } from './worker-harness.js';

const harness = workerTestHarness('baton-unknown-target');
const { prefix } = harness;

const billing = workflow({ name: 'billing', version: '1' }, async (ctx, input: string) =>
  ctx.step('bill', () => `billed ${input}`),
);
const shipping = workflow({ name: 'shipping', version: '1' }, async (ctx, input: string) =>
  ctx.step('ship', () => `shipped ${input}`),
);

describe('a worker that does not know a run’s target', () => {
  it('hands the job back without taking the run, and a worker that knows the target runs it', async () => {
    const { queue, dbPath, store, dispatcher } = harness.queue('unknown-target');
    const runtime = createRuntime({ store, dispatcher, workflows: [billing, shipping], recover: false });
    harness.cleanup(() => runtime.close());
    // A long lease: were the run taken by the worker that cannot run it, the other worker would
    // have to wait this long for it.
    const leaseMs = 30_000;
    const billingStore = createSqliteStore({ path: dbPath });
    const billingOnly = await createWorker({
      redis,
      queue,
      prefix,
      store: billingStore,
      workflows: [billing],
      leaseMs,
      pollIntervalMs: 100,
    });
    harness.cleanup(async () => {
      await billingOnly.close();
      await billingStore.close();
    });
    const handle = await runtime.start('shipping', 'parcel');
    // The only worker cannot run it: the run waits, neither failed nor taken, and no job failed.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const waiting = await runtime.get(handle.runId);
    expect(waiting.status).not.toBe('failed');
    expect(waiting.leaseOwner).toBe('baton:queued');
    expect(await (await dispatcher.queue()).getFailedCount()).toBe(0);
    // A worker that knows the target joins: it runs the run well within one lease.
    const shippingStore = createSqliteStore({ path: dbPath });
    const shippingWorker = await createWorker({
      redis,
      queue,
      prefix,
      store: shippingStore,
      workflows: [shipping],
      leaseMs,
      pollIntervalMs: 100,
    });
    harness.cleanup(async () => {
      await shippingWorker.close();
      await shippingStore.close();
    });
    // Which waiting worker gets a handed-back job is BullMQ's choice (the billing worker may get it
    // again, and hand it back again): once it stops, the job it handed back goes to the other.
    await billingOnly.close();
    const outcome = await Promise.race([
      handle.result(),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 15 s'), 15_000)),
    ]);
    expect(outcome).toBe('shipped parcel');
    expect(billingOnly.executed).toBe(0);
  }, 60_000);
});

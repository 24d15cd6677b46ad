/** Durable waits longer than setTimeout's 24.8-day limit hold until their time, with no wake-up before it. */

import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { waitForStatus } from '../testing/wait-until.js';
import { systemClock } from './clock.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';

const day = 86_400_000;
const year = 365 * day;
const runtimes: Runtime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.close();
});

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('waits longer than 24.8 days', () => {
  it('systemClock.setTimer holds a 30-day timer instead of firing at once, without a TimeoutOverflowWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    let fired = 0;
    const cancel = systemClock.setTimer(() => fired++, 30 * day);
    await pause(100);
    cancel();
    process.off('warning', onWarning);
    expect(fired).toBe(0);
    expect(warnings).not.toContain('TimeoutOverflowWarning');
  });

  it.each([
    ['ctx.sleep of 30 days', (ctx: { sleep(ms: number): Promise<void> }) => ctx.sleep(30 * day)],
    [
      'ctx.waitFor with a one-year timeout',
      (ctx: { waitFor(name: string, options: { timeoutMs: number }): Promise<unknown> }) =>
        ctx.waitFor('approval', { timeoutMs: year }),
    ],
  ])('a run parked on %s is executed once and stays suspended (real clock)', async (_name, wait) => {
    let executions = 0;
    const flow = workflow({ name: 'long-wait', version: '1' }, async (ctx) => {
      executions++;
      await wait(ctx);
      return 'woke';
    });
    const runtime = createRuntime({ store: createMemoryStore(), workflows: [flow], pollIntervalMs: 20 });
    runtimes.push(runtime);
    const handle = await runtime.start(flow, {});
    await waitForStatus(runtime, handle.runId, 'suspended');
    await pause(300); // before the fix: about 150 wake-ups in this time
    const run = await runtime.get(handle.runId);
    expect(run.status).toBe('suspended');
    expect(executions).toBe(1);
    expect(run.wakeAt).toBeGreaterThan(run.createdAt + 29 * day);
  });

  it('a one-year sleep wakes exactly at its time on a simulated clock, and not a millisecond before', async () => {
    const clock = createFakeClock(Date.parse('2026-01-01T00:00:00Z'));
    let executions = 0;
    const flow = workflow({ name: 'sabbatical', version: '1' }, async (ctx) => {
      executions++;
      await ctx.sleep(year);
      return ctx.now();
    });
    const runtime = createRuntime({
      store: createMemoryStore(),
      workflows: [flow],
      clock,
      pollIntervalMs: 60_000,
    });
    runtimes.push(runtime);
    const handle = await runtime.start(flow, {});
    await waitForStatus(runtime, handle.runId, 'suspended');
    clock.advance(year - 1);
    await pause(20);
    expect((await runtime.get(handle.runId)).status).toBe('suspended');
    expect(executions).toBe(1);
    clock.advance(1);
    await waitForStatus(runtime, handle.runId, 'completed');
    expect(executions).toBe(2);
    expect(await handle.result()).toBe(Date.parse('2027-01-01T00:00:00Z'));
  });
});

/** A process that stalls past its lease is fenced: it records nothing more and starts no step once another process holds the run. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { waitUntil } from '../testing/wait-until.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';
import type { Store } from './store.js';

const T = 1_700_000_000_000;
const leaseMs = 1_000;
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two handles on one store, as two processes would have: the same object in memory, two connections to one SQLite file. */
const stores: Record<string, () => [Store, Store]> = {
  memory: () => {
    const store = createMemoryStore();
    return [store, store];
  },
  sqlite: () => {
    const folder = mkdtempSync(join(tmpdir(), 'baton-fence-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const path = join(folder, 'baton.db');
    return [createSqliteStore({ path }), createSqliteStore({ path })];
  },
};

/** A gate a test opens by hand: `wait()` resolves once `open()` is called. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

function runtimeOn(store: Store, owner: string, clock = createFakeClock(T)): Runtime {
  const runtime = createRuntime({ store, clock, owner, leaseMs, recover: false });
  cleanups.push(async () => {
    await runtime.close();
    await store.close();
  });
  return runtime;
}

describe.each(Object.keys(stores))('lease fencing on the %s store', (storeName) => {
  it('refuses the journal write of a process that stalled inside a step while another process took the run over', async () => {
    const [storeA, storeB] = stores[storeName]!();
    const ran: string[] = [];
    const stalls = { A: gate(), B: gate() };
    const inSlowStep = { A: gate(), B: gate() };
    const flow = (process: 'A' | 'B') =>
      workflow({ name: 'charge', version: '1' }, async (ctx) => {
        await ctx.step('load', () => {
          ran.push(`${process}:load`);
          return 'order';
        });
        const charged = await ctx.step('charge', async () => {
          ran.push(`${process}:charge`);
          inSlowStep[process].open();
          await stalls[process].wait;
          return `charged by ${process}`;
        });
        await ctx.step('receipt', () => {
          ran.push(`${process}:receipt`);
          return 'sent';
        });
        return charged;
      });
    const clockA = createFakeClock(T);
    const runtimeA = runtimeOn(storeA, 'process-a', clockA);
    // Process B's clock is past A's lease: to B, A looks dead.
    const runtimeB = runtimeOn(storeB, 'process-b', createFakeClock(T + 5 * leaseMs));
    runtimeB.register(flow('B'));

    const handleA = await runtimeA.start(flow('A'), {}, { runId: 'run_fenced' });
    const resultA = handleA.result();
    await inSlowStep.A.wait;
    const handleB = await runtimeB.resume('run_fenced');
    await inSlowStep.B.wait;

    // A wakes up first and finishes its step: its write is refused and it stops.
    stalls.A.open();
    await waitUntil(
      () => runtimeB.journal('run_fenced'),
      () => ran.includes('A:charge'),
    );
    stalls.B.open();
    expect(await handleB.result()).toBe('charged by B');
    // A's handle reports what the lease holder finished with (it polls the store on A's clock).
    clockA.advance(2_000);
    expect(await resultA).toBe('charged by B');

    expect(ran.filter((effect) => effect.endsWith(':receipt'))).toEqual(['B:receipt']);
    const journal = await runtimeB.journal('run_fenced');
    expect(journal.map((entry) => entry.name)).toEqual(['load', 'charge', 'receipt']);
    expect(journal.find((entry) => entry.name === 'charge')?.result).toBe('charged by B');
  });

  it('starts no step in a process that stalled between steps past its lease', async () => {
    const [storeA, storeB] = stores[storeName]!();
    const ran: string[] = [];
    const pauseA = gate();
    const paused = gate();
    const flow = (process: 'A' | 'B') =>
      workflow({ name: 'refund', version: '1' }, async (ctx) => {
        await ctx.step('load', () => {
          ran.push(`${process}:load`);
          return 'order';
        });
        if (process === 'A') {
          paused.open();
          await pauseA.wait; // a GC pause, a frozen VM: no step is running
        }
        return ctx.step('refund', () => {
          ran.push(`${process}:refund`);
          return `refunded by ${process}`;
        });
      });
    const clockA = createFakeClock(T);
    const runtimeA = runtimeOn(storeA, 'process-a', clockA);
    const runtimeB = runtimeOn(storeB, 'process-b', createFakeClock(T + 5 * leaseMs));
    runtimeB.register(flow('B'));

    const handleA = await runtimeA.start(flow('A'), {}, { runId: 'run_paused' });
    const resultA = handleA.result();
    await paused.wait;
    expect(await (await runtimeB.resume('run_paused')).result()).toBe('refunded by B');

    // A's clock moves on past its lease (its heartbeat fires, but B holds the run), then A continues.
    clockA.advance(5 * leaseMs);
    pauseA.open();
    expect(await resultA).toBe('refunded by B');
    expect(ran).toEqual(['A:load', 'B:refund']);
  });

  it('lets a process that stalled past its lease go on when nobody took the run over', async () => {
    const [storeA] = stores[storeName]!();
    const pause = gate();
    const paused = gate();
    const flow = workflow({ name: 'slow-but-alone', version: '1' }, async (ctx) => {
      await ctx.step('first', () => 1);
      paused.open();
      await pause.wait;
      return ctx.step('second', () => 2);
    });
    const clock = createFakeClock(T);
    const runtime = runtimeOn(storeA, 'process-a', clock);
    const handle = await runtime.start(flow, {});
    await paused.wait;
    clock.set(T + 10 * leaseMs); // time jumps with no heartbeat (the process was frozen)
    pause.open();
    expect(await handle.result()).toBe(2);
    expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toEqual(['first', 'second']);
  });

  it('stores the end of a run whose process stalled past its lease after its last step, when nobody took it over', async () => {
    const [storeA] = stores[storeName]!();
    const pause = gate();
    const paused = gate();
    const flow = workflow({ name: 'stalls-at-the-end', version: '1' }, async (ctx) => {
      const value = await ctx.step('only', () => 'value');
      paused.open();
      await pause.wait;
      return value;
    });
    const clock = createFakeClock(T);
    const runtime = runtimeOn(storeA, 'process-a', clock);
    const handle = await runtime.start(flow, {});
    await paused.wait;
    clock.set(T + 10 * leaseMs);
    pause.open();
    expect(await handle.result()).toBe('value');
    const run = await runtime.get(handle.runId);
    expect(run.status).toBe('completed');
    expect(run.leaseOwner).toBeUndefined();
  });
});

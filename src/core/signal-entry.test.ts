/** A wait's entry is stored while the run goes on: a process that dies before it is stored leaves a journal whose replay takes the same signal again. */

import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
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

/**
 * The store as a process sees it that freezes (a kill, a lost machine) once it sends the entry
 * of a taken signal: that append and everything after it never reach the store.
 */
function freezingAtSignalEntry(store: Store): { store: Store; frozen: () => boolean } {
  let frozen = false;
  const never = new Promise<never>(() => {});
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property === 'appendJournal' || property === 'appendJournalWith') {
          const entry = args[0] as { kind?: string };
          if (entry?.kind === 'signal') frozen = true;
        }
        if (frozen) return never;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, frozen: () => frozen };
}

function runtimeOn(store: Store, owner: string, clock = createFakeClock(T)): Runtime {
  const runtime = createRuntime({ store, clock, owner, leaseMs, recover: false });
  cleanups.push(() => {
    // A frozen process's runtime would wait for its writes forever: it is dropped, as a killed one is.
    void runtime.close().catch(() => {});
  });
  return runtime;
}

describe("a wait's entry stored while the run goes on", () => {
  it('is taken again from the stored signal when the process dies before the entry is stored; the run ends with that signal once', async () => {
    const shared = createMemoryStore();
    const ran: string[] = [];
    const flow = (process: 'A' | 'B') =>
      workflow({ name: 'approve', version: '1' }, async (ctx) => {
        const order = await ctx.step('load', () => {
          ran.push(`${process}:load`);
          return 'order-7';
        });
        const decision = await ctx.waitFor<string>('go');
        return ctx.step('ship', () => {
          ran.push(`${process}:ship:${decision}`);
          return `${order}:${decision}`;
        });
      });
    const processA = freezingAtSignalEntry(shared);
    const runtimeA = runtimeOn(processA.store, 'process-a');
    const handle = await runtimeA.start(flow('A'), {}, { runId: 'run_wait' });
    await waitUntil(
      () => shared.getRun('run_wait'),
      (record) => record?.status === 'suspended' && record.leaseOwner === undefined,
    );

    // A takes the signal and goes on: its next step runs while the wait's entry is being stored.
    await runtimeA.signal('run_wait', 'go', 'yes');
    await waitUntil(
      () => Promise.resolve(ran),
      (effects) => effects.includes('A:ship:yes'),
    );
    expect(processA.frozen()).toBe(true);
    expect((await shared.loadJournal('run_wait')).map((entry) => entry.name)).toEqual(['load']);

    // A is dead; B, past A's lease, resumes the run from the store.
    const runtimeB = runtimeOn(shared, 'process-b', createFakeClock(T + 5 * leaseMs));
    runtimeB.register(flow('B'));
    const resumed = await runtimeB.resume('run_wait');
    expect(await resumed.result()).toBe('order-7:yes');
    const journal = await shared.loadJournal('run_wait');
    expect(journal.map((entry) => entry.name)).toEqual(['load', 'waitFor:go', 'ship']);
    const [signal] = await shared.listSignals('run_wait');
    expect(journal[1]?.result).toMatchObject({ signalId: signal?.id, payload: 'yes' });
    // The step whose entry A never stored runs again (at least once); the signal is taken once.
    expect(ran).toEqual(['A:load', 'A:ship:yes', 'B:ship:yes']);
    void handle;
  });
});

/** A store that fails for reasons of its own (locked, full, I/O) releases the run as a crash would; it never fails the run. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { waitForStatus } from '../testing/wait-until.js';
import { BatonError } from './errors.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';

const folders: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

function databasePath(): string {
  const folder = mkdtempSync(join(tmpdir(), 'baton-store-failure-'));
  folders.push(folder);
  return join(folder, 'baton.db');
}

/** A second connection to the same file, as a backup or a `sqlite3` shell inside a transaction would hold it. */
function lockHolder(path: string): { lock(): void; unlock(): void } {
  const db = new Database(path);
  cleanups.push(() => {
    if (db.inTransaction) db.exec('COMMIT');
    db.close();
  });
  return {
    lock: () => db.exec('BEGIN IMMEDIATE'),
    unlock: () => {
      if (db.inTransaction) db.exec('COMMIT');
    },
  };
}

function runtimeOn(path: string, flow: Parameters<Runtime['register']>[0]): Runtime {
  const store = createSqliteStore({ path, busyTimeoutMs: 30 });
  const runtime = createRuntime({ store, workflows: [flow], pollIntervalMs: 40, leaseMs: 2_000 });
  cleanups.push(async () => {
    await runtime.close();
    await store.close();
  });
  return runtime;
}

/** Settles `promise` as a value, or as the error it rejects with; `'pending'` if neither within `ms`. */
function settled(promise: Promise<unknown>, ms: number): Promise<unknown> {
  return Promise.race([
    promise.then(
      (value) => ({ value }),
      (error: unknown) => error,
    ),
    new Promise((resolve) => setTimeout(() => resolve('pending'), ms)),
  ]);
}

describe('a store that fails while a run executes', () => {
  it('releases the run with STORE_UNAVAILABLE when a lock outlasts busyTimeoutMs, and the run completes once the lock goes', async () => {
    const path = databasePath();
    const holder = lockHolder(path);
    let charges = 0;
    const flow = workflow({ name: 'charge-briefly-locked', version: '1' }, async (ctx) => {
      // Not the first step: that one is stored with the run's creation, whose failure rejects
      // start() instead (start-with-first-step.test.ts).
      await ctx.step('begin', () => 'begun');
      try {
        await ctx.step('charge', () => {
          charges++;
          // Another process takes the write lock while the side effect runs.
          if (charges === 1) holder.lock();
          return 'charged';
        });
      } finally {
        holder.unlock();
      }
      return ctx.step('receipt', () => 'receipt sent');
    });
    const runtime = runtimeOn(path, flow);
    const handle = await runtime.start(flow, {});

    const error = await settled(handle.result(), 10_000);
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('STORE_UNAVAILABLE');
    expect((error as BatonError).fault).toBe('system');
    expect((error as BatonError).runId).toBe(handle.runId);
    expect((error as BatonError).message).toMatch(/SQLITE_BUSY/);
    expect((error as BatonError).message).toContain('resume');
    // Released, not failed: the runtime picks it up again and finishes it.
    expect((await runtime.get(handle.runId)).status).not.toBe('failed');
    await waitForStatus(runtime, handle.runId, 'completed');
    const run = await runtime.get(handle.runId);
    expect(run.output).toBe('receipt sent');
    expect(run.error).toBeUndefined();
    // At least once for the step in flight: its result was never recorded, so it ran again.
    expect(charges).toBe(2);
  });

  it('settles result() with STORE_UNAVAILABLE while the lock is still held, then recovers the run after it is released', async () => {
    const path = databasePath();
    const holder = lockHolder(path);
    let charges = 0;
    const flow = workflow({ name: 'charge-long-locked', version: '1' }, async (ctx) => {
      await ctx.step('begin', () => 'begun');
      await ctx.step('charge', () => {
        charges++;
        if (charges === 1) holder.lock();
        return 'charged';
      });
      return 'done';
    });
    const runtime = runtimeOn(path, flow);
    const handle = await runtime.start(flow, {});

    // Before: result() never settled and the process could exit with code 13.
    const error = await settled(handle.result(), 10_000);
    expect((error as BatonError).code).toBe('STORE_UNAVAILABLE');
    const during = await runtime.get(handle.runId);
    expect(during.status).toBe('running');
    holder.unlock();
    await waitForStatus(runtime, handle.runId, 'completed');
    expect((await runtime.get(handle.runId)).output).toBe('done');
    expect(charges).toBe(2);
  });

  it('rejects start() with STORE_UNAVAILABLE when the run cannot be created, and stores nothing', async () => {
    const path = databasePath();
    const holder = lockHolder(path);
    const flow = workflow({ name: 'never-created', version: '1' }, async () => 'done');
    const runtime = runtimeOn(path, flow);
    await runtime.list(); // opens the store before the lock is taken
    holder.lock();
    const error = await runtime
      .start(flow, {}, { runId: 'run_locked_out' })
      .catch((caught: unknown) => caught);
    expect((error as BatonError).code).toBe('STORE_UNAVAILABLE');
    holder.unlock();
    await expect(runtime.get('run_locked_out')).rejects.toMatchObject({ code: 'RUN_NOT_FOUND' });
  });
});

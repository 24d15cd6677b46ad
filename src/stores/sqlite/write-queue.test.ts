/** Group commit on the SQLite store: createRun, appendJournal and updateRun share ordered, per-write-checked batches. */

import { once } from 'node:events';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../core/store.js';
import { expectBatonError, sampleEntry, sampleRun, T } from '../../testing/store-conformance.js';
import { createSqliteStore, type SqliteStore } from './index.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-queue-'));
let fileCount = 0;
const nextPath = () => path.join(directory, `store-${++fileCount}.db`);

afterAll(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

/** Opens a store on a fresh file and closes it after `body`, even when `body` throws. */
async function withStore(body: (store: SqliteStore, file: string) => Promise<void>): Promise<void> {
  const file = nextPath();
  const store = createSqliteStore({ path: file });
  try {
    await body(store, file);
  } finally {
    await store.close();
  }
}

/** The store calls one agent run makes: create, three journal entries, completion. */
async function oneRun(store: SqliteStore, runId: string): Promise<void> {
  await store.createRun(sampleRun({ id: runId, leaseOwner: 'host', leaseExpiresAt: T + 30_000 }));
  for (let step = 0; step < 3; step++) await store.appendJournal(sampleEntry(runId, `r#${step}`));
  await store.updateRun(
    runId,
    { status: 'completed', output: `done ${runId}`, endedAt: T + 5, leaseOwner: null, leaseExpiresAt: null },
    T + 5,
  );
}

const completed = (runId: string): RunRecord =>
  sampleRun({ id: runId, status: 'completed', output: `done ${runId}`, endedAt: T + 5, updatedAt: T + 5 });

describe('createSqliteStore write queue', () => {
  it('commits the writes of 100 concurrent runs in one transaction per step', async () => {
    await withStore(async (store) => {
      const before = { ...store.stats };
      const ids = Array.from({ length: 100 }, (_, index) => `run-${index}`);
      await Promise.all(ids.map((runId) => oneRun(store, runId)));
      expect(store.stats.transactions - before.transactions).toBe(5);
      expect(store.stats.writeBatches - before.writeBatches).toBe(5);
      expect(store.stats.queuedWrites - before.queuedWrites).toBe(500);
      expect(store.stats.journalBatches - before.journalBatches).toBe(3);
      expect(store.stats.journalEntries - before.journalEntries).toBe(300);
      expect(await store.getRun('run-42')).toStrictEqual(completed('run-42'));
      expect(await store.getRun('run-99')).toStrictEqual(completed('run-99'));
      expect((await store.loadJournal('run-7')).map((entry) => entry.key)).toEqual(['r#0', 'r#1', 'r#2']);
    });
  });

  it('commits every kind of write issued in one turn in one transaction, in call order', async () => {
    await withStore(async (store) => {
      const before = store.stats.transactions;
      const settled: string[] = [];
      const writes: Array<Promise<unknown>> = [];
      for (let index = 0; index < 100; index++) {
        const runId = `run-${index}`;
        const track = (label: string, write: Promise<unknown>) =>
          writes.push(write.then(() => settled.push(`${label} ${runId}`)));
        track('create', store.createRun(sampleRun({ id: runId })));
        track('append', store.appendJournal(sampleEntry(runId, 'r#0')));
        // Runs after the createRun above, in the same transaction, so it finds the run.
        track('update', store.updateRun(runId, { status: 'completed', output: index }, T + 1));
      }
      expect(store.stats.transactions).toBe(before);
      await Promise.all(writes);
      expect(store.stats.transactions - before).toBe(1);
      expect(settled.slice(0, 4)).toEqual(['create run-0', 'append run-0', 'update run-0', 'create run-1']);
      expect(settled).toHaveLength(300);
      expect(await store.getRun('run-63')).toMatchObject({ status: 'completed', output: 63 });
    });
  });

  it('adds writes issued later in the same turn, after awaits, to the same transaction', async () => {
    await withStore(async (store) => {
      const before = store.stats.transactions;
      const first = store.createRun(sampleRun({ id: 'run' }));
      for (let hop = 0; hop < 10; hop++) await Promise.resolve();
      const second = store.appendJournal(sampleEntry('run', 'r#0'));
      await Promise.all([first, second]);
      expect(store.stats.transactions - before).toBe(1);
      await new Promise((resolve) => setImmediate(resolve));
      await store.appendJournal(sampleEntry('run', 'r#1'));
      expect(store.stats.transactions - before).toBe(2);
    });
  });

  it('rejects only a duplicate createRun of a batch, with RUN_EXISTS, and keeps the first run', async () => {
    await withStore(async (store) => {
      await store.createRun(sampleRun({ id: 'stored', target: 'first' }));
      const before = store.stats.transactions;
      const outcomes = await Promise.allSettled([
        store.createRun(sampleRun({ id: 'a', target: 'first' })),
        store.createRun(sampleRun({ id: 'stored', target: 'second' })),
        store.appendJournal(sampleEntry('a', 'r#0')),
        store.createRun(sampleRun({ id: 'a', target: 'second' })),
        store.createRun(sampleRun({ id: 'b' })),
      ]);
      expect(store.stats.transactions - before).toBe(1);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'rejected',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      await expectBatonError(Promise.reject((outcomes[1] as PromiseRejectedResult).reason), 'RUN_EXISTS', {
        runId: 'stored',
      });
      await expectBatonError(Promise.reject((outcomes[3] as PromiseRejectedResult).reason), 'RUN_EXISTS', {
        runId: 'a',
      });
      expect((await store.getRun('a'))?.target).toBe('first');
      expect((await store.getRun('stored'))?.target).toBe('first');
      expect(await store.getRun('b')).toStrictEqual(sampleRun({ id: 'b' }));
      expect(await store.loadJournal('a')).toHaveLength(1);
    });
  });

  it('rejects only an updateRun of a missing run, with RUN_NOT_FOUND, and commits the rest', async () => {
    await withStore(async (store) => {
      const before = store.stats.transactions;
      const created = store.createRun(sampleRun({ id: 'real', leaseOwner: 'w', leaseExpiresAt: T + 9 }));
      const ghost = store.updateRun('ghost', { status: 'completed' }, T + 1);
      const updated = store.updateRun(
        'real',
        { status: 'suspended', wakeAt: T + 50, leaseOwner: null },
        T + 2,
      );
      const appended = store.appendJournal(sampleEntry('real', 'r#0'));
      await expectBatonError(ghost, 'RUN_NOT_FOUND', { fault: 'user', runId: 'ghost' });
      await created;
      const expected = sampleRun({
        id: 'real',
        status: 'suspended',
        wakeAt: T + 50,
        leaseExpiresAt: T + 9,
        updatedAt: T + 2,
      });
      await expect(updated).resolves.toBeUndefined();
      await appended;
      expect(store.stats.transactions - before).toBe(1);
      expect(await store.getRun('real')).toStrictEqual(expected);
      expect(await store.getRun('ghost')).toBeUndefined();
    });
  });

  it('rejects only a write whose own statement fails, and commits the rest of its batch', async () => {
    await withStore(async (store) => {
      const broken = { ...sampleRun({ id: 'broken' }), target: null } as unknown as RunRecord;
      const outcomes = await Promise.allSettled([
        store.createRun(sampleRun({ id: 'before' })),
        store.createRun(broken),
        store.createRun(sampleRun({ id: 'after' })),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect((outcomes[1] as PromiseRejectedResult).reason).toMatchObject({
        code: 'SQLITE_CONSTRAINT_NOTNULL',
      });
      expect((await store.listRuns()).map((run) => run.id).sort()).toEqual(['after', 'before']);
    });
  });

  it('rejects a run or patch JSON cannot hold at the call, before anything is queued', async () => {
    await withStore(async (store) => {
      await store.createRun(sampleRun({ id: 'kept' }));
      const before = store.stats.queuedWrites;
      await expect(store.createRun(sampleRun({ id: 'big', input: 10n }))).rejects.toThrow(/BigInt/);
      await expect(store.updateRun('kept', { output: 10n }, T + 1)).rejects.toThrow(/BigInt/);
      expect(store.stats.queuedWrites).toBe(before);
      expect(await store.getRun('big')).toBeUndefined();
      expect(await store.getRun('kept')).toStrictEqual(sampleRun({ id: 'kept' }));
    });
  });

  it('commits writes queued before close() and resolves them', async () => {
    const file = nextPath();
    const first = createSqliteStore({ path: file });
    await first.createRun(sampleRun({ id: 'old' }));
    const pending = [
      first.createRun(sampleRun({ id: 'late' })),
      first.appendJournal(sampleEntry('late', 'r#0')),
      first.updateRun('old', { status: 'cancelled' }, T + 3),
    ];
    await first.close();
    const [created, appended, updated] = await Promise.all(pending);
    expect(created).toBeUndefined();
    expect(appended).toBeUndefined();
    expect(updated).toBeUndefined();
    const second = createSqliteStore({ path: file });
    try {
      expect(await second.getRun('late')).toStrictEqual(sampleRun({ id: 'late' }));
      expect(await second.loadJournal('late')).toStrictEqual([sampleEntry('late', 'r#0')]);
      expect(await second.getRun('old')).toMatchObject({ id: 'old', status: 'cancelled', updatedAt: T + 3 });
    } finally {
      await second.close();
    }
  });

  it('has every kind of write committed when its promise resolves: another connection sees it, and a reopen keeps it', async () => {
    const file = nextPath();
    const store = createSqliteStore({ path: file });
    const reader = new Database(file, { readonly: true });
    const count = (sql: string) => reader.prepare<[], number>(sql).pluck().get();
    try {
      await store.createRun(sampleRun({ id: 'run' }));
      expect(count(`SELECT count(*) FROM runs WHERE id = 'run'`)).toBe(1);
      await store.appendJournal(sampleEntry('run', 'r#0'));
      expect(count(`SELECT count(*) FROM journal WHERE run_id = 'run'`)).toBe(1);
      await store.updateRun('run', { status: 'completed', output: 'yes' }, T + 1);
      expect(count(`SELECT count(*) FROM runs WHERE status = 'completed'`)).toBe(1);
      const updated = await store.getRun('run');
      await store.close();
      const reopened = createSqliteStore({ path: file });
      try {
        expect(await reopened.getRun('run')).toStrictEqual(updated);
        expect(await reopened.loadJournal('run')).toStrictEqual([sampleEntry('run', 'r#0')]);
      } finally {
        await reopened.close();
      }
    } finally {
      reader.close();
      await store.close();
    }
  });

  it('rejects a lone write with the busy error when another connection holds the lock past the timeout', async () => {
    const file = nextPath();
    const store = createSqliteStore({ path: file, busyTimeoutMs: 0 });
    const blocker = new Database(file);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      await expect(store.createRun(sampleRun({ id: 'run' }))).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      blocker.exec('ROLLBACK');
      expect(await store.getRun('run')).toBeUndefined();
      await store.createRun(sampleRun({ id: 'run' }));
      expect(await store.getRun('run')).toStrictEqual(sampleRun({ id: 'run' }));
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
      await store.close();
    }
  });

  it('waits for another connection holding the write lock (busyTimeoutMs) instead of failing', async () => {
    await withStore(async (store, file) => {
      await store.createRun(sampleRun({ id: 'run' }));
      for (const batchSize of [1, 3]) {
        const holder = holdWriteLock(file, 150);
        await once(holder, 'message');
        const started = Date.now();
        const writes = Array.from({ length: batchSize }, (_, index) =>
          store.appendJournal(sampleEntry('run', `b${batchSize}#${index}`)),
        );
        await Promise.all(writes);
        expect(Date.now() - started).toBeGreaterThanOrEqual(100);
        await once(holder, 'exit');
      }
      expect(await store.loadJournal('run')).toHaveLength(4);
    });
  });
});

/** A worker thread that takes the write lock on `file`, reports it, holds it for `holdMs`, then commits. */
function holdWriteLock(file: string, holdMs: number): Worker {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  return new Worker(
    `
    const { parentPort, workerData } = require('node:worker_threads');
    const Database = require(workerData.driver);
    const db = new Database(workerData.file);
    db.exec('BEGIN IMMEDIATE');
    parentPort.postMessage('locked');
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.holdMs);
    db.exec('COMMIT');
    db.close();
    `,
    { eval: true, workerData: { driver, file, holdMs } },
  );
}

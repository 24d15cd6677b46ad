/** Runs the Store conformance suite against the SQLite store, plus durability, group commit and format checks. */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { BatonError } from '../../core/errors.js';
import {
  describeStoreConformance,
  expectBatonError,
  sampleEntry,
  sampleRun,
  T,
} from '../../testing/store-conformance.js';
import { createSqliteStore, type SqliteStore } from './index.js';
import { journalParams, runColumns, runParams } from './sqlite-rows.js';
import { migrate, storeFormatVersion } from './sqlite-schema.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-'));
let fileCount = 0;
const nextPath = () => path.join(directory, `store-${++fileCount}.db`);

afterAll(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

describeStoreConformance('sqlite', () => createSqliteStore({ path: nextPath() }));
describeStoreConformance('sqlite (synchronous FULL)', () =>
  createSqliteStore({ path: nextPath(), synchronous: 'FULL' }),
);

/** Opens a store on a fresh file and closes it after `body`, even when `body` throws. */
async function withStore(body: (store: SqliteStore, file: string) => Promise<void>): Promise<void> {
  await withStoreOn(nextPath(), body);
}

/** Opens a store on `file` and closes it after `body`, even when `body` throws. */
async function withStoreOn(
  file: string,
  body: (store: SqliteStore, file: string) => Promise<void>,
): Promise<void> {
  const store = createSqliteStore({ path: file });
  try {
    await body(store, file);
  } finally {
    await store.close();
  }
}

describe('createSqliteStore change announcements', () => {
  it("announces its own stored changes to subscribers (not another store object's), and nothing once unsubscribed", async () => {
    await withStore(async (store, file) => {
      const heard: string[] = [];
      const off = store.subscribe?.((change) => heard.push(`${change.kind}:${change.runId}:${change.local}`));
      expect(off).toBeTypeOf('function');
      await store.createRun(sampleRun({ id: 'a', status: 'suspended' }));
      await store.appendJournal(sampleEntry('a', 'r#0'));
      await store.updateRun('a', { status: 'running' }, T + 1);
      await store.addSignal('a', 'go', null, T + 2);
      // A refused write announces nothing.
      await expect(store.createRun(sampleRun({ id: 'a' }))).rejects.toThrow();
      await withStoreOn(file, async (other) => {
        await other.createRun(sampleRun({ id: 'b' }));
      });
      expect(heard).toEqual(['run:a:true', 'journal:a:true', 'run:a:true', 'signal:a:true']);
      off?.();
      await store.appendJournal(sampleEntry('a', 'r#1'));
      expect(heard).toHaveLength(4);
    });
  });
});

describe('createSqliteStore durability', () => {
  it('keeps runs, journals and signals across close and reopen', async () => {
    const file = nextPath();
    const first = createSqliteStore({ path: file });
    const run = sampleRun({ id: 'durable', status: 'suspended', threadId: 't', wakeAt: T + 50 });
    await first.createRun(run);
    await first.appendJournal(sampleEntry('durable', 'r#0', { result: { value: 1 } }));
    await first.appendJournal(
      sampleEntry('durable', 'r#1', { status: 'failed', error: { name: 'E', message: 'm' } }),
    );
    const signal = await first.addSignal('durable', 'approval', { ok: true }, T + 10);
    await first.updateRun('durable', { costUsd: 0.25 }, T + 11);
    const updated = await first.getRun('durable');
    // Appends not awaited before close must still reach the file.
    const late = first.appendJournal(sampleEntry('durable', 'r#2'));
    await first.close();
    await late;

    const second = createSqliteStore({ path: file });
    try {
      expect(await second.getRun('durable')).toStrictEqual(updated);
      expect((await second.loadJournal('durable')).map((entry) => entry.key)).toEqual(['r#0', 'r#1', 'r#2']);
      expect((await second.loadJournal('durable'))[1]?.error).toStrictEqual({ name: 'E', message: 'm' });
      expect(await second.listSignals('durable')).toStrictEqual([signal]);
      const next = await second.addSignal('durable', 'approval', null, T + 12);
      expect(next.id).toBeGreaterThan(signal.id);
      await expectBatonError(second.appendJournal(sampleEntry('durable', 'r#0')), 'JOURNAL_CONFLICT');
    } finally {
      await second.close();
    }
  });

  it('lets two stores on one file see each other and keeps leases exclusive between them', async () => {
    const file = nextPath();
    const a = createSqliteStore({ path: file });
    const b = createSqliteStore({ path: file });
    try {
      await a.createRun(sampleRun({ id: 'shared', status: 'suspended' }));
      expect((await a.claimRun('shared', 'process-a', T, 1000))?.leaseOwner).toBe('process-a');
      expect(await b.claimRun('shared', 'process-b', T + 1, 1000)).toBeUndefined();
      await a.appendJournal(sampleEntry('shared', 'r#0'));
      expect(await b.loadJournal('shared')).toHaveLength(1);
      await expectBatonError(b.appendJournal(sampleEntry('shared', 'r#0')), 'JOURNAL_CONFLICT');
      expect((await b.claimRun('shared', 'process-b', T + 1000, 1000))?.leaseOwner).toBe('process-b');
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('uses WAL mode and writes format version 4', async () => {
    await withStore(async (store, file) => {
      await store.createRun(sampleRun({ id: 'x' }));
      const raw = new Database(file, { readonly: true });
      try {
        expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
        expect(raw.pragma('user_version', { simple: true })).toBe(4);
      } finally {
        raw.close();
      }
    });
  });

  it('keeps record streams across close and reopen, numbering on from the last seq', async () => {
    const file = nextPath();
    const first = createSqliteStore({ path: file });
    await first.appendRecord('policy:router', { reward: 0.5 }, T + 1);
    await first.appendRecord('policy:router', { reward: 0.9 }, T + 2);
    await first.close();
    const second = createSqliteStore({ path: file });
    try {
      expect(await second.readRecords('policy:router')).toStrictEqual([
        { seq: 1, at: T + 1, data: { reward: 0.5 } },
        { seq: 2, at: T + 2, data: { reward: 0.9 } },
      ]);
      expect(await second.appendRecord('policy:router', { reward: 1 }, T + 3)).toBe(3);
    } finally {
      await second.close();
    }
  });

  it('gives two stores on one file one sequence per stream', async () => {
    const file = nextPath();
    const a = createSqliteStore({ path: file });
    const b = createSqliteStore({ path: file });
    try {
      const seqs = [
        await a.appendRecord('shared', 'a1', T),
        await b.appendRecord('shared', 'b1', T),
        await a.appendRecord('shared', 'a2', T),
      ];
      expect(seqs).toEqual([1, 2, 3]);
      expect((await b.readRecords('shared')).map((record) => record.data)).toEqual(['a1', 'b1', 'a2']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('upgrades a format 2 file to the current format, keeping its runs, journals and signals', async () => {
    const file = nextPath();
    const run = sampleRun({ id: 'old', status: 'suspended', threadId: 't', wakeAt: T + 50 });
    const entry = sampleEntry('old', 'r#0', { result: { kept: true } });
    // Build the file as the previous Baton wrote it: the format 2 schema and rows, no records table.
    const raw = new Database(file);
    try {
      migrate(raw, file, 2);
      // Format 2 has no trace column (format 4 added it).
      const format2Columns = runColumns.replace(', trace', '');
      raw
        .prepare(`INSERT INTO runs (${format2Columns}) VALUES (${format2Columns.replace(/\w+/g, '?')})`)
        .run(...runParams(run).slice(0, -1));
      raw
        .prepare(
          `INSERT INTO journal (run_id, key, name, kind, status, result, error, started_at, ended_at, meta)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...journalParams(entry));
      raw
        .prepare('INSERT INTO signals (run_id, name, payload, created_at) VALUES (?, ?, ?, ?)')
        .run('old', 'approval', '{"ok":true}', T + 5);
      expect(raw.pragma('user_version', { simple: true })).toBe(2);
      expect(raw.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'records'`).get()).toEqual({
        n: 0,
      });
    } finally {
      raw.close();
    }
    await withStoreOn(file, async (store) => {
      expect(await store.getRun('old')).toStrictEqual(run);
      expect(await store.loadJournal('old')).toStrictEqual([entry]);
      expect((await store.listSignals('old')).map((signal) => signal.payload)).toEqual([{ ok: true }]);
      expect(await store.appendRecord('policy:upgraded', { n: 1 }, T)).toBe(1);
      expect(await store.readRecords('policy:upgraded')).toStrictEqual([{ seq: 1, at: T, data: { n: 1 } }]);
      const traced = sampleRun({
        id: 'traced',
        trace: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });
      await store.createRun(traced);
      expect(await store.getRun('traced')).toStrictEqual(traced);
    });
    const check = new Database(file, { readonly: true });
    try {
      expect(check.pragma('user_version', { simple: true })).toBe(storeFormatVersion);
    } finally {
      check.close();
    }
  });

  it('lists runs by each status and status set, though only the other statuses are indexed', async () => {
    await withStore(async (store) => {
      const statuses = ['running', 'suspended', 'completed', 'failed', 'cancelled'] as const;
      for (const [index, status] of statuses.entries()) {
        for (const copy of [0, 1]) {
          await store.createRun(
            sampleRun({ id: `${status}-${copy}`, status, createdAt: T + index * 2 + copy }),
          );
        }
      }
      const ids = async (status: (typeof statuses)[number] | (typeof statuses)[number][]) =>
        (await store.listRuns({ status })).map((run) => run.id);
      for (const status of statuses) expect(await ids(status)).toEqual([`${status}-1`, `${status}-0`]);
      expect(await ids(['running', 'failed'])).toEqual(['failed-1', 'failed-0', 'running-1', 'running-0']);
      expect(await ids(['completed', 'suspended'])).toEqual([
        'completed-1',
        'completed-0',
        'suspended-1',
        'suspended-0',
      ]);
      expect(await ids(['running'])).toEqual(['running-1', 'running-0']);
      expect((await store.listRuns({ status: 'failed', limit: 1 })).map((run) => run.id)).toEqual([
        'failed-1',
      ]);
      await store.updateRun('running-1', { status: 'failed' }, T + 20);
      expect(await ids('failed')).toEqual(['failed-1', 'failed-0', 'running-1']);
      expect(await ids('running')).toEqual(['running-0']);
    });
  });
});

describe('createSqliteStore group commit', () => {
  it('writes 100 appends issued in one turn, from 100 runs, in one transaction', async () => {
    await withStore(async (store) => {
      const before = { ...store.stats };
      const appends = Array.from({ length: 100 }, (_, index) =>
        store.appendJournal(sampleEntry(`run-${index}`, 'r#0', { result: index })),
      );
      expect(store.stats.transactions).toBe(before.transactions);
      await Promise.all(appends);
      expect(store.stats.transactions - before.transactions).toBe(1);
      expect(store.stats.journalBatches - before.journalBatches).toBe(1);
      expect(store.stats.journalEntries - before.journalEntries).toBe(100);
      expect((await store.loadJournal('run-42'))[0]?.result).toBe(42);
    });
  });

  it('writes awaited appends one transaction each', async () => {
    await withStore(async (store) => {
      const before = store.stats.transactions;
      for (let index = 0; index < 5; index++) await store.appendJournal(sampleEntry('run', `r#${index}`));
      expect(store.stats.transactions - before).toBe(5);
    });
  });

  it('rejects only the conflicting entry of a batch from many runs, in the same transaction', async () => {
    await withStore(async (store) => {
      await store.appendJournal(sampleEntry('run-17', 'r#0', { result: 'original' }));
      const before = store.stats.transactions;
      const outcomes = await Promise.allSettled(
        Array.from({ length: 50 }, (_, index) => store.appendJournal(sampleEntry(`run-${index}`, 'r#0'))),
      );
      expect(store.stats.transactions - before).toBe(1);
      const rejected = outcomes.flatMap((outcome, index) => (outcome.status === 'rejected' ? [index] : []));
      expect(rejected).toEqual([17]);
      const reason = (outcomes[17] as PromiseRejectedResult).reason as BatonError;
      expect(reason.code).toBe('JOURNAL_CONFLICT');
      expect(reason.message).toContain('run-17');
      expect(await store.loadJournal('run-17')).toStrictEqual([
        sampleEntry('run-17', 'r#0', { result: 'original' }),
      ]);
      expect(await store.loadJournal('run-49')).toHaveLength(1);
    });
  });

  it('writes queued appends before any other call, which then sees them', async () => {
    await withStore(async (store) => {
      await store.createRun(sampleRun({ id: 'run' }));
      const settled: string[] = [];
      const append = store.appendJournal(sampleEntry('run', 'r#0')).then(() => settled.push('append'));
      const update = store
        .updateRun('run', { status: 'completed' }, T + 1)
        .then(() => settled.push('update'));
      await Promise.all([append, update]);
      expect(settled).toEqual(['append', 'update']);
      const batchesBefore = store.stats.journalBatches;
      const pending = store.appendJournal(sampleEntry('run', 'r#1'));
      expect(store.stats.journalBatches).toBe(batchesBefore);
      const journal = await store.loadJournal('run');
      expect(store.stats.journalBatches).toBe(batchesBefore + 1);
      expect(journal.map((entry) => entry.key)).toEqual(['r#0', 'r#1']);
      await pending;
    });
  });

  it('reads a record stream after the appends to it still queued, and leaves a batch without one whole', async () => {
    await withStore(async (store) => {
      await store.createRun(sampleRun({ id: 'run' }));
      const before = store.stats.transactions;
      const entry = store.appendJournal(sampleEntry('run', 'r#0'));
      // No append to this stream is queued: the journal entry stays in its batch.
      expect(await store.readRecords('quiet')).toEqual([]);
      expect(store.stats.transactions).toBe(before);
      const appended = store.appendRecord('busy', 'queued', T);
      expect((await store.readRecords('busy')).map((record) => record.data)).toEqual(['queued']);
      expect(store.stats.transactions).toBe(before + 1);
      await Promise.all([entry, appended]);
      const withRecords = store.appendJournalWith!(sampleEntry('run', 'r#1'), undefined, [
        { stream: 'with-entry', data: 'kept', at: T },
      ]);
      expect((await store.readRecords('with-entry')).map((record) => record.data)).toEqual(['kept']);
      await withRecords;
    });
  });

  it('rejects every append of a batch with the original error when its transaction fails', async () => {
    const file = nextPath();
    const store = createSqliteStore({ path: file, busyTimeoutMs: 0 });
    const blocker = new Database(file);
    try {
      blocker.exec('BEGIN IMMEDIATE');
      const outcomes = await Promise.allSettled([
        store.appendJournal(sampleEntry('run-a', 'r#0')),
        store.appendJournal(sampleEntry('run-b', 'r#0')),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
      const [first, second] = outcomes.map((outcome) => (outcome as PromiseRejectedResult).reason as Error);
      expect(first).toBe(second);
      expect(first).toMatchObject({ code: 'SQLITE_BUSY' });
      blocker.exec('ROLLBACK');
      expect(await store.loadJournal('run-a')).toEqual([]);
      await store.appendJournal(sampleEntry('run-a', 'r#0'));
      expect(await store.loadJournal('run-a')).toHaveLength(1);
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
      await store.close();
    }
  });

  it('rejects an entry JSON cannot hold without touching the rest of its batch', async () => {
    await withStore(async (store) => {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const outcomes = await Promise.allSettled([
        store.appendJournal(sampleEntry('run', 'r#0')),
        store.appendJournal(sampleEntry('run', 'r#1', { result: cyclic })),
        store.appendJournal(sampleEntry('run', 'r#2', { result: 10n })),
        store.appendJournal(sampleEntry('run', 'r#3')),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual([
        'fulfilled',
        'rejected',
        'rejected',
        'fulfilled',
      ]);
      expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(['r#0', 'r#3']);
    });
  });
});

describe('createSqliteStore file handling', () => {
  it('refuses a file written by a newer Baton, naming the file and both versions', async () => {
    const file = nextPath();
    const raw = new Database(file);
    raw.pragma('user_version = 7');
    raw.close();
    let caught: unknown;
    try {
      createSqliteStore({ path: file });
    } catch (error) {
      caught = error;
    }
    expect(BatonError.isInstance(caught)).toBe(true);
    const error = caught as BatonError;
    expect(error.code).toBe('STORE_VERSION_UNSUPPORTED');
    expect(error.fault).toBe('user');
    expect(error.message).toContain(file);
    expect(error.message).toContain('format version 7');
    expect(error.message).toContain(`up to ${storeFormatVersion}`);
    const check = new Database(file, { readonly: true });
    expect(check.pragma('user_version', { simple: true })).toBe(7);
    expect(check.prepare(`SELECT count(*) AS n FROM sqlite_master WHERE name = 'runs'`).get()).toEqual({
      n: 0,
    });
    check.close();
  });

  it('names the file when it is not a database', () => {
    const file = nextPath();
    fs.writeFileSync(file, 'this is not a sqlite database, just some text that is long enough to be read');
    expect(() => createSqliteStore({ path: file })).toThrow(file);
  });

  it('creates .baton/baton.db under the working directory by default', async () => {
    const workdir = fs.mkdtempSync(path.join(directory, 'cwd-'));
    const previous = process.cwd();
    process.chdir(workdir);
    try {
      const store = createSqliteStore();
      expect(store.path).toBe('.baton/baton.db');
      await store.createRun(sampleRun({ id: 'x' }));
      await store.close();
      expect(fs.existsSync(path.join(workdir, '.baton', 'baton.db'))).toBe(true);
    } finally {
      process.chdir(previous);
    }
  });

  it('creates missing parent directories of a custom path', async () => {
    const file = path.join(directory, 'deep', 'er', 'runs.db');
    const store = createSqliteStore({ path: file });
    await store.close();
    expect(fs.existsSync(file)).toBe(true);
  });

  it('works on a private in-memory database', async () => {
    const store = createSqliteStore({ path: ':memory:' });
    await store.createRun(sampleRun({ id: 'm' }));
    expect((await store.getRun('m'))?.id).toBe('m');
    await store.close();
  });

  it('rejects invalid options with a ConfigError', () => {
    const bad = { path: nextPath(), synchronous: 'OFF' } as unknown as Parameters<
      typeof createSqliteStore
    >[0];
    expect(() => createSqliteStore(bad)).toThrow(/synchronous must be 'NORMAL' or 'FULL'/);
    expect(() => createSqliteStore({ path: nextPath(), busyTimeoutMs: -1 })).toThrow(/busyTimeoutMs/);
  });
});

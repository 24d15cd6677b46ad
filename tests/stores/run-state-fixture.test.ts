/** Loads the frozen v1 SQLite fixture with the current code: old databases must keep opening and reading. */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type JournalEntry,
  loadableSchemaVersions,
  type RunRecord,
  type SignalRecord,
} from '../../src/core/store.js';
import { createSqliteStore, type SqliteStore } from '../../src/stores/sqlite/index.js';
import { storeFormatVersion } from '../../src/stores/sqlite/sqlite-schema.js';

const fixtureDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/run-state/v1');
const expected = JSON.parse(fs.readFileSync(path.join(fixtureDirectory, 'expected.json'), 'utf8')) as {
  formatVersion: number;
  runs: RunRecord[];
  journal: Record<string, JournalEntry[]>;
  signals: Record<string, SignalRecord[]>;
};
const T = 1_767_225_600_000;

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-'));
afterAll(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

describe('frozen run-state fixture v1 (SQLite format 1)', () => {
  let store: SqliteStore;
  let copy: string;

  beforeEach(() => {
    // Never open the frozen file itself: opening it in WAL mode may write next to it.
    copy = path.join(directory, `v1-${Math.random().toString(36).slice(2)}.db`);
    fs.copyFileSync(path.join(fixtureDirectory, 'baton.db'), copy);
    store = createSqliteStore({ path: copy });
  });
  afterEach(async () => {
    await store.close();
  });

  it('is a format 1 file holding runs of a loadable schema version', () => {
    // Read the header bytes instead of connecting: a connection would create -wal/-shm files beside it.
    const header = fs.readFileSync(path.join(fixtureDirectory, 'baton.db')).subarray(0, 100);
    expect(header.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\u0000');
    expect(header.readUInt32BE(60)).toBe(1); // PRAGMA user_version
    expect(fs.readdirSync(fixtureDirectory).sort()).toEqual(['baton.db', 'expected.json']);
    expect(expected.formatVersion).toBe(1);
    expect(expected.runs.length).toBeGreaterThanOrEqual(4);
    for (const run of expected.runs) expect(loadableSchemaVersions).toContain(run.schemaVersion);
  });

  it('reads every run with all its fields', async () => {
    for (const run of expected.runs) expect(await store.getRun(run.id)).toStrictEqual(run);
    const listed = await store.listRuns();
    expect(listed.map((run) => run.id)).toEqual([
      'run_running',
      'run_failed',
      'run_suspended',
      'run_completed',
    ]);
    expect((await store.listRuns({ threadId: 'thread_ana' })).map((run) => run.id)).toEqual([
      'run_running',
      'run_completed',
    ]);
  });

  it('reads every journal in append order, with results, errors and meta', async () => {
    for (const [runId, entries] of Object.entries(expected.journal)) {
      expect(await store.loadJournal(runId)).toStrictEqual(entries);
    }
    const [failed] = await store.loadJournal('run_failed');
    expect(failed?.error?.message).toBe('ECONNRESET');
    expect((await store.loadJournal('run_completed'))[3]).not.toHaveProperty('result');
  });

  it('reads every signal in id order', async () => {
    for (const [runId, signals] of Object.entries(expected.signals)) {
      expect(await store.listSignals(runId)).toStrictEqual(signals);
    }
    expect((await store.listSignals('run_suspended')).map((signal) => signal.id)).toEqual([2, 3]);
  });

  it('upgrades the copy to the current format, whose lease indexes still find the fixture runs', async () => {
    const raw = new Database(copy, { readonly: true });
    try {
      expect(raw.pragma('user_version', { simple: true })).toBe(storeFormatVersion);
      const indexes = raw
        .prepare<[], string>(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'runs_%'`)
        .pluck()
        .all();
      expect(indexes).toContain('runs_stopped_by_owner');
      expect(indexes).not.toContain('runs_by_lease_owner');
    } finally {
      raw.close();
    }
    expect(await store.renewLeases('host-a:1234:5f2c', T + 90_000)).toEqual([]);
    expect((await store.getRun('run_running'))?.leaseExpiresAt).toBe(T + 90_000);
    await store.updateRun('run_running', { status: 'cancelled' }, T + 1);
    expect(await store.renewLeases('host-a:1234:5f2c', T + 95_000)).toEqual(['run_running']);
    expect((await store.getRun('run_running'))?.leaseExpiresAt).toBe(T + 90_000);
  });

  it('keeps working as a live store: recovery, leases, new entries and signals', async () => {
    const due = await store.findRecoverable(T + 40_000, 10);
    expect(due.map((run) => run.id)).toEqual(['run_suspended', 'run_running']);
    expect(await store.claimRun('run_running', 'host-b', T + 500, 1000)).toBeUndefined();
    const claimed = await store.claimRun('run_suspended', 'host-b', T + 500, 1000);
    expect(claimed).toMatchObject({ status: 'running', leaseOwner: 'host-b' });
    await store.appendJournal({
      runId: 'run_suspended',
      key: 'r#2',
      name: 'model',
      kind: 'model',
      status: 'completed',
      result: 'approved',
      startedAt: T + 501,
      endedAt: T + 502,
    });
    await expect(
      store.appendJournal({ ...expected.journal.run_suspended![0]!, result: 'different' }),
    ).rejects.toMatchObject({ code: 'JOURNAL_CONFLICT' });
    expect((await store.loadJournal('run_suspended')).map((entry) => entry.key)).toEqual([
      'r#0',
      'r#1~timer',
      'r#2',
    ]);
    const signal = await store.addSignal('run_completed', 'late', 1, T + 600);
    expect(signal.id).toBe(4);
    expect(await store.appendRecord('policy:after-upgrade', { from: 'v1' }, T + 700)).toBe(1);
    expect(await store.readRecords('policy:after-upgrade')).toStrictEqual([
      { seq: 1, at: T + 700, data: { from: 'v1' } },
    ]);
  });
});

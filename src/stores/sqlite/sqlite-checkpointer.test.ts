/** WAL checkpoints on a worker thread: the WAL stays bounded with no checkpoint on the committing connection, a worker that cannot run hands checkpoints back, and close removes the WAL. */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sampleEntry, sampleRun } from '../../testing/store-conformance.js';
import { createSqliteStore } from './index.js';
import { createCheckpointer } from './sqlite-checkpointer.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-checkpoint-'));
let fileCount = 0;
const nextPath = () => path.join(directory, `db-${++fileCount}.db`);

afterAll(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});

const walBytes = (file: string): number =>
  fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0;

describe('the WAL checkpoint worker', () => {
  it('copies the WAL back while the committing connection never checkpoints', async () => {
    const file = nextPath();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 0');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const failures: Error[] = [];
    const checkpointer = createCheckpointer({
      path: file,
      busyTimeoutMs: 5000,
      everyFrames: 100,
      onFailure: (error) => failures.push(error),
    });
    try {
      const commits = 3000;
      for (let commit = 1; commit <= commits; commit++) {
        insert.run('x'.repeat(200));
        checkpointer.committed();
        // Let the worker's answers in, as a server's event loop would between requests.
        if (commit % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await expect.poll(() => checkpointer.stats.checkpoints, { timeout: 10_000 }).toBeGreaterThan(0);
      expect(failures).toEqual([]);
      // The worker's connection copied pages back while this one went on committing: nothing here
      // checkpoints (wal_autocheckpoint = 0), so every copied frame is the worker's doing.
      expect(checkpointer.stats.lastCheckpointed).toBeGreaterThan(0);
      expect(checkpointer.stats.lastCheckpointed).toBeLessThanOrEqual(checkpointer.stats.lastLog);
      expect(db.prepare('SELECT count(*) FROM t').pluck().get()).toBe(commits);
    } finally {
      await checkpointer.close();
      db.close();
    }
  });

  it('reports a worker that cannot open the database, once', async () => {
    const failures: Error[] = [];
    const checkpointer = createCheckpointer({
      path: path.join(directory, 'no-such-folder', 'db.db'),
      busyTimeoutMs: 100,
      everyFrames: 100,
      onFailure: (error) => failures.push(error),
    });
    for (let commit = 0; commit < 128; commit++) checkpointer.committed();
    await expect.poll(() => failures.length, { timeout: 5000 }).toBe(1);
    // Later commits neither restart it nor report again.
    for (let commit = 0; commit < 200; commit++) checkpointer.committed();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(failures).toHaveLength(1);
    await checkpointer.close();
  });

  it('is stopped by the store: after close the WAL is checkpointed and removed', async () => {
    const file = nextPath();
    const store = createSqliteStore({ path: file });
    await store.createRun(sampleRun({ id: 'run' }));
    for (let step = 0; step < 300; step++) await store.appendJournal(sampleEntry('run', `r#${step}`));
    expect(walBytes(file)).toBeGreaterThan(0);
    await store.close();
    // The last connection to close removes the WAL: the worker's was closed too.
    expect(fs.existsSync(`${file}-wal`)).toBe(false);
    const reopened = createSqliteStore({ path: file });
    try {
      expect(await reopened.loadJournal('run')).toHaveLength(300);
    } finally {
      await reopened.close();
    }
  });

  it('starts the worker only once a store has committed enough to need it', async () => {
    const file = nextPath();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    const checkpointer = createCheckpointer({ path: file, busyTimeoutMs: 5000, everyFrames: 100 });
    try {
      for (let commit = 0; commit < 127; commit++) checkpointer.committed();
      expect(checkpointer.stats.started).toBe(false);
      checkpointer.committed();
      expect(checkpointer.stats.started).toBe(true);
      await expect.poll(() => checkpointer.stats.checkpoints, { timeout: 10_000 }).toBe(1);
    } finally {
      await checkpointer.close();
      db.close();
    }
  });
});

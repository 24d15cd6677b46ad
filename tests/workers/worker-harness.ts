/** What the worker tests share: a temp folder with cleanups, a queue on the local Redis, and the side-effect log. */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { type BullmqDispatcher, createBullmqDispatcher } from '../../src/distributed/redis/index.js';
import { createSqliteStore, type SqliteStore } from '../../src/stores/sqlite/index.js';

export const redis = 'redis://127.0.0.1:6379';

/** One line of the side-effect log a step writes when it starts and when it is done. */
export interface Effect {
  pid: number;
  runId: string;
  tag: string;
  phase: 'start' | 'done';
}

/** Every complete line of the log (none if it is missing). */
export function readLog(logPath: string): Effect[] {
  let text = '';
  try {
    text = readFileSync(logPath, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line.endsWith('}'))
    .map((line) => JSON.parse(line) as Effect);
}

/** A test queue's pieces: its name and key prefix, a SQLite file, a side-effect log, a store and a dispatcher on them. */
export interface TestQueue {
  queue: string;
  prefix: string;
  dbPath: string;
  logPath: string;
  store: SqliteStore;
  dispatcher: BullmqDispatcher;
}

/**
 * For one test file: a temp folder and a Redis key prefix of its own, cleanups run (last added
 * first) after all its tests, and `queue(name)` for a fresh queue, SQLite file and log.
 */
export function workerTestHarness(folder: string) {
  const directory = mkdtempSync(join(tmpdir(), `${folder}-`));
  const prefix = `baton-test-${randomUUID().slice(0, 8)}`;
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    rmSync(directory, { recursive: true, force: true });
  });
  return {
    directory,
    prefix,
    cleanup(step: () => Promise<void>): void {
      cleanups.push(step);
    },
    queue(name: string): TestQueue {
      const queue = `${name}-${randomUUID().slice(0, 8)}`;
      const dbPath = join(directory, `${queue}.db`);
      const logPath = join(directory, `${queue}.log`);
      writeFileSync(logPath, '');
      const store = createSqliteStore({ path: dbPath });
      const dispatcher = createBullmqDispatcher({ redis, queue, prefix });
      cleanups.push(async () => {
        await (await dispatcher.queue()).obliterate({ force: true });
        await dispatcher.close();
        await store.close();
      });
      return { queue, prefix, dbPath, logPath, store, dispatcher };
    },
  };
}

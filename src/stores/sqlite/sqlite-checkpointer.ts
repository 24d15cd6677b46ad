/**
 * WAL checkpoints mostly off the event loop. A checkpoint copies the pages in the WAL back into
 * the database file and fsyncs it, and SQLite runs it inside whichever commit crosses the
 * threshold, on the thread that commits: thousands of pages and two fsyncs, tens of milliseconds
 * during which the process answers nothing. A worker thread with its own connection copies most of
 * them ahead of time (a PASSIVE checkpoint never blocks the writer), so the one SQLite still runs
 * at the threshold finds little left to copy. That one stays: only a checkpoint the writer runs
 * between two of its own commits can let the WAL start over, and it bounds the WAL even when the
 * worker is slow or gone.
 */

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** What the store tells its checkpointer. */
export interface Checkpointer {
  /** A write transaction committed on the store's connection. */
  committed(): void;
  /**
   * Checkpoints the worker ran, the frames the last one found in the WAL and had copied back when it
   * ended, and whether the worker stopped for good.
   */
  readonly stats: {
    /** Whether the worker was started. */
    readonly started: boolean;
    readonly checkpoints: number;
    readonly lastLog: number;
    readonly lastCheckpointed: number;
    readonly failed: boolean;
  };
  /** Stops the worker (its connection closes as it exits); resolves when it has stopped. */
  close(): Promise<void>;
}

/** Options of {@link createCheckpointer}. */
export interface CheckpointerOptions {
  /** The database file (not `:memory:`). */
  path: string;
  busyTimeoutMs: number;
  /** WAL frames (pages) to let accumulate between two of the worker's checkpoints. */
  everyFrames: number;
  /** Called once if the worker cannot start or stops by itself (SQLite's own checkpoints go on). */
  onFailure?: (error: Error) => void;
}

/** The worker's answer to a checkpoint request: frames in the WAL, frames copied to the database. */
interface CheckpointReply {
  log: number;
  checkpointed: number;
}

// The worker runs as CommonJS from a string, so it needs no file of its own next to the compiled
// module (and works the same from the TypeScript sources under test).
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { timeout: workerData.busyTimeoutMs });
db.pragma('wal_autocheckpoint = 0');
parentPort.on('message', () => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ log: result.log, checkpointed: result.checkpointed });
  } catch (error) {
    parentPort.postMessage({ error: String(error && error.message ? error.message : error) });
  }
});
`;

/**
 * Starts a worker thread with its own connection to `path` that runs a PASSIVE checkpoint when
 * asked. The store asks after a number of commits that adapts so that about `everyFrames` frames
 * accumulate between two requests. The worker starts with the first request, after 128 commits (a
 * store that writes little never starts one), and does not keep the process alive.
 */
export function createCheckpointer(options: CheckpointerOptions): Checkpointer {
  let worker: Worker | undefined;
  let closed = false;
  const stats = { started: false, checkpoints: 0, lastLog: 0, lastCheckpointed: 0, failed: false };
  /** A request is out: commits go on, no second request until it answers. */
  let asking = false;
  let commits = 0;
  /** Commits between two requests, adapted from the frames the WAL gained per commit. */
  let every = 128;
  let commitsAtRequest = 0;
  let lastLog = 0;

  const fail = (error: Error): void => {
    if (stats.failed || closed) return;
    stats.failed = true;
    void worker?.terminate();
    worker = undefined;
    options.onFailure?.(error);
  };

  const start = (): Worker => {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const started = new Worker(workerSource, {
      eval: true,
      workerData: { driver, path: options.path, busyTimeoutMs: options.busyTimeoutMs },
    });
    started.unref();
    started.on('message', (reply: CheckpointReply | { error: string }) => {
      asking = false;
      // A busy database or an I/O error: the next request tries again.
      if ('error' in reply) return;
      stats.checkpoints++;
      stats.lastLog = reply.log;
      stats.lastCheckpointed = reply.checkpointed;
      // The WAL starts over after SQLite's own checkpoint: then every frame in it is new.
      const gained = reply.log >= lastLog ? reply.log - lastLog : reply.log;
      lastLog = reply.log;
      const perCommit = Math.max(gained, 1) / Math.max(commitsAtRequest, 1);
      every = Math.min(4096, Math.max(4, Math.round(options.everyFrames / perCommit)));
    });
    started.on('error', (error) => fail(error));
    started.on('exit', (code) => {
      if (!closed) fail(new Error(`the WAL checkpoint worker stopped (exit code ${code})`));
    });
    return started;
  };

  return {
    stats,

    committed() {
      if (stats.failed || closed) return;
      commits++;
      if (asking || commits < every) return;
      if (worker === undefined) {
        try {
          stats.started = true;
          worker = start();
        } catch (error) {
          fail(error instanceof Error ? error : new Error(String(error)));
          return;
        }
      }
      asking = true;
      commitsAtRequest = commits;
      commits = 0;
      worker.postMessage('checkpoint');
    },

    async close() {
      if (closed) return;
      closed = true;
      const running = worker;
      worker = undefined;
      if (running === undefined) return;
      // Stopped at once, not asked: a checkpoint in progress ends as a crash would (SQLite's
      // checkpoints are crash-safe), the thread's connection closes as it exits, and a close never
      // waits for a worker still loading the driver.
      await running.terminate();
    },
  };
}

/**
 * Runs on BullMQ (Redis): a dispatcher that turns each run into a job, and workers that take
 * the jobs and execute the runs on a shared store. The store stays the source of truth (the
 * journal, leases, timers, signals); the queue only says who should look at a run when.
 */

import { createHash } from 'node:crypto';
import type {
  WorkerOptions as BullWorkerOptions,
  ConnectionOptions,
  Job,
  Queue,
  QueueOptions,
  Worker,
} from 'bullmq';
import type { DispatchOptions, DispatchReason, ExecutionReport, RunDispatcher } from '../../core/dispatch.js';
import { BatonError, ConfigError } from '../../core/errors.js';
import type { Runtime, RuntimeOptions } from '../../core/runtime.js';
import type { RedisEventBus } from './redis-event-bus.js';

type BullmqModule = typeof import('bullmq');

/** How long a job waits before it is tried again after the store failed. */
const storeRetryMs = 1000;
/** How long a job this worker cannot run waits before it is looked at again, the first time (250 ms more each time after). */
const handBackMs = 250;

let loading: Promise<BullmqModule> | undefined;

/** Loads BullMQ, an optional peer dependency, on first use. */
function loadBullmq(): Promise<BullmqModule> {
  loading ??= import('bullmq').catch((error: unknown) => {
    loading = undefined;
    throw new ConfigError(
      `Baton's workers need bullmq (and ioredis), optional peer dependencies of batonjs that are not installed: npm install bullmq ioredis. (${String(error)})`,
      { code: 'CONFIG' },
    );
  });
  return loading;
}

/** Where the queue lives. */
export interface BullmqConnection {
  /** A `redis://` URL or BullMQ connection options (an ioredis client, host and port, ...). */
  redis: string | ConnectionOptions;
  /** The queue's name. Default `baton-runs`. */
  queue?: string;
  /** The Redis key prefix of the queue. Default BullMQ's (`bull`). */
  prefix?: string;
}

/** What a job carries: the run to look at and why. */
export interface RunJobData {
  runId: string;
  reason: DispatchReason;
}

/** A dispatcher on a BullMQ queue. */
export interface BullmqDispatcher extends RunDispatcher {
  /** Jobs added (duplicates BullMQ dropped included). */
  readonly dispatched: number;
  /** The queue, once the first dispatch opened it (for inspection and tests). */
  queue(): Promise<Queue<RunJobData>>;
  close(): Promise<void>;
}

/** BullMQ connection options from a URL or options: `maxRetriesPerRequest: null`, as BullMQ's workers require. */
function connectionOptions(redis: string | ConnectionOptions): ConnectionOptions {
  if (typeof redis !== 'string') return redis;
  let url: URL;
  try {
    url = new URL(redis);
  } catch {
    throw new ConfigError(`The Redis address ${JSON.stringify(redis)} is not a URL; use redis://host:port.`, {
      code: 'CONFIG',
    });
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new ConfigError(`The Redis address ${redis} must start with redis:// or rediss://.`, {
      code: 'CONFIG',
    });
  }
  const options: Record<string, unknown> = {
    host: url.hostname,
    port: url.port === '' ? 6379 : Number(url.port),
    maxRetriesPerRequest: null,
  };
  if (url.username !== '') options.username = decodeURIComponent(url.username);
  if (url.password !== '') options.password = decodeURIComponent(url.password);
  const db = url.pathname.replace(/^\//, '');
  if (db !== '') options.db = Number(db);
  if (url.protocol === 'rediss:') options.tls = {};
  return options as ConnectionOptions;
}

/**
 * A job id for one dispatch: BullMQ keeps one job per id while it exists, so a dispatch repeated
 * with the same run, reason and key (a recovery poll seeing the same state twice) adds nothing.
 * Run ids are hashed: BullMQ forbids some characters in ids and run ids are chosen by users.
 */
function jobId(runId: string, reason: DispatchReason, key: string | undefined): string {
  const digest = createHash('sha256').update(runId).digest('hex').slice(0, 24);
  const suffix = key === undefined ? '' : `-${key.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  return `${digest}-${reason}${suffix}`;
}

/**
 * A dispatcher that adds a BullMQ job per dispatch. Pass it to `createRuntime({ dispatcher })` in
 * a process that starts runs (an API server); workers made by `createWorker` on the same queue
 * run them.
 *
 * @example
 * ```ts
 * import { createRuntime } from 'batonjs';
 * import { createPostgresStore } from 'batonjs/postgres';
 * import { createBullmqDispatcher } from 'batonjs/redis';
 * const runtime = createRuntime({
 *   store: createPostgresStore({ connectionString: process.env.DATABASE_URL }),
 *   dispatcher: createBullmqDispatcher({ redis: 'redis://127.0.0.1:6379' }),
 *   workflows: [supportTeam],
 * });
 * const handle = await runtime.start('support', 'Where is my order?'); // a worker runs it
 * console.log(await handle.result());
 * ```
 */
export function createBullmqDispatcher(connection: BullmqConnection): BullmqDispatcher {
  const name = connection.queue ?? 'baton-runs';
  const options = connectionOptions(connection.redis);
  let opening: Promise<Queue<RunJobData>> | undefined;
  let closed = false;
  let dispatched = 0;
  const open = (): Promise<Queue<RunJobData>> => {
    opening ??= loadBullmq().then(({ Queue }) => {
      const queueOptions: QueueOptions = { connection: options };
      if (connection.prefix !== undefined) queueOptions.prefix = connection.prefix;
      return new Queue<RunJobData>(name, queueOptions);
    });
    return opening;
  };
  return {
    get dispatched() {
      return dispatched;
    },
    queue: open,
    async dispatch(runId: string, reason: DispatchReason, dispatchOptions?: DispatchOptions): Promise<void> {
      if (closed) throw new ConfigError('This BullMQ dispatcher is closed.', { code: 'CONFIG' });
      const queue = await open();
      const delay = dispatchOptions?.at === undefined ? 0 : Math.max(0, dispatchOptions.at - Date.now());
      await queue.add(
        'run',
        { runId, reason },
        {
          jobId: jobId(runId, reason, dispatchOptions?.key),
          delay,
          removeOnComplete: true,
          removeOnFail: { count: 1000 },
        },
      );
      dispatched++;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (opening !== undefined) await (await opening).close();
    },
  };
}

/** Options of `createWorker`: the runtime's (store, workflows, lease, ...) and the queue's. */
export interface WorkerOptions extends Omit<RuntimeOptions, 'dispatcher'>, BullmqConnection {
  /** Runs executed at once by this worker. Default 10. */
  concurrency?: number;
  /**
   * Makes the runtime (the package's `createRuntime`, whose default store is SQLite, or the
   * kernel's). Default: the kernel's, which needs `store`.
   */
  createRuntime?: (options: RuntimeOptions) => Runtime;
  /**
   * Publishes every event of this worker's runs on this bus, so the process that started a run
   * can follow it (`redisEventFeed`). Default: none.
   */
  events?: RedisEventBus;
}

/** A worker: a runtime that executes the queue's runs. */
export interface BatonWorker {
  readonly runtime: Runtime;
  /** Runs this worker has finished executing (completed, failed, suspended or released). */
  readonly executed: number;
  /**
   * Drains: takes no new job, lets running runs stop at their next step (each is released and
   * dispatched again for another worker, never abandoned), then closes the queue and the runtime.
   */
  close(): Promise<void>;
}

/**
 * Starts a worker on the queue: each job names a run; the worker takes the run (a live lease
 * elsewhere delays the job until that lease would run out) and executes it with
 * `runtime.execute`, which dispatches what comes next (a timer, a pending signal). The
 * runtime's lease is the job's lock: a worker that dies stops renewing both, and the run
 * is taken over by another worker once its lease runs out (the recovery poll dispatches it).
 *
 * @example
 * ```ts
 * const worker = await createWorker({
 *   redis: 'redis://127.0.0.1:6379',
 *   store: createPostgresStore({ connectionString: process.env.DATABASE_URL }),
 *   workflows: [supportTeam],
 * });
 * process.on('SIGTERM', () => void worker.close());
 * ```
 */
export async function createWorker(options: WorkerOptions): Promise<BatonWorker> {
  const { redis, queue, prefix, concurrency = 10, createRuntime, events, ...runtimeOptions } = options;
  const make = createRuntime ?? (await import('../../core/runtime.js')).createRuntime;
  const dispatcher = createBullmqDispatcher({
    redis,
    ...(queue === undefined ? {} : { queue }),
    ...(prefix === undefined ? {} : { prefix }),
  });
  const leaseMs = runtimeOptions.leaseMs ?? 30_000;
  const runtime = make({ ...runtimeOptions, dispatcher });
  const detach = events?.attach(runtime);
  const { Worker, DelayedError } = await loadBullmq();
  let executed = 0;
  let draining = false;
  /**
   * Runs this worker cannot execute (another version, a target its module does not register),
   * with how often it handed each back: reported once each, and looked at again after 250 ms,
   * 250 ms longer each time, up to one lease (when the job comes back to this worker rather
   * than to one that can run it, which waits on the same queue).
   */
  const handedBack = new Map<string, number>();
  const handBack = async (job: Job<RunJobData>, token: string | undefined): Promise<never> => {
    await job.moveToDelayed(Date.now(), token);
    throw new DelayedError();
  };
  const processor = async (
    job: Job<RunJobData>,
    token?: string,
  ): Promise<ExecutionReport | { runId: string; status: 'gone' }> => {
    const { runId } = job.data;
    // Draining: hand the job back for another worker.
    if (draining) return handBack(job, token);
    try {
      const report = await runtime.execute(runId);
      executed++;
      return report;
    } catch (error) {
      if (draining) return handBack(job, token);
      if (BatonError.isInstance(error) && error.code === 'RUN_NOT_FOUND') return { runId, status: 'gone' };
      if (
        BatonError.isInstance(error) &&
        (error.code === 'VERSION_MISMATCH' || error.code === 'UNKNOWN_TARGET')
      ) {
        // A run of another version (a rolling deploy) or of a target this worker's module does not
        // register (workers with different modules): the run was left untouched (still queued),
        // and the job is handed back for a worker that can run it. A failed job would keep its
        // id, and BullMQ would drop the recovery poll's later dispatch of the same run state as
        // a duplicate: the run would never run.
        const times = handedBack.get(runId) ?? 0;
        handedBack.set(runId, times + 1);
        const delay = Math.min(leaseMs, handBackMs * (times + 1));
        if (times === 0) {
          process.stderr.write(
            `baton worker: ${error.message} Handing run ${runId} back for a worker that can run it (looked at again in ${delay} ms, then 250 ms later each time this worker gets it, up to ${leaseMs} ms).\n`,
          );
        }
        await job.moveToDelayed(Date.now() + delay, token);
        throw new DelayedError();
      }
      if (BatonError.isInstance(error) && error.code === 'RUN_LEASED') {
        // Another process holds the run: look again once its lease would have run out. If it is
        // alive it renews the lease and finishes the run itself; then this job finds it ended.
        const until =
          'leaseExpiresAt' in error && typeof error.leaseExpiresAt === 'number' ? error.leaseExpiresAt : 0;
        await job.moveToDelayed(Math.max(Date.now() + 50, until + 50), token);
        throw new DelayedError();
      }
      if (!BatonError.isInstance(error) || error.code === 'STORE_UNAVAILABLE') {
        // The store failed before the run was taken (a database restarting): a failed job would
        // leave a queued run for its queue lease (minutes), so the job is tried again shortly.
        process.stderr.write(`baton worker: run ${runId}: ${String(error)}; trying again in 1 s.\n`);
        await job.moveToDelayed(Date.now() + storeRetryMs, token);
        throw new DelayedError();
      }
      throw error;
    }
  };
  const workerOptions: BullWorkerOptions = {
    connection: connectionOptions(redis),
    concurrency,
    lockDuration: leaseMs,
    // A job whose worker died before it took the run (the run is still queued, or its recovery
    // job was stranded) comes back once its lock is gone, checked every half lease: BullMQ's
    // default (30 s, a job being seen twice) left such a run waiting up to a minute.
    stalledInterval: Math.max(100, Math.floor(leaseMs / 2)),
    // A stalled job means its worker died: the run is safe to take again, however often.
    maxStalledCount: 1_000_000,
  };
  if (prefix !== undefined) workerOptions.prefix = prefix;
  const worker: Worker<RunJobData> = new Worker<RunJobData>(queue ?? 'baton-runs', processor, workerOptions);
  worker.on('error', (error) => {
    process.stderr.write(`baton worker: ${String(error)}\n`);
  });
  worker.on('failed', (job, error) => {
    if (job !== undefined && !(error instanceof DelayedError))
      process.stderr.write(`baton worker: the job of run ${job.data.runId} failed: ${String(error)}\n`);
  });
  await worker.waitUntilReady();
  let closing: Promise<void> | undefined;
  return {
    runtime,
    get executed() {
      return executed;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        draining = true;
        const stopped = worker.close();
        await runtime.close();
        await stopped;
        detach?.();
        await events?.flush();
        await dispatcher.close();
      })();
      return closing;
    },
  };
}

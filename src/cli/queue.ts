/** The CLI's BullMQ queue: `--redis`/`BATON_REDIS` and `--queue`/`BATON_QUEUE`, and waiting for a run that workers execute. */

import { terminalStatuses } from '../core/store.js';
import { listPending } from '../governance/approval-inbox.js';
import type { RunRecord, Runtime, Store } from '../index.js';
import { type OptionSpec, UsageError } from './command.js';
import type { ProgressState } from './progress.js';

/** The variable that names the Redis of the workers when `--redis` is not given. */
export const redisVariable = 'BATON_REDIS';

/** The variable that names the queue when `--queue` is not given. */
export const queueVariable = 'BATON_QUEUE';

/** The queue the workers take runs from: BullMQ's default name in Baton. */
export const defaultQueue = 'baton-runs';

/** Where runs are handed to workers. */
export interface QueueTarget {
  /** A `redis://` URL. */
  redis: string;
  /** The BullMQ queue's name. */
  queue: string;
}

/**
 * Options of the commands that can hand a run to workers (`signal`, `reply`, `approve`, `resume`)
 * and of `baton worker`.
 */
export const queueOptions: Readonly<Record<string, OptionSpec>> = {
  redis: {
    type: 'string',
    value: '<url>',
    description: `the workers' Redis (default $${redisVariable}): hand the run to the workers instead of running it here`,
  },
  queue: {
    type: 'string',
    value: '<name>',
    description: `the workers' queue (default $${queueVariable}, else ${defaultQueue})`,
  },
};

/**
 * The queue named by `--redis` (else `BATON_REDIS`) and `--queue` (else `BATON_QUEUE`, else
 * `baton-runs`), or undefined when no Redis is named (the command runs the run here).
 *
 * @example
 * ```ts
 * queueTarget({ redis: 'redis://127.0.0.1:6379' }, {}, 'signal'); // { redis: 'redis://127.0.0.1:6379', queue: 'baton-runs' }
 * ```
 */
export function queueTarget(
  values: Record<string, string | boolean | undefined>,
  env: Readonly<Record<string, string | undefined>>,
  command: string,
): QueueTarget | undefined {
  if (values.redis === '') throw new UsageError('--redis needs a URL, e.g. redis://127.0.0.1:6379.', command);
  if (values.queue === '') throw new UsageError('--queue needs a name.', command);
  const redis = nonEmpty(values.redis) ?? nonEmpty(env[redisVariable]);
  const queue = nonEmpty(values.queue) ?? nonEmpty(env[queueVariable]) ?? defaultQueue;
  if (redis === undefined) {
    if (typeof values.queue === 'string')
      throw new UsageError(
        `--queue names a queue of workers on Redis; give their Redis with --redis <url> (or ${redisVariable}).`,
        command,
      );
    return undefined;
  }
  if (!/^rediss?:\/\//i.test(redis))
    throw new UsageError(
      `the Redis address ${JSON.stringify(redis)} (${nonEmpty(values.redis) === undefined ? redisVariable : '--redis'}) must be a redis:// or rediss:// URL.`,
      command,
    );
  return { redis, queue };
}

function nonEmpty(value: string | boolean | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * Waits until a run that workers execute has moved on from `before` (the record read before the
 * signal or the dispatch): it ended, or it was taken and is no longer running. With `dueUntil`
 * (when the signal was stored), a suspended run the store marked due by then (`wakeAt <= dueUntil`,
 * as storing a signal does) has not been taken yet. Reads the store every `intervalMs`; a run that
 * no worker takes keeps this waiting (the caller says so first).
 *
 * @example
 * ```ts
 * const before = await runtime.get(runId);
 * await runtime.signal(runId, 'approval', { approved: true });
 * const after = await awaitWorkers(runtime, before, { dueUntil: Date.now() });
 * ```
 */
export async function awaitWorkers(
  runtime: Pick<Runtime, 'get'>,
  before: RunRecord,
  options: { dueUntil?: number; intervalMs?: number } = {},
): Promise<RunRecord> {
  const { dueUntil, intervalMs = 100 } = options;
  for (;;) {
    const record = await runtime.get(before.id);
    if (terminalStatuses.has(record.status)) return record;
    const due =
      dueUntil !== undefined &&
      record.status === 'suspended' &&
      record.wakeAt !== undefined &&
      record.wakeAt <= dueUntil;
    if (record.status !== 'running' && record.updatedAt > before.updatedAt && !due) return record;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * How a run that workers left suspended waits, for `printOutcome` (this process saw none of its
 * events): the signals its open waits take, and its wake time.
 *
 * @example
 * ```ts
 * printOutcome(record, await waitsOf(store, record), context, mode);
 * ```
 */
export async function waitsOf(store: Store, record: RunRecord): Promise<ProgressState> {
  const waitingFor =
    record.status === 'suspended'
      ? (await listPending(store, { runId: record.id }))
          .filter((request) => !request.answered)
          .map((request) => request.signal)
      : [];
  return { waitingFor, wakeAt: record.wakeAt };
}

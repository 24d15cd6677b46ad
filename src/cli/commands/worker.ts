/** `baton worker --redis <url> --module <file>`: execute runs from a BullMQ queue on the shared store until SIGTERM or SIGINT, then drain. */

import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import { createAuditWriter } from '../../governance/audit.js';
import { ConfigError, createResilience, type Runnable } from '../../index.js';
import type { SharedLimit } from '../../models/resilience/shared-limits.js';
import { isPostgresUrl } from '../../runtime.js';
import { importModule, moduleExtensions } from '../../team/index.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { formatDuration } from '../format.js';
import { isRunnable, loadSource } from '../load-source.js';
import { queueOptions, queueTarget, redisVariable } from '../queue.js';
import { auditKey, shownPath } from '../session.js';
import { ensureStoreFolder } from '../store-path.js';
import { parseJson } from './run.js';

/** The `worker` command. */
export const workerCommand: Command = {
  name: 'worker',
  summary: 'Execute runs from a queue of workers (BullMQ on Redis) until stopped',
  usage: '',
  description:
    'Takes runs from a BullMQ queue on Redis and executes them on the store (Postgres for workers on\n' +
    'several machines; a SQLite file for processes on one host). Start as many as you like, on any\n' +
    'machine: runs started with a dispatcher (createBullmqDispatcher) and runs signalled or resumed\n' +
    'with --redis go to them. --module names what they can run: a team file, or a module whose\n' +
    'workflow, agent and pattern exports are all registered.\n' +
    '\n' +
    'Prints one line when ready and one per run that ends or suspends (unless --quiet). On SIGTERM\n' +
    'or SIGINT it drains: it takes no new run, the step in hand finishes and is recorded, the runs\n' +
    'it executes are handed back to the queue for another worker, then it exits 0. See\n' +
    'docs/deployment.md.',
  arguments: [],
  options: {
    module: {
      type: 'string',
      value: '<file>',
      description: 'a team file (.yaml) or a module whose workflows, agents and patterns this worker runs',
    },
    concurrency: { type: 'string', value: '<n>', description: 'runs executed at once (default 10)' },
    'lease-ms': {
      type: 'string',
      value: '<ms>',
      description:
        "a run's lease and its job's lock: how soon another worker takes over a dead one's runs (default 30000)",
    },
    'poll-interval-ms': {
      type: 'string',
      value: '<ms>',
      description: 'how often it looks for runs whose lease ran out or that fell due (default 1000)',
    },
    events: {
      type: 'boolean',
      description:
        "publish its runs' events on Redis Streams, so handle.events() follows them from other processes (redisEventFeed)",
    },
    limits: {
      type: 'string',
      value: '<json>',
      description:
        'limits its model calls share with every worker, by provider or provider:model, e.g. \'{"openai": {"maxConcurrent": 16}}\'',
    },
    webhooks: {
      type: 'boolean',
      description: 'also send webhooks: a dispatcher on the store (off by default; baton serve runs one)',
    },
    quiet: { type: 'boolean', short: 'q', description: 'print nothing but errors' },
    ...queueOptions,
  },
  examples: [
    'baton worker --store postgres://baton@db/baton --redis redis://queue:6379 --module ./team.ts',
    'BATON_STORE=postgres://baton@db/baton BATON_REDIS=redis://queue:6379 baton worker --module flows/support.ts --concurrency 50',
  ],
  async run({ values }, context) {
    const queue = queueTarget(values, context.env, 'worker');
    if (queue === undefined)
      throw new UsageError(
        `a worker needs the Redis of its queue: --redis redis://host:6379 (or ${redisVariable}).`,
        'worker',
      );
    const file = values.module;
    if (typeof file !== 'string' || file === '')
      throw new UsageError(
        'missing --module <file>: the team file or module whose runs this worker executes.',
        'worker',
      );
    const concurrency = wholeNumber(values.concurrency, '--concurrency', 1);
    const leaseMs = wholeNumber(values['lease-ms'], '--lease-ms', 100);
    const pollIntervalMs = wholeNumber(values['poll-interval-ms'], '--poll-interval-ms', 10);
    const quiet = values.quiet === true;
    const limitsText = values.limits;
    const sharedLimits =
      typeof limitsText === 'string' ? parseLimits(parseJson(limitsText, '--limits', 'worker')) : undefined;
    const postgres = isPostgresUrl(context.storePath);
    if (!postgres) ensureStoreFolder(context.storePath, context.storeOrigin);
    const store = postgres
      ? (await import('../../stores/postgres/index.js')).createPostgresStore({
          connectionString: context.storePath,
        })
      : (await import('../../stores/sqlite/index.js')).createSqliteStore({ path: context.storePath });
    // Listening from the start: a SIGTERM during start-up stops the worker once it is up, not mid-way.
    const stopped = stopSignal();
    const redis = await import('../../distributed/redis/index.js');
    const key = auditKey(context);
    const opened: { close(): Promise<void> }[] = [];
    let definitions: Runnable[];
    let worker: Awaited<ReturnType<typeof redis.createWorker>>;
    try {
      definitions = await definitionsOf(file, context, store);
      const events =
        values.events === true ? await redis.createRedisEventBus({ redis: queue.redis }) : undefined;
      if (events !== undefined) opened.push(events);
      const limits =
        sharedLimits === undefined
          ? undefined
          : await redis.createRedisLimits({ redis: queue.redis, limits: sharedLimits });
      if (limits !== undefined) opened.push(limits);
      worker = await redis.createWorker({
        redis: queue.redis,
        queue: queue.queue,
        store,
        workflows: definitions,
        audit: (auditStore) => createAuditWriter(auditStore, key === undefined ? {} : { key }),
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(leaseMs === undefined ? {} : { leaseMs }),
        ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
        ...(events === undefined ? {} : { events }),
        ...(limits === undefined ? {} : { resilience: createResilience({ sharedLimits: limits }) }),
      });
      // Closed after the worker and before the store: attempts in flight are recorded.
      if (values.webhooks === true)
        opened.push((await import('../../server/webhook-dispatcher.js')).createWebhookDispatcher({ store }));
    } catch (error) {
      stopped.stop();
      for (const resource of opened) await resource.close().catch(() => undefined);
      await store.close();
      throw error;
    }
    const off = quiet
      ? undefined
      : worker.runtime.on((event) => {
          if (event.type === 'run-end')
            context.stdout.write(
              `${event.runId} ${event.status}${event.error === undefined ? '' : `: ${event.error.message}`} ${context.style.dim(`(${formatDuration(event.durationMs)})`)}\n`,
            );
          else if (event.type === 'run-suspended')
            context.stdout.write(
              `${event.runId} suspended${event.waitingFor.length === 0 ? '' : `, waiting for ${event.waitingFor.join(', ')}`}\n`,
            );
        });
    if (!quiet)
      context.stdout.write(
        `baton worker ready: queue "${queue.queue}" on ${safeUrl(queue.redis)}, store ${postgres ? safeUrl(context.storePath) : shownPath(context, context.storePath)}, concurrency ${concurrency ?? 10}${values.events === true ? ', events on Redis' : ''}${values.webhooks === true ? ', webhooks' : ''}${sharedLimits === undefined ? '' : `, shared limits on ${Object.keys(sharedLimits).join(', ')}`}, running ${definitions.map((definition) => definition.name).join(', ')}\n`,
      );
    const signal = await stopped.received;
    if (!quiet) context.stdout.write(`${signal}: draining (runs in hand go back to the queue)…\n`);
    await worker.close();
    off?.();
    for (const resource of opened) await resource.close();
    await store.close();
    if (!quiet) context.stdout.write(`baton worker stopped after ${worker.executed} runs.\n`);
    return 0;
  },
};

/** Resolves with the first of SIGTERM and SIGINT the process receives; `stop()` stops listening. */
export function stopSignal(): { received: Promise<'SIGTERM' | 'SIGINT'>; stop(): void } {
  let onTerm = (): void => undefined;
  let onInt = (): void => undefined;
  const stop = (): void => {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
  };
  const received = new Promise<'SIGTERM' | 'SIGINT'>((resolve) => {
    onTerm = () => {
      stop();
      resolve('SIGTERM');
    };
    onInt = () => {
      stop();
      resolve('SIGINT');
    };
  });
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  return { received, stop };
}

/** What a worker runs: a team file's team, or every runnable export of a module. */
async function definitionsOf(
  file: string,
  context: CliContext,
  store: Parameters<typeof loadSource>[1]['store'],
): Promise<Runnable[]> {
  if (!moduleExtensions.includes(extname(file).toLowerCase())) {
    const loaded = await loadSource(file, { cwd: context.cwd, env: context.env, store });
    return [loaded.runnable, ...loaded.distributing];
  }
  const path = resolve(context.cwd, file);
  if (!existsSync(path)) throw new ConfigError(`File not found: ${file} (looked for ${path}).`);
  let module: Record<string, unknown>;
  try {
    module = await importModule(path);
  } catch (error) {
    throw new ConfigError(`Could not load ${file}: ${errorMessage(error)}`, { cause: error });
  }
  const definitions = [...new Set(Object.values(module).filter(isRunnable))];
  if (definitions.length === 0)
    throw new ConfigError(`${file} exports no workflow, agent or pattern for the worker to run.`);
  return definitions;
}

/** `--limits` as `createRedisLimits` takes them: an object of limits by provider or `provider:model`. */
function parseLimits(value: unknown): Record<string, SharedLimit> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new UsageError(
      '--limits must be a JSON object of limits by provider or provider:model, e.g. \'{"openai": {"maxConcurrent": 16, "requests": 500}}\'.',
      'worker',
    );
  return value as Record<string, SharedLimit>;
}

/** A whole number option at least `minimum`, or undefined when not given. */
function wholeNumber(value: string | boolean | undefined, flag: string, minimum: number): number | undefined {
  if (value === undefined) return undefined;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < minimum)
    throw new UsageError(`${flag} must be a whole number >= ${minimum}; got ${String(value)}.`, 'worker');
  return number;
}

/** A URL without its password, for messages. */
function safeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

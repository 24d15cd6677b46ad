/** createRedisEventBus: run events on Redis Streams, so a run executing in one process can be watched from any other. */

import type { Redis } from 'ioredis';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { BatonEvent, BatonEventType, EventListener } from '../../core/events.js';
import {
  closeConnection,
  connect,
  dedicated,
  type OwnedConnection,
  type RedisSource,
} from './redis-packages.js';
import { decodeEntry, encodeEntry, fieldOf, type RawEntry, refusalReporter } from './stream-entry.js';
import { blockingRead, type StreamRead } from './stream-read.js';

/** Options of `createRedisEventBus`. */
export interface RedisEventBusOptions {
  /** A `redis://` URL (the bus opens and closes its connections) or an ioredis client you own. */
  redis: RedisSource;
  /** Prefix of every key the bus writes. Default `baton:`. */
  prefix?: string;
  /** Entries kept per run stream (approximately: `MAXLEN ~`). Default 10,000. */
  maxRunEvents?: number;
  /** Entries kept in the stream of all runs' events (approximately). Default 100,000. */
  maxAllEvents?: number;
  /** How long a run's stream is kept after its `run-end`. Default 24 h. */
  retainMs?: number;
  /** How long one blocking read waits before it is made again (and an abort is noticed). Default 5 s. */
  blockMs?: number;
  /** Told about an entry that was skipped because it is not JSON or holds a forbidden key; default: one line on stderr. */
  onRefused?: (id: string, reason: string) => void;
}

/** One event of a run's stream, with its stream id (pass it as `from` to continue after it). */
export interface RunEventEntry {
  id: string;
  event: BatonEvent;
}

/** One event of the stream of all runs. `target` is known once the run's `run-start` went through the bus. */
export interface AllRunsEventEntry extends RunEventEntry {
  runId: string;
  target?: string;
}

/** Options of `RedisEventBus.subscribe`. */
export interface RunSubscribeOptions {
  /** Continue after this stream id (exclusive). Default `'0'`: every event still in the stream, then live. */
  from?: string;
  /** Event types that end the subscription (after they are yielded). Default `['run-end']`. */
  stopAt?: readonly BatonEventType[];
  /** Ends the subscription (the iteration returns). */
  signal?: AbortSignal;
}

/** Options of `RedisEventBus.subscribeAll`. */
export interface AllRunsSubscribeOptions {
  /** Continue after this stream id (exclusive). Default `'$'`: only events published from now on. */
  from?: string;
  /** Only events of runs of this workflow, agent or pattern (by name). */
  target?: string;
  signal?: AbortSignal;
}

/** Run events on Redis Streams; see `createRedisEventBus`. */
export interface RedisEventBus {
  /** Appends `event` to the run's stream and to the stream of all runs; resolves with its id in the run's stream. */
  publish(runId: string, event: BatonEvent): Promise<string>;
  /** The run's events after `fromId` (exclusive; default: from the first), oldest first. */
  read(runId: string, fromId?: string, options?: { count?: number }): Promise<RunEventEntry[]>;
  /** The run's events after `from`, then live ones, until an event of `stopAt` (default `run-end`) or the signal. */
  subscribe(runId: string, options?: RunSubscribeOptions): AsyncIterable<RunEventEntry>;
  /** Events of every run (or of one target's runs) after `from`, live, until the signal aborts. */
  subscribeAll(options?: AllRunsSubscribeOptions): AsyncIterable<AllRunsEventEntry>;
  /** Publishes every event `source` (a runtime) emits, in order; returns the function that stops. */
  attach(source: { on(listener: EventListener): () => void }): () => void;
  /** Resolves when every publish started so far is done (the ones made through `attach` too). */
  flush(): Promise<void>;
  /** The key of a run's stream. */
  runKey(runId: string): string;
  /** Waits for pending publishes, ends subscriptions and closes the connections the bus opened. */
  close(): Promise<void>;
}

const defaults = {
  prefix: 'baton:',
  maxRunEvents: 10_000,
  maxAllEvents: 100_000,
  retainMs: 24 * 60 * 60 * 1000,
  blockMs: 5000,
} satisfies Partial<RedisEventBusOptions>;

/**
 * Run events over Redis Streams. `publish` appends an event to the run's stream
 * (`<prefix>run:<runId>`, capped with `MAXLEN ~`, expiring `retainMs` after `run-end`) and to
 * the stream of all runs (`<prefix>runs`). `subscribe` replays a run from an offset, then
 * follows it live with blocking `XREAD` on a connection of its own, and ends after `run-end`.
 * Events must be JSON (a Date or a cycle is refused with `INVALID_RECORD`); entries read back
 * with a forbidden key (`__proto__`, `constructor`, `prototype`) are skipped and reported.
 *
 * @example
 * ```ts
 * // process A, where the run executes
 * const bus = await createRedisEventBus({ redis: 'redis://127.0.0.1:6379' });
 * bus.attach(runtime);
 * const handle = await runtime.start(flow, input);
 * // process B, anywhere
 * for await (const { id, event } of bus.subscribe(handle.runId)) console.log(id, event.type);
 * ```
 */
export async function createRedisEventBus(options: RedisEventBusOptions): Promise<RedisEventBus> {
  const where = 'createRedisEventBus';
  if (typeof options !== 'object' || options === null)
    throw new ConfigError(`${where}: pass { redis: 'redis://host:6379' } or { redis: ioredisClient }.`);
  const settings = { ...defaults, ...definedOnly(options) };
  const connection: OwnedConnection = await connect(options.redis, where);
  const { client } = connection;
  const prefix = settings.prefix;
  const allKey = `${prefix}runs`;
  const runKey = (runId: string) => `${prefix}run:${runId}`;
  const refused = options.onRefused ?? refusalReporter(where);
  /** Targets of runs whose `run-start` this bus published, until their end or suspension. */
  const targets = new Map<string, string>();
  const pending = new Set<Promise<unknown>>();
  const readers = new Set<StreamRead>();
  let closed = false;

  function track<RESULT>(promise: Promise<RESULT>): Promise<RESULT> {
    pending.add(promise);
    const untrack = () => pending.delete(promise);
    promise.then(untrack, untrack);
    return promise;
  }

  function decodeEvents(entries: readonly RawEntry[]): RunEventEntry[] {
    const out: RunEventEntry[] = [];
    for (const [id, fields] of entries) {
      const decoded = decodeEntry(fieldOf(fields, 'event'));
      if ('refused' in decoded) refused(id, decoded.refused);
      else out.push({ id, event: decoded.value as BatonEvent });
    }
    return out;
  }

  async function publish(runId: string, event: BatonEvent): Promise<string> {
    if (closed) throw new ConfigError(`${where}: the bus is closed.`);
    if (typeof runId !== 'string' || runId.length === 0)
      throw new ConfigError(`${where}: publish needs a run id.`);
    const text = encodeEntry(event, `${where}: the ${String(event?.type)} event of run ${runId}`);
    if (event.type === 'run-start') targets.set(runId, event.target);
    const target = targets.get(runId);
    if (event.type === 'run-end' || event.type === 'run-suspended') targets.delete(runId);
    const key = runKey(runId);
    const batch = client
      .multi()
      .xadd(key, 'MAXLEN', '~', settings.maxRunEvents, '*', 'event', text)
      .xadd(
        allKey,
        'MAXLEN',
        '~',
        settings.maxAllEvents,
        '*',
        'run',
        runId,
        ...(target === undefined ? [] : ['target', target]),
        'event',
        text,
      );
    if (event.type === 'run-end') batch.pexpire(key, settings.retainMs);
    else batch.persist(key);
    const replies = await track(batch.exec());
    const first = replies?.[0];
    if (first === undefined || first[0] !== null) throw first?.[0] ?? new Error('XADD got no reply');
    return first[1] as string;
  }

  async function read(runId: string, fromId = '0', readOptions: { count?: number } = {}) {
    const start = fromId === '0' || fromId === '-' ? '-' : `(${fromId}`;
    const entries = (
      readOptions.count === undefined
        ? await client.xrange(runKey(runId), start, '+')
        : await client.xrange(runKey(runId), start, '+', 'COUNT', readOptions.count)
    ) as RawEntry[];
    return decodeEvents(entries);
  }

  function subscribe(
    runId: string,
    subscribeOptions: RunSubscribeOptions = {},
  ): AsyncIterable<RunEventEntry> {
    const stopAt = new Set<string>(subscribeOptions.stopAt ?? ['run-end']);
    const key = runKey(runId);
    return {
      async *[Symbol.asyncIterator]() {
        const reader = blockingRead(dedicated(client), settings.blockMs, subscribeOptions.signal);
        readers.add(reader);
        try {
          let last = subscribeOptions.from ?? '0';
          for (;;) {
            const entries = await reader.next(key, last);
            if (entries === undefined) return;
            for (const entry of decodeEvents(entries)) {
              yield entry;
              if (stopAt.has(entry.event.type)) return;
            }
            const tail = entries.at(-1);
            if (tail !== undefined) last = tail[0];
          }
        } finally {
          readers.delete(reader);
          await reader.close();
        }
      },
    };
  }

  function subscribeAll(subscribeOptions: AllRunsSubscribeOptions = {}): AsyncIterable<AllRunsEventEntry> {
    return {
      async *[Symbol.asyncIterator]() {
        const reader = blockingRead(dedicated(client), settings.blockMs, subscribeOptions.signal);
        readers.add(reader);
        try {
          let last = subscribeOptions.from ?? '$';
          if (last === '$') last = (await lastId(client, allKey)) ?? '0';
          for (;;) {
            const entries = await reader.next(allKey, last);
            if (entries === undefined) return;
            for (const [id, fields] of entries) {
              const run = fieldOf(fields, 'run');
              const target = fieldOf(fields, 'target');
              if (subscribeOptions.target !== undefined && target !== subscribeOptions.target) continue;
              const decoded = decodeEntry(fieldOf(fields, 'event'));
              if ('refused' in decoded || run === undefined) {
                refused(id, 'refused' in decoded ? decoded.refused : 'the entry names no run');
                continue;
              }
              const entry: AllRunsEventEntry = { id, runId: run, event: decoded.value as BatonEvent };
              if (target !== undefined) entry.target = target;
              yield entry;
            }
            const tail = entries.at(-1);
            if (tail !== undefined) last = tail[0];
          }
        } finally {
          readers.delete(reader);
          await reader.close();
        }
      },
    };
  }

  function attach(source: { on(listener: EventListener): () => void }): () => void {
    let warned = false;
    return source.on((event) => {
      if (closed) return;
      publish(event.runId, event).catch((error: unknown) => {
        if (warned) return;
        warned = true;
        process.stderr.write(
          `baton: ${where}: a ${event.type} event of run ${event.runId} did not reach Redis (later failures are not reported): ${errorMessage(error)}\n`,
        );
      });
    });
  }

  return {
    publish,
    read,
    subscribe,
    subscribeAll,
    attach,
    runKey,
    async flush() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    async close() {
      if (closed) return;
      closed = true;
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await Promise.all([...readers].map((reader) => reader.close()));
      if (connection.owned) await closeConnection(client);
    },
  };
}

/** The id of the newest entry of a stream, or undefined when it is empty. */
export async function lastId(client: Redis, key: string): Promise<string | undefined> {
  const newest = (await client.xrevrange(key, '+', '-', 'COUNT', 1)) as RawEntry[];
  return newest[0]?.[0];
}

/** The options that are set (so `undefined` never overrides a default). */
export function definedOnly<OPTIONS extends object>(options: OPTIONS): Partial<OPTIONS> {
  return Object.fromEntries(
    Object.entries(options).filter(([, value]) => value !== undefined),
  ) as Partial<OPTIONS>;
}

/** createRedisTopics: eventDriven topics mirrored to Redis Streams exactly once, readable from any process and shared by consumer groups. */

import { randomUUID } from 'node:crypto';
import { ConfigError } from '../../core/errors.js';
import type { RunContext } from '../../core/run-context.js';
import { createTopicBus, type TopicBus, type TopicEvent } from '../../patterns/event-driven.js';
import { definedOnly } from './redis-event-bus.js';
import { closeConnection, connect, dedicated, type RedisSource } from './redis-packages.js';
import { decodeEntry, encodeEntry, fieldOf, type RawEntry, refusalReporter } from './stream-entry.js';
import { blockingRead, type StreamRead } from './stream-read.js';

/** Options of `createRedisTopics`. */
export interface RedisTopicsOptions {
  /** A `redis://` URL (opened and closed by Baton) or an ioredis client you own. */
  redis: RedisSource;
  /** Prefix of every key. Default `baton:`. */
  prefix?: string;
  /** Entries kept per shared topic stream (approximately: `MAXLEN ~`). Default 100,000. */
  maxTopicEvents?: number;
  /** How long a run's own topic streams are kept after its last publish. Default 7 days. */
  retainMs?: number;
  /** How long a blocking read waits before it is made again (and an abort is noticed). Default 5 s. */
  blockMs?: number;
  /** Told about an entry skipped because it is not JSON or holds a forbidden key; default: one line on stderr. */
  onRefused?: (id: string, reason: string) => void;
}

/** A topic event taken from a consumer group: ack it when handled, or another consumer claims it later. */
export interface TopicDelivery {
  /** Its id in the shared topic stream. */
  id: string;
  runId: string;
  event: TopicEvent;
  /** Marks it handled (`XACK`); an event never acked is delivered again to a consumer that claims it. */
  ack(): Promise<void>;
}

/** Options of `RedisTopics.consume`. */
export interface TopicConsumeOptions {
  /** The consumer group: each event goes to one consumer of the group. */
  group: string;
  /** This consumer's name in the group (unique per process). Default: a random one. */
  consumer?: string;
  /** Where a new group starts: `'0'` every event still in the stream (default), `'$'` only new ones. */
  start?: '0' | '$';
  /** Events left unacked this long by another consumer (one that died) are claimed. Default 30 s. */
  claimIdleMs?: number;
  /** Events taken per read. Default 10. */
  count?: number;
  signal?: AbortSignal;
}

/** Topics of eventDriven runs on Redis Streams; see `createRedisTopics`. */
export interface RedisTopics {
  /** The bus to give `eventDriven({ bus })`: the in-process journaled bus, each publish also written to Redis once. */
  bus(ctx: RunContext, name: string): TopicBus;
  /** A run's topic as written to Redis, from `fromOffset` on: readable from any process. */
  read(runId: string, name: string, topic: string, fromOffset?: number): Promise<TopicEvent[]>;
  /** Events of a topic of every run of the pattern `name`, shared by the consumers of `group`. */
  consume(name: string, topic: string, options: TopicConsumeOptions): AsyncIterable<TopicDelivery>;
  /** The key of the stream shared by every run's events of a topic. */
  topicKey(name: string, topic: string): string;
  /** The key of one run's stream of a topic (entry ids `0-<offset + 1>`). */
  runTopicKey(runId: string, name: string, topic: string): string;
  close(): Promise<void>;
}

/**
 * Appends to a run's topic stream with the id `0-<offset + 1>` and, only when that is new, to the
 * shared topic stream: a replayed publish (same run, topic and offset) changes nothing.
 */
const appendOnce = `
local added = redis.pcall('XADD', KEYS[1], ARGV[1], 'event', ARGV[2])
if type(added) == 'table' and added.err then
  if string.find(added.err, 'equal or smaller', 1, true) then return 0 end
  return redis.error_reply(added.err)
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'run', ARGV[4], 'event', ARGV[2])
return 1
`;

const defaults = {
  prefix: 'baton:',
  maxTopicEvents: 100_000,
  retainMs: 7 * 24 * 60 * 60 * 1000,
  blockMs: 5000,
} satisfies Partial<RedisTopicsOptions>;

/**
 * Topics of `eventDriven` runs on Redis Streams. `bus` keeps the in-process bus's durability:
 * each publish is first journaled as a step (so a replay rebuilds the same topics and offsets,
 * and `readTopic` works as before), then written to Redis with its offset as the entry id, in one
 * script that also appends it to the shared topic stream only the first time. A crash between
 * the journal and Redis is healed by the replay; a replay never publishes twice. Other processes
 * `read` a run's topic, or `consume` a topic of every run as a consumer group (`XREADGROUP`,
 * `XACK`; events a dead consumer left unacked are claimed after `claimIdleMs`).
 *
 * @example
 * ```ts
 * const topics = await createRedisTopics({ redis: 'redis://127.0.0.1:6379' });
 * const newsroom = eventDriven({ name: 'newsroom', subscribers, until: 'published', bus: topics.bus });
 * // in another process: share the published stories between workers
 * for await (const story of topics.consume('newsroom', 'published', { group: 'mailers' })) {
 *   await mail(story.event.data);
 *   await story.ack();
 * }
 * ```
 */
export async function createRedisTopics(options: RedisTopicsOptions): Promise<RedisTopics> {
  const where = 'createRedisTopics';
  if (typeof options !== 'object' || options === null)
    throw new ConfigError(`${where}: pass { redis: 'redis://host:6379' } or { redis: ioredisClient }.`);
  const settings = { ...defaults, ...definedOnly(options) };
  const connection = await connect(options.redis, where);
  const { client } = connection;
  const prefix = settings.prefix;
  const refused = options.onRefused ?? refusalReporter(where);
  const readers = new Set<StreamRead>();
  let closed = false;
  const topicKey = (name: string, topic: string) => `${prefix}topic:${name}:${topic}`;
  const runTopicKey = (runId: string, name: string, topic: string) =>
    `${prefix}run-topic:${runId}:${name}:${topic}`;

  async function mirror(runId: string, name: string, event: TopicEvent): Promise<void> {
    const text = encodeEntry(event, `${where}: the event ${event.offset} of topic "${event.topic}"`);
    await client.eval(
      appendOnce,
      2,
      runTopicKey(runId, name, event.topic),
      topicKey(name, event.topic),
      `0-${event.offset + 1}`,
      text,
      settings.maxTopicEvents,
      runId,
      settings.retainMs,
    );
  }

  function decode(id: string, fields: readonly string[]): TopicEvent | undefined {
    const decoded = decodeEntry(fieldOf(fields, 'event'));
    if ('refused' in decoded) {
      refused(id, decoded.refused);
      return undefined;
    }
    return decoded.value as TopicEvent;
  }

  async function ensureGroup(key: string, group: string, start: string): Promise<void> {
    try {
      await client.xgroup('CREATE', key, group, start, 'MKSTREAM');
    } catch (error) {
      if (!String(error).includes('BUSYGROUP')) throw error;
    }
  }

  function consume(
    name: string,
    topic: string,
    consumeOptions: TopicConsumeOptions,
  ): AsyncIterable<TopicDelivery> {
    if (typeof consumeOptions?.group !== 'string' || consumeOptions.group.length === 0)
      throw new ConfigError(`${where}: consume needs { group: 'name' }.`);
    const { group, signal } = consumeOptions;
    const consumer = consumeOptions.consumer ?? `consumer-${randomUUID()}`;
    const claimIdleMs = consumeOptions.claimIdleMs ?? 30_000;
    const count = consumeOptions.count ?? 10;
    const key = topicKey(name, topic);
    const delivery = (id: string, fields: readonly string[]): TopicDelivery | undefined => {
      const event = decode(id, fields);
      const runId = fieldOf(fields, 'run');
      if (event === undefined || runId === undefined) {
        // Never deliverable: acked so it is not claimed again and again.
        client.xack(key, group, id).catch(() => undefined);
        return undefined;
      }
      return { id, runId, event, ack: async () => void (await client.xack(key, group, id)) };
    };
    return {
      async *[Symbol.asyncIterator]() {
        await ensureGroup(key, group, consumeOptions.start ?? '0');
        const reader = blockingRead(dedicated(client), settings.blockMs, signal);
        readers.add(reader);
        try {
          // This consumer's own unacked events first (it restarted under the same name).
          const own = (await client.call(
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'STREAMS',
            key,
            '0',
          )) as Array<[string, RawEntry[]]> | null;
          for (const [id, fields] of own?.[0]?.[1] ?? []) {
            if (fields === null) continue;
            const taken = delivery(id, fields);
            if (taken !== undefined) yield taken;
          }
          for (;;) {
            if (signal?.aborted === true || closed) return;
            let claimed: [string, RawEntry[]];
            let entries: RawEntry[] | undefined;
            try {
              claimed = (await client.xautoclaim(
                key,
                group,
                consumer,
                claimIdleMs,
                '0-0',
                'COUNT',
                count,
              )) as [string, RawEntry[]];
              entries = claimed[1].length > 0 ? [] : await reader.nextForGroup(key, group, consumer, count);
            } catch (error) {
              // Redis lost the group (a restart without persistence): make it again and go on.
              if (!String(error).includes('NOGROUP')) throw error;
              await ensureGroup(key, group, '0');
              continue;
            }
            for (const [id, fields] of claimed[1]) {
              const taken = delivery(id, fields);
              if (taken !== undefined) yield taken;
            }
            if (entries === undefined) return;
            for (const [id, fields] of entries) {
              const taken = delivery(id, fields);
              if (taken !== undefined) yield taken;
            }
          }
        } finally {
          readers.delete(reader);
          await reader.close();
        }
      },
    };
  }

  return {
    bus(ctx, name) {
      const local = createTopicBus(ctx, { name });
      return {
        async publish(topic, data, from) {
          const event = await local.publish(topic, data, from);
          await mirror(ctx.runId, name, event);
          return event;
        },
        read: (topic, fromOffset) => local.read(topic, fromOffset),
        subscribe: (topic, listener) => local.subscribe(topic, listener),
        topics: () => local.topics(),
      };
    },
    async read(runId, name, topic, fromOffset = 0) {
      const entries = (await client.xrange(
        runTopicKey(runId, name, topic),
        `0-${fromOffset + 1}`,
        '+',
      )) as RawEntry[];
      const events: TopicEvent[] = [];
      for (const [id, fields] of entries) {
        const event = decode(id, fields);
        if (event !== undefined) events.push(event);
      }
      return events;
    },
    consume,
    topicKey,
    runTopicKey,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...readers].map((reader) => reader.close()));
      if (connection.owned) await closeConnection(client);
    },
  };
}

/** eventDriven topics on Redis Streams against the real local Redis: exactly once across a replay, healed after a lost write, shared by a consumer group. */

import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisTopics,
  type RedisTopics,
  type TopicDelivery,
} from '../../src/distributed/redis/index.js';
import {
  createMemoryStore,
  createRuntime,
  eventDriven,
  type RunContext,
  readTopic,
  workflow,
} from '../../src/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { dropKeys, redisUrl, requireRedis, sleep, testPrefix } from './redis-test-kit.js';

const prefix = testPrefix('topics');
let client: Redis;
let topics: RedisTopics;

beforeAll(async () => {
  client = await requireRedis();
  topics = await createRedisTopics({ redis: redisUrl, prefix, blockMs: 200 });
});

afterAll(async () => {
  await topics?.close();
  if (client !== undefined) {
    await dropKeys(client, prefix);
    client.disconnect();
  }
});

const worker = (name: string, make: (input: unknown) => unknown) =>
  workflow({ name }, async (ctx: RunContext, input: unknown) => ctx.step('work', () => make(input)));

/** An event-driven team that suspends for a human before its last topic: resuming it replays every publish. */
function approvalTeam(name: string) {
  const approver = workflow({ name: 'approver' }, async (ctx: RunContext, drafts: unknown) => {
    const decision = await ctx.waitFor<string>('decision');
    return `${decision}: ${String(drafts)}`;
  });
  return eventDriven({
    name,
    subscribers: [
      {
        member: worker('splitter', (input) => String(input).split(',')),
        topics: ['input'],
        publishes: 'parts',
      },
      {
        member: worker('first', (parts) => `v1 ${(parts as string[])[0]}`),
        topics: ['parts'],
        publishes: 'drafts',
      },
      {
        member: worker('second', (parts) => `v2 ${(parts as string[])[1]}`),
        topics: ['parts'],
        publishes: 'drafts',
      },
      { member: approver, topics: ['drafts'], publishes: 'approved' },
    ],
    until: 'approved',
    bus: (ctx, busName) => topics.bus(ctx, busName),
  });
}

describe('createRedisTopics', () => {
  it('writes each journaled publish to Redis once, even when a resumed run replays it', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const team = approvalTeam('review');
    const handle = await runtime.start(team, 'a,b');
    await waitForStatus(runtime, handle.runId, 'suspended');
    const before = await topics.read(handle.runId, 'review', 'drafts');
    expect(before.map((event) => [event.offset, event.data])).toEqual([
      [0, 'v1 a'],
      [1, 'v2 b'],
    ]);
    const sharedBefore = await client.xlen(topics.topicKey('review', 'drafts'));
    expect(sharedBefore).toBe(2);

    await runtime.signal(handle.runId, 'decision', 'ok');
    expect(await handle.result()).toBe('ok: v1 a');
    // The resumed run replayed input, parts and both drafts: Redis holds each once.
    for (const topic of ['input', 'parts', 'drafts', 'approved']) {
      const journaled = await readTopic(runtime, handle.runId, topic);
      expect(await topics.read(handle.runId, 'review', topic), topic).toEqual(journaled);
      expect(await client.xlen(topics.topicKey('review', topic)), topic).toBe(journaled.length);
    }
    expect((await topics.read(handle.runId, 'review', 'drafts', 1)).map((event) => event.data)).toEqual([
      'v2 b',
    ]);
    await runtime.close();
  });

  it('rebuilds a topic in Redis from the journal when its write was lost (a crash between the two)', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const team = approvalTeam('healing');
    const handle = await runtime.start(team, 'x,y');
    await waitForStatus(runtime, handle.runId, 'suspended');
    await client.del(topics.runTopicKey(handle.runId, 'healing', 'parts'));
    await runtime.signal(handle.runId, 'decision', 'fine');
    await handle.result();
    expect(await topics.read(handle.runId, 'healing', 'parts')).toEqual(
      await readTopic(runtime, handle.runId, 'parts'),
    );
    expect((await topics.read(handle.runId, 'healing', 'parts')).length).toBe(1);
    await runtime.close();
  });

  it('shares a topic between the consumers of a group, and hands a dead consumer’s events to another', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const producer = workflow({ name: 'producer' }, async (ctx: RunContext, count: number) => {
      const bus = topics.bus(ctx, 'jobs');
      for (let index = 0; index < count; index++) await bus.publish('work', { job: index });
      return count;
    });
    await (await runtime.start(producer, 20)).result();
    // A consumer that takes 3 events and dies without acking them.
    const dead = new AbortController();
    const abandoned: number[] = [];
    for await (const delivery of topics.consume('jobs', 'work', {
      group: 'g',
      consumer: 'dead',
      count: 3,
      signal: dead.signal,
    })) {
      abandoned.push((delivery.event.data as { job: number }).job);
      if (abandoned.length === 3) break;
    }
    expect(abandoned).toEqual([0, 1, 2]);

    const taken = new Map<string, number[]>([
      ['one', []],
      ['two', []],
    ]);
    const controller = new AbortController();
    const total = () => [...taken.values()].reduce((sum, jobs) => sum + jobs.length, 0);
    const run = async (consumer: string) => {
      for await (const delivery of topics.consume('jobs', 'work', {
        group: 'g',
        consumer,
        count: 1,
        claimIdleMs: 300,
        signal: controller.signal,
      }) as AsyncIterable<TopicDelivery>) {
        taken.get(consumer)!.push((delivery.event.data as { job: number }).job);
        await sleep(15);
        await delivery.ack();
        if (total() === 20) controller.abort();
      }
    };
    await Promise.all([run('one'), run('two')]);
    const all = [...taken.values()].flat().sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(taken.get('one')!.length).toBeGreaterThan(0);
    expect(taken.get('two')!.length).toBeGreaterThan(0);
    expect(await client.xpending(topics.topicKey('jobs', 'work'), 'g')).toEqual([0, null, null, null]);
    await runtime.close();
  });
});

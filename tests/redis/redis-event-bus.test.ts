/** The Redis Streams run-event bus against the real local Redis: replay from an offset then live, watching from another process, JSON safety. */

import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRedisEventBus, type RedisEventBus } from '../../src/distributed/redis/index.js';
import {
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  type RunContext,
  workflow,
} from '../../src/index.js';
import { exitOf, killStarted, startWorker, waitForLine } from '../crash/crash-harness.js';
import { dropKeys, redisUrl, requireRedis, testPrefix } from './redis-test-kit.js';

const prefix = testPrefix('event-bus');
let client: Redis;
let bus: RedisEventBus;

beforeAll(async () => {
  client = await requireRedis();
  bus = await createRedisEventBus({ redis: redisUrl, prefix, blockMs: 200 });
});

afterAll(async () => {
  // Worker processes a failed test left running.
  await killStarted();
  await bus?.close();
  if (client !== undefined) {
    await dropKeys(client, prefix);
    client.disconnect();
  }
});

const at = 1_700_000_000_000;
const step = (runId: string, name: string): BatonEvent => ({
  type: 'step-start',
  runId,
  at,
  key: `0/${name}`,
  name,
  kind: 'step',
});
const end = (runId: string): BatonEvent => ({
  type: 'run-end',
  runId,
  at,
  status: 'completed',
  output: 'done',
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  costUsd: 0,
  durationMs: 1,
});

describe('createRedisEventBus', () => {
  it('replays a run from an offset, then follows it live until run-end', async () => {
    const runId = 'run-replay';
    await bus.publish(runId, { type: 'run-start', runId, at, target: 'flow', resumed: false });
    const second = await bus.publish(runId, step(runId, 'a'));
    await bus.publish(runId, step(runId, 'b'));
    expect((await bus.read(runId)).map((entry) => entry.event.type)).toEqual([
      'run-start',
      'step-start',
      'step-start',
    ]);
    const received: string[] = [];
    const watching = (async () => {
      for await (const { event } of bus.subscribe(runId, { from: second }))
        received.push(event.type === 'step-start' ? event.name : event.type);
    })();
    // The replayed part arrives first; then live events.
    await expect.poll(() => received).toEqual(['b']);
    await bus.publish(runId, step(runId, 'c'));
    await expect.poll(() => received).toEqual(['b', 'c']);
    await bus.publish(runId, end(runId));
    await watching;
    expect(received).toEqual(['b', 'c', 'run-end']);
    // A run's stream expires after its end; the all-runs stream names the run and its target.
    expect(await client.pttl(bus.runKey(runId))).toBeGreaterThan(0);
  });

  it('gives the events of every run of one target on the all-runs stream', async () => {
    const controller = new AbortController();
    const seen: Array<[string, string]> = [];
    const watching = (async () => {
      for await (const entry of bus.subscribeAll({ target: 'wanted', signal: controller.signal })) {
        seen.push([entry.runId, entry.event.type]);
        if (seen.length === 4) controller.abort();
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 100));
    await bus.publish('w1', { type: 'run-start', runId: 'w1', at, target: 'wanted', resumed: false });
    await bus.publish('o1', { type: 'run-start', runId: 'o1', at, target: 'other', resumed: false });
    await bus.publish('o1', step('o1', 'x'));
    await bus.publish('w1', step('w1', 'x'));
    await bus.publish('w2', { type: 'run-start', runId: 'w2', at, target: 'wanted', resumed: false });
    await bus.publish('w1', end('w1'));
    await watching;
    expect(seen).toEqual([
      ['w1', 'run-start'],
      ['w1', 'step-start'],
      ['w2', 'run-start'],
      ['w1', 'run-end'],
    ]);
  });

  it('refuses events that are not JSON and skips entries with a forbidden key', async () => {
    const runId = 'run-unsafe';
    await expect(
      bus.publish(runId, { type: 'custom', runId, at, scope: '0', name: 'x', data: { when: new Date(0) } }),
    ).rejects.toMatchObject({ code: 'INVALID_RECORD' });
    await expect(
      bus.publish(runId, {
        type: 'custom',
        runId,
        at,
        scope: '0',
        name: 'x',
        data: JSON.parse('{"__proto__":{"polluted":true}}'),
      }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN_KEY' });
    // Written by someone else straight to the stream: read back, it is skipped and reported.
    await client.xadd(bus.runKey(runId), '*', 'event', '{"type":"custom","__proto__":{"polluted":true}}');
    await bus.publish(runId, step(runId, 'safe'));
    const refused: string[] = [];
    const own = await createRedisEventBus({
      redis: client,
      prefix,
      onRefused: (_id, reason) => refused.push(reason),
    });
    const events = await own.read(runId);
    await own.close();
    expect(events.map((entry) => entry.event.type)).toEqual(['step-start']);
    expect(refused).toEqual([expect.stringContaining('"__proto__"')]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // The caller's own client stays open after close().
    expect(await client.ping()).toBe('PONG');
  });

  it('keeps an attached runtime running when an event cannot be published, and says so once', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const flow = workflow({ name: 'emits-a-date' }, async (ctx: RunContext) => {
      ctx.emit({ name: 'bad', data: { when: new Date(0) } });
      return ctx.step('after', () => 'ok');
    });
    const stop = bus.attach(runtime);
    const written: string[] = [];
    const write = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    let runId = '';
    try {
      const handle = await runtime.start(flow, null);
      runId = handle.runId;
      expect(await handle.result()).toBe('ok');
      await bus.flush();
    } finally {
      write.mockRestore();
      stop();
    }
    expect(written.join('')).toContain('a custom event of run');
    expect(written.join('')).toContain('did not reach Redis');
    const types = (await bus.read(runId)).map((entry) => entry.event.type);
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    expect(types).not.toContain('custom');
    await runtime.close();
  });

  it('lets another process watch a run: process A runs it, this process follows it live', async () => {
    const publisher = startWorker(join(import.meta.dirname, 'event-publisher.ts'), [redisUrl, prefix], '');
    await waitForLine(publisher, 'STARTED ');
    const runId = /STARTED (\S+)/.exec(publisher.output)![1]!;
    const types: string[] = [];
    let output: unknown;
    let subscribed = false;
    for await (const { event } of bus.subscribe(runId)) {
      types.push(event.type === 'step-end' ? `step-end:${event.name}` : event.type);
      if (!subscribed) {
        subscribed = true;
        // Only now does the run go on: what follows reached this process live.
        await client.set(`${prefix}watching`, '1');
      }
      if (event.type === 'run-end') output = event.output;
    }
    await exitOf(publisher);
    expect(publisher.output).toContain('DONE "go-1-2-3"');
    expect(output).toBe('go-1-2-3');
    expect(types[0]).toBe('run-start');
    expect(types.filter((type) => type.startsWith('step-end:'))).toEqual([
      'step-end:first',
      'step-end:wait-for-watcher',
      'step-end:second',
      'step-end:third',
    ]);
    expect(types.at(-1)).toBe('run-end');
  });
});

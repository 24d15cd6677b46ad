/**
 * What a restart of Redis without persistence does, on a private server this file starts, kills with
 * SIGKILL and starts again on the same port (the shared local server is never restarted): live
 * subscribers go on with new events and events from before are gone, consumer groups are made
 * again, held slots are reported lost and the cap starts from zero.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRedisEventBus,
  createRedisLimits,
  createRedisTopics,
  type TopicDelivery,
} from '../../src/distributed/redis/index.js';
import {
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  type RunContext,
  workflow,
} from '../../src/index.js';
import { requireRedis, testPrefix } from './redis-test-kit.js';

const prefix = testPrefix('restart');
let port = 0;
let server: ChildProcess | undefined;

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });
}

/** Starts redis-server on `port` with no persistence; resolves once it accepts connections. */
function startServer(): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start:\n${output}`)), 10_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`redis-server could not be started (it is needed for this test): ${error.message}`));
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
  });
}

/** Kills the private server with SIGKILL (everything in it is lost) and starts it again on the same port. */
async function restart(): Promise<void> {
  const old = server!;
  const exited = new Promise((resolve) => old.once('exit', resolve));
  old.kill('SIGKILL');
  await exited;
  server = await startServer();
}

const url = () => `redis://127.0.0.1:${port}`;

beforeAll(async () => {
  // The shared server must be there too: this file is part of the Redis suite.
  (await requireRedis()).disconnect();
  port = await freePort();
  server = await startServer();
});

afterAll(() => {
  server?.kill('SIGKILL');
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

describe('a Redis restart without persistence', () => {
  it('keeps live subscribers going with new events; events from before the restart are gone', async () => {
    const bus = await createRedisEventBus({ redis: url(), prefix, blockMs: 200 });
    const runId = 'run-restart';
    await bus.publish(runId, { type: 'run-start', runId, at, target: 'flow', resumed: false });
    await bus.publish(runId, step(runId, 'before'));
    const received: string[] = [];
    const watching = (async () => {
      for await (const { event } of bus.subscribe(runId))
        received.push(event.type === 'step-start' ? event.name : event.type);
    })();
    await expect.poll(() => received).toEqual(['run-start', 'before']);
    await restart();
    await bus.publish(runId, step(runId, 'after'));
    await bus.publish(runId, {
      type: 'run-end',
      runId,
      at,
      status: 'completed',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      costUsd: 0,
      durationMs: 1,
    });
    await watching;
    expect(received).toEqual(['run-start', 'before', 'after', 'run-end']);
    expect((await bus.read(runId)).map((entry) => entry.event.type)).toEqual(['step-start', 'run-end']);
    await bus.close();
  });

  it('makes a lost consumer group again and goes on delivering', async () => {
    const topics = await createRedisTopics({ redis: url(), prefix, blockMs: 200 });
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const producer = workflow({ name: 'producer' }, async (ctx: RunContext, jobs: number[]) => {
      const bus = topics.bus(ctx, 'jobs');
      for (const job of jobs) await bus.publish('work', job);
      return jobs.length;
    });
    const controller = new AbortController();
    const taken: unknown[] = [];
    const consuming = (async () => {
      for await (const delivery of topics.consume('jobs', 'work', {
        group: 'g',
        signal: controller.signal,
      }) as AsyncIterable<TopicDelivery>) {
        taken.push(delivery.event.data);
        await delivery.ack();
      }
    })();
    await (await runtime.start(producer, [1, 2, 3])).result();
    await expect.poll(() => taken).toEqual([1, 2, 3]);
    await restart();
    await (await runtime.start(producer, [4, 5])).result();
    await expect.poll(() => taken, { timeout: 5000 }).toEqual([1, 2, 3, 4, 5]);
    controller.abort();
    await consuming;
    await topics.close();
    await runtime.close();
  });

  it('reports held slots as lost, and the cap starts again from zero', async () => {
    const lost: string[] = [];
    const limits = await createRedisLimits({
      redis: url(),
      prefix,
      limits: { provider: { maxConcurrent: 1 } },
      lockTimeoutMs: 600,
      onLockLost: (key) => lost.push(key),
    });
    const held = await limits.acquire('provider');
    expect(await limits.inFlight('provider')).toBe(1);
    await restart();
    // The next refresh (every 200 ms) finds the slot gone.
    await expect.poll(() => lost, { timeout: 3000 }).toEqual(['provider']);
    expect(await limits.inFlight('provider')).toBe(0);
    // The call that still runs no longer counts: another one gets the only slot.
    const second = await limits.acquire('provider', { maxWaitMs: 1000 });
    await second.release();
    await held.release();
    await limits.close();
  });
});

/**
 * Limits that hold across workers, in the model call itself: 3 worker processes on one queue,
 * each runtime given `createResilience({ sharedLimits: createRedisLimits(...) })`, run agents
 * whose provider is capped at N concurrent calls. The model counts its calls in flight in Redis.
 * Against the local Redis (never mocked: the test fails when it is down).
 */

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBullmqDispatcher } from '../../src/distributed/redis/index.js';
import { createRuntime } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { exitOf, kill, startWorker, type WorkerProcess, waitForLine } from '../crash/crash-harness.js';
import { dropKeys, redisUrl, requireRedis, testPrefix } from '../redis/redis-test-kit.js';
import { callKeys, limitsFlow } from './limits-flow.js';

const directory = mkdtempSync(join(tmpdir(), 'baton-limits-'));
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  rmSync(directory, { recursive: true, force: true });
});

describe('shared limits in the model call, across worker processes', () => {
  it('never lets more than N calls to one provider run at once across 3 workers, and reaches N', async () => {
    const cap = 3;
    const runs = 30;
    const client = await requireRedis();
    const prefix = testPrefix('shared-limits-workers');
    const queue = `limits-${randomUUID().slice(0, 8)}`;
    const dbPath = join(directory, `${queue}.db`);
    const store = createSqliteStore({ path: dbPath });
    const dispatcher = createBullmqDispatcher({ redis: redisUrl, queue });
    const { flow } = limitsFlow(redisUrl, prefix);
    const runtime = createRuntime({
      store,
      dispatcher,
      workflows: [flow],
      recover: false,
      pollIntervalMs: 50,
    });
    const workers: WorkerProcess[] = [];
    cleanups.push(async () => {
      for (const worker of workers) if (!worker.closed) await kill(worker);
      await runtime.close();
      await (await dispatcher.queue()).obliterate({ force: true });
      await dispatcher.close();
      await store.close();
      await dropKeys(client, prefix);
      client.disconnect();
    });
    // The schema exists before three processes open the file.
    await store.listRuns({ limit: 1 });
    for (let index = 0; index < 3; index++)
      workers.push(
        startWorker(
          join(import.meta.dirname, 'limits-worker.ts'),
          [redisUrl, dbPath, queue, prefix, String(cap)],
          '',
        ),
      );
    for (const worker of workers) await waitForLine(worker, 'READY', 30_000);

    const handles = await Promise.all(Array.from({ length: runs }, (_, n) => runtime.start(flow, { n })));
    const results = await Promise.all(handles.map((handle) => handle.result()));
    expect(results).toHaveLength(runs);

    const keys = callKeys(prefix);
    const most = Number(await client.get(keys.most));
    const total = Number(await client.get(keys.total));
    const processes = await client.smembers(keys.processes);
    expect(total).toBe(runs);
    // Each worker took calls, so the cap held across processes, not within one.
    expect(processes.length).toBe(3);
    expect(most).toBeLessThanOrEqual(cap);
    expect(most).toBe(cap);
    expect(Number(await client.get(keys.inFlight))).toBe(0);

    for (const worker of workers) worker.child.kill('SIGTERM');
    for (const worker of workers) {
      await exitOf(worker);
      expect(worker.child.exitCode).toBe(0);
    }
  }, 120_000);
});

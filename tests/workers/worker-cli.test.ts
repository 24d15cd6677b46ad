/**
 * `baton worker` (the built CLI) on the local Postgres and Redis: runs started by a process with a
 * dispatcher are executed by the worker process, `baton signal --redis` hands a waiting run to
 * it, and SIGTERM drains it and exits 0.
 */

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBullmqDispatcher,
  createRedisEventBus,
  redisEventFeed,
} from '../../src/distributed/redis/index.js';
import { createRuntime } from '../../src/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';
import queueFlow from '../cli/fixtures/queue-flow.js';
import { exitOf, type WorkerProcess, waitForLine } from '../crash/crash-harness.js';
import { freshSchema, postgresUrl, useSharedServer } from '../stores/postgres-database.js';

useSharedServer();
beforeAll(assertCliBuilt);

const redis = process.env.BATON_TEST_REDIS ?? 'redis://127.0.0.1:6379';
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

/** Starts `baton worker` with `args`, its store given by BATON_STORE. */
function startCliWorker(storeUrl: string, args: readonly string[]): WorkerProcess {
  const child = spawn(process.execPath, [join(repo, 'dist', 'cli', 'main.js'), 'worker', ...args], {
    cwd: repo,
    env: offlineEnv({ BATON_STORE: storeUrl }, ['BATON_REDIS', 'BATON_QUEUE']),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const worker: WorkerProcess = { child, output: '', closed: false };
  child.once('close', () => {
    worker.closed = true;
  });
  child.stdout?.on('data', (chunk: Buffer) => {
    worker.output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    worker.output += chunk.toString();
  });
  cleanups.push(async () => {
    if (!worker.closed) {
      worker.child.kill('SIGKILL');
      await exitOf(worker);
    }
  });
  return worker;
}

describe('baton worker', () => {
  it('executes dispatched runs, continues a run signalled with baton signal --redis, and drains on SIGTERM with exit 0', async () => {
    const storeUrl = `${postgresUrl}?schema=${freshSchema()}`;
    const queue = `cli-worker-${randomUUID().slice(0, 8)}`;
    const store = createPostgresStore({ connectionString: storeUrl });
    const dispatcher = createBullmqDispatcher({ redis, queue });
    const bus = await createRedisEventBus({ redis });
    const runtime = createRuntime({
      store,
      dispatcher,
      eventFeed: redisEventFeed(bus),
      workflows: [queueFlow],
      recover: false,
    });
    cleanups.push(async () => {
      await runtime.close();
      await bus.close();
      await (await dispatcher.queue()).obliterate({ force: true });
      await dispatcher.close();
      await store.close();
    });
    // The store's tables exist before the worker and the test's runtime use them.
    await store.listRuns({ limit: 1 });

    const worker = startCliWorker(storeUrl, [
      '--module',
      'tests/cli/fixtures/queue-flow.ts',
      '--redis',
      redis,
      '--queue',
      queue,
      '--concurrency',
      '4',
      '--events',
      '--limits',
      '{"fake": {"maxConcurrent": 2}}',
    ]);
    await waitForLine(worker, 'baton worker ready', 30_000);
    expect(worker.output).toContain(`queue "${queue}"`);
    expect(worker.output).toContain('events on Redis, shared limits on fake');
    const pid = worker.child.pid;

    const handles = await Promise.all(
      Array.from({ length: 6 }, (_, n) => runtime.start(queueFlow, { n, wait: n === 0 })),
    );
    const [waiting, ...others] = handles;
    // With --events, the worker publishes its runs' events: this process follows one of them.
    const followed = (async () => {
      const types: string[] = [];
      for await (const event of others[0]!.events()) types.push(event.type);
      return types;
    })();
    const results = await Promise.all(others.map((handle) => handle.result()));
    const types = await followed;
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    expect(types.filter((type) => type === 'step-end')).toHaveLength(2);
    expect(results).toEqual(
      Array.from({ length: 5 }, (_, index) => ({ n: index + 1, answer: 'none', first: pid, last: pid })),
    );

    // The waiting run suspends on the worker; baton signal --redis hands it back to the worker.
    const deadline = Date.now() + 20_000;
    while ((await runtime.get(waiting!.runId)).status !== 'suspended') {
      if (Date.now() > deadline) throw new Error(`run did not suspend:\n${worker.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // baton resume --redis hands it to the worker, which finds it still waiting and suspends it again.
    const cliEnv = offlineEnv({}, ['BATON_STORE', 'BATON_QUEUE', 'BATON_REDIS']);
    const resumed = runBaton(cliEnv, [
      'resume',
      waiting!.runId,
      '--store',
      storeUrl,
      '--redis',
      redis,
      '--queue',
      queue,
    ]);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(3);
    expect(resumed.stdout).toContain(`dispatched to the workers on queue "${queue}"`);
    expect(resumed.stdout).toContain('waiting for signal "go"');
    const signal = runBaton(cliEnv, [
      'signal',
      waiting!.runId,
      'go',
      '{"by": "ops"}',
      '--store',
      storeUrl,
      '--redis',
      redis,
      '--queue',
      queue,
    ]);
    expect(signal.stderr).toBe('');
    expect(signal.code).toBe(0);
    expect(signal.stdout).toContain(`dispatched to the workers on queue "${queue}"`);
    expect(signal.stdout).toContain('Completed');
    expect(await waiting!.result()).toEqual({ n: 0, answer: 'ops', first: pid, last: pid });
    // One line per run that ended or suspended. The worker prints it once the run is stored,
    // so it can come after this process has read the result from the store.
    for (const handle of handles) await waitForLine(worker, `${handle.runId} completed`, 10_000);
    expect(worker.output.split(`${waiting!.runId} suspended, waiting for go`)).toHaveLength(3);

    const stopped = Date.now();
    worker.child.kill('SIGTERM');
    await exitOf(worker);
    expect(worker.child.exitCode).toBe(0);
    expect(Date.now() - stopped).toBeLessThan(5000);
    expect(worker.output).toContain('baton worker stopped');
  }, 90_000);

  it('refuses to start without a Redis or a module, or with limits that are not an object, saying what is wrong', () => {
    const env = offlineEnv({}, ['BATON_REDIS', 'BATON_QUEUE', 'BATON_STORE']);
    const noRedis = runBaton(env, ['worker', '--module', 'tests/cli/fixtures/queue-flow.ts']);
    expect(noRedis.code).toBe(2);
    expect(noRedis.stderr).toContain('--redis redis://host:6379 (or BATON_REDIS)');
    const noModule = runBaton(env, ['worker', '--redis', redis]);
    expect(noModule.code).toBe(2);
    expect(noModule.stderr).toContain('missing --module <file>');
    const badRedis = runBaton(env, ['worker', '--redis', 'localhost:6379', '--module', 'x.ts']);
    expect(badRedis.code).toBe(2);
    expect(badRedis.stderr).toContain('must be a redis:// or rediss:// URL');
    const badLimits = runBaton(env, ['worker', '--redis', redis, '--module', 'x.ts', '--limits', '[1]']);
    expect(badLimits.code).toBe(2);
    expect(badLimits.stderr).toContain('--limits must be a JSON object');
    // A module that cannot be loaded: exit 1, naming it, with the store and Redis left closed (the process ends).
    const missing = runBaton(env, [
      'worker',
      '--redis',
      redis,
      '--module',
      'tests/cli/fixtures/no-such-flow.ts',
      '--store',
      `${postgresUrl}?schema=${freshSchema()}`,
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('File not found: tests/cli/fixtures/no-such-flow.ts');
  });
});

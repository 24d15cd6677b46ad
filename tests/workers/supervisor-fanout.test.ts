/**
 * supervisor({ distribute: true }) on BullMQ workers: each delegation is a run of its own, executed
 * by worker processes on the local Redis and a fresh schema of the local Postgres (never mocked).
 */

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createBullmqDispatcher } from '../../src/distributed/redis/index.js';
import { createRuntime, type RunRecord } from '../../src/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { kill, startWorker, type WorkerProcess, waitForLine } from '../crash/crash-harness.js';
import { freshSchema, postgresUrl } from '../stores/postgres-database.js';
import { supervisorRequest, supervisorTeam } from './supervisor-flow.js';
import { type Effect, readLog, redis, workerTestHarness } from './worker-harness.js';

const harness = workerTestHarness('baton-supervisor-fanout');
const { prefix } = harness;
const script = join(import.meta.dirname, 'supervisor-worker.ts');

/** An API runtime that only dispatches, and `workers` worker processes, on a fresh schema and queue. */
async function setup(name: string, workers: number) {
  const { queue, logPath } = harness.queue(name);
  const schema = freshSchema();
  const store = createPostgresStore({ connectionString: postgresUrl, schema, maxConnections: 4 });
  const dispatcher = createBullmqDispatcher({ redis, queue, prefix });
  const team = supervisorTeam(logPath);
  const runtime = createRuntime({ store, dispatcher, workflows: [team], recover: false, pollIntervalMs: 50 });
  const processes: WorkerProcess[] = [];
  harness.cleanup(async () => {
    for (const worker of processes) if (!worker.closed) await kill(worker);
    await runtime.close();
    await (await dispatcher.queue()).obliterate({ force: true });
    await dispatcher.close();
    await store.close();
  });
  for (let index = 0; index < workers; index++) {
    const worker = startWorker(script, [postgresUrl, schema, logPath, queue, prefix], '');
    processes.push(worker);
    await waitForLine(worker, 'READY');
  }
  return { runtime, team, logPath, processes };
}

/** The pids that started each unit's step, by child run id, in log order. */
function startsByUnit(effects: readonly Effect[]): Map<string, number[]> {
  const byUnit = new Map<string, number[]>();
  for (const effect of effects)
    if (effect.phase === 'start') byUnit.set(effect.runId, [...(byUnit.get(effect.runId) ?? []), effect.pid]);
  return byUnit;
}

const childrenOf = (records: readonly RunRecord[], runId: string) =>
  records.filter((record) => record.id.startsWith(`${runId}.child.`));

describe('supervisor({ distribute: true }) on workers', () => {
  it("runs the manager's delegations as runs of their own, spread over two worker processes", async () => {
    const { runtime, team, logPath, processes } = await setup('sup', 2);
    const count = 30;
    const handle = await runtime.start(team, supervisorRequest(count));
    // Sum of (2n + 1) for n < count, added up by the manager from the tool results.
    expect(await handle.result()).toBe(`total ${count * count}`);
    const children = childrenOf(await runtime.list({}), handle.runId);
    expect(children).toHaveLength(count);
    expect(children.every((record) => record.status === 'completed' && record.target === 'sup-unit')).toBe(
      true,
    );
    const byUnit = startsByUnit(readLog(logPath));
    // Every delegation ran once, in a child run, and both worker processes ran some.
    expect([...byUnit.keys()].sort()).toEqual(children.map((record) => record.id).sort());
    expect([...byUnit.values()].every((pids) => pids.length === 1)).toBe(true);
    const pids = new Set([...byUnit.values()].map((unitPids) => unitPids[0]));
    expect(pids).toEqual(new Set(processes.map((worker) => worker.child.pid)));
    const journal = await runtime.journal(handle.runId);
    expect(journal.filter((entry) => entry.name === 'spawn:sup-unit')).toHaveLength(count);
    expect(journal.some((entry) => entry.name === 'work')).toBe(false);
  }, 90_000);

  it('re-runs only the delegations a killed worker had not finished', async () => {
    const { runtime, team, logPath, processes } = await setup('supkill', 2);
    const count = 60;
    const handle = await runtime.start(team, supervisorRequest(count));
    const victim = processes[0] as WorkerProcess;
    const victimPid = victim.child.pid as number;
    // Kill once the victim has finished some units and has one in flight (started, not done).
    const deadline = Date.now() + 30_000;
    let inFlight: string[] = [];
    for (;;) {
      const mine = readLog(logPath).filter((effect) => effect.pid === victimPid);
      const done = new Set(mine.filter((effect) => effect.phase === 'done').map((effect) => effect.runId));
      inFlight = mine
        .filter((effect) => effect.phase === 'start' && !done.has(effect.runId))
        .map((e) => e.runId);
      if (done.size >= 5 && inFlight.length > 0) break;
      if (Date.now() > deadline) throw new Error('the first worker finished no units');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await kill(victim);
    const completedAtKill = new Set(
      childrenOf(await runtime.list({}), handle.runId)
        .filter((record) => record.status === 'completed')
        .map((record) => record.id),
    );
    expect(await handle.result()).toBe(`total ${count * count}`);
    const byUnit = startsByUnit(readLog(logPath));
    expect(byUnit.size).toBe(count);
    const again = [...byUnit].filter(([, pids]) => pids.length > 1);
    // Only units the killed worker had in flight ran again: never a finished one, never another worker's.
    for (const [unit, pids] of again) {
      expect({ unit, first: pids[0] }).toEqual({ unit, first: victimPid });
      expect(completedAtKill.has(unit)).toBe(false);
    }
    // The unit it was running when killed ran again on the other worker.
    for (const unit of inFlight) expect(byUnit.get(unit)?.slice(-1)).toEqual([processes[1]?.child.pid]);
    expect(again.length).toBeLessThan(count / 3);
    const records = await runtime.list({});
    expect(records.filter((record) => record.status !== 'completed')).toEqual([]);
    expect(childrenOf(records, handle.runId)).toHaveLength(count);
  }, 120_000);
});

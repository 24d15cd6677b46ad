import { describe, expect, it } from 'vitest';
import type { RunRecord } from '../index.js';
import { awaitWorkers, queueTarget } from './queue.js';

function record(fields: Partial<RunRecord>): RunRecord {
  return {
    id: 'run_1',
    target: 'flow',
    targetVersion: '1',
    input: null,
    status: 'suspended',
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    createdAt: 1000,
    updatedAt: 1000,
    schemaVersion: 1,
    ...fields,
  } as RunRecord;
}

/** A runtime whose `get` answers each record in turn, then the last one again. */
function reading(records: RunRecord[]) {
  let index = 0;
  return {
    reads: () => index,
    get: async () => records[Math.min(index++, records.length - 1)] as RunRecord,
  };
}

describe('awaitWorkers', () => {
  it('keeps waiting while a signalled run is only due (the signal itself touched it), until a worker moves it on', async () => {
    const signalledAt = 2000;
    const runtime = reading([
      // The store marks a signalled suspended run due at once: not yet taken by a worker.
      record({ updatedAt: 2000, wakeAt: 2000 }),
      record({ status: 'running', updatedAt: 2100 }),
      record({ status: 'suspended', updatedAt: 2200 }),
    ]);
    const after = await awaitWorkers(runtime, record({}), { dueUntil: signalledAt, intervalMs: 1 });
    expect(after).toMatchObject({ status: 'suspended', updatedAt: 2200 });
    expect(runtime.reads()).toBe(3);
  });

  it('returns a run that ended, or suspended again after the dispatch', async () => {
    const ended = reading([record({ status: 'running', updatedAt: 1500 }), record({ status: 'completed' })]);
    expect(await awaitWorkers(ended, record({}), { intervalMs: 1 })).toMatchObject({ status: 'completed' });
    const suspended = reading([record({ updatedAt: 1000 }), record({ updatedAt: 1300, wakeAt: 9000 })]);
    expect(await awaitWorkers(suspended, record({}), { intervalMs: 1 })).toMatchObject({ wakeAt: 9000 });
  });
});

describe('queueTarget', () => {
  it('takes --redis, else BATON_REDIS, and the queue from --queue, else BATON_QUEUE, else baton-runs', () => {
    expect(queueTarget({}, {}, 'signal')).toBeUndefined();
    expect(queueTarget({}, { BATON_REDIS: 'redis://a:6379' }, 'signal')).toEqual({
      redis: 'redis://a:6379',
      queue: 'baton-runs',
    });
    expect(
      queueTarget({ redis: 'redis://b:6379' }, { BATON_REDIS: 'redis://a:6379', BATON_QUEUE: 'q' }, 'signal'),
    ).toEqual({ redis: 'redis://b:6379', queue: 'q' });
    expect(() => queueTarget({ queue: 'q' }, {}, 'signal')).toThrow(/--redis <url>/);
    expect(() => queueTarget({ redis: 'localhost:6379' }, {}, 'signal')).toThrow(/redis:\/\//);
  });
});

/**
 * The Postgres store's multi-row batches: writes issued together share one transaction and one
 * statement per kind, and each still gets the outcome it would have had alone (fences per entry).
 */

import { describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../src/core/store.js';
import type { PostgresStore } from '../../src/stores/postgres/index.js';
import { sampleEntry, sampleRun, T } from '../../src/testing/store-conformance.js';
import { admin, testStore, useSharedServer } from './postgres-database.js';

useSharedServer();

const leased = (id: string, owner: string, leaseExpiresAt = T + 60_000) =>
  sampleRun({ id, leaseOwner: owner, leaseExpiresAt });

/** Runs `issue` (which must not await between its writes); returns the outcomes and the transactions and statements they took. */
async function inOneBatch(store: PostgresStore, issue: () => Promise<unknown>[]) {
  await store.open();
  const before = { ...store.stats };
  const outcomes = await Promise.allSettled(issue());
  return {
    outcomes,
    transactions: store.stats.transactions - before.transactions,
    statements: store.stats.statements - before.statements,
  };
}

/** The rejection's code, or 'ok'. */
function codes(outcomes: PromiseSettledResult<unknown>[]): string[] {
  return outcomes.map((outcome) =>
    outcome.status === 'fulfilled' ? 'ok' : String((outcome.reason as { code?: unknown }).code),
  );
}

const keysOf = (entries: JournalEntry[]) => entries.map((entry) => entry.key);

describe('the Postgres store writes a batch with one statement per kind', () => {
  it('fences each journal entry of a batch on its own: a lost lease fails that entry and writes nothing of it', async () => {
    const store = testStore();
    try {
      await store.createRun(leased('a', 'w1'));
      await store.createRun(leased('b', 'w2'));
      await store.createRun(leased('c', 'w1', T + 5));
      const fence = { owner: 'w1', now: T + 10 };
      const { outcomes, transactions, statements } = await inOneBatch(store, () => [
        store.appendJournal(sampleEntry('a', 'k1'), fence),
        store.appendJournal(sampleEntry('b', 'k1'), fence), // leased by w2
        store.appendJournal(sampleEntry('c', 'k1'), fence), // w1's lease expired at T + 5
        store.appendJournal(sampleEntry('a', 'k2'), fence),
        store.appendJournal(sampleEntry('a', 'k1', { result: 'again' }), fence), // k1 is taken
        store.appendJournal(sampleEntry('missing', 'k1'), fence),
        store.appendJournal(sampleEntry('a', 'k3'), fence),
      ]);
      expect(codes(outcomes)).toEqual([
        'ok',
        'LEASE_LOST',
        'LEASE_LOST',
        'ok',
        'JOURNAL_CONFLICT',
        'LEASE_LOST',
        'ok',
      ]);
      expect([transactions, statements]).toEqual([1, 1]);
      const journal = await store.loadJournal('a');
      expect(keysOf(journal)).toEqual(['k1', 'k2', 'k3']);
      expect(journal[0]!.result).toBe('result of k1');
      expect(await store.loadJournal('b')).toEqual([]);
      expect(await store.loadJournal('c')).toEqual([]);
    } finally {
      await store.close();
    }
  });

  it('writes the first held entry of a key when an earlier one of the batch lost its lease', async () => {
    const store = testStore();
    try {
      await store.createRun(leased('a', 'w1'));
      const { outcomes } = await inOneBatch(store, () => [
        store.appendJournal(sampleEntry('a', 'k', { result: 'stale' }), { owner: 'w0', now: T }),
        store.appendJournal(sampleEntry('a', 'k', { result: 'kept' }), { owner: 'w1', now: T }),
        store.appendJournal(sampleEntry('a', 'k', { result: 'late' }), { owner: 'w1', now: T }),
      ]);
      expect(codes(outcomes)).toEqual(['LEASE_LOST', 'ok', 'JOURNAL_CONFLICT']);
      expect((await store.loadJournal('a')).map((entry) => entry.result)).toEqual(['kept']);
    } finally {
      await store.close();
    }
  });

  it('keeps each run’s journal in call order when the entries of many runs share a statement', async () => {
    const store = testStore();
    try {
      const runs = ['r1', 'r2', 'r3'];
      for (const id of runs) await store.createRun(leased(id, 'w'));
      const { outcomes, transactions, statements } = await inOneBatch(store, () =>
        Array.from({ length: 30 }, (_, index) =>
          store.appendJournal(sampleEntry(runs[index % 3]!, `step#${index}`), { owner: 'w', now: T }),
        ),
      );
      expect(codes(outcomes).every((code) => code === 'ok')).toBe(true);
      expect([transactions, statements]).toEqual([1, 1]);
      for (const [position, id] of runs.entries()) {
        const expected = Array.from({ length: 10 }, (_, index) => `step#${index * 3 + position}`);
        expect(keysOf(await store.loadJournal(id))).toEqual(expected);
      }
    } finally {
      await store.close();
    }
  });

  it('gives unfenced entries of a batch their own conflicts', async () => {
    const store = testStore();
    try {
      await store.createRun(sampleRun({ id: 'a' }));
      await store.appendJournal(sampleEntry('a', 'old'));
      const { outcomes } = await inOneBatch(store, () => [
        store.appendJournal(sampleEntry('a', 'old')),
        store.appendJournal(sampleEntry('a', 'new')),
        store.appendJournal(sampleEntry('a', 'new')),
      ]);
      expect(codes(outcomes)).toEqual(['JOURNAL_CONFLICT', 'ok', 'JOURNAL_CONFLICT']);
      expect(keysOf(await store.loadJournal('a'))).toEqual(['old', 'new']);
    } finally {
      await store.close();
    }
  });

  it('creates the runs of a batch together, refusing only an id that exists', async () => {
    const store = testStore();
    try {
      await store.createRun(sampleRun({ id: 'taken', input: 'first' }));
      const { outcomes, transactions, statements } = await inOneBatch(store, () => [
        store.createRun(sampleRun({ id: 'n1', createdAt: T + 1 })),
        store.createRun(sampleRun({ id: 'taken', input: 'second' })),
        store.createRun(sampleRun({ id: 'n2', createdAt: T + 2, threadId: 't', costUsd: 0.5 })),
        store.createRun(sampleRun({ id: 'n1', input: 'twice' })),
      ]);
      expect(codes(outcomes)).toEqual(['ok', 'RUN_EXISTS', 'ok', 'RUN_EXISTS']);
      // The second n1 cannot share the first one's statement: it waits for the next.
      expect([transactions, statements]).toEqual([1, 2]);
      expect((await store.getRun('taken'))!.input).toBe('first');
      expect((await store.getRun('n1'))!.input).toEqual({ question: 'Where is my order?' });
      expect(await store.getRun('n2')).toEqual(
        sampleRun({ id: 'n2', createdAt: T + 2, threadId: 't', costUsd: 0.5 }),
      );
    } finally {
      await store.close();
    }
  });

  it('updates the runs of a batch together, failing only a lost fence or an unknown run', async () => {
    const store = testStore();
    try {
      await store.createRun(leased('a', 'w1'));
      await store.createRun(leased('b', 'w2'));
      await store.createRun(leased('c', 'w1'));
      const fence = { owner: 'w1', now: T + 10 };
      const done = {
        status: 'completed',
        output: { answer: 42 },
        endedAt: T + 20,
        leaseOwner: null,
      } as const;
      const { outcomes, transactions } = await inOneBatch(store, () => [
        store.updateRun('a', done, T + 20, fence),
        store.updateRun('b', done, T + 20, fence), // leased by w2
        store.updateRun('missing', done, T + 20, fence),
        store.updateRun('missing', { costUsd: 1 }, T + 20),
        store.updateRun('c', done, T + 20, fence),
      ]);
      expect(codes(outcomes)).toEqual(['ok', 'LEASE_LOST', 'RUN_NOT_FOUND', 'RUN_NOT_FOUND', 'ok']);
      expect(transactions).toBe(1);
      for (const id of ['a', 'c']) {
        const run = await store.getRun(id);
        expect(run).toMatchObject({ status: 'completed', output: { answer: 42 }, endedAt: T + 20 });
        expect(run!.leaseOwner).toBeUndefined();
      }
      expect(await store.getRun('b')).toEqual(leased('b', 'w2'));
    } finally {
      await store.close();
    }
  });

  it('claims the runs of a batch together as claimRun would one by one', async () => {
    const store = testStore();
    try {
      await store.createRun(sampleRun({ id: 'free', status: 'suspended' }));
      await store.createRun(leased('held', 'other'));
      await store.createRun(leased('forced', 'other'));
      await store.createRun(sampleRun({ id: 'done', status: 'completed' }));
      const { outcomes, statements } = await inOneBatch(store, () => [
        store.claimRun('free', 'me', T + 10, 1_000),
        store.claimRun('held', 'me', T + 10, 1_000),
        store.claimRun('forced', 'me', T + 10, 1_000, true),
        store.claimRun('done', 'me', T + 10, 1_000),
        store.claimRun('missing', 'me', T + 10, 1_000),
      ]);
      const values = outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'rejected'));
      const claimed = { status: 'running', leaseOwner: 'me', leaseExpiresAt: T + 1_010, updatedAt: T + 10 };
      expect(values[0]).toEqual({ ...sampleRun({ id: 'free' }), ...claimed });
      expect(values[1]).toBeUndefined();
      expect(values[2]).toEqual({ ...leased('forced', 'other'), ...claimed });
      expect(values.slice(3)).toEqual([undefined, undefined]);
      expect(statements).toBe(1);
      expect(await store.getRun('held')).toEqual(leased('held', 'other'));
    } finally {
      await store.close();
    }
  });

  it('appends the records of a batch to several streams with one statement, numbered as one by one', async () => {
    const store = testStore();
    try {
      await store.appendRecord('s', 'old', T);
      const { outcomes, transactions, statements } = await inOneBatch(store, () => [
        store.appendRecord('s', 1, T + 1),
        store.appendRecord('t', { n: 1, text: 'quote " and \u0000 and é' }, T + 2),
        store.appendRecord('s', [2], T + 3),
        store.appendRecord('u', null, T + 4),
        store.appendRecord('s', 'three', T + 5),
        store.appendRecord('t', 2, T + 6),
      ]);
      expect(
        outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value : 'rejected')),
      ).toEqual([2, 1, 3, 1, 4, 2]);
      expect([transactions, statements]).toEqual([1, 1]);
      expect(await store.readRecords('s')).toEqual([
        { seq: 1, at: T, data: 'old' },
        { seq: 2, at: T + 1, data: 1 },
        { seq: 3, at: T + 3, data: [2] },
        { seq: 4, at: T + 5, data: 'three' },
      ]);
      expect((await store.readRecords('t')).map((record) => [record.seq, record.data])).toEqual([
        [1, { n: 1, text: 'quote " and \u0000 and é' }],
        [2, 2],
      ]);
      expect(await store.readRecords('u')).toEqual([{ seq: 1, at: T + 4, data: null }]);
      expect(await store.appendRecord('s', 'next', T + 7)).toBe(5);
    } finally {
      await store.close();
    }
  });

  it('keeps the order of different writes on one run issued together', async () => {
    const store = testStore();
    try {
      const fence = { owner: 'w', now: T };
      const { outcomes } = await inOneBatch(store, () => [
        store.createRun(leased('a', 'w')),
        store.appendJournal(sampleEntry('a', 'k1'), fence),
        store.createRun(leased('b', 'w')),
        store.updateRun('a', { leaseOwner: 'someone-else' }, T, fence),
        store.appendJournal(sampleEntry('a', 'k2'), fence), // the lease moved just before
        store.appendJournal(sampleEntry('b', 'k1'), fence),
        store.addSignal('a', 'go', { n: 1 }, T),
        store.claimRun('a', 'w', T, 1_000, true),
        store.appendJournal(sampleEntry('a', 'k3'), fence),
        store.appendRecord('stream', 1, T),
        store.appendRecord('stream', 2, T),
      ]);
      expect(codes(outcomes)).toEqual([
        'ok',
        'ok',
        'ok',
        'ok',
        'LEASE_LOST',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
        'ok',
      ]);
      expect(keysOf(await store.loadJournal('a'))).toEqual(['k1', 'k3']);
      expect(keysOf(await store.loadJournal('b'))).toEqual(['k1']);
      expect((await store.listSignals('a')).map((signal) => signal.name)).toEqual(['go']);
      expect((await store.readRecords('stream')).map((record) => record.data)).toEqual([1, 2]);
    } finally {
      await store.close();
    }
  });

  it('fails only the write with a value the server refuses, and writes the rest of its batch', async () => {
    const store = testStore();
    try {
      await store.createRun(leased('a', 'w'));
      const fence = { owner: 'w', now: T };
      const { outcomes } = await inOneBatch(store, () => [
        store.appendJournal(sampleEntry('a', 'k1'), fence),
        store.appendJournal(sampleEntry('a', 'bad\u0000key'), fence),
        store.appendJournal(sampleEntry('a', 'k2'), fence),
      ]);
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(keysOf(await store.loadJournal('a'))).toEqual(['k1', 'k2']);
    } finally {
      await store.close();
    }
  });
});

describe('the Postgres store refuses the writes queued behind a failed createRun (createsWithFirstStep)', () => {
  const held = (id: string) => leased(id, 'w');
  const fence = { owner: 'w', now: T + 1 };

  it('refuses them when they wait in the queue for the batch holding the creation', async () => {
    const store = testStore();
    try {
      await store.createRun(held('taken'));
      await store.appendJournal(sampleEntry('taken', 'r#0', { result: 'first' }), fence);
      const before = { ...store.stats };
      const creation = store.createRun(held('taken'));
      // The creation's batch has left the queue (it waits for a connection or the server): the
      // writes to its run issued now wait for it in the queue.
      await new Promise((resolve) => setImmediate(resolve));
      const outcomes = await Promise.allSettled([
        creation,
        store.appendJournal(sampleEntry('taken', 'r#1', { result: 'second' }), fence),
        store.updateRun('taken', { status: 'completed', output: 'second' }, T + 2, fence),
        store.createRun(held('fresh')),
        store.appendJournal(sampleEntry('fresh', 'r#0'), fence),
      ]);
      expect(codes(outcomes)).toEqual(['RUN_EXISTS', 'RUN_NOT_FOUND', 'RUN_NOT_FOUND', 'ok', 'ok']);
      // The creation's batch, then the fresh run's: nothing was written for the refused writes.
      expect(store.stats.transactions - before.transactions).toBe(2);
      expect((await store.loadJournal('taken')).map((entry) => entry.result)).toEqual(['first']);
      expect((await store.getRun('taken'))?.status).toBe('running');
      expect(keysOf(await store.loadJournal('fresh'))).toEqual(['r#0']);
    } finally {
      await store.close();
    }
  });

  it('refuses them when a value the server refuses has the batch written write by write', async () => {
    const store = testStore();
    try {
      await store.createRun(held('taken'));
      await store.createRun(held('other'));
      const { outcomes } = await inOneBatch(store, () => [
        store.appendJournal(sampleEntry('other', 'bad\u0000key'), fence),
        store.createRun(held('taken')),
        store.appendJournal(sampleEntry('taken', 'r#0'), fence),
        store.createRun(sampleRun({ id: 'refused', target: 'bad\u0000target', leaseOwner: 'w' })),
        store.updateRun('refused', { costUsd: 1 }, T + 2),
        store.createRun(held('fresh')),
        store.appendJournal(sampleEntry('fresh', 'r#0'), fence),
      ]);
      expect(codes(outcomes)).toEqual([
        '22021',
        'RUN_EXISTS',
        'RUN_NOT_FOUND',
        '22021',
        'RUN_NOT_FOUND',
        'ok',
        'ok',
      ]);
      expect(await store.loadJournal('taken')).toEqual([]);
      expect(keysOf(await store.loadJournal('fresh'))).toEqual(['r#0']);
    } finally {
      await store.close();
    }
  });
});

describe('the Postgres store settles every write of a batch written write by write', () => {
  it('rejects the writes after one whose connection is lost, instead of leaving them pending', async () => {
    const store = testStore();
    const locker = await admin.connect();
    try {
      await store.createRun(leased('a', 'w'));
      await store.createRun(leased('b', 'w'));
      const fence = { owner: 'w', now: T };
      // Another session holds run b's row: the update of b waits on it.
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${store.schema}.runs WHERE id = 'b' FOR UPDATE`);
      await store.open();
      // A value the server refuses has the batch written write by write; the update of b then waits.
      const settled = Promise.allSettled([
        store.appendJournal(sampleEntry('a', 'bad\u0000key'), fence),
        store.updateRun('b', { costUsd: 1 }, T + 1, fence),
        store.appendJournal(sampleEntry('a', 'k3'), fence),
      ]);
      // The connection of the waiting update is ended (as a server restart or a network cut would).
      await expect
        .poll(
          async () =>
            (
              await admin.query(
                `SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity
                 WHERE wait_event_type = 'Lock' AND query ILIKE '%${store.schema}%'`,
              )
            ).rowCount,
          { timeout: 10_000 },
        )
        .toBe(1);
      const outcomes = await Promise.race([
        settled,
        new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), 5000)),
      ]);
      expect(outcomes).not.toBe('pending');
      const [bad, update, after] = outcomes as PromiseSettledResult<unknown>[];
      expect(bad?.status).toBe('rejected');
      expect(update?.status).toBe('rejected');
      // The write after the lost connection was not written: it is rejected, and can be written again.
      expect(after?.status).toBe('rejected');
      await locker.query('ROLLBACK');
      await store.appendJournal(sampleEntry('a', 'k3'), fence);
      expect(keysOf(await store.loadJournal('a'))).toEqual(['k3']);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
      await store.close();
    }
  });
});

describe('the Postgres store writes past a key whose batch is in flight', () => {
  it('writes the other runs while a record stream’s batch waits, keeping each key’s writes in order', async () => {
    const store = testStore();
    const locker = await admin.connect();
    try {
      for (const id of ['a', 'b', 'c']) await store.createRun(sampleRun({ id }));
      await store.appendRecord('feed', 0, T);
      // Another session holds the stream's head row: the batch holding the next append waits on it.
      await locker.query('BEGIN');
      await locker.query(`SELECT 1 FROM ${store.schema}.record_heads WHERE stream = 'feed' FOR UPDATE`);
      const first = store.appendRecord('feed', 1, T);
      await expect
        .poll(
          async () =>
            (
              await admin.query(
                `SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE '%${store.schema}%'`,
              )
            ).rowCount,
        )
        .toBe(1);
      const written = (): Promise<string[]> =>
        admin
          .query<{ entry: string }>(
            `SELECT run_id || ':' || key AS entry FROM ${store.schema}.journal ORDER BY run_id, seq`,
          )
          .then(({ rows }) => rows.map((row) => row.entry));
      const rest = Promise.all([
        store.appendJournal(sampleEntry('a', 'k1')),
        store.appendRecord('feed', 2, T),
        store.appendJournal(sampleEntry('b', 'k1')), // queued right after a write that waits: waits too
        store.appendJournal(sampleEntry('c', 'k1')),
        store.appendRecord('feed', 3, T),
        store.appendJournal(sampleEntry('a', 'k2')), // right after a waiting write: waits
        store.appendJournal(sampleEntry('c', 'k2')),
        store.appendJournal(sampleEntry('b', 'k2')), // behind b's k1: waits
      ]);
      // The writes on other keys are committed while the stream's batch still waits.
      await expect.poll(written).toEqual(['a:k1', 'c:k1', 'c:k2']);
      await locker.query('ROLLBACK');
      expect(await first).toBe(2);
      expect(await rest).toEqual([undefined, 3, undefined, undefined, 4, undefined, undefined, undefined]);
      expect(await written()).toEqual(['a:k1', 'a:k2', 'b:k1', 'b:k2', 'c:k1', 'c:k2']);
      expect((await store.readRecords('feed')).map((record) => record.data)).toEqual([0, 1, 2, 3]);
    } finally {
      await locker.query('ROLLBACK').catch(() => {});
      locker.release();
      await store.close();
    }
  });
});

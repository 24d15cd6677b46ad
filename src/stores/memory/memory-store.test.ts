/** Runs the Store conformance suite against the in-memory store, plus its by-reference guarantees. */

import { describe, expect, it } from 'vitest';
import { describeStoreConformance, sampleEntry, sampleRun } from '../../testing/store-conformance.js';
import { createMemoryStore } from './index.js';

describeStoreConformance('memory', () => createMemoryStore());

describe('createMemoryStore', () => {
  it('returns already-settled promises, so awaiting a write takes one microtask', async () => {
    const store = createMemoryStore();
    const order: string[] = [];
    store.createRun(sampleRun({ id: 'run' })).then(() => order.push('createRun'));
    store.appendJournal(sampleEntry('run', 'r#0')).then(() => order.push('appendJournal'));
    queueMicrotask(() => order.push('next microtask'));
    await Promise.resolve();
    expect(order).toEqual(['createRun', 'appendJournal', 'next microtask']);
  });

  it('stores values by reference without cloning them', async () => {
    const store = createMemoryStore();
    const input = { question: 'why?' };
    const result = { answer: 42 };
    await store.createRun(sampleRun({ id: 'run', input }));
    await store.appendJournal(sampleEntry('run', 'r#0', { result }));
    expect((await store.getRun('run'))?.input).toBe(input);
    expect((await store.loadJournal('run'))[0]?.result).toBe(result);
  });

  it('keeps every record of streams that are new, interleaved in one write or appended one by one', async () => {
    const store = createMemoryStore();
    await store.appendJournalWith?.(sampleEntry('run', 'r#0'), undefined, [
      { stream: 'audit:a', data: 1, at: 1 },
      { stream: 'audit:b', data: 2, at: 2 },
      { stream: 'audit:a', data: 3, at: 3 },
    ]);
    expect(await store.appendRecord('audit:c', 4, 4)).toBe(1);
    expect(await store.appendRecord('audit:a', 5, 5)).toBe(3);
    await store.appendJournalWith?.(sampleEntry('run', 'r#1'), undefined, [
      { stream: 'audit:d', data: 6, at: 6 },
    ]);
    await store.appendJournalWith?.(sampleEntry('run', 'r#2'), undefined, [
      { stream: 'audit:b', data: 7, at: 7 },
    ]);
    const data = async (stream: string) =>
      (await store.readRecords(stream)).map((record) => [record.seq, record.data]);
    expect(await data('audit:a')).toEqual([
      [1, 1],
      [2, 3],
      [3, 5],
    ]);
    expect(await data('audit:b')).toEqual([
      [1, 2],
      [2, 7],
    ]);
    expect(await data('audit:c')).toEqual([[1, 4]]);
    expect(await data('audit:d')).toEqual([[1, 6]]);
  });
});

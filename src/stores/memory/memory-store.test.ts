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
});

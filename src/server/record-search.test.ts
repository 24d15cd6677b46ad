import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { firstAtOrAfter } from './record-search.js';

describe('firstAtOrAfter', () => {
  it('finds the first record at or after a time with a logarithmic number of reads', async () => {
    const store = createMemoryStore();
    for (let index = 1; index <= 1000; index++) await store.appendRecord('feed', { index }, index * 10);
    let reads = 0;
    const counted = {
      readRecords: (...args: Parameters<typeof store.readRecords>) => {
        reads++;
        return store.readRecords(...args);
      },
    };
    expect(await firstAtOrAfter(counted, 'feed', 5555)).toBe(556);
    expect(reads).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(1000)) + 2);
    expect(await firstAtOrAfter(counted, 'feed', 5560)).toBe(556);
    expect(await firstAtOrAfter(counted, 'feed', 0)).toBe(1);
    expect(await firstAtOrAfter(counted, 'feed', 10)).toBe(1);
    expect(await firstAtOrAfter(counted, 'feed', 10_000)).toBe(1000);
    expect(await firstAtOrAfter(counted, 'feed', 10_001)).toBe(1001);
    expect(await firstAtOrAfter(counted, 'empty', 5)).toBe(1);
  });
});

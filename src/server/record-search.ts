/** Finding a place in a record stream by time, with a few single-record reads. */

import type { Store } from '../index.js';

/**
 * The first `seq` of `stream` whose record is at or after `time` (records are appended in about
 * time order), or the stream's length + 1: a doubling search for the end, then a binary search,
 * one single-record read per probe.
 */
export async function firstAtOrAfter(
  store: Pick<Store, 'readRecords'>,
  stream: string,
  time: number,
): Promise<number> {
  const at = async (seq: number): Promise<number | undefined> =>
    (await store.readRecords(stream, { after: seq - 1, limit: 1 }))[0]?.at;
  // Doubling: `low` is before `time` (0: before the first record), `high` at or after it, or past the end.
  let low = 0;
  let high = 1;
  for (;;) {
    const value = await at(high);
    if (value === undefined || value >= time) break;
    low = high;
    high *= 2;
  }
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    const value = await at(middle);
    if (value !== undefined && value < time) low = middle;
    else high = middle;
  }
  return high;
}

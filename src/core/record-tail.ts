/** Tailing a record stream: read what was appended since the last read, once at a time. */

import type { Store } from './store.js';

/**
 * A function that reads the records appended to `stream` since its last call (in pages of 500)
 * and hands each to `apply`, in order. Concurrent calls share one read. For in-process views
 * of a stream that several processes append to (a response cache, a memory index).
 *
 * @example
 * ```ts
 * const sync = recordTail(store, 'baton:response-cache', (data) => index.set(data.key, data.entry));
 * await sync(); // the view now holds every record appended so far
 * ```
 */
export function recordTail(
  store: Pick<Store, 'readRecords'>,
  stream: string,
  apply: (data: unknown) => void | Promise<void>,
): () => Promise<void> {
  let seen = 0;
  let reading: Promise<void> | undefined;
  const read = async () => {
    for (;;) {
      const records = await store.readRecords(stream, { after: seen, limit: 500 });
      for (const record of records) {
        seen = record.seq;
        await apply(record.data);
      }
      if (records.length < 500) return;
    }
  };
  return () => {
    reading ??= read().finally(() => {
      reading = undefined;
    });
    return reading;
  };
}

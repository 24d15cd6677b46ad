/** Blocking stream reads on a connection of their own, ended by an AbortSignal or by closing. */

import type { Redis } from 'ioredis';
import type { RawEntry } from './stream-entry.js';

/** A blocking reader of streams; `undefined` from a read means it was aborted or closed. */
export interface StreamRead {
  /** Entries of `key` after `after` (exclusive), waiting until there is at least one. */
  next(key: string, after: string): Promise<RawEntry[] | undefined>;
  /** New entries of `key` for `consumer` of `group` (`XREADGROUP ... >`), waiting one block time at most (then `[]`). */
  nextForGroup(key: string, group: string, consumer: string, count: number): Promise<RawEntry[] | undefined>;
  readonly connection: Redis;
  close(): Promise<void>;
}

/** Replies of XREAD / XREADGROUP: one `[key, entries]` per stream, or null after the block time. */
type ReadReply = Array<[string, RawEntry[]]> | null;

/**
 * A reader that blocks `blockMs` at a time on `connection` (which it owns and closes), so an abort
 * is noticed within that time; an abort also disconnects at once, ending a blocked read.
 */
export function blockingRead(connection: Redis, blockMs: number, signal?: AbortSignal): StreamRead {
  let closed = false;
  const stopped = () => closed || signal?.aborted === true;
  const stop = () => {
    closed = true;
    connection.disconnect();
  };
  signal?.addEventListener('abort', stop, { once: true });

  async function loop(read: () => Promise<ReadReply>, once = false): Promise<RawEntry[] | undefined> {
    for (;;) {
      if (stopped()) return undefined;
      let reply: ReadReply;
      try {
        reply = await read();
      } catch (error) {
        if (stopped()) return undefined;
        throw error;
      }
      const entries = reply?.[0]?.[1];
      // XREADGROUP can name entries deleted since they were delivered: [id, null].
      if (entries !== undefined && entries.length > 0)
        return entries.filter((entry) => (entry[1] as string[] | null) !== null);
      if (once) return [];
    }
  }

  return {
    connection,
    next(key, after) {
      return loop(
        () =>
          connection.call(
            'XREAD',
            'COUNT',
            200,
            'BLOCK',
            blockMs,
            'STREAMS',
            key,
            after,
          ) as Promise<ReadReply>,
      );
    },
    nextForGroup(key, group, consumer, count) {
      return loop(
        () =>
          connection.call(
            'XREADGROUP',
            'GROUP',
            group,
            consumer,
            'COUNT',
            count,
            'BLOCK',
            blockMs,
            'STREAMS',
            key,
            '>',
          ) as Promise<ReadReply>,
        true,
      );
    },
    async close() {
      signal?.removeEventListener('abort', stop);
      closed = true;
      // A read blocked on the server would hold QUIT back until the block ends: disconnect instead.
      connection.disconnect();
    },
  };
}

/** Which queued writes the Postgres write queue takes into its next batch, so each key's writes keep their order. */

/** What the choice needs of a queued write; `write` undefined for a barrier. */
export interface QueuedWrite {
  readonly write:
    | {
        /** What the write reads and changes (`run:<id>`, `stream:<name>`); undefined: it may touch any run. */
        readonly key?: string | undefined;
      }
    | undefined;
}

/** The next batch and what stays queued, each in queue order. */
export interface TakenBatch<T> {
  readonly batch: T[];
  readonly rest: T[];
  /** The keys of the batch's writes. */
  readonly keys: Set<string>;
  /** The batch holds a write that may touch any run: no other batch may be in flight beside it. */
  readonly exclusive: boolean;
}

/**
 * The next batch from `queue`: up to `maxBatch` writes, in queue order. A write whose key a batch
 * in flight touches (`busy`) stays queued, and so does every later write on that key, so the
 * writes of one key are written in queue order and never overtake one another; the writes on
 * other keys behind it are taken (a hot key, such as a record stream every run appends to, does
 * not cut the batch short). The write queued right after a write that stays for its key stays
 * too: of two writes issued together (a run's change-feed record, then its status), the later
 * is never taken into an earlier batch. A write that may touch any run (no key) goes only with
 * no batch in flight and nothing before it left queued; nothing after it is taken past it. A
 * barrier goes with the batch unless a write queued before it stays. The look ends after four
 * times `maxBatch` writes left queued, so its cost is bounded whatever the queue's length.
 * Undefined when nothing can go now (only while a batch is in flight: with none, every write
 * can go).
 *
 * @example
 * ```ts
 * const write = (key: string) => ({ write: { key } });
 * const queue = [write('stream:s'), write('run:a'), write('run:b'), write('stream:s')];
 * takeBatch(queue, new Set(['stream:s']), 1, 2000);
 * // batch: [run:b]; rest: [stream:s, run:a (queued right after it), stream:s]
 * ```
 */
export function takeBatch<T extends QueuedWrite>(
  queue: readonly T[],
  busy: { has(key: string): boolean },
  inFlight: number,
  maxBatch: number,
): TakenBatch<T> | undefined {
  const batch: T[] = [];
  const rest: T[] = [];
  const keys = new Set<string>();
  /** Keys of writes left queued by this look: later writes on them stay too. */
  const held = new Set<string>();
  let exclusive = false;
  let writes = 0;
  /** The previous write stayed for its key: this one stays with it. */
  let follow = false;
  let index = 0;
  for (; index < queue.length && writes < maxBatch && rest.length < 4 * maxBatch; index++) {
    const pending = queue[index]!;
    const write = pending.write;
    if (write === undefined) {
      (rest.length === 0 ? batch : rest).push(pending);
      continue;
    }
    const { key } = write;
    if (key === undefined) {
      if (inFlight > 0 || rest.length > 0) break;
      exclusive = true;
      batch.push(pending);
      writes++;
      follow = false;
      continue;
    }
    if (busy.has(key) || held.has(key)) {
      held.add(key);
      rest.push(pending);
      follow = true;
      continue;
    }
    if (follow) {
      held.add(key);
      rest.push(pending);
      follow = false;
      continue;
    }
    keys.add(key);
    batch.push(pending);
    writes++;
  }
  if (writes === 0 && batch.length === 0) return undefined;
  if (index === queue.length) return { batch, rest, keys, exclusive };
  const tail = queue.slice(index);
  return { batch, rest: rest.length === 0 ? tail : rest.concat(tail), keys, exclusive };
}

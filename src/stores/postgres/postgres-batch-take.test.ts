import { describe, expect, it } from 'vitest';
import { takeBatch } from './postgres-batch-take.js';

interface Queued {
  name: string;
  write: { key: string | undefined } | undefined;
}

/** A queued write named `name` on `key` (`run:<name before the digits>`); `keyless` for a write that may touch any run. */
const write = (name: string): Queued => ({
  name,
  write: { key: name === 'keyless' ? undefined : `run:${name.replace(/\d+$/, '')}` },
});
const barrier = (): Queued => ({ name: 'barrier', write: undefined });

/** The batch and what stays queued, by name. */
function take(
  queue: ReturnType<typeof write>[],
  busy: string[],
  inFlight = busy.length > 0 ? 1 : 0,
  max = 2000,
) {
  const taken = takeBatch(queue, new Set(busy.map((name) => `run:${name}`)), inFlight, max);
  if (taken === undefined) return undefined;
  return {
    batch: taken.batch.map((each) => each.name),
    rest: taken.rest.map((each) => each.name),
    exclusive: taken.exclusive,
  };
}

describe('takeBatch', () => {
  it('takes the whole queue when no batch is in flight', () => {
    expect(take(['a1', 'b1', 'a2'].map(write), [])).toEqual({
      batch: ['a1', 'b1', 'a2'],
      rest: [],
      exclusive: false,
    });
  });

  it('takes the writes behind a busy key and leaves every write on that key queued, in order', () => {
    // Stream s is in flight (every run appends to it); the runs behind it still go.
    expect(take(['s1', 'a1', 'b1', 's2', 'c1', 'd1', 's3', 'e1'].map(write), ['s'])).toEqual({
      // a1 and c1 follow a write that stays (issued together, they are not split): they stay too.
      batch: ['b1', 'd1'],
      rest: ['s1', 'a1', 's2', 'c1', 's3', 'e1'],
      exclusive: false,
    });
  });

  it('never lets a write overtake an earlier write of its key that stays queued', () => {
    // a1 stays with x1 (queued right after it); a2, whose key is not busy, must stay behind a1.
    const taken = take(['x1', 'a1', 'b1', 'a2'].map(write), ['x']);
    expect(taken?.batch).toEqual(['b1']);
    expect(taken?.rest).toEqual(['x1', 'a1', 'a2']);
  });

  it('keeps the queue order of each key over successive batches', () => {
    let queue = ['x1', 'a1', 'a2', 'b1', 'x2', 'b2', 'c1', 'a3'].map(write);
    const written: string[] = [];
    let busy = ['x'];
    for (let round = 0; round < 10 && queue.length > 0; round++) {
      const taken = takeBatch(queue, new Set(busy.map((name) => `run:${name}`)), busy.length, 3);
      if (taken === undefined) {
        busy = []; // the batch in flight commits
        continue;
      }
      written.push(...taken.batch.map((each) => each.name));
      queue = taken.rest;
      busy = [...taken.keys].map((key) => key.slice(4));
    }
    expect(queue).toEqual([]);
    for (const key of ['a', 'b', 'x']) {
      const ofKey = written.filter((name) => name.startsWith(key));
      expect(ofKey).toEqual([...ofKey].sort());
    }
    expect(written.sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1', 'x1', 'x2']);
  });

  it('stops at maxBatch writes', () => {
    expect(take(['a1', 'b1', 'c1'].map(write), [], 0, 2)).toEqual({
      batch: ['a1', 'b1'],
      rest: ['c1'],
      exclusive: false,
    });
  });

  it('leaves a barrier queued behind a write that stays, and takes the writes after it', () => {
    expect(take([write('x1'), write('a1'), barrier(), write('b1'), write('c1')], ['x'])).toEqual({
      batch: ['b1', 'c1'],
      rest: ['x1', 'a1', 'barrier'],
      exclusive: false,
    });
    expect(take([barrier(), write('x1'), write('b1')], ['x'])?.batch).toEqual(['barrier']);
  });

  it('takes a write that may touch any run only with nothing in flight, and nothing past it before it', () => {
    expect(take(['a1', 'keyless', 'b1'].map(write), ['x'])).toEqual({
      batch: ['a1'],
      rest: ['keyless', 'b1'],
      exclusive: false,
    });
    expect(take(['a1', 'keyless', 'b1'].map(write), [])).toEqual({
      batch: ['a1', 'keyless', 'b1'],
      rest: [],
      exclusive: true,
    });
    expect(take(['keyless', 'b1'].map(write), ['x'])).toBeUndefined();
  });

  it('looks no further than four times maxBatch writes left queued', () => {
    const queue = ['x1', 'a1', 'x2', 'a2', 'c1', 'b1'].map(write);
    expect(take(queue, ['x'], 1, 1)).toBeUndefined();
    expect(take(queue, ['x'], 1, 2)).toEqual({
      batch: ['b1'],
      rest: ['x1', 'a1', 'x2', 'a2', 'c1'],
      exclusive: false,
    });
  });

  it('takes nothing when every write waits for a batch in flight', () => {
    expect(take(['x1', 'x2'].map(write), ['x'])).toBeUndefined();
  });
});

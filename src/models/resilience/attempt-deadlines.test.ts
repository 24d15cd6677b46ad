import { describe, expect, it } from 'vitest';
import { AttemptDeadlines, type Expiring } from './attempt-deadlines.js';

function attempt(inMs: number, expired: string[], name: string): Expiring {
  return { deadline: performance.now() + inMs, watchedAt: -1, expire: () => expired.push(name) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Timers that keep the process alive now. */
const refedTimers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('AttemptDeadlines', () => {
  it('expires each attempt once its deadline passes, earliest first, and never one removed in time', async () => {
    const deadlines = new AttemptDeadlines();
    const expired: string[] = [];
    const late = attempt(60, expired, 'late');
    const removed = attempt(20, expired, 'removed');
    deadlines.add(late, performance.now());
    deadlines.add(removed, performance.now());
    // Earlier than the armed timer: re-arms it.
    const early = attempt(10, expired, 'early');
    deadlines.add(early, performance.now());
    deadlines.remove(removed);
    await sleep(35);
    expect(expired).toEqual(['early']);
    await sleep(60);
    expect(expired).toEqual(['early', 'late']);
  });

  it('keeps the process alive only while an attempt waits', async () => {
    const deadlines = new AttemptDeadlines();
    const before = refedTimers();
    const first = attempt(10_000, [], 'first');
    deadlines.add(first, performance.now());
    expect(refedTimers()).toBe(before + 1);
    deadlines.remove(first);
    expect(refedTimers()).toBe(before);
    // The timer armed for the first one is reused, and kept alive again.
    const second = attempt(20_000, [], 'second');
    deadlines.add(second, performance.now());
    expect(refedTimers()).toBe(before + 1);
    deadlines.remove(second);
    expect(refedTimers()).toBe(before);
  });

  it('waits for a deadline added after an earlier one that already went', async () => {
    const deadlines = new AttemptDeadlines();
    const expired: string[] = [];
    const gone = attempt(5, expired, 'gone');
    deadlines.add(gone, performance.now());
    deadlines.remove(gone);
    deadlines.add(attempt(30, expired, 'next'), performance.now());
    await sleep(15);
    expect(expired).toEqual([]);
    await sleep(40);
    expect(expired).toEqual(['next']);
  });
});

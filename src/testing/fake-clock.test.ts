import { describe, expect, it } from 'vitest';
import type { Clock } from '../core/clock.js';
import { createFakeClock } from './fake-clock.js';

describe('createFakeClock', () => {
  it('starts at the given time, defaulting to 0, and stands still', () => {
    expect(createFakeClock().now()).toBe(0);
    const clock = createFakeClock(1_700_000_000_000);
    expect(clock.now()).toBe(1_700_000_000_000);
    expect(clock.now()).toBe(1_700_000_000_000);
  });

  it('is usable wherever a Clock is expected', () => {
    const clock: Clock = createFakeClock(5);
    expect(clock.now()).toBe(5);
  });

  it('fires a timer only once its time has come, with now() at the due time', () => {
    const clock = createFakeClock(1_000);
    const seen: number[] = [];
    clock.setTimer(() => seen.push(clock.now()), 500);
    expect(clock.advance(499)).toBe(0);
    expect(seen).toEqual([]);
    expect(clock.pendingTimers).toBe(1);
    expect(clock.advance(1)).toBe(1);
    expect(seen).toEqual([1_500]);
    expect(clock.pendingTimers).toBe(0);
    expect(clock.advance(10_000)).toBe(0);
    expect(seen).toEqual([1_500]);
  });

  it('fires due timers in time order, ties in the order they were set, and ends at the target', () => {
    const clock = createFakeClock();
    const order: string[] = [];
    clock.setTimer(() => order.push(`c@${clock.now()}`), 300);
    clock.setTimer(() => order.push(`a@${clock.now()}`), 100);
    clock.setTimer(() => order.push(`b1@${clock.now()}`), 200);
    clock.setTimer(() => order.push(`b2@${clock.now()}`), 200);
    expect(clock.advance(1_000)).toBe(4);
    expect(order).toEqual(['a@100', 'b1@200', 'b2@200', 'c@300']);
    expect(clock.now()).toBe(1_000);
  });

  it('fires timers that callbacks set while advancing when they fall due before the target', () => {
    const clock = createFakeClock();
    const seen: number[] = [];
    const tick = () => {
      seen.push(clock.now());
      clock.setTimer(tick, 100);
    };
    clock.setTimer(tick, 100);
    clock.advance(350);
    expect(seen).toEqual([100, 200, 300]);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(50);
    expect(seen).toEqual([100, 200, 300, 400]);
  });

  it('fires a zero-delay timer set by a callback within the same advance', () => {
    const clock = createFakeClock();
    const seen: string[] = [];
    clock.setTimer(() => {
      seen.push('outer');
      clock.setTimer(() => seen.push(`inner@${clock.now()}`), 0);
    }, 10);
    clock.advance(10);
    expect(seen).toEqual(['outer', 'inner@10']);
  });

  it('does not fire a cancelled timer, also when a callback cancels a later one', () => {
    const clock = createFakeClock();
    const seen: string[] = [];
    const cancelA = clock.setTimer(() => seen.push('a'), 10);
    let cancelC: () => void = () => {};
    clock.setTimer(() => {
      seen.push('b');
      cancelC();
    }, 20);
    cancelC = clock.setTimer(() => seen.push('c'), 30);
    cancelA();
    cancelA();
    expect(clock.pendingTimers).toBe(2);
    clock.advance(100);
    expect(seen).toEqual(['b']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('treats negative delays as zero, like the system clock', () => {
    const clock = createFakeClock(50);
    let fired = false;
    clock.setTimer(() => {
      fired = true;
    }, -20);
    clock.advance(0);
    expect(fired).toBe(true);
    expect(clock.now()).toBe(50);
  });

  it('set() jumps without firing; overdue timers fire on the next advance', () => {
    const clock = createFakeClock();
    const seen: number[] = [];
    clock.setTimer(() => seen.push(clock.now()), 1_000);
    clock.set(5_000);
    expect(clock.now()).toBe(5_000);
    expect(seen).toEqual([]);
    clock.advance(0);
    expect(seen).toEqual([5_000]);
  });

  it('set() can move time backwards; timers keep their absolute due time', () => {
    const clock = createFakeClock(1_000);
    const seen: number[] = [];
    clock.setTimer(() => seen.push(clock.now()), 100); // due at 1100
    clock.set(0);
    clock.advance(1_000);
    expect(seen).toEqual([]);
    clock.advance(100);
    expect(seen).toEqual([1_100]);
  });

  it('stops at the failing timer when a callback throws, and can continue afterwards', () => {
    const clock = createFakeClock();
    const seen: number[] = [];
    clock.setTimer(() => {
      throw new Error('boom');
    }, 10);
    clock.setTimer(() => seen.push(clock.now()), 20);
    expect(() => clock.advance(100)).toThrow('boom');
    expect(clock.now()).toBe(10);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(90);
    expect(seen).toEqual([20]);
    expect(clock.now()).toBe(100);
  });

  it('rejects invalid times', () => {
    const clock = createFakeClock();
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => createFakeClock(Number.NaN)).toThrow(RangeError);
  });
});

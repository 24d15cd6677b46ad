/** The latency window behind derived timeouts: the latest samples only, in arrival order, also across a change of window. */

import { describe, expect, it } from 'vitest';
import { createResilience } from './registry.js';

/** p95 of the last `window` samples, computed the plain way. */
function expectedP95(samples: readonly number[], window: number): number {
  const sorted = samples.slice(-window).sort((left, right) => left - right);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.95) - 1)]!;
}

/** Deterministic durations with repeats, rises and falls. */
function durations(count: number): number[] {
  return Array.from({ length: count }, (_, index) => ((index * 37) % 23) + (index % 5 === 0 ? 40 : 0));
}

describe('latency window', () => {
  it('keeps the latest `window` samples as they arrive, once it is full too', () => {
    const resilience = createResilience({ adaptiveTimeout: { window: 7 } });
    const seen: number[] = [];
    for (const ms of durations(60)) {
      resilience.recordLatency('tool:search', ms);
      seen.push(ms);
      const stats = resilience.latencyStats('tool:search');
      expect(stats.count).toBe(Math.min(seen.length, 7));
      expect(stats.p95Ms).toBe(expectedP95(seen, 7));
    }
  });

  it('keeps the latest samples when the window shrinks or grows after it wrapped', () => {
    const resilience = createResilience({ adaptiveTimeout: { window: 6 } });
    const seen: number[] = [];
    const record = (ms: number) => {
      resilience.recordLatency('model:stub:echo', ms);
      seen.push(ms);
    };
    for (const ms of durations(17)) record(ms);
    resilience.configure({ adaptiveTimeout: { window: 3 } });
    for (const ms of durations(9).reverse()) {
      record(ms);
      expect(resilience.latencyStats('model:stub:echo').count).toBe(3);
      expect(resilience.latencyStats('model:stub:echo').p95Ms).toBe(expectedP95(seen, 3));
    }
    resilience.configure({ adaptiveTimeout: { window: 10 } });
    for (const [index, ms] of [50, 1, 99, 2, 3, 4, 5, 6, 7, 8, 9, 10].entries()) {
      record(ms);
      // Growing keeps the 3 latest and fills up to 10, oldest evicted first.
      expect(resilience.latencyStats('model:stub:echo').count).toBe(Math.min(3 + index + 1, 10));
      expect(resilience.latencyStats('model:stub:echo').p95Ms).toBe(
        expectedP95(seen, Math.min(3 + index + 1, 10)),
      );
    }
  });

  it('gives the exact p95 over many samples, with repeats, rises and falls, for full windows of any size', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 16807) % 2147483647;
      return seed;
    };
    for (const window of [1, 2, 3, 20, 200]) {
      const resilience = createResilience({ adaptiveTimeout: { window } });
      const seen: number[] = [];
      for (let index = 0; index < window * 6 + 500; index++) {
        // Few distinct values (many repeats), with slow drifts up and down and rare spikes.
        const drift = Math.floor(index / 97) % 2 === 0 ? index % 50 : 50 - (index % 50);
        const ms = next() % 10 === 0 ? 1000 + (next() % 3) : drift + (next() % 4);
        resilience.recordLatency('tool:search', ms);
        seen.push(ms);
        const stats = resilience.latencyStats('tool:search');
        expect(stats.count).toBe(Math.min(seen.length, window));
        expect(stats.p95Ms).toBe(expectedP95(seen, window));
      }
    }
  });
});

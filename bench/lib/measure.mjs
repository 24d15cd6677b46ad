// Measurement primitives: warm-up, timed batches, heap kept per run, cold import time.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const IMPORT_PROBE = fileURLToPath(new URL('./import-probe.mjs', import.meta.url));

/** Durations and sizes for a full run and for `--quick` smoke runs. */
export const PROFILES = Object.freeze({
  full: {
    warmupMs: 1000,
    minWarmupRuns: 200,
    batches: 10,
    batchMs: 150,
    heapMs: 2000,
    minHeapRuns: 1000,
    importSamples: 5,
  },
  quick: {
    warmupMs: 200,
    minWarmupRuns: 20,
    batches: 5,
    batchMs: 40,
    heapMs: 200,
    minHeapRuns: 100,
    importSamples: 3,
  },
});

const MIN_BATCH_RUNS = 20;
const MAX_BATCH_RUNS = 1_000_000;
const MAX_HEAP_RUNS = 20_000;

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/** Median of a non-empty list of numbers. */
export function median(values) {
  const sorted = [...values].sort((left, right) => left - right);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Runs `runOnce` sequentially `count` times and returns the elapsed nanoseconds. */
export async function timeRuns(runOnce, count) {
  const start = process.hrtime.bigint();
  for (let index = 0; index < count; index += 1) await runOnce();
  return Number(process.hrtime.bigint() - start);
}

/**
 * Warms the case up for at least `warmupMs` and `minWarmupRuns` runs, and estimates the cost of
 * one warm run from the second half of the warm-up (for sizing batches).
 *
 * @returns {{ runs: number, estimatedUsPerRun: number }}
 */
export async function warmUp(runOnce, { warmupMs, minWarmupRuns }) {
  let runs = 0;
  let chunk = 1;
  let recentNs = 0;
  let recentRuns = 0;
  const deadline = process.hrtime.bigint() + BigInt(Math.round(warmupMs * 1e6));
  while (runs < minWarmupRuns || process.hrtime.bigint() < deadline) {
    const elapsed = await timeRuns(runOnce, chunk);
    runs += chunk;
    // Keep only the later chunks for the estimate: early runs include JIT compilation.
    if (runs > minWarmupRuns / 2) {
      recentNs += elapsed;
      recentRuns += chunk;
    }
    chunk = Math.min(chunk * 2, 1024);
  }
  const estimatedUsPerRun = recentRuns > 0 ? recentNs / recentRuns / 1000 : 1000;
  return { runs, estimatedUsPerRun };
}

/**
 * Timed iterations: `batches` batches of sequential awaited runs, each sized to take about
 * `batchMs`. Reports microseconds per run: the median and the minimum over batch averages.
 *
 * @returns {{ medianUs: number, minUs: number, batchUs: number[], runsPerBatch: number, runs: number }}
 */
export async function measureLatency(runOnce, { estimatedUsPerRun, batches, batchMs }) {
  const runsPerBatch = Math.round(
    clamp((batchMs * 1000) / estimatedUsPerRun, MIN_BATCH_RUNS, MAX_BATCH_RUNS),
  );
  const batchUs = [];
  for (let batch = 0; batch < batches; batch += 1) {
    const elapsed = await timeRuns(runOnce, runsPerBatch);
    batchUs.push(elapsed / runsPerBatch / 1000);
  }
  return {
    medianUs: median(batchUs),
    minUs: Math.min(...batchUs),
    batchUs,
    runsPerBatch,
    runs: runsPerBatch * batches,
  };
}

/** Full garbage collection, repeated with turns of the event loop so finalizers and pending callbacks settle. */
export async function settleHeap() {
  if (typeof globalThis.gc !== 'function') throw new Error('heap measurement needs node --expose-gc');
  for (let pass = 0; pass < 4; pass += 1) {
    globalThis.gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * Heap kept per finished run: collect, read heapUsed, do N runs while holding nothing (whatever
 * survives is what the framework retains), collect, read heapUsed again, divide by N.
 *
 * @returns {{ bytesPerRun: number, runs: number, heapBefore: number, heapAfter: number }}
 */
export async function measureHeapPerRun(runOnce, { estimatedUsPerRun, heapMs, minHeapRuns }) {
  const runs = Math.round(clamp((heapMs * 1000) / estimatedUsPerRun, minHeapRuns, MAX_HEAP_RUNS));
  await settleHeap();
  const heapBefore = process.memoryUsage().heapUsed;
  await timeRuns(runOnce, runs);
  await settleHeap();
  const heapAfter = process.memoryUsage().heapUsed;
  return { bytesPerRun: (heapAfter - heapBefore) / runs, runs, heapBefore, heapAfter };
}

/**
 * Cold import time: spawns a fresh `node` process `samples` times (after one unrecorded spawn
 * that warms the file-system cache); each child times `await import(...)` of the specifiers in
 * order and reports milliseconds. Returns the median and all samples.
 *
 * @param {string[]} specifiers bare specifiers (resolved from `cwd`) or absolute file URLs
 * @returns {{ medianMs: number, samplesMs: number[] } | undefined} undefined when there is nothing to import
 * @example
 * measureImportMs(['@openai/agents'], { cwd: benchDirectory, samples: 5 });
 */
export function measureImportMs(specifiers, { cwd, samples }) {
  if (specifiers.length === 0) return undefined;
  const samplesMs = [];
  for (let sample = -1; sample < samples; sample += 1) {
    const ms = importOnce(specifiers, cwd);
    if (sample >= 0) samplesMs.push(ms);
  }
  return { medianMs: median(samplesMs), samplesMs };
}

/**
 * Bytes allocated per run, not kept: with no garbage collection in between, heapUsed grows by
 * everything allocated, so read it before and after `runs` runs and divide. A window in which a
 * collection ran (seen by a `gc` PerformanceObserver) is discarded and retried with half the
 * runs; the median of `samples` clean windows is returned. Needs `--expose-gc` (for the
 * collection that empties the young generation before each window).
 *
 * @returns {Promise<{ bytesPerRun: number, runs: number, windows: number }>}
 * @example
 * const { bytesPerRun } = await measureAllocationPerRun(runOnce);
 */
export async function measureAllocationPerRun(runOnce, { runs = 200, samples = 7 } = {}) {
  const { PerformanceObserver } = await import('node:perf_hooks');
  let collections = 0;
  const observer = new PerformanceObserver((list) => {
    collections += list.getEntries().length;
  });
  observer.observe({ entryTypes: ['gc'] });
  const perRun = [];
  let size = runs;
  let attempts = 0;
  try {
    while (perRun.length < samples) {
      if (++attempts > samples * 8) throw new Error('allocation: every window saw a garbage collection');
      await settleHeap();
      // Let the observer deliver the entries of the collections settleHeap just made.
      await new Promise((resolve) => setTimeout(resolve, 5));
      const seen = collections;
      const before = process.memoryUsage().heapUsed;
      for (let index = 0; index < size; index++) await runOnce();
      const after = process.memoryUsage().heapUsed;
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (collections !== seen) {
        size = Math.max(10, Math.floor(size / 2));
        continue;
      }
      perRun.push((after - before) / size);
    }
  } finally {
    observer.disconnect();
  }
  return { bytesPerRun: median(perRun), runs: size, windows: perRun.length };
}

/**
 * Cold import of two sets of specifiers in alternating fresh processes (one unrecorded pair
 * first), so that both sides see the same machine load; for a ratio such as Baton's root ÷ `ai`.
 *
 * @returns {{ left: { medianMs: number, samplesMs: number[] }, right: { medianMs: number, samplesMs: number[] }, ratio: number }}
 * @example
 * measureImportPair(['../../dist/index.js'], ['ai'], { cwd: benchDirectory, samples: 5 }).ratio; // 0.45
 */
export function measureImportPair(left, right, { cwd, samples }) {
  const leftMs = [];
  const rightMs = [];
  for (let sample = -1; sample < samples; sample += 1) {
    const leftSample = importOnce(left, cwd);
    const rightSample = importOnce(right, cwd);
    if (sample < 0) continue;
    leftMs.push(leftSample);
    rightMs.push(rightSample);
  }
  const leftResult = { medianMs: median(leftMs), samplesMs: leftMs };
  const rightResult = { medianMs: median(rightMs), samplesMs: rightMs };
  return { left: leftResult, right: rightResult, ratio: leftResult.medianMs / rightResult.medianMs };
}

/** Milliseconds one fresh process takes to import `specifiers` in order. */
function importOnce(specifiers, cwd) {
  const child = spawnSync(process.execPath, [IMPORT_PROBE, JSON.stringify(specifiers)], {
    cwd,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (child.status !== 0) {
    throw new Error(`importing ${specifiers.join(', ')} failed:\n${child.stderr || child.stdout}`);
  }
  return JSON.parse(child.stdout.trim().split('\n').pop()).ms;
}

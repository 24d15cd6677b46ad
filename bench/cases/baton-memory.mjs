// Baton on the in-memory store: the framework's own overhead, every step journaled in memory.
import { baton, createBatonAgent, timeInFlight, timeSequential } from '../lib/baton-agent.mjs';
import { measureAllocationPerRun, median } from '../lib/measure.mjs';
import { setup as setupHandwritten } from './handwritten-loop.mjs';

export const name = 'baton-memory';
export const kind = 'subject';
export const description =
  'agent() + tool() on createRuntime({ store: createMemoryStore() }); each run journals 2 model steps and 1 tool step; the store keeps every run. Compared with the hand-written loop timed interleaved in the same process; bytes allocated per run counted in windows with no garbage collection.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

/** A run may cost at most this many hand-written loops (issue 10). */
export const FLOOR_LIMIT = 10;
/**
 * Bytes a run may allocate (kept or not). Set from the measured figure with some room, so a
 * change that makes runs allocate much more fails the bench instead of creeping in. Issue 10:
 * 34,774 B measured after the allocation cuts (39,339 B before), plus 15% room; then 27,960 B
 * measured after the kernel hot-path cuts (34,903 B before: one timer for all call deadlines,
 * the memory store's slot per run, fewer async frames on the model call), plus 15% room; then
 * about 27,300 B (bench/hot-alloc.mjs, 28,200 B before: the agent loop's state in one object, no
 * async frame in a run's execute, fewer promise layers and closures per step), plus 15% room; then
 * about 23,000 B (bench/hot-alloc.mjs, 27,600 B before: writes the memory store made at once
 * (`storedNow`) not awaited, a step recorded in one `then`, a tool call and a plain start without
 * async frames), plus 15% room. About 20,600 B then 19,800 B (8 December 2026: a timed attempt's
 * promise without an executor closure, a call plan looked up without a build closure, exact-size
 * journal lists and run records in the memory store); the budget was left as it was.
 */
export const ALLOCATION_BUDGET_BYTES = 26_500;

export async function setup() {
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  const handwritten = await setupHandwritten();
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => {
      const before = toolCalls();
      const inFlight = await timeInFlight(runOnce, 100, 20);
      if (toolCalls() - before !== 100 * 20 * 5)
        throw new Error('baton-memory: tool executions do not match runs in flight');
      // Interleaved rounds, so both figures see the same machine noise.
      for (let index = 0; index < 20_000; index++) await handwritten.runOnce();
      const samples = { baton: [], floor: [] };
      for (let round = 0; round < 7; round++) {
        samples.baton.push(await timeSequential(runOnce, 3000, 1));
        samples.floor.push(await timeSequential(handwritten.runOnce, 30_000, 1));
      }
      const batonUs = median(samples.baton);
      const floorUs = median(samples.floor);
      const allocation = await measureAllocationPerRun(runOnce);
      const floorAllocation = await measureAllocationPerRun(handwritten.runOnce, { runs: 2000 });
      return {
        'µs per run, 100 in flight': inFlight,
        'µs per run (interleaved with the floor)': batonUs,
        'hand-written loop µs per run (same process)': floorUs,
        'µs per run ÷ hand-written loop': batonUs / floorUs,
        'bytes allocated per run': allocation.bytesPerRun,
        'hand-written loop: bytes allocated per run': floorAllocation.bytesPerRun,
      };
    },
    close: async () => {
      await runtime.close();
      await handwritten.close();
    },
  };
}

/**
 * Ratios and budgets only: an absolute µs per run means little on machines that differ 3×, and the
 * hand-written loop timed interleaved in this process is the floor it is compared with.
 */
export const targets = ({ metrics }) => [
  {
    label: `µs per run ÷ hand-written loop (${metrics['hand-written loop µs per run (same process)'].toFixed(2)} µs), interleaved`,
    value: metrics['µs per run ÷ hand-written loop'],
    limit: FLOOR_LIMIT,
    unit: '×',
  },
  {
    label: 'bytes allocated per run (budget)',
    value: metrics['bytes allocated per run'],
    limit: ALLOCATION_BUDGET_BYTES,
    unit: 'B',
  },
];

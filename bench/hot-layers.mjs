// Where a baton-memory run's time goes, layer by layer: `node bench/hot-layers.mjs <layer> [runs]`
// with layer `empty` (a workflow that returns at once), `steps3` (a workflow of 3 steps) or
// `agent` (the add agent); each timed interleaved with the hand-written loop in its own process
// (one layer per process, so call sites stay as monomorphic as in the bench). Prints µs per run
// (medians of 9 rounds) of both and the ratio. `... <layer> <runs> only [warm]` runs only that
// layer (`floor` too), for `valgrind --tool=callgrind`: see bench/hot-callgrind.sh.

import { setup as setupHandwritten } from './cases/handwritten-loop.mjs';
import { baton, createBatonAgent } from './lib/baton-agent.mjs';

const layer = process.argv[2] ?? 'agent';
const runs = Number(process.argv[3] ?? 3000);
const { runtime, runOnce: agentRun } = createBatonAgent(baton.createMemoryStore());
const flows = {
  empty: baton.workflow({ name: 'empty' }, async () => '5'),
  steps3: baton.workflow({ name: 'three' }, async (ctx) => {
    await ctx.step('a', () => 1);
    await ctx.step('b', () => 2);
    return ctx.step('c', () => '5');
  }),
};
const runOnce =
  layer === 'agent'
    ? agentRun
    : async () => {
        const handle = await runtime.start(flows[layer], 'x');
        if ((await handle.result()) !== '5') throw new Error('wrong');
      };
const handwritten = await setupHandwritten();
if (process.argv[4] === 'only') {
  // For callgrind: `warm` runs, then `runs` more; instructions per run = the difference of two counts.
  const warm = Number(process.argv[5] ?? 2000);
  const fn = layer === 'floor' ? handwritten.runOnce : runOnce;
  for (let index = 0; index < warm + runs; index++) await fn();
  await runtime.close();
  process.exit(0);
}
const time = async (fn, count) => {
  const started = process.hrtime.bigint();
  for (let index = 0; index < count; index++) await fn();
  return Number(process.hrtime.bigint() - started) / 1000 / count;
};
await time(runOnce, runs);
await time(handwritten.runOnce, runs * 10);
const baton_ = [];
const floor = [];
for (let round = 0; round < 9; round++) {
  baton_.push(await time(runOnce, runs));
  floor.push(await time(handwritten.runOnce, runs * 10));
}
const med = (values) => [...values].sort((x, y) => x - y)[values.length >> 1];
console.log(
  `${layer.padEnd(6)} ${med(baton_).toFixed(2).padStart(7)} µs, floor ${med(floor).toFixed(2)} µs: ${(med(baton_) / med(floor)).toFixed(2)}×`,
);
await runtime.close();

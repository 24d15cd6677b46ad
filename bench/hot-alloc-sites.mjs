// Where a baton-memory run allocates, by function: `node bench/hot-alloc-sites.mjs [top] [runs]`
// samples every allocation (V8's sampling heap profiler, one sample per 32 bytes, objects that
// died in a scavenge or a full GC included) over `runs` runs after as many warm ones, and prints
// bytes per run by the function that allocated them, then the total. With
// `node --no-turbo-inlining`, an inlined callee's allocations are its own, not its caller's.
import { Session } from 'node:inspector/promises';
import { baton, createBatonAgent } from './lib/baton-agent.mjs';

const top = Number(process.argv[2] ?? 40);
const runs = Number(process.argv[3] ?? 3000);
const { runtime, runOnce } = createBatonAgent(baton.createMemoryStore());
for (let index = 0; index < runs; index++) await runOnce();
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', {
  samplingInterval: 32,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
for (let index = 0; index < runs; index++) await runOnce();
const { profile } = await session.post('HeapProfiler.stopSampling');
const bySite = new Map();
let total = 0;
const walk = (node) => {
  const frame = node.callFrame;
  const url = frame.url.replace(/.*\/dist\//, '').replace(/.*node_modules\//, '');
  const site = `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
  if (node.selfSize > 0) {
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const child of node.children) walk(child);
};
walk(profile.head);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${(bytes / runs).toFixed(0).padStart(6)} B  ${site}`);
console.log(
  `${(total / runs).toFixed(0).padStart(6)} B per run in all (the bench's own model and loop included)`,
);
await runtime.close();

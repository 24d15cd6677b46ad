// Quick loop for profiling the single-agent run on the memory store (not a bench case):
//   npm run build && node --cpu-prof --cpu-prof-dir=/tmp/profile bench/prof-memory.mjs
import { baton, createBatonAgent, timeSequential } from './lib/baton-agent.mjs';

const { runOnce } = createBatonAgent(baton.createMemoryStore());
for (let index = 0; index < 2000; index++) await runOnce();
console.log('µs/run', (await timeSequential(runOnce, 3000, 3)).toFixed(1));

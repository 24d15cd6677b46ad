// Bytes allocated per baton-memory run, as the baton-memory case counts them (windows with no
// garbage collection): `node --expose-gc bench/hot-alloc.mjs [warm runs]`.
import { baton, createBatonAgent } from './lib/baton-agent.mjs';
import { measureAllocationPerRun } from './lib/measure.mjs';

const { runtime, runOnce } = createBatonAgent(baton.createMemoryStore());
for (let index = 0; index < Number(process.argv[2] ?? 5000); index++) await runOnce();
const rounds = [];
for (let round = 0; round < 3; round++) rounds.push((await measureAllocationPerRun(runOnce)).bytesPerRun);
console.log(`bytes allocated per run: ${rounds.map((value) => Math.round(value)).join(', ')}`);
await runtime.close();

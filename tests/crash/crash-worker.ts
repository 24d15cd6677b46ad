/** A process the crash test starts and kills: `start` a run or let a fresh runtime `recover` it. */

import { createRuntime } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { crashFlow } from './crash-flow.js';
import { exitWhenEnded } from './exit-when-ended.js';

const [mode, dbPath, logPath, givenId] = process.argv.slice(2) as [string, string, string, string];
/** `-`: `start` lets the runtime generate the id (the run is then stored with its first step). */
let runId = givenId;
const killAt = process.env.KILL_AT === '' ? undefined : process.env.KILL_AT;
const flow = crashFlow(logPath, killAt);
const store = createSqliteStore({ path: dbPath });
const runtime = createRuntime({ store, workflows: [flow], leaseMs: 400, pollIntervalMs: 50 });
runtime.on((event) => {
  if (event.type === 'run-suspended') process.stdout.write(`SUSPENDED ${event.waitingFor.join(',')}\n`);
});

if (mode === 'start') {
  const handle = await runtime.start(flow, { order: 'A-1' }, runId === '-' ? {} : { runId });
  runId = handle.runId;
  process.stdout.write(`STARTED ${handle.runId}\n`);
} else if (mode === 'signal') {
  await runtime.signal(runId, 'approve', { approvedBy: 'ops' });
}
// In every mode the runtime recovers the run (expired lease, due signal) by itself; wait for the end.
await exitWhenEnded(store, runtime, runId);

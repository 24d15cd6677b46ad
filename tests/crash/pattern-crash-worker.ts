/** A process the pattern crash test starts and kills: `start` the team's run or let a fresh runtime `recover` it. */

import { createRuntime } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { exitWhenEnded } from './exit-when-ended.js';
import { patternCrashTeam, teamTask } from './pattern-crash-flow.js';

const [mode, dbPath, logPath, runId] = process.argv.slice(2) as [string, string, string, string];
const killAt = process.env.KILL_AT === '' ? undefined : process.env.KILL_AT;
const team = patternCrashTeam(logPath, killAt);
const store = createSqliteStore({ path: dbPath });
const runtime = createRuntime({ store, workflows: [team], leaseMs: 400, pollIntervalMs: 50 });

if (mode === 'start') {
  const handle = await runtime.start(team, teamTask, { runId });
  process.stdout.write(`STARTED ${handle.runId}\n`);
}
// In every mode the runtime recovers the run (expired lease) by itself; wait for the end.
await exitWhenEnded(store, runtime, runId);

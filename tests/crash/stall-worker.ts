/** A process the stall test freezes with SIGSTOP and thaws with SIGCONT: `start` the run or `recover` it. */

import { appendFileSync } from 'node:fs';
import { createRuntime, workflow } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { exitWhenEnded } from './exit-when-ended.js';

const [mode, dbPath, logPath, runId] = process.argv.slice(2) as [string, string, string, string];
const steps = ['step-1', 'step-2', 'step-3', 'step-4', 'step-5', 'step-6'];

/** Six steps; each logs its start and end as side effects and takes a little while. */
const flow = workflow({ name: 'stall-flow', version: '1' }, async (ctx) => {
  const done: string[] = [];
  for (const tag of steps) {
    done.push(
      await ctx.step(tag, async () => {
        appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, tag, phase: 'start' })}\n`);
        process.stdout.write(`IN ${tag}\n`);
        await new Promise((resolve) => setTimeout(resolve, 150));
        appendFileSync(logPath, `${JSON.stringify({ pid: process.pid, tag, phase: 'done' })}\n`);
        return tag;
      }),
    );
  }
  return done.join(',');
});

const store = createSqliteStore({ path: dbPath });
const runtime = createRuntime({ store, workflows: [flow], leaseMs: 600, pollIntervalMs: 50 });
if (mode === 'start') {
  await runtime.start(flow, {}, { runId });
  process.stdout.write(`STARTED ${runId}\n`);
}
await exitWhenEnded(store, runtime, runId);

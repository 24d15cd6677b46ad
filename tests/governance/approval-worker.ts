/** A process of the approval restart test: `start` a run that waits for approvals, or `serve` (recover and finish it). */

import { agent, createAuditWriter, createRuntime } from 'batonjs';
import { createSqliteStore } from 'batonjs/sqlite';
import { exitWhenEnded } from '../crash/exit-when-ended.js';
import fixture from './fixtures/refund-agent.js';

const [mode, dbPath, runId] = process.argv.slice(2) as [string, string, string];
/**
 * `APPROVAL_RULE` (JSON, e.g. `{"timeout":2000}`): the same agent with this approval rule for
 * its refunds (an agent rule wins over the tool's 'always'), to test deadlines and escalation.
 */
const rule = process.env.APPROVAL_RULE;
const refunder =
  rule === undefined || rule === ''
    ? fixture
    : agent({
        name: fixture.name,
        description: fixture.description,
        instructions: fixture.instructions,
        model: fixture.models[0] as (typeof fixture.models)[number],
        tools: fixture.tools,
        ...(fixture.permissions === undefined ? {} : { permissions: fixture.permissions }),
        approvals: { refund: JSON.parse(rule) },
      });
const store = createSqliteStore({ path: dbPath });
const runtime = createRuntime({
  store,
  workflows: [refunder],
  audit: createAuditWriter,
  leaseMs: 400,
  pollIntervalMs: 50,
});
runtime.on((event) => {
  if (event.type === 'run-suspended' && event.runId === runId)
    process.stdout.write(`SUSPENDED ${event.waitingFor.join(',')}\n`);
});
if (mode === 'start') await runtime.start(refunder, 'Refund A-1 and B-2', { runId });
process.stdout.write(`READY ${process.pid}\n`);
// The process stays up (as a server would) until it is killed or the run ends.
await exitWhenEnded(store, runtime, runId);

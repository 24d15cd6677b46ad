/** A process the remote-agent crash test starts and kills: `start` a run whose member is a remote agent, or `recover` it in a fresh runtime. */

import { createRuntime, workflow } from '../../src/index.js';
import { remoteAgent } from '../../src/protocols/a2a/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { exitWhenEnded } from '../crash/exit-when-ended.js';

const [mode, dbPath, agentUrl, runId] = process.argv.slice(2) as [string, string, string, string];
const remote = remoteAgent({ url: agentUrl, name: 'slow', pollMs: 50 });
const relay = workflow(
  { name: 'relay' },
  async (ctx, input: string) => `relayed: ${String(await ctx.run(remote, input))}`,
);
const store = createSqliteStore({ path: dbPath });
const runtime = createRuntime({ store, workflows: [relay], leaseMs: 400, pollIntervalMs: 50 });

if (mode === 'start') {
  const handle = await runtime.start(relay, 'hello', { runId });
  process.stdout.write(`STARTED ${handle.runId}\n`);
}
// In both modes the runtime recovers the run (an expired lease) by itself; wait for the end.
await exitWhenEnded(store, runtime, runId);

/** Process A of the two-process event test: runs a workflow whose events go to Redis; waits until process B watches. */

import { Redis } from 'ioredis';
import { createRedisEventBus } from '../../src/distributed/redis/index.js';
import { createMemoryStore, createRuntime, type RunContext, workflow } from '../../src/index.js';

const [url, prefix] = process.argv.slice(2) as [string, string];
const control = new Redis(url);
const flow = workflow({ name: 'watched-flow', version: '1' }, async (ctx: RunContext, input: string) => {
  const first = await ctx.step('first', () => `${input}-1`);
  // Waits (in a step, so it is journaled) until the watcher in the other process is subscribed.
  await ctx.step('wait-for-watcher', async () => {
    while ((await control.get(`${prefix}watching`)) === null) await new Promise((r) => setTimeout(r, 10));
    return true;
  });
  const second = await ctx.step('second', () => `${first}-2`);
  return ctx.step('third', () => `${second}-3`);
});
const runtime = createRuntime({ store: createMemoryStore(), workflows: [flow] });
const bus = await createRedisEventBus({ redis: url, prefix });
bus.attach(runtime);
const handle = await runtime.start(flow, 'go');
process.stdout.write(`STARTED ${handle.runId}\n`);
const output = await handle.result();
await bus.close();
await runtime.close();
control.disconnect();
process.stdout.write(`DONE ${JSON.stringify(output)}\n`);

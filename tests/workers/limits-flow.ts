/**
 * The workflow of the shared-limits worker test: an agent whose model (provider `fake`) takes
 * ~50 ms per call and counts, in Redis, the calls in flight across every process and the most
 * ever in flight at once.
 */

import { Redis } from 'ioredis';
import { agent, type RunContext, workflow } from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

/** Adds one call in flight and raises the recorded maximum if it is passed, atomically. */
const enter = `
local now = redis.call('INCR', KEYS[1])
local most = tonumber(redis.call('GET', KEYS[2]) or '0')
if now > most then redis.call('SET', KEYS[2], now) end
redis.call('INCR', KEYS[3])
redis.call('SADD', KEYS[4], ARGV[1])
return now`;

/** The Redis keys the model writes under `prefix`. */
export function callKeys(prefix: string) {
  return {
    inFlight: `${prefix}calls:in-flight`,
    most: `${prefix}calls:most`,
    total: `${prefix}calls:total`,
    processes: `${prefix}calls:processes`,
  };
}

/** The workflow: one agent turn on the `fake` provider per run. */
export function limitsFlow(redisUrl: string, prefix: string) {
  let client: Redis | undefined;
  const keys = callKeys(prefix);
  const model = {
    ...scriptedModel(async () => {
      client ??= new Redis(redisUrl);
      await client.eval(enter, 4, keys.inFlight, keys.most, keys.total, keys.processes, String(process.pid));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await client.decr(keys.inFlight);
      return { text: 'done' };
    }),
    provider: 'fake',
    modelId: 'slow',
  };
  const caller = agent({ name: 'caller', instructions: 'Answer.', model });
  return {
    flow: workflow({ name: 'limits-flow', version: '1' }, async (ctx: RunContext, input: { n: number }) => {
      const answer = await ctx.run(caller, `Call ${input.n}`);
      return { n: input.n, answer };
    }),
    close: () => client?.disconnect(),
  };
}

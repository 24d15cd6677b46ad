// Baton on the in-memory store: the framework's own overhead, every step journaled in memory.
import { baton, createBatonAgent, timeInFlight } from '../lib/baton-agent.mjs';

export const name = 'baton-memory';
export const kind = 'subject';
export const description =
  'agent() + tool() on createRuntime({ store: createMemoryStore() }); each run journals 2 model steps and 1 tool step; the store keeps every run.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

export async function setup() {
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => {
      const before = toolCalls();
      const inFlight = await timeInFlight(runOnce, 100, 20);
      if (toolCalls() - before !== 100 * 20 * 5)
        throw new Error('baton-memory: tool executions do not match runs in flight');
      return { 'µs per run, 100 in flight': inFlight };
    },
    close: () => runtime.close(),
  };
}

export const targets = ({ usPerRun }) => [
  { label: 'µs per run (in memory)', value: usPerRun, limit: 20, unit: 'µs' },
];

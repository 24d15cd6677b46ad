// Baton with every per-turn policy of issue 4 switched on, against the bare agent in the same process.
import { baton, createBatonAgent, timeSequential } from '../lib/baton-agent.mjs';

export const name = 'baton-policies';
export const kind = 'subject';
export const description =
  'the baton-memory workload with retries, a timeout, bulkhead caps, a context window policy, PII/secret/injection guardrails, a budget, loop detection, permissions and the hash-chained audit log all enabled; compared with the bare agent timed in the same process.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

/** Agent options that enable every policy (none of them trips on this workload). */
const policies = {
  retry: { maxAttempts: 3, initialDelayMs: 50 },
  timeoutMs: 30_000,
  maxConcurrent: 256,
  context: { history: 'window', maxTokens: 4000 },
  guardrails: [baton.redactPii(), baton.redactSecrets(), baton.detectInjection()],
  budget: { maxTurns: 10, maxTokens: 100_000, maxCostUsd: 1, maxWallTimeMs: 60_000 },
  loopDetection: { maxRepeats: 5, response: 'stop' },
  permissions: { tools: ['add'], capabilities: ['read'] },
};

export async function setup() {
  const governed = createBatonAgent(baton.createMemoryStore(), {
    agent: policies,
    tool: { capabilities: ['read'], timeoutMs: 10_000 },
    runtime: { audit: baton.createAuditWriter },
  });
  const bare = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce: governed.runOnce,
    toolCalls: governed.toolCalls,
    modelCalls: governed.modelCalls,
    metrics: async () => {
      // Interleaved rounds, so both figures see the same machine noise.
      const bareSamples = [];
      const governedSamples = [];
      for (let round = 0; round < 5; round++) {
        bareSamples.push(await timeSequential(bare.runOnce, 2000, 1));
        governedSamples.push(await timeSequential(governed.runOnce, 2000, 1));
      }
      const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const bareUs = median(bareSamples);
      const governedUs = median(governedSamples);
      return {
        'bare agent (this process): µs per run': bareUs,
        'all policies: µs per run': governedUs,
        'all policies ÷ bare': governedUs / bareUs,
      };
    },
    close: async () => {
      await governed.runtime.close();
      await bare.runtime.close();
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: 'all policies ÷ bare agent, per run',
    value: metrics['all policies ÷ bare'],
    limit: 1.5,
    unit: '×',
  },
];

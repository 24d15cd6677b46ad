// Baton with every per-turn policy of issue 4 switched on, against the bare agent in the same process.
// The audit log is measured on top, separately: it is not a per-turn decision but a second
// write (and a sha256) per journal entry, so its cost follows the journal, not the turn.
import { baton, createBatonAgent, timeSequential } from '../lib/baton-agent.mjs';

export const name = 'baton-policies';
export const kind = 'subject';
export const description =
  'the baton-memory workload with every per-turn policy enabled (retries, a timeout, bulkhead caps, a context window policy, PII/secret/injection guardrails, a budget, loop detection, permissions), and again with the hash-chained audit log on top; both compared with the bare agent timed in the same process.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

/** Agent options that enable every per-turn policy (none of them trips on this workload). */
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
  // The fake model gets a price (gpt-4o-mini's) so the cost budget counts real dollars: an
  // unpriced model under maxCostUsd is refused at definition.
  baton.registerPrices({ 'fake:fake': { input: 0.15, output: 0.6 } });
  const governed = createBatonAgent(baton.createMemoryStore(), {
    agent: policies,
    tool: { capabilities: ['read'], timeoutMs: 10_000 },
  });
  const audited = createBatonAgent(baton.createMemoryStore(), {
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
      // Interleaved rounds, so all figures see the same machine noise.
      const samples = { bare: [], governed: [], audited: [] };
      for (let round = 0; round < 5; round++) {
        samples.bare.push(await timeSequential(bare.runOnce, 2000, 1));
        samples.governed.push(await timeSequential(governed.runOnce, 2000, 1));
        samples.audited.push(await timeSequential(audited.runOnce, 2000, 1));
      }
      const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
      const bareUs = median(samples.bare);
      const governedUs = median(samples.governed);
      const auditedUs = median(samples.audited);
      return {
        'bare agent (this process): µs per run': bareUs,
        'all per-turn policies: µs per run': governedUs,
        'all per-turn policies ÷ bare': governedUs / bareUs,
        'per-turn policies + audit log: µs per run': auditedUs,
        'per-turn policies + audit log ÷ bare': auditedUs / bareUs,
        'audit log: per-turn policies + audit ÷ per-turn policies': auditedUs / governedUs,
      };
    },
    close: async () => {
      await governed.runtime.close();
      await audited.runtime.close();
      await bare.runtime.close();
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: 'all per-turn policies ÷ bare agent, per run',
    value: metrics['all per-turn policies ÷ bare'],
    limit: 1.5,
    unit: '×',
  },
  {
    label: 'the audit log on top of every per-turn policy ÷ the same run without it',
    value: metrics['audit log: per-turn policies + audit ÷ per-turn policies'],
    limit: 1.2,
    unit: '×',
  },
];

// Per-policy cost of the baton-policies workload: CPU µs per run of the bare agent and of the agent
// with one policy (or all) enabled, timed interleaved in one process.
// Usage: npm run build && node bench/prof-policies.mjs [all|none|audit|retry|...]...
//        node bench/prof-policies.mjs --only <name> <runs> [warm]   (for callgrind: runs only that one)
// CPU time of this process (all its threads), not wall time, so other busy processes on the
// machine skew it less; still compare figures from one invocation only.
import { baton, createBatonAgent } from './lib/baton-agent.mjs';

// A price for the fake model, so the cost budget counts dollars (an unpriced model under maxCostUsd is refused).
baton.registerPrices({ 'fake:fake': { input: 0.15, output: 0.6 } });

async function cpuPerRun(runOnce, runs) {
  const started = process.cpuUsage();
  for (let index = 0; index < runs; index++) await runOnce();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / runs;
}

const agentPolicies = {
  retry: { retry: { maxAttempts: 3, initialDelayMs: 50 } },
  timeout: { timeoutMs: 30_000 },
  bulkhead: { maxConcurrent: 256 },
  context: { context: { history: 'window', maxTokens: 4000 } },
  guardrails: { guardrails: [baton.redactPii(), baton.redactSecrets(), baton.detectInjection()] },
  budget: { budget: { maxTurns: 10, maxTokens: 100_000, maxCostUsd: 1, maxWallTimeMs: 60_000 } },
  loop: { loopDetection: { maxRepeats: 5, response: 'stop' } },
  permissions: { permissions: { tools: ['add'], capabilities: ['read'] } },
};
const tool = { capabilities: ['read'], timeoutMs: 10_000 };

function optionsFor(name) {
  if (name === 'none') return {};
  if (name === 'audit') return { runtime: { audit: baton.createAuditWriter } };
  if (name === 'turn') return { agent: Object.assign({}, ...Object.values(agentPolicies)), tool };
  if (name === 'all')
    return {
      agent: Object.assign({}, ...Object.values(agentPolicies)),
      tool,
      runtime: { audit: baton.createAuditWriter },
    };
  const agent = agentPolicies[name];
  if (agent === undefined)
    throw new Error(
      `unknown policy ${name}: ${Object.keys(agentPolicies).join(', ')}, audit, turn (all but audit), all, none`,
    );
  return { agent, ...(name === 'permissions' ? { tool } : {}) };
}

if (process.argv[2] === '--only') {
  // For callgrind (bench/policies-callgrind.sh): `warm` runs of one configuration, then `runs`
  // more; instructions per run = the difference of two counts.
  const [, , , name = 'all', runs = '0', warm = '2000'] = process.argv;
  const subject = createBatonAgent(baton.createMemoryStore(), optionsFor(name));
  for (let index = 0; index < Number(warm) + Number(runs); index++) await subject.runOnce();
  await subject.runtime.close();
  process.exit(0);
}

const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['all'];
for (const name of names) {
  const bare = createBatonAgent(baton.createMemoryStore());
  const subject = createBatonAgent(baton.createMemoryStore(), optionsFor(name));
  for (let index = 0; index < 3000; index++) {
    await bare.runOnce();
    await subject.runOnce();
  }
  const bareSamples = [];
  const subjectSamples = [];
  for (let round = 0; round < 15; round++) {
    bareSamples.push(await cpuPerRun(bare.runOnce, 1000));
    subjectSamples.push(await cpuPerRun(subject.runOnce, 1000));
  }
  // The least CPU time of the rounds: contention from other processes only ever adds to it.
  const bareUs = Math.min(...bareSamples);
  const subjectUs = Math.min(...subjectSamples);
  console.log(
    `${name.padEnd(12)} bare ${bareUs.toFixed(1)} µs  with ${subjectUs.toFixed(1)} µs  +${(subjectUs - bareUs).toFixed(1)} µs  ×${(subjectUs / bareUs).toFixed(2)}`,
  );
  await bare.runtime.close();
  await subject.runtime.close();
}

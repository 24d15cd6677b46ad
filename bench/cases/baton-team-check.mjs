// Checking (loading) a big team file: loadTeamFile() on files of 2,000 to 20,000 agents.
//
// The harness's per-run phases time the reference (the baton-memory workload, so its tool and
// model counts are verified as for every case); the team files are measured in `setup`, before
// any reference run, and reported in `metrics`. Each
// file is loaded several times in this process and the fastest load is kept (noise only adds
// time). The target is a ratio measured in the same run, so it holds on any machine: checking
// 20,000 agents must cost at most 1.5× ten times checking 2,000 (linear growth, with room for
// the garbage collector working harder on a bigger heap); a check that scans every agent once
// per agent costs about 10× that.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baton, createBatonAgent } from '../lib/baton-agent.mjs';
import { settleHeap } from '../lib/measure.mjs';

const { loadTeamFile } = await import(new URL('../../dist/team/index.js', import.meta.url).href);

export const name = 'baton-team-check';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics: loadTeamFile() (parse, validate, check, build) of a sequential team file of 2,000 / 5,000 / 10,000 / 20,000 agents, each handing off to the next, allowed to call it and asking approval for it; ms per load and the growth ratios.';
export const importSpecifiers = ['../../dist/team/index.js'];
export const packages = [];

const quick = process.argv[3] === 'quick';
const sizes = [2_000, 5_000, 10_000, 20_000];
const loadsPerSize = quick ? 2 : 3;

/** A sequential team of `count` agents, written to `directory`; returns its path. */
function writeTeam(directory, count) {
  const names = Array.from({ length: count }, (_, index) => `agent-${index}`);
  const lines = ['name: big', 'model: openai:gpt-4o-mini', 'pattern: sequential', 'stages:'];
  for (const name of names) lines.push(`  - ${name}`);
  lines.push('agents:');
  for (const [index, name] of names.entries()) {
    const next = names[(index + 1) % count];
    lines.push(
      `  - name: ${name}`,
      `    instructions: Do step ${index}.`,
      `    handoffs: [${next}]`,
      `    permissions: { tools: [${next}] }`,
      `    approvals: { ${next}: always }`,
    );
  }
  const file = join(directory, `team-${count}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** The fastest of `loadsPerSize` loads of `file`, in ms; each load must build every agent. */
async function timeLoad(file, count) {
  let fastest = Number.POSITIVE_INFINITY;
  for (let load = 0; load < loadsPerSize; load++) {
    await settleHeap();
    const started = process.hrtime.bigint();
    const team = await loadTeamFile(file, { model: 'openai:gpt-4o-mini' });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (team.agents.size !== count)
      throw new Error(`${file}: loaded ${team.agents.size} agents, not ${count}`);
    fastest = Math.min(fastest, ms);
  }
  return fastest;
}

/** Fastest load of each size, in ms, after a warm-up (the first load compiles code and zod's schema). */
async function measureChecks() {
  const directory = mkdtempSync(join(tmpdir(), 'baton-team-check-'));
  try {
    const files = new Map(sizes.map((count) => [count, writeTeam(directory, count)]));
    await timeLoad(writeTeam(directory, 200), 200);
    const ms = new Map();
    for (const count of sizes) ms.set(count, await timeLoad(files.get(count), count));
    return ms;
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

export async function setup() {
  // Measured first, on a fresh heap: the reference runs after it fill the memory store, and a
  // big heap would make the garbage collector's share of a load depend on what ran before.
  const ms = await measureChecks();
  const per = (count) => ms.get(count);
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(baton.createMemoryStore());
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async () => ({
      'check 2,000 agents: ms': per(2_000),
      'check 5,000 agents: ms': per(5_000),
      'check 10,000 agents: ms': per(10_000),
      'check 20,000 agents: ms': per(20_000),
      '10,000 ÷ 5,000 agents': per(10_000) / per(5_000),
      '20,000 ÷ 10,000 agents': per(20_000) / per(10_000),
      '20,000 agents ÷ (10 × 2,000 agents)': per(20_000) / (10 * per(2_000)),
    }),
    close: () => runtime.close(),
  };
}

export const targets = ({ metrics }) => [
  {
    label: 'check 20,000 agents ÷ 10× check 2,000 agents',
    value: metrics['20,000 agents ÷ (10 × 2,000 agents)'],
    limit: 1.5,
    unit: '×',
  },
];

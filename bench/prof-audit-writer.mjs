// The audit writer alone: CPU µs per run for the three entries of the bench's agent run (model,
// tool, model), least of 11 rounds of 20,000 runs, appended after each entry to a store that
// drops records, and (when the build has it) sealed for the entry's own write. With
// BATON_AB_DIST=<another dist>, that build too, interleaved round by round.
// Usage: npm run build && node bench/prof-audit-writer.mjs
//        node bench/prof-audit-writer.mjs --only <runs>   (for callgrind: sealed runs of one build, BATON_AB_DIST or this one)
import { pathToFileURL } from 'node:url';
import { createBatonAgent, baton as thisBuild } from './lib/baton-agent.mjs';

const sample = createBatonAgent(thisBuild.createMemoryStore());
const journal = await sample.runtime.journal(await sample.runOnce());
await sample.runtime.close();

if (process.argv[2] === '--only') {
  // For callgrind (bench/audit-writer-callgrind.sh): 20,000 runs sealed by this build (or the
  // one at BATON_AB_DIST), then `runs` more; instructions per run = the difference of two counts.
  const runs = Number(process.argv[3] ?? '0');
  const build = process.env.BATON_AB_DIST
    ? await import(pathToFileURL(`${process.env.BATON_AB_DIST.replace(/\/$/, '')}/index.js`).href)
    : thisBuild;
  const writer = build.createAuditWriter({ appendRecord: () => Promise.resolve(1) });
  for (let index = 0; index < 20_000 + runs; index++) {
    const runId = `run_${String(index).padStart(24, '0')}`;
    const chain = writer.openChain({ runId, startedEmpty: true });
    for (const entry of journal) {
      chain.seal({ ...entry, runId }).stored(true);
      await null;
    }
  }
  process.exit(0);
}

const builds = [['this build', thisBuild]];
if (process.env.BATON_AB_DIST)
  builds.push([
    process.env.BATON_AB_DIST,
    await import(pathToFileURL(`${process.env.BATON_AB_DIST.replace(/\/$/, '')}/index.js`).href),
  ]);

const sides = [];
for (const [label, baton] of builds) {
  const writer = baton.createAuditWriter({ appendRecord: () => Promise.resolve(1) });
  let runs = 0;
  const entriesOf = (runId) => journal.map((entry) => ({ ...entry, runId }));
  sides.push({
    label: `${label}, appended`,
    run: async () => {
      const runId = `run_${runs++}`;
      const append = writer({ runId, startedEmpty: true });
      for (const entry of entriesOf(runId)) await append(entry);
    },
  });
  if (typeof writer.openChain === 'function')
    sides.push({
      label: `${label}, sealed`,
      run: async () => {
        const runId = `run_${runs++}`;
        const chain = writer.openChain({ runId, startedEmpty: true });
        for (const entry of entriesOf(runId)) {
          chain.seal(entry).stored(true);
          await null;
        }
      },
    });
}

async function cpuPerRun(run, count) {
  const started = process.cpuUsage();
  for (let index = 0; index < count; index++) await run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / count;
}
for (const side of sides) await cpuPerRun(side.run, 20_000);
const samples = sides.map(() => []);
for (let round = 0; round < 11; round++)
  for (const [index, side] of sides.entries()) samples[index].push(await cpuPerRun(side.run, 20_000));
for (const [index, side] of sides.entries())
  console.log(`${side.label.padEnd(40)} ${Math.min(...samples[index]).toFixed(2)} µs per run`);

// Baton's orchestration patterns: overhead per agent turn of each pattern on an instant model, and
// a 100-agent fan-out through concurrent() on a model that sleeps 100 ms, in memory and on SQLite.
//
// The harness's per-run phases time the reference (the baton-memory workload, so its tool and
// model counts are verified as for every case); the patterns and the fan-out are measured in
// `metrics`, each run checked (output, model calls per run). A pattern the built package does not
// have yet is reported as "not available", not as a failure.
import { baton, createBatonAgent } from '../lib/baton-agent.mjs';
import { measureLatency, PROFILES, settleHeap, warmUp } from '../lib/measure.mjs';
import { REFERENCE_METRIC, REFERENCE_TURNS } from '../lib/suite-targets.mjs';
import {
  createInstantModel,
  FAN_OUT,
  MODEL_DELAY_MS,
  measureFanOut,
  patternWorkloads,
  preparePattern,
  temporarySqliteStore,
} from './_pattern-workload.mjs';

export const name = 'baton-patterns';
export const kind = 'subject';
export const description =
  'Per-run row: the baton-memory workload (reference, same process). Extra metrics: each pattern on an instant model, µs per agent turn (model call); concurrent() fan-out of 100 agents whose model sleeps 100 ms, wall ms per run in memory and on SQLite.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

// Each pattern is timed like a case: the harness's warm-up and batches (case-child passes the
// profile name as its second argument), on its own fresh memory store, after a full GC.
const quick = process.argv[3] === 'quick';
const patternProfile = quick ? PROFILES.quick : PROFILES.full;
const fanOutProfile = quick ? { runs: 3, warmups: 1 } : { runs: 11, warmups: 2 };

/**
 * Warm-up and timed batches of one pattern's runs (lib/measure.mjs), checking after each phase
 * that every run made the same number of model calls as the first.
 */
async function measurePattern(workload) {
  await settleHeap();
  const prepared = await preparePattern(workload);
  if (!prepared.available) return { state: 'not available', reason: prepared.reason };
  try {
    const before = prepared.calls();
    await prepared.runOnce();
    const turns = prepared.calls() - before;
    if (workload.turns !== undefined && turns !== workload.turns)
      throw new Error(`one run made ${turns} model calls, expected ${workload.turns}`);
    if (turns === 0) throw new Error('one run made no model call');
    const checkCalls = (phase, runs, from) => {
      const made = prepared.calls() - from;
      if (made !== runs * turns)
        throw new Error(`${phase}: ${runs} runs made ${made} model calls, not ${runs * turns}`);
    };
    let from = prepared.calls();
    const warm = await warmUp(prepared.runOnce, patternProfile);
    checkCalls('warm-up', warm.runs, from);
    from = prepared.calls();
    const latency = await measureLatency(prepared.runOnce, { ...patternProfile, ...warm });
    checkCalls('timed batches', latency.runs, from);
    return {
      state: 'measured',
      turns,
      usPerRun: latency.medianUs,
      usPerTurn: latency.medianUs / turns,
      runs: 1 + warm.runs + latency.runs,
    };
  } catch (error) {
    return { state: 'error', reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await prepared.runtime.close();
  }
}

/** µs per run of a single agent that answers in one text turn (no tool), timed like a pattern. */
async function measureTextAgent() {
  await settleHeap();
  const { model, calls } = createInstantModel(({ agent }) => ({ text: `${agent} ok` }));
  const solo = baton.agent({ name: 'solo', instructions: 'Answer briefly.', model });
  const runtime = baton.createRuntime({ store: baton.createMemoryStore(), recover: false });
  const runOnce = async () => {
    const output = await (await runtime.start(solo, 'go')).result();
    if (output !== 'solo ok')
      throw new Error(`single text agent: unexpected output ${JSON.stringify(output)}`);
  };
  try {
    const warm = await warmUp(runOnce, patternProfile);
    const from = calls();
    const latency = await measureLatency(runOnce, { ...patternProfile, ...warm });
    if (calls() - from !== latency.runs)
      throw new Error('single text agent: one model call per run expected');
    return latency.medianUs;
  } finally {
    await runtime.close();
  }
}

export async function setup() {
  let reference = createBatonAgent(baton.createMemoryStore());
  const { toolCalls, modelCalls } = reference;
  return {
    runOnce: () => reference.runOnce(),
    toolCalls,
    modelCalls,
    metrics: async ({ usPerRun }) => {
      // The reference's store holds every run it made; drop it so that its heap does not slow
      // the patterns' garbage collection (the patterns would pay for the reference's runs).
      await reference.runtime.close();
      reference = undefined;
      const metrics = {
        [REFERENCE_METRIC]: usPerRun / REFERENCE_TURNS,
        'single agent, one text turn (this process): µs per turn': await measureTextAgent(),
      };
      for (const workload of patternWorkloads) {
        const outcome = await measurePattern(workload);
        if (outcome.state === 'measured') {
          metrics[`${workload.pattern}: setup`] =
            `${workload.label}; ${outcome.turns} agent turns per run; ${outcome.runs} runs checked`;
          metrics[`${workload.pattern}: µs per run`] = outcome.usPerRun;
          metrics[`${workload.pattern}: µs per agent turn`] = outcome.usPerTurn;
        } else {
          metrics[`${workload.pattern}: setup`] = `${outcome.state}: ${outcome.reason}`;
        }
      }
      const memory = await measureFanOut(baton.createMemoryStore(), fanOutProfile);
      const sqlite = temporarySqliteStore();
      let onSqlite;
      try {
        onSqlite = await measureFanOut(sqlite.store, fanOutProfile);
      } finally {
        await sqlite.dispose();
      }
      for (const [store, figures] of [
        ['memory', memory],
        ['SQLite', onSqlite],
      ]) {
        metrics[`fan-out ${FAN_OUT} × ${MODEL_DELAY_MS} ms (${store}): median wall ms`] = figures.medianMs;
        metrics[`fan-out ${FAN_OUT} × ${MODEL_DELAY_MS} ms (${store}): min / max wall ms`] =
          `${figures.minMs.toFixed(1)} / ${figures.maxMs.toFixed(1)} over ${figures.samples.length} runs`;
      }
      return metrics;
    },
    close: async () => {
      await reference?.runtime.close();
    },
  };
}

/**
 * The fan-out targets, and a failed target for every pattern that exists but could not be
 * measured. The per-pattern ratios against the single agent are added by lib/suite-targets.mjs,
 * which can see baton-memory's result.
 */
export const targets = ({ metrics }) => [
  ...['memory', 'SQLite'].map((store) => ({
    label: `fan-out ${FAN_OUT} agents × ${MODEL_DELAY_MS} ms model (${store}): median wall per run`,
    value: metrics[`fan-out ${FAN_OUT} × ${MODEL_DELAY_MS} ms (${store}): median wall ms`],
    limit: 110,
    unit: 'ms',
  })),
  ...patternWorkloads
    .filter((workload) => String(metrics[`${workload.pattern}: setup`]).startsWith('error:'))
    .map((workload) => ({
      label: `${workload.pattern}: runs measured (${metrics[`${workload.pattern}: setup`]})`,
      value: 0,
      limit: 1,
      atLeast: true,
      unit: 'runs',
      pass: false,
    })),
];

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { type Runnable, workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import type { Store } from '../core/store.js';
import { registerPrices } from '../models/pricing.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { type EvolvingOptions, evolving, type PolicyOutcome, policyStats } from './evolving.js';

const directory = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-evolving-'));
afterAll(() => {
  fs.rmSync(directory, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** A candidate that answers `answer` through one journaled step. */
const candidate = (name: string, answer: string, version = '1') =>
  workflow({ name, version }, async (ctx, input: unknown) =>
    ctx.step('answer', () => `${answer}:${String(input)}`),
  );

const alpha = candidate('alpha', 'a');
const beta = candidate('beta', 'b');
const gamma = candidate('gamma', 'c');
/** Beta's answers score 1, the others 0.2. */
const score = (output: unknown) => (String(output).startsWith('b:') ? 1 : 0.2);

interface Decision {
  decision: string;
  mode: string;
  explored: boolean;
  stats: Array<{ key: string; trials: number; meanReward: number }>;
}

/** Runs `runs` runs of a fresh evolving pattern on `store`; returns each run's decision. */
async function runMany(
  store: Store,
  options: Partial<EvolvingOptions> & { runs: number; inputs?: (index: number) => unknown },
): Promise<Decision[]> {
  const { runs, inputs, ...rest } = options;
  const pattern = evolving({ name: 'router', candidates: [alpha, beta, gamma], store, score, ...rest });
  const rt = createRuntime({ store, recover: false });
  const decisions: Decision[] = [];
  rt.on((event: BatonEvent) => {
    if (event.type === 'pattern-decision' && event.pattern === 'evolving')
      decisions.push({ decision: event.decision, ...(event.data as Omit<Decision, 'decision'>) });
  });
  for (let index = 0; index < runs; index++)
    await (await rt.start(pattern, inputs?.(index) ?? index)).result();
  await rt.close();
  return decisions;
}

/** A small seeded PRNG (mulberry32), so a stubbed Math.random gives the same sequence every test run. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

describe('evolving', () => {
  it('tries each candidate once, then keeps choosing the one whose outcomes are best (exploration 0)', async () => {
    const store = createMemoryStore();
    const decisions = await runMany(store, { runs: 6, exploration: 0 });
    expect(decisions.map((decision) => [decision.decision, decision.mode])).toEqual([
      ['alpha@1', 'warm-up'],
      ['beta@1', 'warm-up'],
      ['gamma@1', 'warm-up'],
      ['beta@1', 'exploit'],
      ['beta@1', 'exploit'],
      ['beta@1', 'exploit'],
    ]);
    // The stats each decision saw are recorded with it.
    expect(decisions[3]?.stats).toEqual([
      expect.objectContaining({ key: 'alpha@1', trials: 1, meanReward: 0.2 }),
      expect.objectContaining({ key: 'beta@1', trials: 1, meanReward: 1 }),
      expect.objectContaining({ key: 'gamma@1', trials: 1, meanReward: 0.2 }),
    ]);
    expect(decisions[5]?.stats[1]).toMatchObject({ key: 'beta@1', trials: 3 });
    const stats = await policyStats(store, 'router');
    expect(stats.map((row) => [row.key, row.trials, row.meanReward])).toEqual([
      ['beta@1', 4, 1],
      ['alpha@1', 1, 0.2],
      ['gamma@1', 1, 0.2],
    ]);
  });

  it('explores other candidates at the exploration rate, never more than the bound', async () => {
    vi.spyOn(Math, 'random').mockImplementation(seeded(20_260_101));
    const store = createMemoryStore();
    const runs = 300;
    const decisions = await runMany(store, { runs, exploration: 0.2 });
    const afterWarmUp = decisions.slice(3);
    const explored = afterWarmUp.filter((decision) => decision.explored);
    // Every exploration picked a candidate other than the leader; every other run picked the leader.
    expect(explored.every((decision) => decision.decision !== 'beta@1')).toBe(true);
    expect(
      afterWarmUp
        .filter((decision) => !decision.explored)
        .every((decision) => decision.decision === 'beta@1'),
    ).toBe(true);
    const rate = explored.length / afterWarmUp.length;
    expect(rate).toBeGreaterThan(0.14);
    expect(rate).toBeLessThan(0.26);
    // Both other candidates were explored.
    expect(new Set(explored.map((decision) => decision.decision))).toEqual(new Set(['alpha@1', 'gamma@1']));
    expect(() => evolving({ name: 'x', candidates: [alpha], store, score, exploration: 0.6 })).toThrow(
      /exploration must be a number from 0 to 0.5, got 0.6/,
    );
  });

  it('keeps learning per task type', async () => {
    const store = createMemoryStore();
    const scoreByType = (output: unknown) => {
      const [answer, input] = String(output).split(':');
      return (input === 'billing' ? answer === 'a' : answer === 'c') ? 1 : 0;
    };
    const decisions = await runMany(store, {
      runs: 10,
      exploration: 0,
      score: scoreByType,
      taskType: (input) => String(input),
      inputs: (index) => (index % 2 === 0 ? 'billing' : 'general'),
    });
    expect(decisions.slice(-2).map((decision) => decision.decision)).toEqual(['alpha@1', 'gamma@1']);
    const billing = await policyStats(store, 'router', { taskType: 'billing' });
    expect(billing[0]).toMatchObject({ taskType: 'billing', key: 'alpha@1', meanReward: 1 });
  });

  it('persists stats in the SQLite store, so a new runtime on the same file goes on learning', async () => {
    const file = path.join(directory, 'policy.db');
    const first = createSqliteStore({ path: file });
    const early = await runMany(first, { runs: 4, exploration: 0 });
    expect(early.at(-1)).toMatchObject({ decision: 'beta@1', mode: 'exploit' });
    await first.close();

    const second = createSqliteStore({ path: file });
    try {
      expect((await policyStats(second, 'router')).map((row) => [row.key, row.trials])).toEqual([
        ['beta@1', 2],
        ['alpha@1', 1],
        ['gamma@1', 1],
      ]);
      const later = await runMany(second, { runs: 1, exploration: 0 });
      expect(later).toMatchObject([{ decision: 'beta@1', mode: 'exploit' }]);
      expect(later[0]?.stats[1]).toMatchObject({ key: 'beta@1', trials: 2 });
      expect((await second.readRecords('policy:router')).map((record) => record.seq)).toEqual([
        1, 2, 3, 4, 5,
      ]);
    } finally {
      await second.close();
    }
  });

  it('records the version of each outcome, compares versions and rolls one back with exclude', async () => {
    const store = createMemoryStore();
    const v1 = candidate('team', 'v1', '1');
    const v2 = candidate('team', 'v2', '2');
    const byVersion = (output: unknown) => (String(output).startsWith('v2') ? 0.9 : 0.4);
    const rt = createRuntime({ store, recover: false });
    const ab = evolving({ name: 'ab', candidates: [v1, v2], store, score: byVersion, exploration: 0 });
    for (let index = 0; index < 3; index++) await (await rt.start(ab, `q${index}`)).result();
    const records = await store.readRecords('policy:ab');
    expect(
      records.map((record) => [
        (record.data as PolicyOutcome).candidate,
        (record.data as PolicyOutcome).version,
      ]),
    ).toEqual([
      ['team', '1'],
      ['team', '2'],
      ['team', '2'],
    ]);
    expect((await policyStats(store, 'ab')).map((row) => [row.key, row.trials, row.meanReward])).toEqual([
      ['team@2', 2, 0.9],
      ['team@1', 1, 0.4],
    ]);
    // Version 2 turns out bad in production: exclude it and version 1 serves every run again.
    const rolledBack = evolving({
      name: 'ab',
      version: '2',
      candidates: [v1, v2],
      store,
      score: byVersion,
      exclude: ['team@2'],
    });
    await rt.close();
    // (A new deployment: a runtime knows one definition per name.)
    const redeployed = createRuntime({ store, recover: false });
    expect(await (await redeployed.start(rolledBack, 'q3')).result()).toBe('v1:q3');
    await redeployed.close();
    expect((await store.readRecords('policy:ab', { after: 3 }))[0]?.data).toMatchObject({ version: '1' });
    expect(() => evolving({ name: 'ab', candidates: [v1, v2], store, score, exclude: ['team@3'] })).toThrow(
      /exclude\[0\] "team@3" matches no candidate; candidates: team@1, team@2/,
    );
    expect(() => evolving({ name: 'ab', candidates: [v1, v2], store, score, exclude: ['team'] })).toThrow(
      /exclude leaves no candidate/,
    );
  });

  it('scores with the cost and tokens of the chosen candidate, read from its journal entries', async () => {
    registerPrices({ 'scripted:evolving-priced': { input: 1000, output: 2000 } });
    const model = scriptedModel(
      { helper: [{ text: 'done', usage: { inputTokens: 100, outputTokens: 20 } }] },
      { modelId: 'evolving-priced' },
    );
    const helper = agent({ name: 'helper', instructions: 'Help.', model });
    const store = createMemoryStore();
    const infos: unknown[] = [];
    const pattern = evolving({
      name: 'priced',
      candidates: [helper as Runnable<unknown, unknown>],
      store,
      costPenalty: 2,
      score: (output, info) => {
        infos.push({ output, ...info });
        return 1;
      },
    });
    const rt = createRuntime({ store, recover: false });
    const handle = await rt.start(pattern, 'question');
    expect(await handle.result()).toBe('done');
    // 100 input tokens at $1000/M + 20 output tokens at $2000/M.
    const cost = 0.1 + 0.04;
    expect(infos).toEqual([
      {
        output: 'done',
        costUsd: expect.closeTo(cost, 10),
        tokens: 120,
        durationMs: expect.any(Number),
        taskType: 'default',
        candidate: 'helper',
        version: '1',
      },
    ]);
    const [record] = await store.readRecords('policy:priced');
    expect(record?.data).toMatchObject({
      ok: true,
      score: 1,
      tokens: 120,
      usageKnown: true,
      runId: handle.runId,
    });
    expect((record!.data as PolicyOutcome).reward).toBeCloseTo(1 - 2 * cost, 10);
    // The run's own cost is the same: the pattern's steps add none.
    expect((await rt.get(handle.runId)).costUsd).toBeCloseTo(cost, 10);
    await rt.close();
  });

  it('replays the recorded choice and records the outcome once when resumed after a crash', async () => {
    const store = createMemoryStore();
    let hang = true;
    let executions = 0;
    const slowBeta = workflow({ name: 'beta' }, async (ctx, input: unknown) =>
      ctx.step('answer', async () => {
        executions++;
        if (hang) await new Promise(() => undefined);
        return `b:${String(input)}`;
      }),
    );
    const seed = async (candidateName: string, reward: number) =>
      store.appendRecord('policy:crashy', {
        kind: 'outcome',
        id: `seed-${candidateName}-${reward}`,
        runId: 'seed',
        taskType: 'default',
        candidate: candidateName,
        version: '1',
        ok: true,
        score: reward,
        reward,
        costUsd: 0,
        tokens: 0,
        durationMs: 0,
        usageKnown: true,
        mode: 'exploit',
      } satisfies PolicyOutcome);
    await seed('alpha', 0.1);
    await seed('beta', 0.9);
    const pattern = evolving({ name: 'crashy', candidates: [alpha, slowBeta], store, score, exploration: 0 });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(pattern, 'x');
    while (executions === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    // While the run is in flight, new outcomes make alpha the leader; the resumed run must not re-choose.
    await seed('alpha', 5);
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [pattern] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('b:x');
    const outcomes = (await store.readRecords('policy:crashy')).map((record) => record.data as PolicyOutcome);
    expect(outcomes.filter((outcome) => outcome.runId === handle.runId)).toMatchObject([
      { candidate: 'beta', mode: 'exploit', ok: true, reward: 1 },
    ]);
    const names = (await second.journal(handle.runId)).map((entry) => entry.name);
    expect(names.filter((name) => name === 'decision:evolving')).toHaveLength(1);
    expect(names.filter((name) => name === 'policy:record')).toHaveLength(1);
    await second.close();
  });

  it('records a failed candidate with the failure score and fails the run naming it', async () => {
    const store = createMemoryStore();
    const broken = workflow({ name: 'broken' }, async () => {
      throw new Error('tool crashed');
    });
    const rt = createRuntime({ store, recover: false });
    const pattern = evolving({ name: 'fragile', candidates: [broken], store, score, failureScore: -1 });
    const error = (await (
      await rt.start(pattern, 'x')
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('CANDIDATE_FAILED');
    expect(error.message).toBe('evolving("fragile"): candidate "broken@1" failed: tool crashed');
    const [record] = await store.readRecords('policy:fragile');
    expect(record?.data).toMatchObject({ ok: false, score: -1, reward: -1, error: 'tool crashed' });
    await rt.close();
  });

  it('counts an outcome recorded twice (a record step re-run after a crash) once', async () => {
    const store = createMemoryStore();
    const outcome: PolicyOutcome = {
      kind: 'outcome',
      id: 'run_1:r#5',
      runId: 'run_1',
      taskType: 'default',
      candidate: 'alpha',
      version: '1',
      ok: true,
      score: 1,
      reward: 1,
      costUsd: 0,
      tokens: 0,
      durationMs: 3,
      usageKnown: true,
      mode: 'exploit',
    };
    await store.appendRecord('policy:dupes', outcome);
    await store.appendRecord('policy:dupes', outcome);
    await store.appendRecord('policy:dupes', { ...outcome, id: 'run_2:r#5', reward: 0 });
    expect(await policyStats(store, 'dupes')).toMatchObject([{ key: 'alpha@1', trials: 2, meanReward: 0.5 }]);
  });

  it('rejects bad definitions with errors naming the field', () => {
    const store = createMemoryStore();
    expect(() => evolving({ name: 'e', candidates: [], store, score })).toThrow(
      /candidates must be a non-empty array/,
    );
    expect(() => evolving({ name: 'e', candidates: [alpha, candidate('alpha', 'z')], store, score })).toThrow(
      /two candidates are "alpha@1"/,
    );
    expect(() => evolving({ name: 'e', candidates: [alpha], store: {} as Store, score })).toThrow(
      /store must be a Store with record streams/,
    );
    expect(() => evolving({ name: 'e', candidates: [alpha], store, score: 1 as never })).toThrow(
      /score must be a function/,
    );
    expect(() => evolving({ name: 'e', candidates: [alpha], store, score, costPenalty: -1 })).toThrow(
      /costPenalty must be a finite number >= 0/,
    );
    expect(() => evolving({ name: 'e', candidates: [alpha], store, score, minTrials: -1 })).toThrow(
      /minTrials must be an integer >= 0/,
    );
  });
});

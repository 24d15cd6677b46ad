/** evolving(): an epsilon-greedy policy that learns which candidate (pattern or team version) works best per task type. */

import { BatonError, ConfigError, errorMessage } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import type { JournalEntry, Store } from '../core/store.js';
import { isBudgetStop } from '../governance/budget.js';
import { announceEnd, announceStart, checkCount, checkRunnable, recordDecision } from './shared.js';

/** What `score` receives besides the output: what the chosen candidate's run cost. */
export interface OutcomeInfo {
  /** Summed `costUsd` of the candidate's journaled steps (model calls of every agent inside it). */
  costUsd: number;
  /** Summed total tokens of those steps. */
  tokens: number;
  /** Wall time of the candidate's child run, from its journal entry. */
  durationMs: number;
  taskType: string;
  candidate: string;
  version: string;
}

/** One outcome as stored in the policy's record stream `policy:<name>`. */
export interface PolicyOutcome {
  kind: 'outcome';
  /** Unique per recorded outcome (the record step's idempotency key); repeats are skipped when reading. */
  id: string;
  runId: string;
  taskType: string;
  candidate: string;
  version: string;
  /** False when the candidate's run failed (its score is then `failureScore`). */
  ok: boolean;
  /** What `score` returned. */
  score: number;
  /** `score - costPenalty * costUsd`: what the policy maximizes. */
  reward: number;
  costUsd: number;
  tokens: number;
  durationMs: number;
  /** False when the run's journal was not in the policy's store, so cost and tokens are 0. */
  usageKnown: boolean;
  /** How the candidate was chosen; `eval` for an outcome an eval recorded (`runEval({ policy })`). */
  mode: ChoiceMode | 'eval';
  error?: string;
}

/** `warm-up`: a candidate had fewer than `minTrials` outcomes; `explore`: the epsilon roll; `exploit`: the best mean reward. */
export type ChoiceMode = 'warm-up' | 'explore' | 'exploit';

/** Aggregated outcomes of one candidate version for one task type. */
export interface CandidateStats {
  taskType: string;
  candidate: string;
  version: string;
  /** `candidate@version`. */
  key: string;
  trials: number;
  failures: number;
  /** Mean reward over the trials; 0 with none. */
  meanReward: number;
  meanScore: number;
  meanCostUsd: number;
  meanTokens: number;
  meanDurationMs: number;
  /** When the last outcome was recorded (0 with none). */
  lastAt: number;
}

/** Options of `evolving()`. */
export interface EvolvingOptions<OUTPUT = unknown> {
  name: string;
  version?: string;
  /** Patterns, agents, workflows, or versions of one team (same name, different `version`). */
  candidates: readonly AnyRunnable[];
  /**
   * Where the policy's outcomes live (record stream `policy:<name>`). Use the runtime's own
   * store: the chosen candidate's cost and tokens are read from the run's journal there.
   */
  store: Store;
  /** Groups inputs whose best candidate may differ. Must be pure. Default: every input is `'default'`. */
  taskType?: (input: unknown) => string;
  /** Rates an output; higher is better. Called once, inside the step that records the outcome. */
  score: (output: OUTPUT, info: OutcomeInfo) => number | Promise<number>;
  /** Reward is `score - costPenalty * costUsd`. Default 0. */
  costPenalty?: number;
  /** Epsilon: the chance of trying a candidate other than the best, from 0 to 0.5. Default 0.1. */
  exploration?: number;
  /** Outcomes each candidate gets per task type before the policy exploits (fewest first). Default 1. */
  minTrials?: number;
  /** Candidates never chosen, as `name@version` or `name` (all its versions): roll back a bad version. */
  exclude?: readonly string[];
  /** The score recorded when the candidate's run fails. Default 0. */
  failureScore?: number;
}

const candidateKey = (runnable: { name: string; version: string }) => `${runnable.name}@${runnable.version}`;
const streamOf = (name: string) => `policy:${name}`;

/**
 * The stats of a policy, per task type and candidate version, from its record stream:
 * compare versions (A/B), or decide what to `exclude`. Sorted by task type, then best mean
 * reward first. Outcomes recorded twice (a step re-run after a crash) count once.
 *
 * @example
 * ```ts
 * const stats = await policyStats(store, 'support');
 * for (const row of stats) console.log(row.taskType, row.key, row.trials, row.meanReward.toFixed(2));
 * ```
 */
export async function policyStats(
  store: Store,
  name: string,
  options: { taskType?: string } = {},
): Promise<CandidateStats[]> {
  const totals = new Map<
    string,
    CandidateStats & {
      rewardSum: number;
      scoreSum: number;
      costSum: number;
      tokenSum: number;
      durationSum: number;
    }
  >();
  const seen = new Set<string>();
  const page = 1000;
  for (let after = 0; ; ) {
    const records = await store.readRecords(streamOf(name), { after, limit: page });
    for (const record of records) {
      const outcome = record.data as Partial<PolicyOutcome> | null;
      if (outcome?.kind !== 'outcome' || typeof outcome.id !== 'string' || seen.has(outcome.id)) continue;
      seen.add(outcome.id);
      if (options.taskType !== undefined && outcome.taskType !== options.taskType) continue;
      const key = `${outcome.candidate}@${outcome.version}`;
      const slot = `${outcome.taskType}\u0000${key}`;
      let total = totals.get(slot);
      if (total === undefined) {
        total = {
          ...emptyStats(String(outcome.taskType), String(outcome.candidate), String(outcome.version)),
          rewardSum: 0,
          scoreSum: 0,
          costSum: 0,
          tokenSum: 0,
          durationSum: 0,
        };
        totals.set(slot, total);
      }
      total.trials++;
      if (outcome.ok !== true) total.failures++;
      total.rewardSum += Number(outcome.reward ?? 0);
      total.scoreSum += Number(outcome.score ?? 0);
      total.costSum += Number(outcome.costUsd ?? 0);
      total.tokenSum += Number(outcome.tokens ?? 0);
      total.durationSum += Number(outcome.durationMs ?? 0);
      total.lastAt = Math.max(total.lastAt, record.at);
    }
    if (records.length < page) break;
    after = records.at(-1)!.seq;
  }
  const stats = [...totals.values()].map(
    ({ rewardSum, scoreSum, costSum, tokenSum, durationSum, ...row }) => ({
      ...row,
      meanReward: rewardSum / row.trials,
      meanScore: scoreSum / row.trials,
      meanCostUsd: costSum / row.trials,
      meanTokens: tokenSum / row.trials,
      meanDurationMs: durationSum / row.trials,
    }),
  );
  return stats.sort(
    (a, b) => compare(a.taskType, b.taskType) || b.meanReward - a.meanReward || compare(a.key, b.key),
  );
}

const evolvingOptionNames = optionNames<EvolvingOptions<unknown>>({
  name: true,
  version: true,
  candidates: true,
  store: true,
  taskType: true,
  score: true,
  costPenalty: true,
  exploration: true,
  minTrials: true,
  exclude: true,
  failureScore: true,
});

/**
 * A self-improving choice among candidates. Each run: the task type of the input is computed
 * and the policy's stats for it are read inside a journaled step (`policy:read`), so a replay
 * sees the same stats; a candidate is chosen (`warm-up` while any has fewer than `minTrials`
 * outcomes, else with probability `exploration` a uniformly random other candidate, else
 * the best mean reward; `ctx.random()` makes both draws, so they are journaled); the choice,
 * its mode and the stats seen are recorded with `recordDecision`; the candidate runs as a
 * child run; then one step (`policy:record`) reads the child's cost and tokens from the run's
 * journal (the `costUsd` and `usage` meta of every entry in the child's scope), scores the
 * output and appends the outcome to the store's record stream `policy:<name>`.
 *
 * @example
 * ```ts
 * const support = evolving({
 *   name: 'support',
 *   candidates: [supportTeamV1, supportTeamV2, singleAgent],
 *   store,
 *   taskType: (input) => (String(input).includes('refund') ? 'billing' : 'general'),
 *   score: (output) => (String(output).includes('resolved') ? 1 : 0),
 *   costPenalty: 10, // a cent of cost weighs 0.1 of score
 *   exploration: 0.1,
 * });
 * await runtime.start(support, 'Please refund order A-1001');
 * console.table(await policyStats(store, 'support'));
 * ```
 */
export function evolving<OUTPUT = unknown>(options: EvolvingOptions<OUTPUT>): Runnable<unknown, OUTPUT> {
  assertName('pattern', options?.name);
  checkOptionNames(`evolving("${options.name}")`, options, evolvingOptionNames);
  const where = `evolving("${options.name}")`;
  if (!Array.isArray(options.candidates) || options.candidates.length === 0)
    throw new ConfigError(`${where}: candidates must be a non-empty array of agents, workflows or patterns.`);
  const keys = new Set<string>();
  const candidates = options.candidates.map((entry, index) => {
    const runnable = checkRunnable(where, `candidates[${index}]`, entry);
    const key = candidateKey(runnable);
    if (keys.has(key))
      throw new ConfigError(
        `${where}: two candidates are "${key}"; give versions of one team different versions.`,
      );
    keys.add(key);
    return { runnable, key };
  });
  const store = options.store;
  if (typeof store?.appendRecord !== 'function' || typeof store.readRecords !== 'function')
    throw new ConfigError(
      `${where}: store must be a Store with record streams (appendRecord and readRecords).`,
    );
  if (typeof options.score !== 'function')
    throw new ConfigError(`${where}: score must be a function (output, info) => number.`);
  if (options.taskType !== undefined && typeof options.taskType !== 'function')
    throw new ConfigError(`${where}: taskType must be a function (input) => string.`);
  const exploration = options.exploration ?? 0.1;
  if (typeof exploration !== 'number' || !(exploration >= 0 && exploration <= 0.5))
    throw new ConfigError(
      `${where}: exploration must be a number from 0 to 0.5, got ${String(exploration)}.`,
    );
  const costPenalty = checkNumber(where, 'costPenalty', options.costPenalty, 0, 0);
  const failureScore = checkNumber(where, 'failureScore', options.failureScore, 0);
  const minTrials = checkCount(where, 'minTrials', options.minTrials, 1, 0);
  const excluded = new Set<string>();
  for (const [index, entry] of (options.exclude ?? []).entries()) {
    const matches = candidates.filter(({ runnable, key }) => key === entry || runnable.name === entry);
    if (matches.length === 0)
      throw new ConfigError(
        `${where}: exclude[${index}] "${entry}" matches no candidate; candidates: ${[...keys].join(', ')}.`,
      );
    for (const match of matches) excluded.add(match.key);
  }
  const eligible = candidates.filter(({ key }) => !excluded.has(key));
  if (eligible.length === 0) throw new ConfigError(`${where}: exclude leaves no candidate to choose.`);
  const stream = streamOf(options.name);

  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: unknown): Promise<OUTPUT> {
      announceStart(ctx, 'evolving', options.name, [...keys]);
      const seen = await ctx.step(
        'policy:read',
        async () => {
          const taskType = options.taskType === undefined ? 'default' : options.taskType(input);
          if (typeof taskType !== 'string' || taskType === '')
            throw new ConfigError(
              `${where}: taskType returned ${JSON.stringify(taskType)}; it must return a non-empty string.`,
            );
          const rows = await policyStats(store, options.name, { taskType });
          const stats = eligible.map(
            ({ runnable, key }) =>
              rows.find((row) => row.key === key) ?? emptyStats(taskType, runnable.name, runnable.version),
          );
          return { taskType, stats };
        },
        { meta: { policy: stream } },
      );
      const { taskType, stats } = seen;
      const choice = choose(ctx, stats, exploration, minTrials);
      const recorded = await recordDecision(ctx, {
        pattern: 'evolving',
        name: options.name,
        decision: eligible[choice.index]!.key,
        reasons: choice.reasons,
        data: { taskType, mode: choice.mode, explored: choice.mode === 'explore', stats },
      });
      // The recorded choice is the one that counts (on replay it is the one made before the crash).
      const chosen = candidates.find(({ key }) => key === recorded.decision);
      if (chosen === undefined)
        throw new ConfigError(
          `${where}: this run chose "${recorded.decision}", which is no longer a candidate; keep it in candidates until its runs finish.`,
          { runId: ctx.runId },
        );
      const mode = (recorded.data?.mode ?? choice.mode) as ChoiceMode;

      let output: unknown;
      let failure: unknown;
      try {
        output = await ctx.run(chosen.runnable, input);
      } catch (error) {
        if (isInterruption(error, ctx)) throw error;
        failure = error;
      }
      const at = ctx.now();
      const outcome = await ctx.step(
        'policy:record',
        async (step) => {
          const usage = childUsage(await store.loadJournal(ctx.runId), ctx.scope, chosen.runnable.name);
          const info: OutcomeInfo = {
            costUsd: usage.costUsd,
            tokens: usage.tokens,
            durationMs: usage.durationMs,
            taskType,
            candidate: chosen.runnable.name,
            version: chosen.runnable.version,
          };
          const score = failure === undefined ? await options.score(output as OUTPUT, info) : failureScore;
          if (typeof score !== 'number' || !Number.isFinite(score))
            throw new ConfigError(
              `${where}: score returned ${String(score)}; it must return a finite number.`,
            );
          const record: PolicyOutcome = {
            kind: 'outcome',
            id: step.idempotencyKey,
            runId: ctx.runId,
            taskType,
            candidate: info.candidate,
            version: info.version,
            ok: failure === undefined,
            score,
            reward: score - costPenalty * usage.costUsd,
            costUsd: usage.costUsd,
            tokens: usage.tokens,
            durationMs: usage.durationMs,
            usageKnown: usage.known,
            mode,
            ...(failure === undefined ? {} : { error: errorMessage(failure) }),
          };
          await store.appendRecord(stream, record, at);
          return record;
        },
        { meta: (record) => ({ policy: stream, candidate: chosen.key, reward: record.reward }) },
      );
      if (failure !== undefined) {
        announceEnd(ctx, 'evolving', options.name, `${chosen.key} failed`);
        // The outcome is recorded; a budget stop still ends the run as budget-exceeded.
        if (isBudgetStop(failure)) throw failure;
        throw new BatonError(`${where}: candidate "${chosen.key}" failed: ${errorMessage(failure)}`, {
          code: 'CANDIDATE_FAILED',
          fault: BatonError.isInstance(failure) ? failure.fault : 'system',
          runId: ctx.runId,
          cause: failure,
        });
      }
      announceEnd(ctx, 'evolving', options.name, `${chosen.key} (${mode}), reward ${outcome.reward}`);
      return output as OUTPUT;
    },
  };
}

/** Picks an index into `stats` (the eligible candidates, in order); draws from `ctx.random()` only when exploring is possible. */
function choose(
  ctx: RunContext,
  stats: readonly CandidateStats[],
  exploration: number,
  minTrials: number,
): { index: number; mode: ChoiceMode; reasons: string[] } {
  const fewest = Math.min(...stats.map((row) => row.trials));
  if (fewest < minTrials) {
    const index = stats.findIndex((row) => row.trials === fewest);
    return {
      index,
      mode: 'warm-up',
      reasons: [`${stats[index]!.key} has ${fewest} of ${minTrials} trials for "${stats[index]!.taskType}"`],
    };
  }
  let best = 0;
  for (const [index, row] of stats.entries()) {
    const top = stats[best]!;
    const value = row.trials === 0 ? Number.NEGATIVE_INFINITY : row.meanReward;
    const topValue = top.trials === 0 ? Number.NEGATIVE_INFINITY : top.meanReward;
    if (value > topValue) best = index;
  }
  const leader = stats[best]!;
  const summary = `${leader.key} has the best mean reward (${round(leader.meanReward)} over ${leader.trials} trials)`;
  if (stats.length > 1 && exploration > 0) {
    const roll = ctx.random();
    if (roll < exploration) {
      const others = stats.map((_, index) => index).filter((index) => index !== best);
      const index = others[Math.min(others.length - 1, Math.floor(ctx.random() * others.length))]!;
      return {
        index,
        mode: 'explore',
        reasons: [summary, `explored: roll ${round(roll)} < exploration ${exploration}`],
      };
    }
    return {
      index: best,
      mode: 'exploit',
      reasons: [summary, `exploited: roll ${round(roll)} >= exploration ${exploration}`],
    };
  }
  return { index: best, mode: 'exploit', reasons: [summary] };
}

/**
 * Cost, tokens and duration of the one child run in `scope` (the evolving pattern's scope):
 * its journal entry gives its key (so its scope) and duration; the meta of every entry in
 * that scope and below gives usage and cost.
 */
function childUsage(
  entries: readonly JournalEntry[],
  scope: string,
  target: string,
): { known: boolean; costUsd: number; tokens: number; durationMs: number } {
  const prefix = `${scope}#`;
  const child = entries.find(
    (entry) =>
      entry.kind === 'child' &&
      entry.name === `run:${target}` &&
      entry.key.startsWith(prefix) &&
      /^\d+$/.test(entry.key.slice(prefix.length)),
  );
  if (child === undefined) return { known: false, costUsd: 0, tokens: 0, durationMs: 0 };
  const childScope = `${scope}/${child.key.slice(prefix.length)}`;
  let costUsd = 0;
  let tokens = 0;
  for (const entry of entries) {
    if (!entry.key.startsWith(`${childScope}#`) && !entry.key.startsWith(`${childScope}/`)) continue;
    costUsd += entry.meta?.costUsd ?? 0;
    tokens += entry.meta?.usage?.totalTokens ?? 0;
  }
  return { known: true, costUsd, tokens, durationMs: child.endedAt - child.startedAt };
}

function emptyStats(taskType: string, candidate: string, version: string): CandidateStats {
  return {
    taskType,
    candidate,
    version,
    key: `${candidate}@${version}`,
    trials: 0,
    failures: 0,
    meanReward: 0,
    meanScore: 0,
    meanCostUsd: 0,
    meanTokens: 0,
    meanDurationMs: 0,
    lastAt: 0,
  };
}

function checkNumber(
  where: string,
  field: string,
  value: number | undefined,
  fallback: number,
  minimum = Number.NEGATIVE_INFINITY,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < minimum)
    throw new ConfigError(
      `${where}: ${field} must be a finite number${minimum === 0 ? ' >= 0' : ''}, got ${String(value)}.`,
    );
  return value;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * runEval(): every case of a dataset as its own durable run, scored, stored in the record stream
 * `eval:<target>`, compared with the previous eval of the same target and dataset. An eval that
 * was interrupted (a crash, Ctrl-C) resumes where it stopped when run again.
 */

import { BatonError, ConfigError, errorMessage, RunLeasedError } from '../core/errors.js';
import type { AnyRunnable } from '../core/runnable.js';
import type { RunHandle, Runtime } from '../core/runtime.js';
import { type JournalEntry, type RunRecord, type Store, terminalStatuses } from '../core/store.js';
import type { ModelSpec } from '../models/resolve-model.js';
import { quantile } from '../observability/run-stats.js';
import type { PolicyOutcome } from '../patterns/evolving.js';
import { compareEvals, type EvalComparison } from './compare.js';
import { datasetHash, type EvalDataset, scorersForCase } from './dataset.js';
import {
  checkUnitInterval,
  type EvalCase,
  type EvalSubject,
  type Score,
  type Scorer,
  type ToolCallSeen,
} from './scorer.js';

/** Options of `runEval()`. */
export interface EvalOptions {
  /** The runtime that runs the cases; its store keeps the runs and the eval's results. */
  runtime: Runtime;
  /** The workflow, agent or pattern under test (registered with the runtime if it is not yet). */
  target: AnyRunnable;
  dataset: EvalDataset;
  /** Cases run at once. Default 4. */
  concurrency?: number;
  /**
   * A regression is a drop of more than this much (on the 0–1 scale) in the pass rate, the mean
   * score, or one scorer's mean score, against the previous eval (over the cases both share). Default 0.05.
   */
  threshold?: number;
  /** The model that scores cases with a `rubric` (default the dataset's judge). */
  judge?: ModelSpec;
  /** Recorded on every case run, so `baton resume` and `baton show` can load the target again. */
  source?: string;
  /** Continue an interrupted eval of the same target version and cases (default true); false starts anew. */
  resume?: boolean;
  /** Take over a case run another process still holds, instead of waiting for its lease to run out. */
  force?: boolean;
  /** Record each case's score as an outcome of this `evolving` policy (stream `policy:<name>`). */
  policy?: { name: string; costPenalty?: number };
  /** Called as each case is scored (in the order they finish). */
  onCase?: (result: CaseResult, progress: { done: number; total: number }) => void;
  /** Called when a case run is held by another process and the eval waits for its lease. */
  onWait?: (runId: string, until: number) => void;
}

/** One scored case. */
export interface CaseResult {
  id: string;
  /** The case's own run: `baton show <runId>`. */
  runId: string;
  status: RunRecord['status'];
  /** The run's error message, when it did not complete. */
  error?: string;
  /** By scorer name. */
  scores: Record<string, Score>;
  /** Mean of the scores. */
  score: number;
  /** Every scorer passed. */
  pass: boolean;
  costUsd: number;
  tokens: number;
  durationMs: number;
}

/** Totals of one eval. */
export interface EvalSummary {
  cases: number;
  passed: number;
  passRate: number;
  meanScore: number;
  /** Per scorer: mean score and pass rate over the cases it scored. */
  scorers: Record<string, { cases: number; mean: number; passRate: number }>;
  /** Runs that did not complete (failed, cancelled, over budget, or left suspended). */
  runsNotCompleted: number;
  /** What the case runs cost, and what judging them cost. */
  costUsd: number;
  judgeCostUsd: number;
  tokens: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
}

/** What `runEval()` returns, and what is stored (without `cases`, which are stored one by one). */
export interface EvalReport {
  evalId: string;
  target: string;
  targetVersion: string;
  dataset: string;
  datasetHash: string;
  startedAt: number;
  endedAt: number;
  /** Cases already scored before this call (an interrupted eval resumed). */
  resumedCases: number;
  cases: CaseResult[];
  summary: EvalSummary;
  /** Against the previous eval of the same target and dataset, if there is one. */
  comparison: EvalComparison | undefined;
}

/** A record of the stream `eval:<target>`. */
export type EvalRecord =
  | {
      kind: 'eval-start';
      evalId: string;
      target: string;
      targetVersion: string;
      dataset: string;
      datasetHash: string;
      cases: number;
      startedAt: number;
    }
  | { kind: 'eval-case'; evalId: string; result: CaseResult }
  | ({ kind: 'eval-end' } & Omit<EvalReport, 'cases' | 'comparison'> & {
        comparison?: EvalComparison;
      });

/** Cases that could not be run or scored; the eval stays resumable (run it again). */
export class EvalIncompleteError extends BatonError {
  readonly evalId: string;
  readonly failures: ReadonlyArray<{ caseId: string; message: string }>;
  constructor(evalId: string, failures: ReadonlyArray<{ caseId: string; message: string }>, total: number) {
    const listed = failures
      .slice(0, 5)
      .map((failure) => `  ${failure.caseId}: ${failure.message}`)
      .join('\n');
    super(
      `Eval ${evalId}: ${failures.length} of ${total} cases could not be run or scored (the rest are stored):\n${listed}${failures.length > 5 ? `\n  … and ${failures.length - 5} more` : ''}\nRun the eval again to finish it: scored cases are kept, and finished steps of the case runs are not repeated.`,
      { code: 'EVAL_INCOMPLETE', fault: 'system' },
    );
    this.name = 'EvalIncompleteError';
    this.evalId = evalId;
    this.failures = failures;
  }
}

/** The record stream holding a target's evals. */
export const evalStream = (target: string): string => `eval:${target}`;

/**
 * Runs an eval. Each case runs as its own durable run (`<evalId>:<caseId>`), is scored once,
 * and its result is appended to the stream `eval:<target>` before the next is counted; so an eval
 * that stops (a crash, a failing judge) resumes when called again with the same target version
 * and cases: scored cases are kept, unfinished case runs continue from their journals.
 *
 * @example
 * ```ts
 * const report = await runEval({ runtime, target: support, dataset: refunds, concurrency: 8 });
 * if (report.comparison?.regressed) process.exitCode = 1;
 * ```
 */
export async function runEval(options: EvalOptions): Promise<EvalReport> {
  const { runtime, target, dataset: data } = options;
  if (target === undefined || typeof target.name !== 'string')
    throw new ConfigError('runEval(): target must be a workflow, agent or pattern.', {
      code: 'INVALID_OPTION',
    });
  if (data?.kind !== 'dataset')
    throw new ConfigError('runEval(): dataset must come from dataset() or loadDatasetFile().', {
      code: 'INVALID_OPTION',
    });
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
    throw new ConfigError(`runEval(): concurrency must be an integer from 1 to 256; got ${concurrency}.`, {
      code: 'INVALID_OPTION',
    });
  const threshold = checkUnitInterval(options.threshold ?? 0.05, 'runEval(): threshold');
  // Every case's scorers now, so a rubric without a judge fails before anything runs.
  const scorers = new Map(
    data.cases.map((evalCase) => [evalCase.id, scorersForCase(evalCase, data, options.judge)]),
  );
  // A case run that resumes finds its definition by name (registering the same one again is a no-op).
  runtime.register(target as never);
  const store = await storeOf(runtime);
  const stream = evalStream(target.name);
  const hash = datasetHash(data);
  const history = await readEvalRecords(store, target.name);
  const unfinished =
    options.resume === false
      ? undefined
      : history.starts.findLast(
          (start) =>
            !history.ends.has(start.evalId) &&
            start.dataset === data.name &&
            start.datasetHash === hash &&
            start.targetVersion === target.version,
        );
  const evalId = unfinished?.evalId ?? newEvalId();
  const startedAt = unfinished?.startedAt ?? Date.now();
  if (unfinished === undefined) {
    const start: EvalRecord = {
      kind: 'eval-start',
      evalId,
      target: target.name,
      targetVersion: target.version,
      dataset: data.name,
      datasetHash: hash,
      cases: data.cases.length,
      startedAt,
    };
    await store.appendRecord(stream, start);
  }
  const done = new Map<string, CaseResult>(history.cases.get(evalId) ?? []);
  const resumedCases = data.cases.filter((evalCase) => done.has(evalCase.id)).length;
  const pending = data.cases.filter((evalCase) => !done.has(evalCase.id));
  const failures: Array<{ caseId: string; message: string }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < pending.length) {
      const evalCase = pending[next++]!;
      try {
        const result = await runCase(options, store, evalId, evalCase, scorers.get(evalCase.id)!);
        // The outcome first: outcomes are read once per id, so one recorded again after a crash counts once.
        if (options.policy !== undefined)
          await feedPolicy(store, options.policy, evalId, evalCase, result, target);
        await store.appendRecord(stream, { kind: 'eval-case', evalId, result } satisfies EvalRecord);
        done.set(evalCase.id, result);
        options.onCase?.(result, { done: done.size, total: data.cases.length });
      } catch (error) {
        failures.push({ caseId: evalCase.id, message: errorMessage(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, pending.length)) }, worker));
  if (failures.length > 0) throw new EvalIncompleteError(evalId, failures, data.cases.length);

  const cases = data.cases.map((evalCase) => done.get(evalCase.id)!);
  const summary = summarize(cases);
  const previous = history.ends.size === 0 ? undefined : latestPrevious(history, data.name, evalId);
  const comparison =
    previous === undefined
      ? undefined
      : compareEvals(
          {
            evalId: previous.evalId,
            endedAt: previous.endedAt,
            cases: [...(history.cases.get(previous.evalId) ?? new Map()).values()],
          },
          cases,
          threshold,
        );
  const report: EvalReport = {
    evalId,
    target: target.name,
    targetVersion: target.version,
    dataset: data.name,
    datasetHash: hash,
    startedAt,
    endedAt: Date.now(),
    resumedCases,
    cases,
    summary,
    comparison,
  };
  const { cases: _cases, comparison: _comparison, ...stored } = report;
  await store.appendRecord(stream, {
    kind: 'eval-end',
    ...stored,
    ...(comparison === undefined ? {} : { comparison }),
  } satisfies EvalRecord);
  return report;
}

/** The runtime's store; a default store opens on a runtime's first call, so one call is made first. */
async function storeOf(runtime: Runtime): Promise<Store> {
  await runtime.list({ limit: 1 });
  return runtime.store;
}

function newEvalId(): string {
  return `eval_${Date.now().toString(16)}${Math.floor(Math.random() * 0x1000000)
    .toString(16)
    .padStart(6, '0')}`;
}

/** Starts, resumes or reads the case's run, waits until it ends or suspends, and scores it. */
async function runCase(
  options: EvalOptions,
  store: Store,
  evalId: string,
  evalCase: EvalCase,
  caseScorers: readonly Scorer[],
): Promise<CaseResult> {
  const { runtime } = options;
  const runId = `${evalId}:${evalCase.id}`;
  let record = await store.getRun(runId);
  if (record === undefined) {
    const handle = await runtime
      .start(options.target as never, evalCase.input, {
        runId,
        ...(options.source === undefined ? {} : { source: options.source }),
      })
      .catch(async (error: unknown) => {
        // Another process of the same eval started it first: continue it like any other.
        if (BatonError.isInstance(error) && error.code === 'RUN_EXISTS') return resumeCase(options, runId);
        throw error;
      });
    record = await settle(runtime, handle);
  } else if (!terminalStatuses.has(record.status)) {
    record = await settle(runtime, await resumeCase(options, runId));
  }
  const journal = await store.loadJournal(runId);
  const subject: EvalSubject = {
    case: evalCase,
    input: evalCase.input,
    output: record.status === 'completed' ? record.output : undefined,
    expected: evalCase.expected,
    runId,
    status: record.status,
    error: record.error,
    toolCalls: toolCallsOf(journal),
    usage: record.usage,
    costUsd: record.costUsd,
    durationMs: (record.endedAt ?? Date.now()) - record.createdAt,
    journal,
  };
  const scores: Record<string, Score> = {};
  for (const scorer of caseScorers) {
    if (Object.hasOwn(scores, scorer.name))
      throw new ConfigError(
        `case "${evalCase.id}": two scorers are named "${scorer.name}"; give one another name (name option).`,
        { code: 'INVALID_OPTION' },
      );
    let score: Score;
    try {
      score = await scorer.score(subject, {});
    } catch (error) {
      throw new BatonError(`scorer "${scorer.name}" failed: ${errorMessage(error)}`, {
        code: 'EVAL_INCOMPLETE',
        fault: 'system',
        cause: error,
      });
    }
    scores[scorer.name] = score;
  }
  const values = Object.values(scores);
  return {
    id: evalCase.id,
    runId,
    status: record.status,
    ...(record.error === undefined ? {} : { error: record.error.message }),
    scores,
    score: values.length === 0 ? 0 : values.reduce((sum, score) => sum + score.score, 0) / values.length,
    pass: values.every((score) => score.pass),
    costUsd: record.costUsd,
    tokens: record.usage.totalTokens,
    durationMs: subject.durationMs,
  };
}

/** Continues a case run; one another process holds is waited for until its lease runs out (or taken with `force`). */
async function resumeCase(options: EvalOptions, runId: string): Promise<RunHandle<unknown>> {
  for (;;) {
    try {
      return await options.runtime.resume(runId, { force: options.force === true });
    } catch (error) {
      if (!(error instanceof RunLeasedError)) throw error;
      options.onWait?.(runId, error.leaseExpiresAt);
      await new Promise((resolve) =>
        setTimeout(resolve, Math.max(50, error.leaseExpiresAt - Date.now() + 50)),
      );
    }
  }
}

/** Waits until a run ends or suspends; a run that a late signal woke is continued here. */
async function settle(runtime: Runtime, first: RunHandle<unknown>): Promise<RunRecord> {
  let handle = first;
  for (let attempt = 0; ; attempt++) {
    for await (const _event of handle.events()) {
      // Iterating only waits for the run to end or suspend.
    }
    const record = await runtime.get(handle.runId);
    if (record.status !== 'running' || attempt >= 20) return record;
    await new Promise((resolve) => setTimeout(resolve, 20));
    handle = await runtime.resume(handle.runId);
  }
}

/** The tool calls a run's models asked for, in journal order, with their arguments parsed. */
export function toolCallsOf(journal: readonly JournalEntry[]): ToolCallSeen[] {
  const calls: ToolCallSeen[] = [];
  for (const entry of journal) {
    if (entry.kind !== 'model' || entry.status !== 'completed') continue;
    const asked = (entry.result as { toolCalls?: unknown } | undefined)?.toolCalls;
    if (!Array.isArray(asked)) continue;
    for (const call of asked as Array<{ toolName?: unknown; input?: unknown }>) {
      if (typeof call?.toolName !== 'string') continue;
      let args: unknown = call.input;
      if (typeof args === 'string') {
        try {
          args = args === '' ? {} : JSON.parse(args);
        } catch {
          // Not JSON: the raw text, as the model wrote it.
        }
      }
      calls.push({
        name: call.toolName,
        args,
        ...(typeof entry.meta?.agent === 'string' ? { agent: entry.meta.agent } : {}),
      });
    }
  }
  return calls;
}

/** The totals of scored cases. */
export function summarize(cases: readonly CaseResult[]): EvalSummary {
  const scorers: EvalSummary['scorers'] = {};
  const sums = new Map<string, { total: number; passed: number; cases: number }>();
  let judgeCostUsd = 0;
  for (const result of cases) {
    for (const [name, score] of Object.entries(result.scores)) {
      const sum = sums.get(name) ?? { total: 0, passed: 0, cases: 0 };
      sum.total += score.score;
      sum.passed += score.pass ? 1 : 0;
      sum.cases++;
      sums.set(name, sum);
      judgeCostUsd += score.costUsd ?? 0;
    }
  }
  for (const [name, sum] of [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    scorers[name] = { cases: sum.cases, mean: sum.total / sum.cases, passRate: sum.passed / sum.cases };
  const passed = cases.filter((result) => result.pass).length;
  const latencies = cases.map((result) => result.durationMs).sort((a, b) => a - b);
  return {
    cases: cases.length,
    passed,
    passRate: cases.length === 0 ? 0 : passed / cases.length,
    meanScore: cases.length === 0 ? 0 : cases.reduce((sum, result) => sum + result.score, 0) / cases.length,
    scorers,
    runsNotCompleted: cases.filter((result) => result.status !== 'completed').length,
    costUsd: cases.reduce((sum, result) => sum + result.costUsd, 0),
    judgeCostUsd,
    tokens: cases.reduce((sum, result) => sum + result.tokens, 0),
    latencyP50Ms: quantile(latencies, 0.5) ?? 0,
    latencyP95Ms: quantile(latencies, 0.95) ?? 0,
  };
}

/** A target's eval records, grouped: starts in order, ends by eval, case results by eval (first per case wins). */
interface EvalHistory {
  starts: Array<Extract<EvalRecord, { kind: 'eval-start' }>>;
  ends: Map<string, Extract<EvalRecord, { kind: 'eval-end' }>>;
  cases: Map<string, Map<string, CaseResult>>;
}

async function readEvalRecords(store: Store, target: string): Promise<EvalHistory> {
  const history: EvalHistory = { starts: [], ends: new Map(), cases: new Map() };
  const page = 1000;
  for (let after = 0; ; ) {
    const records = await store.readRecords(evalStream(target), { after, limit: page });
    for (const { data } of records) {
      const record = data as EvalRecord | null;
      if (record?.kind === 'eval-start') history.starts.push(record);
      // Two processes that finish the same eval both store its end: the first counts.
      else if (record?.kind === 'eval-end' && !history.ends.has(record.evalId))
        history.ends.set(record.evalId, record);
      else if (record?.kind === 'eval-case') {
        let byCase = history.cases.get(record.evalId);
        if (byCase === undefined) {
          byCase = new Map();
          history.cases.set(record.evalId, byCase);
        }
        if (!byCase.has(record.result.id)) byCase.set(record.result.id, record.result);
      }
    }
    if (records.length < page) break;
    after = records.at(-1)!.seq;
  }
  return history;
}

function latestPrevious(
  history: EvalHistory,
  datasetName: string,
  evalId: string,
): Extract<EvalRecord, { kind: 'eval-end' }> | undefined {
  let latest: Extract<EvalRecord, { kind: 'eval-end' }> | undefined;
  for (const end of history.ends.values()) {
    if (end.evalId === evalId || end.dataset !== datasetName) continue;
    if (latest === undefined || end.endedAt >= latest.endedAt) latest = end;
  }
  return latest;
}

/**
 * The ended evals of a target, newest first, with their summaries (and comparisons): what
 * `baton eval --history` prints.
 */
export async function evalHistory(
  store: Store,
  target: string,
): Promise<Array<Omit<EvalReport, 'cases'> & { cases: CaseResult[] }>> {
  const history = await readEvalRecords(store, target);
  return [...history.ends.values()]
    .sort((a, b) => b.endedAt - a.endedAt)
    .map((end) => {
      const { kind: _kind, ...rest } = end;
      return {
        ...rest,
        comparison: end.comparison,
        cases: [...(history.cases.get(end.evalId)?.values() ?? [])],
      };
    });
}

/** Appends a case's score as an outcome of an `evolving` policy: the candidate is the target's version. */
async function feedPolicy(
  store: Store,
  policy: { name: string; costPenalty?: number },
  evalId: string,
  evalCase: EvalCase,
  result: CaseResult,
  target: AnyRunnable,
): Promise<void> {
  const outcome: PolicyOutcome = {
    kind: 'outcome',
    id: `${evalId}:${evalCase.id}`,
    runId: result.runId,
    taskType: evalCase.taskType ?? 'default',
    candidate: target.name,
    version: target.version,
    ok: result.status === 'completed',
    score: result.score,
    reward: result.score - (policy.costPenalty ?? 0) * result.costUsd,
    costUsd: result.costUsd,
    tokens: result.tokens,
    durationMs: result.durationMs,
    usageKnown: true,
    mode: 'eval',
    ...(result.error === undefined ? {} : { error: result.error }),
  };
  await store.appendRecord(`policy:${policy.name}`, outcome);
}

/** Run statistics read from a store: completion, latency, tokens, cost, errors and handoffs, overall and by workflow, agent, model or tool. */

import { ConfigError } from '../core/errors.js';
import type { JournalEntry, RunRecord, Store } from '../core/store.js';

/** What rows `runStats` groups by. */
export type StatsDimension = 'workflow' | 'agent' | 'model' | 'tool';

/** Options of `runStats`. */
export interface RunStatsOptions {
  /** Only runs created at or after this time (ms since the epoch). Default: every run. */
  since?: number;
  /** Group rows by this. Default `workflow`. */
  by?: StatsDimension;
  /**
   * Also split the figures into time buckets this many ms wide (aligned to the epoch, so a day
   * is a UTC day): a run counts in the bucket of its creation, a call in the bucket of its start.
   * Default: no buckets. At most 1,000 buckets from `since` (or the first run) to `now`.
   */
  bucketMs?: number;
  /** The end of the last bucket's range (ms since the epoch). Default `Date.now()`. */
  now?: number;
}

/** The figures of one time bucket: runs created (and calls started) in `[start, start + bucketMs)`. */
export interface StatsBucket {
  start: number;
  total: StatsRow;
  rows: StatsRow[];
}

const maxBuckets = 1000;

/** Figures of one group (or of everything): runs for `workflow`, calls for the others. */
export interface StatsRow {
  /** The workflow, agent, model (`provider:model`) or tool; `all` for the totals. */
  key: string;
  /** Runs (by workflow, and in the totals) or calls (model or tool steps). */
  count: number;
  /** Runs (or calls) that ended: completed, failed, cancelled or stopped by their budget. */
  ended: number;
  completed: number;
  failed: number;
  /** Completed ÷ ended (completed, failed, cancelled, budget-exceeded); `null` when none ended. */
  completionRate: number | null;
  /** Milliseconds, over ended runs (or calls); `null` when there are none. */
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  /** Failed ÷ ended; `null` when none ended. */
  errorRate: number | null;
  /** Failures by error class (`user`, `model`, `provider`, `tool`, `system`, `unknown`). */
  errorsByClass: Record<string, number>;
  /** Handoffs made (model calls that transferred the conversation). */
  handoffs: number;
  /** Handoffs in runs that completed ÷ all handoffs; `null` without handoffs. */
  handoffSuccessRate: number | null;
}

/** What `runStats` returns. */
export interface RunStats {
  since: number | undefined;
  by: StatsDimension;
  /** Everything, counted by runs. */
  total: StatsRow;
  /** One row per workflow, agent, model or tool, most runs or calls first. */
  rows: StatsRow[];
  /** With `bucketMs`: every bucket from the first to the last, oldest first, empty ones included. */
  buckets?: StatsBucket[];
  bucketMs?: number;
}

const endedStatuses = new Set(['completed', 'failed', 'cancelled', 'budget-exceeded']);

interface Sample {
  status: 'completed' | 'failed' | 'other' | 'open';
  latencyMs: number | undefined;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  errorClass: string | undefined;
  handoffs: number;
  /** The run these handoffs belong to completed. */
  runCompleted: boolean;
}

/**
 * Statistics of the runs in `store`, read from their records (and journals, for handoffs and
 * for rows by agent, model or tool). Reads every run created since `since`, newest first, a
 * page at a time.
 *
 * @example
 * ```ts
 * const stats = await runStats(store, { since: Date.now() - 86_400_000, by: 'model' });
 * console.log(stats.total.completionRate, stats.rows[0]?.latencyP95Ms);
 * ```
 */
export async function runStats(store: Store, options: RunStatsOptions = {}): Promise<RunStats> {
  const by = options.by ?? 'workflow';
  if (!['workflow', 'agent', 'model', 'tool'].includes(by)) {
    throw new ConfigError(
      `runStats(): by must be workflow, agent, model or tool; got ${JSON.stringify(by)}.`,
      {
        code: 'INVALID_OPTION',
      },
    );
  }
  const bucketMs = options.bucketMs;
  if (bucketMs !== undefined && (!Number.isSafeInteger(bucketMs) || bucketMs < 1000))
    throw new ConfigError(
      `runStats(): bucketMs must be a whole number of ms, 1000 or more; got ${bucketMs}.`,
      {
        code: 'INVALID_OPTION',
      },
    );
  const now = options.now ?? Date.now();
  const runs = await runsSince(store, options.since);
  const totals: Sample[] = [];
  const groups = new Map<string, Sample[]>();
  const bucketTotals = new Map<number, Sample[]>();
  const bucketGroups = new Map<number, Map<string, Sample[]>>();
  const add = (key: string, sample: Sample, time: number) => {
    push(groups, key, sample);
    if (bucketMs === undefined) return;
    const start = Math.floor(time / bucketMs) * bucketMs;
    let bucket = bucketGroups.get(start);
    if (bucket === undefined) {
      bucket = new Map();
      bucketGroups.set(start, bucket);
    }
    push(bucket, key, sample);
  };
  for (const run of runs) {
    const journal = await store.loadJournal(run.id);
    const handoffs = journal.reduce((count, entry) => count + handoffsOf(entry), 0);
    const sample = runSample(run, handoffs);
    totals.push(sample);
    if (bucketMs !== undefined) push(bucketTotals, Math.floor(run.createdAt / bucketMs) * bucketMs, sample);
    if (by === 'workflow') {
      add(run.target, sample, run.createdAt);
      continue;
    }
    for (const entry of journal) {
      const key = keyOf(entry, by);
      if (key !== undefined) add(key, callSample(entry, run.status === 'completed'), entry.startedAt);
    }
  }
  const rows = summarizeGroups(groups);
  const stats: RunStats = { since: options.since, by, total: summarize('all', totals), rows };
  if (bucketMs === undefined) return stats;
  const starts = [...bucketTotals.keys(), ...bucketGroups.keys()];
  const first = Math.floor((options.since ?? Math.min(now, ...starts)) / bucketMs) * bucketMs;
  const last = Math.floor(Math.max(now, ...starts) / bucketMs) * bucketMs;
  const count = (last - first) / bucketMs + 1;
  if (count > maxBuckets)
    throw new ConfigError(
      `runStats(): ${count} buckets of ${bucketMs} ms would be needed (at most ${maxBuckets}): use wider buckets or a later since.`,
      { code: 'INVALID_OPTION' },
    );
  stats.bucketMs = bucketMs;
  stats.buckets = Array.from({ length: count }, (_, index) => {
    const start = first + index * bucketMs;
    return {
      start,
      total: summarize('all', bucketTotals.get(start) ?? []),
      rows: summarizeGroups(bucketGroups.get(start) ?? new Map()),
    };
  });
  return stats;
}

function push<KEY>(map: Map<KEY, Sample[]>, key: KEY, sample: Sample): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [sample]);
  else list.push(sample);
}

function summarizeGroups(groups: ReadonlyMap<string, readonly Sample[]>): StatsRow[] {
  const rows = [...groups].map(([key, samples]) => summarize(key, samples));
  rows.sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  return rows;
}

async function runsSince(store: Store, since: number | undefined): Promise<RunRecord[]> {
  const found: RunRecord[] = [];
  let before: number | undefined;
  for (;;) {
    const page = await store.listRuns(
      before === undefined ? { limit: 500 } : { limit: 500, createdBefore: before },
    );
    for (const run of page) {
      if (since !== undefined && run.createdAt < since) return found;
      found.push(run);
    }
    if (page.length < 500) return found;
    // The next page starts at the last run's millisecond again (a strict bound would skip the
    // runs of that millisecond that did not fit on this page): those read already are dropped.
    const last = page[page.length - 1] as RunRecord;
    if (page.every((run) => run.createdAt === last.createdAt))
      throw new ConfigError(
        'runStats(): more than 500 runs were created in one millisecond; they cannot be paged.',
      );
    before = last.createdAt + 1;
    while (found.length > 0 && (found[found.length - 1] as RunRecord).createdAt === last.createdAt)
      found.pop();
  }
}

/** How many handoffs a journal entry made: a model step whose answer calls `transfer_to_*` tools. */
function handoffsOf(entry: JournalEntry): number {
  if (entry.kind !== 'model' || entry.status !== 'completed') return 0;
  const calls = (entry.result as { toolCalls?: { toolName?: unknown }[] } | undefined)?.toolCalls;
  if (!Array.isArray(calls)) return 0;
  return calls.filter(
    (call) => typeof call?.toolName === 'string' && call.toolName.startsWith('transfer_to_'),
  ).length;
}

function keyOf(entry: JournalEntry, by: StatsDimension): string | undefined {
  const meta = entry.meta;
  if (by === 'tool') return entry.kind === 'tool' && typeof meta?.tool === 'string' ? meta.tool : undefined;
  if (entry.kind !== 'model') return undefined;
  const key = by === 'agent' ? meta?.agent : meta?.model;
  return typeof key === 'string' ? key : undefined;
}

function runSample(run: RunRecord, handoffs: number): Sample {
  return {
    status:
      run.status === 'completed'
        ? 'completed'
        : run.status === 'failed'
          ? 'failed'
          : endedStatuses.has(run.status)
            ? 'other'
            : 'open',
    latencyMs: run.endedAt === undefined ? undefined : run.endedAt - run.createdAt,
    inputTokens: run.usage.inputTokens,
    outputTokens: run.usage.outputTokens,
    costUsd: run.costUsd,
    errorClass: run.status === 'failed' ? (run.error?.fault ?? 'unknown') : undefined,
    handoffs,
    runCompleted: run.status === 'completed',
  };
}

function callSample(entry: JournalEntry, runCompleted: boolean): Sample {
  const usage = entry.meta?.usage;
  return {
    status: entry.status === 'completed' ? 'completed' : 'failed',
    latencyMs: entry.endedAt - entry.startedAt,
    inputTokens: usage?.inputTokens ?? 0,
    outputTokens: usage?.outputTokens ?? 0,
    costUsd: typeof entry.meta?.costUsd === 'number' ? entry.meta.costUsd : 0,
    errorClass: entry.status === 'failed' ? (entry.error?.fault ?? 'unknown') : undefined,
    handoffs: handoffsOf(entry),
    runCompleted,
  };
}

/** The value at quantile `q` of sorted `values` (nearest rank); null when there are none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

function summarize(key: string, samples: readonly Sample[]): StatsRow {
  let completed = 0;
  let failed = 0;
  let ended = 0;
  let inputTokens = 0;
  let outputTokens = 0;
  let costUsd = 0;
  let handoffs = 0;
  let handoffsCompleted = 0;
  const errorsByClass: Record<string, number> = {};
  const latencies: number[] = [];
  for (const sample of samples) {
    if (sample.status !== 'open') ended += 1;
    if (sample.status === 'completed') completed += 1;
    if (sample.status === 'failed') failed += 1;
    if (sample.errorClass !== undefined)
      errorsByClass[sample.errorClass] = (errorsByClass[sample.errorClass] ?? 0) + 1;
    if (sample.latencyMs !== undefined && sample.status !== 'open') latencies.push(sample.latencyMs);
    inputTokens += sample.inputTokens;
    outputTokens += sample.outputTokens;
    costUsd += sample.costUsd;
    handoffs += sample.handoffs;
    if (sample.runCompleted) handoffsCompleted += sample.handoffs;
  }
  latencies.sort((a, b) => a - b);
  return {
    key,
    count: samples.length,
    ended,
    completed,
    failed,
    completionRate: ended === 0 ? null : completed / ended,
    latencyP50Ms: quantile(latencies, 0.5),
    latencyP95Ms: quantile(latencies, 0.95),
    inputTokens,
    outputTokens,
    costUsd,
    errorRate: ended === 0 ? null : failed / ended,
    errorsByClass,
    handoffs,
    handoffSuccessRate: handoffs === 0 ? null : handoffsCompleted / handoffs,
  };
}

/**
 * Milliseconds in a `--since` duration: a number and a unit, `s`, `m`, `h`, `d` or `w` (`24h`,
 * `7d`, `90m`). Throws a `ConfigError` that says what is accepted.
 *
 * @example
 * ```ts
 * parseDuration('24h'); // 86_400_000
 * ```
 */
export function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(text.trim());
  if (match === null)
    throw new ConfigError(
      `"${text}" is not a duration: use a number and a unit, s, m, h, d or w (24h, 7d, 90m).`,
      { code: 'INVALID_OPTION' },
    );
  const units: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
  return Number(match[1]) * (units[match[2] as string] as number);
}

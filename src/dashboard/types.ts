/** What the dashboard reads from the HTTP API, as docs/server.md describes it. */

/** A run's status. */
export type RunStatus = 'running' | 'suspended' | 'completed' | 'failed' | 'cancelled' | 'budget-exceeded';

/** Run statuses, in the order the filter lists them. */
export const runStatuses: readonly RunStatus[] = [
  'running',
  'suspended',
  'completed',
  'failed',
  'cancelled',
  'budget-exceeded',
];

/** Statuses after which a run never changes. */
export const endedStatuses: ReadonlySet<string> = new Set([
  'completed',
  'failed',
  'cancelled',
  'budget-exceeded',
]);

/** Tokens of a run or a step. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** An error as the API serializes it. */
export interface ErrorInfo {
  name: string;
  message: string;
  code?: string;
  [field: string]: unknown;
}

/** A run (`GET /v1/runs/:id`); the change stream sends the same fields with `runId` for `id`. */
export interface Run {
  id: string;
  target: string;
  targetVersion?: string;
  input?: unknown;
  status: RunStatus;
  output?: unknown;
  error?: ErrorInfo;
  threadId?: string;
  source?: string;
  usage: Usage;
  costUsd: number;
  createdAt: number;
  updatedAt: number;
  endedAt?: number;
  wakeAt?: number;
  /** A suspended run: the signals it waits for; `[]` while it only sleeps until `wakeAt`. */
  waitingFor?: string[];
  /** A forked run (`GET /v1/runs/:id`): where it came from. */
  forkedFrom?: ForkOrigin;
}

/** Where a forked run came from: the run, the key of the step it ran again, and that step's position in the run's journal. */
export interface ForkOrigin {
  runId: string;
  at: string;
  step?: number;
}

/** What `POST /v1/runs/:id/replay` reports: whether today's code makes the recorded run again, or where it first differs. */
export interface ReplayReport {
  runId: string;
  identical: boolean;
  recorded: number;
  replayed: number;
  status: string;
  output?: unknown;
  error?: { name: string; message: string; code?: string };
  difference?: { key?: string; recorded?: string; requested?: string; message: string };
}

/** A `run` event of `GET /v1/events`. */
export interface RunChange extends Omit<Run, 'id'> {
  runId: string;
}

/** What a step recorded for display. */
export interface StepMeta {
  agent?: string;
  model?: string;
  tool?: string;
  usage?: Usage;
  costUsd?: number;
  [field: string]: unknown;
}

/** A journal entry (`GET /v1/runs/:id/journal`, or a `step` event with `?content=1`). */
export interface JournalEntry {
  key: string;
  name: string;
  kind: string;
  status: 'completed' | 'failed';
  result?: unknown;
  error?: ErrorInfo;
  startedAt: number;
  endedAt: number;
  meta?: StepMeta;
}

/** A wait a person can answer (`GET /v1/inbox`). */
export interface PendingRequest {
  kind: 'approval' | 'human' | 'signal';
  runId: string;
  target: string;
  signal: string;
  since: number;
  answered: boolean;
  tool?: string;
  toolCallId?: string;
  input?: unknown;
  member?: string;
  prompt?: string;
  deadline?: number;
}

/** A row of `GET /v1/stats`. */
export interface StatsRow {
  key: string;
  count: number;
  ended: number;
  completed: number;
  failed: number;
  completionRate: number | null;
  latencyP50Ms: number | null;
  latencyP95Ms: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number;
  errorRate: number | null;
  errorsByClass: Record<string, number>;
}

/** `GET /v1/stats`. */
export interface Stats {
  since: number | null;
  by: string;
  total: StatsRow;
  rows: StatsRow[];
  /** With `?bucket=`: every bucket, oldest first. */
  bucketMs?: number;
  buckets?: Array<{ start: number; total: StatsRow; rows: StatsRow[] }>;
}

/** A figure before and now (`GET /v1/evals` comparisons). */
export interface Change {
  previous: number;
  current: number;
  delta: number;
}

/** A stored eval (`GET /v1/evals`). */
export interface EvalEntry {
  evalId: string;
  target: string;
  targetVersion: string;
  dataset: string;
  startedAt: number;
  endedAt: number;
  summary: { cases: number; passed: number; passRate: number; meanScore: number; costUsd: number };
  comparison: {
    previousEvalId: string;
    passRate: Change;
    meanScore: Change;
    regressed: boolean;
    reasons: string[];
    regressedCases: Array<{ id: string }>;
    improvedCases: Array<{ id: string }>;
  } | null;
}

/** A served target (`GET /v1/targets`). */
export interface Target {
  name: string;
  kind: string;
  version: string;
}

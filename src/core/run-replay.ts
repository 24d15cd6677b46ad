/**
 * `runtime.replay`: re-executes an ended run against its journal with today's code. No step runs
 * for real (a step the journal does not hold is a divergence), nothing is written to the store,
 * and the report says whether the code still makes the recorded run, or where it first differs.
 */

import type { Budget } from './budget-limits.js';
import { BatonError, type SerializedError } from './errors.js';
import { EventBus } from './events.js';
import type { ExecutionHost } from './execution-host.js';
import { RunExecution } from './run-execution.js';
import type { Runnable } from './runnable.js';
import type { JournalEntry, RunRecord, RunStatus, Store } from './store.js';

/** What `runtime.replay` found. */
export interface ReplayReport {
  runId: string;
  /** True when today's code asked for exactly the recorded steps, in order, and ended as the run did. */
  identical: boolean;
  /** Recorded journal entries, and how many of them the code reached. */
  recorded: number;
  replayed: number;
  /** How the replay ended (`suspended` when the code waited where the run went on). */
  status: RunStatus | 'released';
  output?: unknown;
  error?: SerializedError;
  /** The first difference, when not identical. */
  difference?: {
    /** The journal key where the code asked for something else (absent for a different end). */
    key?: string;
    /** What the journal recorded there, and what the code asked for. */
    recorded?: string;
    requested?: string;
    message: string;
  };
}

/**
 * A store for a replay: reads come from the real store, writes stay in memory (a replay changes
 * nothing), and what would start or signal other runs is refused.
 */
function replayStore(real: Store, record: RunRecord): Store {
  let current = record;
  const refuse = (what: string) =>
    Promise.reject(new BatonError(`A replay does not ${what}.`, { code: 'NON_DETERMINISM', fault: 'user' }));
  return {
    createRun: () => refuse('start runs'),
    getRun: (runId) => (runId === current.id ? Promise.resolve(current) : real.getRun(runId)),
    updateRun: (runId, patch) => {
      if (runId !== current.id) return refuse('change other runs');
      const next: RunRecord = { ...current };
      for (const [field, value] of Object.entries(patch)) {
        if (value === null) delete (next as unknown as Record<string, unknown>)[field];
        else if (value !== undefined) (next as unknown as Record<string, unknown>)[field] = value;
      }
      current = next;
      return Promise.resolve();
    },
    listRuns: (filter) => real.listRuns(filter),
    claimRun: () => Promise.resolve(undefined),
    renewLeases: () => Promise.resolve([]),
    findRecoverable: () => Promise.resolve([]),
    appendJournal: () => Promise.resolve(),
    loadJournal: (runId) => real.loadJournal(runId),
    addSignal: () => refuse('send signals'),
    listSignals: (runId) => real.listSignals(runId),
    appendRecord: () => Promise.resolve(0),
    readRecords: (stream, options) => real.readRecords(stream, options),
    close: () => Promise.resolve(),
  };
}

/** True when two JSON values are the same (object key order aside). */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const other = b as unknown[];
    return a.length === other.length && a.every((item, index) => sameJson(item, other[index]));
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left).filter((key) => left[key] !== undefined);
  if (keys.length !== Object.keys(right).filter((key) => right[key] !== undefined).length) return false;
  return keys.every((key) => sameJson(left[key], right[key]));
}

/** Replays `stored` (an ended run) with `definition` on a copy of its journal; see `runtime.replay`. */
export async function replayRun(
  host: ExecutionHost,
  definition: Runnable,
  stored: RunRecord,
  entries: JournalEntry[],
  budget: Budget | undefined,
): Promise<ReplayReport> {
  const { output: _output, error: _error, endedAt: _endedAt, wakeAt: _wakeAt, ...rest } = stored;
  const record: RunRecord = {
    ...rest,
    status: 'running',
    leaseOwner: host.owner,
    leaseExpiresAt: Number.MAX_SAFE_INTEGER,
  };
  const replayHost: ExecutionHost = {
    store: replayStore(host.store, record),
    clock: host.clock,
    owner: host.owner,
    leaseMs: host.leaseMs,
    events: new EventBus(),
    inlineWaitMs: 0,
    tenant: host.tenant,
    replayOnly: true,
  };
  const execution = new RunExecution(replayHost, record, entries, budget);
  const outcome = await execution.execute(definition, stored.input);
  const { replayed, recorded } = execution.replayProgress;
  const report: ReplayReport = {
    runId: stored.id,
    identical: false,
    recorded,
    replayed,
    status: outcome.status,
  };
  if (outcome.output !== undefined) report.output = outcome.output;
  if (outcome.error !== undefined) report.error = outcome.error;
  const divergence = execution.divergence;
  if (divergence !== undefined) {
    report.difference = {
      key: divergence.key,
      recorded: divergence.expected,
      requested: divergence.actual,
      message: divergence.message,
    };
  } else if (outcome.status !== stored.status) {
    report.difference = {
      message: `The run was recorded ${stored.status}; today's code ends it ${outcome.status}${outcome.error === undefined ? '' : ` (${outcome.error.message})`}.`,
    };
  } else if (!sameJson(outcome.output, stored.output)) {
    report.difference = { message: "Today's code makes the recorded steps but returns another output." };
  } else if (replayed < recorded) {
    report.difference = {
      message: `Today's code ended after ${replayed} of the ${recorded} recorded steps.`,
    };
  } else {
    report.identical = true;
  }
  return report;
}

/** Waits for a run to end or suspend, reporting each step and status change as it happens (for MCP progress notifications). */

import { terminalStatuses } from '../../../core/store.js';
import type { BatonEvent, RunRecord, Runtime } from '../../../index.js';

/** How long a run the store shows as ended may take to announce it here (when this process runs it). */
const settleMs = 250;

/** Reports one step or status change of the followed run. */
export type ProgressReport = (message: string) => void;

/** Options of {@link followRun}. */
export interface FollowOptions {
  signal: AbortSignal;
  pollMs: number;
  report: ProgressReport | undefined;
  /**
   * After a signal: a `suspended` status counts only once the run was seen running again, or
   * after this many ms (a worker may take a while to pick the signal up).
   */
  resumeGraceMs?: number;
  /** The first report, once the run id is known: `run <id> started` (or `signalled`). */
  begins: 'started' | 'signalled';
}

/**
 * Starts or wakes a run with `begin` (which returns its id) and follows it until it ends or
 * suspends; returns its record. This process's events report progress (each step of the run,
 * each status change), listened to before `begin` so none is missed; the store decides when it
 * is over, read on the run's end and suspension events and every `pollMs` (so a run executed by
 * another process or a worker ends too). `signal` stops the wait; the run goes on.
 */
export async function followRun(
  runtime: Runtime,
  begin: () => Promise<string>,
  options: FollowOptions,
): Promise<{ runId: string; record: RunRecord }> {
  const { signal, report } = options;
  let runId: string | undefined;
  /** Events that came while `begin` ran, before the run id was known. */
  let early: BatonEvent[] | undefined = [];
  let resumed = options.resumeGraceMs === undefined;
  let wake: (() => void) | undefined;
  /** The run's end or suspension was announced here (and so were its steps). */
  let settledHere = false;
  const take = (event: BatonEvent) => {
    if (event.runId !== runId) return;
    if (event.type === 'run-start') {
      resumed = true;
      settledHere = false;
    }
    const message = progressMessage(event);
    if (message !== undefined) report?.(message);
    if (event.type === 'run-end' || event.type === 'run-suspended') {
      settledHere = true;
      wake?.();
    }
  };
  const off = runtime.on((event) => {
    if (early !== undefined) early.push(event);
    else take(event);
  });
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      wake = undefined;
    });
  const onAbort = () => wake?.();
  signal.addEventListener('abort', onAbort);
  try {
    runId = await begin();
    report?.(`run ${runId} ${options.begins}`);
    const graceUntil = Date.now() + (options.resumeGraceMs ?? 0);
    const before = early;
    early = undefined;
    for (const event of before) take(event);
    for (;;) {
      const record = await runtime.get(runId);
      if (record.status === 'running') resumed = true;
      const settled =
        terminalStatuses.has(record.status) ||
        (record.status === 'suspended' && (resumed || Date.now() >= graceUntil));
      if (settled) {
        // The store can show the end a moment before this process announces it (and its last
        // steps): wait briefly for that, so every step is reported before the answer.
        if (!settledHere) await pause(settleMs);
        return { runId, record };
      }
      if (signal.aborted) throw signal.reason ?? new Error('aborted');
      await pause(options.pollMs);
    }
  } finally {
    off();
    signal.removeEventListener('abort', onAbort);
  }
}

function progressMessage(event: BatonEvent): string | undefined {
  switch (event.type) {
    case 'run-start':
      return event.resumed ? 'the run resumed' : undefined;
    case 'step-end':
      return `step ${event.name} ${event.status}`;
    case 'run-suspended':
      return event.waitingFor.length > 0
        ? `suspended: waiting for ${event.waitingFor.join(', ')}`
        : 'suspended until a timer';
    case 'run-end':
      return `run ${event.status}`;
    default:
      return undefined;
  }
}

/**
 * Children dispatched as their own runs (`ctx.run(target, input, { distribute: true })` on a
 * runtime with a dispatcher): the child gets its own run record, whose id names its parent, and
 * is executed by whichever worker takes it; the parent waits durably for the signal its end sends.
 */

import { BatonError, deserializeError, type SerializedError } from './errors.js';
import type { RunContext } from './run-context.js';
import type { Runnable } from './runnable.js';
import { type RunStatus, type Store, terminalStatuses } from './store.js';

/** Between a parent's run id and its child's key in the child's run id. */
export const childIdSeparator = '.child.';

/** The parent of a distributed child run, read from its id; `undefined` for any other run. */
export function parentRunOf(runId: string): string | undefined {
  const at = runId.lastIndexOf(childIdSeparator);
  return at > 0 ? runId.slice(0, at) : undefined;
}

/** The signal a distributed child's end sends its parent. */
export function childSignalName(childRunId: string): string {
  return `child:${childRunId}`;
}

/** What a child's end tells its parent (the signal's payload). */
export interface ChildOutcome {
  status: RunStatus;
  output?: unknown;
  error?: SerializedError;
}

/** Starts a child run (stored and dispatched); a child already stored (a replay after a crash) is left as it is. */
export type SpawnChild = (target: Runnable, input: unknown, childRunId: string) => Promise<void>;

/**
 * How long a parent waits for its child's signal before it reads the child's record itself (the
 * signal is lost when a worker dies right after storing the child's end): 5 s, doubling on each
 * look up to 5 minutes, so a lost signal costs seconds and a long child wakes its parent rarely
 * (each look wakes the parent and replays its journal).
 */
export function childRecheckMs(look: number): number {
  return Math.min(5_000 * 2 ** look, 300_000);
}

/**
 * Runs `target` as a child run of its own and waits for its end: one journaled step starts it,
 * then a durable wait (the parent suspends and frees its worker) for the signal the child's end
 * sends, re-reading the child's record after `childRecheckMs` in case that signal was lost.
 * Returns the child's output or throws its error, like an inline child.
 */
export async function runDistributed(
  ctx: RunContext,
  key: string,
  target: Runnable,
  input: unknown,
  spawn: SpawnChild,
  store: Store,
): Promise<unknown> {
  // A run id takes no '#': the key's '#' becomes '_' (keys hold no '_', so ids stay distinct).
  const childRunId = `${ctx.runId}${childIdSeparator}${key.replaceAll('#', '_')}`;
  await ctx.step(`spawn:${target.name}`, () => spawn(target, input, childRunId).then(() => childRunId));
  for (let look = 0; ; look++) {
    try {
      const outcome = await ctx.waitFor<ChildOutcome>(childSignalName(childRunId), {
        timeoutMs: childRecheckMs(look),
      });
      return settle(outcome, childRunId);
    } catch (error) {
      if (!(BatonError.isInstance(error) && error.code === 'WAIT_TIMEOUT')) throw error;
      const stored = await ctx.step(`check:${target.name}`, async (): Promise<ChildOutcome | null> => {
        const record = await store.getRun(childRunId);
        if (record === undefined || !terminalStatuses.has(record.status)) return null;
        const outcome: ChildOutcome = { status: record.status };
        if (record.output !== undefined) outcome.output = record.output;
        if (record.error !== undefined && record.error !== null) outcome.error = record.error;
        return outcome;
      });
      if (stored !== null) return settle(stored, childRunId);
    }
  }
}

function settle(outcome: ChildOutcome, childRunId: string): unknown {
  if (outcome.status === 'completed') return outcome.output ?? null;
  throw deserializeError(
    outcome.error ?? { name: 'Error', message: `Child run ${childRunId} ended ${outcome.status}.` },
    childRunId,
  );
}

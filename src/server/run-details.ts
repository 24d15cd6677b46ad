/** What the API adds to a stored run: the signals a suspended run waits for (none while it only sleeps) and where a forked run came from. */

import { newestWaits, waitsStream } from '../core/wait-payload.js';
import type { ForkOrigin, RunRecord, Runtime, Store } from '../index.js';

/**
 * The signals a suspended run waits for, from the newest record of its waits stream
 * (`approval:<call>`, `human:<member>`, a `waitFor` name, `child:<run>`): `[]` while it waits
 * for none (asleep until `wakeAt`), `undefined` for a run that is not suspended.
 *
 * @example
 * ```ts
 * const waits = await waitingFor(store, run); // [] for a run in ctx.sleep
 * ```
 */
export async function waitingFor(
  store: Store,
  run: Pick<RunRecord, 'id' | 'status'>,
): Promise<string[] | undefined> {
  if (run.status !== 'suspended') return undefined;
  return newestWaits(await store.readRecords(waitsStream(run.id))).map((wait) => wait.signal);
}

/**
 * `record` with `waitingFor` when it is suspended (see {@link waitingFor}).
 *
 * @example
 * ```ts
 * const runs = await Promise.all(page.runs.map((run) => withWaits(store, runView(run))));
 * ```
 */
export async function withWaits<RUN extends Pick<RunRecord, 'id' | 'status'>>(
  store: Store,
  record: RUN,
): Promise<RUN & { waitingFor?: string[] }> {
  const waits = await waitingFor(store, record);
  return waits === undefined ? record : { ...record, waitingFor: waits };
}

/**
 * Where run `runId` was forked from, with the step's position in the origin's journal (read
 * from the origin's journal for an origin recorded without it); `undefined` for a run that was
 * not forked.
 *
 * @example
 * ```ts
 * await forkedFrom(runtime, store, forkId); // { runId: 'run_…', at: 'r#1', step: 2 }
 * ```
 */
export async function forkedFrom(
  runtime: Runtime,
  store: Store,
  runId: string,
): Promise<ForkOrigin | undefined> {
  const origin = await runtime.forkOrigin(runId);
  if (origin === undefined || typeof origin.runId !== 'string' || typeof origin.at !== 'string')
    return undefined;
  const shown: ForkOrigin = { runId: origin.runId, at: origin.at };
  if (typeof origin.step === 'number') shown.step = origin.step;
  else {
    const index = (await store.loadJournal(origin.runId)).findIndex((entry) => entry.key === origin.at);
    if (index !== -1) shown.step = index + 1;
  }
  return shown;
}

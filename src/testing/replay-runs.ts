/** replayRuns(): replay every ended run of a store with today's code, to guard a refactor in a test suite. */

import type { ReplayReport } from '../core/run-replay.js';
import type { Runtime } from '../core/runtime.js';
import { type RunFilter, type RunStatus, terminalStatuses } from '../core/store.js';

/** Options of `replayRuns()`. */
export interface ReplayRunsOptions {
  /** Only runs of this target (a name the runtime has registered). */
  target?: string;
  /** At most this many runs, newest first. Default 1000. */
  limit?: number;
}

/**
 * Replays the ended runs of the runtime's store (newest first) with the definitions registered
 * on it now: no model, tool or step runs and nothing is written. Returns every report; a test
 * asserts they are all `identical`. Keep a store of recorded runs (a SQLite file) in the
 * repository, and a refactor that changes what the code asks for fails the test at the first
 * step that differs.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ store: createSqliteStore({ path: 'test/recorded.db' }), workflows: [support] });
 * const reports = await replayRuns(runtime, { target: 'customer-support' });
 * expect(reports.filter((report) => !report.identical)).toEqual([]);
 * ```
 */
export async function replayRuns(runtime: Runtime, options: ReplayRunsOptions = {}): Promise<ReplayReport[]> {
  const filter: RunFilter = {
    status: [...terminalStatuses] as RunStatus[],
    limit: options.limit ?? 1000,
    ...(options.target === undefined ? {} : { target: options.target }),
  };
  const reports: ReplayReport[] = [];
  for (const run of await runtime.list(filter)) reports.push(await runtime.replay(run.id));
  return reports;
}

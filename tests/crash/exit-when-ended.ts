/** What every test worker process ends with: wait until the run ends (here or in another process), print it, exit. */

import type { Store } from '../../src/core/store.js';
import type { Runtime } from '../../src/index.js';

/**
 * Polls the store until the run is `completed` or `failed`, prints `ENDED <status> <output or
 * error as JSON>`, closes the runtime and exits the process with code 0.
 *
 * @example
 * ```ts
 * await exitWhenEnded(store, runtime, runId);
 * ```
 */
export async function exitWhenEnded(store: Store, runtime: Runtime, runId: string): Promise<never> {
  for (;;) {
    const run = await store.getRun(runId);
    if (run?.status === 'completed' || run?.status === 'failed') {
      process.stdout.write(`ENDED ${run.status} ${JSON.stringify(run.output ?? run.error)}\n`);
      await runtime.close();
      process.exit(0);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

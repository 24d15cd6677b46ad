/**
 * A worker process of the chaos test: takes runs from the queue and executes them on the Postgres
 * store until it is SIGKILLed. Logs every run it sees end to the side-effect log.
 *
 * Arguments: <postgres url> <schema> <log path> <queue> <prefix> <leaseMs>
 */

import { appendFileSync } from 'node:fs';
import type { RunDispatcher } from '../../src/core/dispatch.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/core/runtime.js';
import { createWorker } from '../../src/distributed/redis/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { type ChaosEffect, chaosFlows } from './chaos-flow.js';

const [url, schema, logPath, queue, prefix, leaseMs] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
/**
 * For debugging (BATON_CHAOS_TRACE=<file>): a runtime that appends each dispatch and each
 * `execute` (and how it ended) to the file, one JSON line each.
 */
function tracedRuntime(tracePath: string) {
  const trace = (line: object) =>
    appendFileSync(tracePath, `${JSON.stringify({ pid: process.pid, at: Date.now(), ...line })}\n`);
  return (options: RuntimeOptions): Runtime => {
    const inner = options.dispatcher;
    const dispatcher: RunDispatcher | undefined =
      inner === undefined
        ? undefined
        : {
            dispatch: async (runId, reason, dispatchOptions) => {
              trace({ op: 'dispatch', runId, reason, ...dispatchOptions });
              await inner.dispatch(runId, reason, dispatchOptions);
            },
          };
    const runtime = createRuntime({ ...options, ...(dispatcher === undefined ? {} : { dispatcher }) });
    const execute = runtime.execute.bind(runtime);
    runtime.execute = async (runId) => {
      trace({ op: 'execute', runId });
      try {
        const report = await execute(runId);
        trace({ op: 'executed', runId, status: report.status });
        return report;
      } catch (error) {
        trace({ op: 'execute-error', runId, error: String(error).slice(0, 200) });
        throw error;
      }
    };
    return runtime;
  };
}

const store = createPostgresStore({ connectionString: url, schema, maxConnections: 4 });
const worker = await createWorker({
  redis: 'redis://127.0.0.1:6379',
  queue,
  prefix,
  store,
  workflows: chaosFlows(logPath),
  leaseMs: Number(leaseMs),
  pollIntervalMs: 200,
  inlineWaitMs: 50,
  concurrency: 20,
  ...(process.env.BATON_CHAOS_TRACE === undefined
    ? {}
    : { createRuntime: tracedRuntime(process.env.BATON_CHAOS_TRACE) }),
});
worker.runtime.on((event) => {
  if (event.type !== 'run-end') return;
  const effect: ChaosEffect = {
    pid: process.pid,
    runId: event.runId,
    tag: `run-end:${event.status}`,
    phase: 'end',
    at: Date.now(),
  };
  appendFileSync(logPath, `${JSON.stringify(effect)}\n`);
});
process.stdout.write(`READY ${process.pid}\n`);

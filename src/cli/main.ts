#!/usr/bin/env node
/** The `baton` executable: runs the CLI with the process arguments and exits with its code. */

import { runCli } from './cli.js';

/** With `BATON_OTLP_ENDPOINT` set, runs are traced to that OTLP/HTTP endpoint (flushed before exit). */
async function startTracing(): Promise<(() => Promise<void>) | undefined> {
  const endpoint = process.env.BATON_OTLP_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return undefined;
  const { startOtlpTracing } = await import('../observability/otlp.js');
  const tracing = await startOtlpTracing(endpoint);
  return () =>
    tracing.shutdown().catch((error: unknown) => {
      process.stderr.write(`baton: could not export traces to ${tracing.url}: ${String(error)}\n`);
    });
}

let code: number;
let stopTracing: (() => Promise<void>) | undefined;
try {
  stopTracing = await startTracing();
  code = await runCli(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`baton: ${error instanceof Error ? error.message : String(error)}\n`);
  code = 2;
}
await stopTracing?.();
// Let buffered output reach a pipe before exiting (process.exit would cut it short).
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

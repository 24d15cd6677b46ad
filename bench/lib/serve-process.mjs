// The server process of the serve bench: `baton serve`'s API (createServer + listen) on a SQLite
// store in a temp folder, serving `paced` (a workflow of STEPS steps that each wait STEP_MS), with
// one API key. Prints `READY <url> <key>` once it listens; answers `CPU` on stdin with the CPU ms
// used so far and its event loop's delay p99 and max (ms) since the previous `CPU`; exits on SIGTERM or when stdin closes (the bench went away).
//
// Usage: node serve-process.mjs <json options>   { port, steps, stepMs }
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const options = JSON.parse(process.argv[2]);
const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const { createRuntime, workflow } = await dist('index.js');
const { createSqliteStore } = await dist('stores/sqlite/index.js');
const { createApiKey, createServer, listen } = await dist('server/index.js');

const folder = mkdtempSync(join(tmpdir(), 'baton-serve-bench-'));
const store = createSqliteStore({ path: join(folder, 'baton.db') });
const runtime = createRuntime({ store, recover: false });
const paced = workflow({ name: 'paced' }, async (ctx, input) => {
  for (let step = 0; step < options.steps; step++)
    await ctx.step(
      `step-${step}`,
      () => new Promise((resolve) => setTimeout(() => resolve(step), options.stepMs)),
    );
  return input;
});
const { key } = await createApiKey(store, { scopes: ['read', 'run'] });
const abort = new AbortController();
const app = createServer({ runtime, targets: [paced], signal: abort.signal, keyCacheMs: 60_000 });
const server = await listen(app, { port: options.port, hostname: '127.0.0.1' });
process.stdout.write(`READY ${server.url} ${key}\n`);

let stopping;
const stop = () => {
  stopping ??= (async () => {
    setTimeout(() => process.exit(1), 10_000).unref();
    abort.abort();
    await server.close();
    await runtime.close();
    await store.close();
    rmSync(folder, { recursive: true, force: true });
    process.exit(0);
  })();
  return stopping;
};
process.on('SIGTERM', () => void stop());
process.stdin.on('end', () => void stop());
process.stdin.on('error', () => void stop());
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
process.stdin.on('data', (chunk) => {
  if (!String(chunk).includes('CPU')) return;
  const cpu = process.cpuUsage();
  process.stdout.write(
    `CPUNOW ${(cpu.user + cpu.system) / 1000} ${loop.percentile(99) / 1e6} ${loop.max / 1e6}\n`,
  );
  loop.reset();
});

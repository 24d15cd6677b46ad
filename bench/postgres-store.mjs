// `node bench/postgres-store.mjs [postgres-url]` (after `npm run build`): the Postgres store against
// SQLite in one process. Prints µs per run one at a time (a workflow of 3 steps) on each store and
// their ratio, interleaved in rounds so machine load hits both alike, then transactions per journal
// entry with 100 runs in flight. Needs a Postgres server (default: the local test server).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRuntime, workflow } from '../dist/index.js';
import { createPostgresStore } from '../dist/stores/postgres/index.js';
import { createSqliteStore } from '../dist/stores/sqlite/index.js';

const url =
  process.argv[2] ?? process.env.BATON_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `baton_bench_${process.pid}`;
const folder = mkdtempSync(path.join(tmpdir(), 'baton-bench-pg-'));

const flow = workflow({ name: 'three-steps', version: '1' }, async (ctx, input) => {
  const a = await ctx.step('a', async () => input + 1);
  const b = await ctx.step('b', async () => a * 2);
  return ctx.step('c', async () => b - 1);
});

const postgres = createPostgresStore({ connectionString: url, schema });
const postgresAsync = createPostgresStore({ connectionString: url, schema, synchronousCommit: 'off' });
const sqlite = createSqliteStore({ path: path.join(folder, 'baton.db') });
const sqliteFull = createSqliteStore({ path: path.join(folder, 'baton.db'), synchronous: 'FULL' });
const stores = {
  postgres,
  'postgres (synchronousCommit off)': postgresAsync,
  sqlite,
  'sqlite (FULL)': sqliteFull,
};
const runtimes = Object.fromEntries(
  Object.entries(stores).map(([name, store]) => [
    name,
    createRuntime({ store, workflows: [flow], recover: false }),
  ]),
);

async function oneAtATime(runtime, runs) {
  const started = process.hrtime.bigint();
  for (let index = 0; index < runs; index++) await (await runtime.start(flow, index)).result();
  return Number(process.hrtime.bigint() - started) / 1000 / runs;
}

try {
  for (const runtime of Object.values(runtimes)) await oneAtATime(runtime, 50); // warm up
  const samples = Object.fromEntries(Object.keys(runtimes).map((name) => [name, []]));
  const transactionsBefore = postgres.stats.transactions;
  for (let round = 0; round < 5; round++) {
    for (const [name, runtime] of Object.entries(runtimes))
      samples[name].push(await oneAtATime(runtime, 100));
  }
  const perRun = (postgres.stats.transactions - transactionsBefore) / 500;
  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const base = median(samples.sqlite);
  for (const [name, values] of Object.entries(samples)) {
    const value = median(values);
    console.log(
      `one run at a time (3 steps), ${name}: ${value.toFixed(0)} µs/run, ${(value / base).toFixed(2)}x sqlite`,
    );
  }
  console.log(`postgres: ${perRun.toFixed(1)} transactions per run one at a time`);

  // A journaled write (appendJournal, fenced, alone) against a bare INSERT of the same bytes in its own transaction.
  const pg = await import('pg');
  const bare = new pg.default.Pool({ connectionString: url, max: 1 });
  await bare.query(
    `CREATE TABLE "${schema}".bare (run_id text, key text, name text, kind text, status text, result text, started_at double precision, ended_at double precision)`,
  );
  const now = Date.now();
  await postgres.createRun({
    id: 'bench',
    target: 'x',
    targetVersion: '1',
    input: null,
    status: 'running',
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    createdAt: now,
    updatedAt: now,
    schemaVersion: 1,
    leaseOwner: 'bench',
    leaseExpiresAt: now + 3_600_000,
  });
  const result = { answer: 'x'.repeat(200) };
  const writes = { journaled: [], bare: [] };
  for (let round = 0; round < 5; round++) {
    let started = process.hrtime.bigint();
    for (let index = 0; index < 100; index++)
      await postgres.appendJournal(
        {
          runId: 'bench',
          key: `r#${round}.${index}`,
          name: 'step',
          kind: 'step',
          status: 'completed',
          result,
          startedAt: now,
          endedAt: now,
        },
        { owner: 'bench', now: Date.now() },
      );
    writes.journaled.push(Number(process.hrtime.bigint() - started) / 1000 / 100);
    started = process.hrtime.bigint();
    for (let index = 0; index < 100; index++)
      await bare.query(`INSERT INTO "${schema}".bare VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, [
        'bench',
        `r#${round}.${index}`,
        'step',
        'step',
        'completed',
        JSON.stringify(result),
        now,
        now,
      ]);
    writes.bare.push(Number(process.hrtime.bigint() - started) / 1000 / 100);
  }
  await bare.end();
  const journaled = median(writes.journaled);
  const bareInsert = median(writes.bare);
  console.log(
    `journaled write ${journaled.toFixed(0)} µs, bare INSERT in its own transaction ${bareInsert.toFixed(0)} µs: ${(journaled / bareInsert).toFixed(2)}x`,
  );

  const before = { ...postgres.stats };
  const handles = await Promise.all(
    Array.from({ length: 100 }, (_, index) => runtimes.postgres.start(flow, index)),
  );
  await Promise.all(handles.map((handle) => handle.result()));
  const entries = postgres.stats.journalEntries - before.journalEntries;
  const transactions = postgres.stats.transactions - before.transactions;
  console.log(
    `100 runs in flight: ${entries} journal entries, ${transactions} transactions, ${(transactions / entries).toFixed(3)} transactions per entry`,
  );
} finally {
  for (const runtime of Object.values(runtimes)) await runtime.close();
  await sqlite.close();
  await sqliteFull.close();
  await postgresAsync.close();
  const { default: pgDriver } = await import('pg');
  const admin = new pgDriver.Pool({ connectionString: url, max: 1 });
  await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await admin.end();
  await postgres.close();
  rmSync(folder, { recursive: true, force: true });
}

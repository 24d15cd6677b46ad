// The lower bounds of a Baton run on SQLite, against the durable floor of the baton-sqlite case,
// timed interleaved in one process (medians of 7 rounds of 1,000 runs):
// - floor: the floor's three journal rows, each in its own transaction (WAL, synchronous NORMAL);
// - ideal: the same three rows plus a run row created in its own transaction before them and
//   ended in the last row's transaction, on the fewest pages possible (a WITHOUT ROWID run table
//   with no secondary index), and no framework code at all (4 transactions);
// - ideal3: the same, with the run row created in the first row's transaction (3 transactions,
//   as Baton stores a new run with its first step since ADR 0002's third revision);
// - memory: the bench's agent on the memory store (the framework's own work per run);
// - sqlite: the bench's agent on createSqliteStore().
// ideal + memory is what a run on SQLite would cost if the store added nothing but its
// transactions and pages. Usage: npm run build && node bench/prof-sqlite.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { baton, batonSqlite, createBatonAgent, Database } from './lib/baton-agent.mjs';

const directory = mkdtempSync(join(tmpdir(), 'baton-prof-sqlite-'));

function open(name) {
  const db = new Database(join(directory, name));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 4000'); // the store's setting (sqlite-store.ts)
  db.exec(
    'CREATE TABLE steps (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, key TEXT NOT NULL, payload TEXT, UNIQUE (run_id, key))',
  );
  db.exec('CREATE TABLE runs (id TEXT PRIMARY KEY, body TEXT, status TEXT) WITHOUT ROWID');
  return db;
}

const store = batonSqlite.createSqliteStore({ path: join(directory, 'baton.db') });
const onSqlite = createBatonAgent(store);
const inMemory = createBatonAgent(baton.createMemoryStore());
const sampleRun = await onSqlite.runOnce();
const runJson = JSON.stringify(await onSqlite.runtime.get(sampleRun));
const payloads = (await onSqlite.runtime.journal(sampleRun)).map((entry) => JSON.stringify(entry));

const floorDb = open('floor.db');
const floorInsert = floorDb.prepare('INSERT INTO steps (run_id, key, payload) VALUES (?, ?, ?)');
let floorRuns = 0;
const floor = async () => {
  const runId = `run_${++floorRuns}`;
  for (let step = 0; step < 3; step++) {
    await null;
    floorInsert.run(runId, `s#${step}`, payloads[step]);
  }
};

const idealDb = open('ideal.db');
const idealInsert = idealDb.prepare('INSERT INTO steps (run_id, key, payload) VALUES (?, ?, ?)');
const createRun = idealDb.prepare('INSERT INTO runs (id, body, status) VALUES (?, ?, ?)');
const endRun = idealDb.prepare("UPDATE runs SET status = 'completed', body = ? WHERE id = ?");
const lastStepAndEnd = idealDb.transaction((runId) => {
  idealInsert.run(runId, 's#2', payloads[2]);
  endRun.run(runJson, runId);
});
const firstStepAndCreate = idealDb.transaction((runId) => {
  createRun.run(runId, runJson, 'running');
  idealInsert.run(runId, 's#0', payloads[0]);
});
const ideal3 = async () => {
  const runId = `run_${++idealRuns}`;
  await null;
  firstStepAndCreate.immediate(runId);
  await null;
  idealInsert.run(runId, 's#1', payloads[1]);
  await null;
  lastStepAndEnd.immediate(runId);
};
let idealRuns = 0;
const ideal = async () => {
  const runId = `run_${++idealRuns}`;
  createRun.run(runId, runJson, 'running');
  await null;
  idealInsert.run(runId, 's#0', payloads[0]);
  await null;
  idealInsert.run(runId, 's#1', payloads[1]);
  await null;
  lastStepAndEnd.immediate(runId);
};

async function time(runOnce, runs) {
  const started = process.hrtime.bigint();
  for (let index = 0; index < runs; index++) await runOnce();
  return Number(process.hrtime.bigint() - started) / 1000 / runs;
}

const subjects = { floor, ideal, ideal3, memory: inMemory.runOnce, sqlite: onSqlite.runOnce };
for (let index = 0; index < 1000; index++) for (const runOnce of Object.values(subjects)) await runOnce();
const samples = Object.fromEntries(Object.keys(subjects).map((name) => [name, []]));
for (let round = 0; round < 7; round++)
  for (const [name, runOnce] of Object.entries(subjects)) samples[name].push(await time(runOnce, 1000));
const median = (values) => [...values].sort((left, right) => left - right)[values.length >> 1];
const floorUs = median(samples.floor);
for (const name of Object.keys(subjects))
  console.log(
    `${name.padEnd(8)} ${median(samples[name]).toFixed(1)} µs  ÷ floor ${(median(samples[name]) / floorUs).toFixed(3)}`,
  );
for (const ideal of ['ideal', 'ideal3'])
  console.log(
    `${ideal} + memory ÷ floor ${((median(samples[ideal]) + median(samples.memory)) / floorUs).toFixed(3)}`,
  );
await onSqlite.runtime.close();
await inMemory.runtime.close();
await store.close();
floorDb.close();
idealDb.close();
rmSync(directory, { recursive: true, force: true });

// The SQLite statements one Baton run makes, without the runtime, against the durable floor of the
// baton-sqlite case: the store's own schema (migrate) and prepared statements from a build, driven
// as the bench's agent drives them (a new run created with its first step in one transaction, the
// tool step alone, the last step with the run's end; the appends lease-fenced), interleaved with the
// floor's three rows in one process. Reports WAL frames per run (load-independent) and, per run,
// the wall and the process's CPU time (medians of 9 rounds of 2,000 runs).
//
//   npm run build && node bench/prof-sqlite-statements.mjs
//   BATON_AB_DIST=/path/to/other/dist node bench/prof-sqlite-statements.mjs   # another build's schema
//   PROF_VARIANT=journal-only ...      the three journal rows only (no run row, unfenced)
//   PROF_VARIANT=no-run-indexes ...    the run row without runs_by_created and runs_running_by_lease
//                                      (what they cost; listRuns and recovery need them)
//   PROF_VARIANT=folded ...            not the store's tables: a prototype layout with the run record
//                                      folded into the journal (a row of the journal table with key '',
//                                      whose pages the run writes anyway; the run indexes partial on it)
//   PROF_INPUT_BYTES=2000 ...          a run input of that many bytes instead of the bench's prompt
//
// The statements are called with the arguments the store binds (sqlite-store.ts): a build whose
// statements take other arguments needs this file changed with it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Database } from './lib/baton-agent.mjs';

const dist = process.env.BATON_AB_DIST ?? new URL('../dist', import.meta.url).pathname;
const load = (file) => import(pathToFileURL(join(dist, 'stores/sqlite', file)).href);
const { migrate } = await load('sqlite-schema.js');
const { prepareStatements } = await load('sqlite-statements.js');
const { journalParams, patchValues, runParams } = await load('sqlite-rows.js');
const variant = process.env.PROF_VARIANT ?? 'run';
const input = process.env.PROF_INPUT_BYTES
  ? 'x'.repeat(Number(process.env.PROF_INPUT_BYTES))
  : 'What is 2 + 3?';

const directory = mkdtempSync(join(tmpdir(), 'baton-prof-statements-'));
function open(name) {
  const db = new Database(join(directory, name));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 4000'); // the store's setting (sqlite-store.ts)
  return db;
}

// Baton's side: the bench agent's three entries (model, tool, model) and its run record.
let db = open('baton.db');
migrate(db, join(directory, 'baton.db'));
if (variant === 'no-run-indexes') db.exec('DROP INDEX runs_by_created; DROP INDEX runs_running_by_lease;');
const statements = prepareStatements(db);
const inTransaction = db.transaction((write) => write());
const usage = { inputTokens: 12, outputTokens: 3, totalTokens: 15 };
const toolCall = { text: '', toolCalls: [{ toolCallId: 'call_1', toolName: 'add', input: '{"a":2,"b":3}' }] };
const modelResult = {
  ...toolCall,
  finishReason: 'tool-calls',
  usage,
  cachedInputTokens: 0,
  model: 'fake:fake',
};
const answer = { ...modelResult, text: '5', toolCalls: [], finishReason: 'stop' };
const modelMeta = { agent: 'calculator', agentVersion: '1', model: 'fake:fake', usage, costUsd: 0 };
const owner = 'host:1234:5f2c';
let batonRuns = 0;
let batonRun = () => {
  const now = Date.now();
  const id = `run_${now.toString(16)}5f2c00aa11bb22cc${(batonRuns++).toString(16)}`;
  const entry = (key, kind, name, result, meta) => ({
    runId: id,
    key,
    name,
    kind,
    status: 'completed',
    startedAt: now,
    endedAt: now,
    result,
    meta,
  });
  const first = entry('r#0', 'model', 'model:calculator', modelResult, modelMeta);
  const tool = entry('r#1', 'tool', 'tool:add', 5, { agent: 'calculator', tool: 'add' });
  const last = entry('r#2', 'model', 'model:calculator', answer, modelMeta);
  if (variant === 'journal-only') {
    for (const each of [first, tool, last]) statements.insertJournal.run(...journalParams(each));
    return;
  }
  const append = (each) => statements.insertJournalFenced.run(...journalParams(each), id, owner, now);
  const run = {
    id,
    target: 'calculator',
    targetVersion: '1',
    input,
    status: 'running',
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    createdAt: now,
    updatedAt: now,
    schemaVersion: 1,
    leaseOwner: owner,
    leaseExpiresAt: now + 30_000,
  };
  inTransaction.immediate(() => {
    statements.insertRun.run(...runParams(run));
    append(first);
  });
  append(tool);
  inTransaction.immediate(() => {
    append(last);
    const values = [];
    const patch = {
      status: 'completed',
      output: '5',
      usage,
      endedAt: now,
      leaseOwner: null,
      leaseExpiresAt: null,
    };
    statements.updateStatement(patchValues(patch, values), true).run(...values, now, id, owner, now);
  });
};

// The folded prototype: the same three transactions, the run's row is the journal row with key ''.
if (variant === 'folded') {
  const folded = open('folded.db');
  folded.exec(`
    CREATE TABLE journal (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, key TEXT NOT NULL, name TEXT NOT NULL,
      kind TEXT NOT NULL, status TEXT NOT NULL, payload TEXT, created_at INTEGER, started_at INTEGER NOT NULL,
      ended_at INTEGER NOT NULL, lease_owner TEXT, lease_expires_at INTEGER, UNIQUE (run_id, key));
    CREATE INDEX runs_by_created ON journal (created_at, run_id) WHERE key = '';
    CREATE INDEX runs_running_by_lease ON journal (status, lease_expires_at, lease_owner)
      WHERE key = '' AND status = 'running';`);
  const insertHeader = folded.prepare(
    `INSERT INTO journal (run_id, key, name, kind, status, payload, created_at, started_at, ended_at, lease_owner, lease_expires_at)
     VALUES (?, '', 'run', 'run', 'running', ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
  );
  const insertFenced = folded.prepare(
    `INSERT INTO journal (run_id, key, name, kind, status, payload, started_at, ended_at)
     SELECT ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (
       SELECT 1 FROM journal WHERE run_id = ? AND key = '' AND lease_owner = ? AND lease_expires_at > ?)
     ON CONFLICT DO NOTHING`,
  );
  const endHeader = folded.prepare(
    `UPDATE journal SET status = 'completed', payload = ?, ended_at = ?, lease_owner = NULL, lease_expires_at = NULL
     WHERE run_id = ? AND key = '' AND lease_owner = ? AND lease_expires_at > ?`,
  );
  const inFolded = folded.transaction((write) => write());
  let foldedRuns = 0;
  const foldedRun = () => {
    const now = Date.now();
    const id = `run_${now.toString(16)}5f2c00aa11bb22cc${(foldedRuns++).toString(16)}`;
    const append = (key, kind, result, meta) =>
      insertFenced.run(
        id,
        key,
        `${kind}:x`,
        kind,
        'completed',
        JSON.stringify({ result, meta }),
        now,
        now,
        id,
        owner,
        now,
      );
    const record = { target: 'calculator', targetVersion: '1', input, usage, costUsd: 0, schemaVersion: 1 };
    inFolded.immediate(() => {
      insertHeader.run(id, JSON.stringify(record), now, now, now, owner, now + 30_000);
      append('r#0', 'model', modelResult, modelMeta);
    });
    append('r#1', 'tool', 5, { agent: 'calculator', tool: 'add' });
    inFolded.immediate(() => {
      append('r#2', 'model', answer, modelMeta);
      endHeader.run(JSON.stringify({ ...record, output: '5' }), now, id, owner, now);
    });
  };
  batonRun = foldedRun;
  db.close();
  db = folded;
}

// The floor of the baton-sqlite case: three rows of the same bytes, each in its own transaction.
const floorDb = open('floor.db');
floorDb.exec(
  'CREATE TABLE steps (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, key TEXT NOT NULL, payload TEXT, UNIQUE (run_id, key))',
);
const floorInsert = floorDb.prepare('INSERT INTO steps (run_id, key, payload) VALUES (?, ?, ?)');
const payloads = [modelResult, 5, answer].map((result, index) =>
  JSON.stringify({ runId: 'run_x', key: `r#${index}`, result, meta: index === 1 ? {} : modelMeta }),
);
let floorRuns = 0;
function floorRun() {
  const runId = `run_${++floorRuns}`;
  for (let step = 0; step < 3; step++) floorInsert.run(runId, `s#${step}`, payloads[step]);
}

function framesPerRun(database, runOnce, runs = 100) {
  database.pragma('wal_checkpoint(TRUNCATE)');
  for (let index = 0; index < runs; index++) runOnce();
  return database.pragma('wal_checkpoint(PASSIVE)')[0].log / runs;
}

for (let index = 0; index < 2000; index++) {
  batonRun();
  floorRun();
}
const frames = { baton: framesPerRun(db, batonRun), floor: framesPerRun(floorDb, floorRun) };
const samples = { baton: { wall: [], cpu: [] }, floor: { wall: [], cpu: [] } };
for (let round = 0; round < 9; round++) {
  for (const [name, runOnce] of [
    ['baton', batonRun],
    ['floor', floorRun],
  ]) {
    const cpu = process.cpuUsage();
    const started = process.hrtime.bigint();
    for (let index = 0; index < 2000; index++) runOnce();
    samples[name].wall.push(Number(process.hrtime.bigint() - started) / 1000 / 2000);
    const { user, system } = process.cpuUsage(cpu);
    samples[name].cpu.push((user + system) / 2000);
  }
}
const median = (values) => [...values].sort((left, right) => left - right)[values.length >> 1];
console.log(`variant ${variant}, input ${input.length} bytes, build ${dist}`);
for (const measure of ['wall', 'cpu']) {
  const baton = median(samples.baton[measure]);
  const floor = median(samples.floor[measure]);
  console.log(
    `${measure.padEnd(4)} µs per run: statements ${baton.toFixed(1)}, floor ${floor.toFixed(1)}, ÷ floor ${(baton / floor).toFixed(2)}`,
  );
}
console.log(`WAL frames per run: statements ${frames.baton.toFixed(2)}, floor ${frames.floor.toFixed(2)}`);
db.close();
floorDb.close();
rmSync(directory, { recursive: true, force: true });

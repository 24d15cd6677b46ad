// Baton on the Postgres store (batonjs/postgres) against the local server: the add agent one run
// at a time, a journaled write against a bare INSERT of the same bytes in its own transaction, and
// transactions per journal entry with 100 runs in flight. One fresh schema, dropped at close.
import { pathToFileURL } from 'node:url';
import { createBatonAgent } from '../lib/baton-agent.mjs';
import { benchPool, dropSchema, freshSchema, POSTGRES_URL, serverOf } from '../lib/postgres-bench.mjs';

export const name = 'baton-postgres';
export const kind = 'subject';
export const description =
  'The same agent on createPostgresStore() (local server, default synchronous_commit on, a fresh schema). Extra metrics: a journaled write (appendJournal, lease-fenced, one at a time) against a bare INSERT of the same bytes into a table like the journal (same indexes), each in its own transaction and a prepared statement, interleaved write by write, medians of 1,000 each; transactions per journal entry with 100 runs in flight, from the store counters.';
export const importSpecifiers = ['../../dist/index.js', '../../dist/stores/postgres/index.js'];
export const packages = ['pg'];
export const localServers = [serverOf(POSTGRES_URL, 5432)];

/** A journaled write may cost at most this many bare INSERTs (issue 11). */
export const WRITE_LIMIT = 1.5;

const dist = (file) => import(pathToFileURL(new URL(`../../dist/${file}`, import.meta.url).pathname).href);
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** JSON text of a column, as the stores write it (`undefined` is SQL NULL). */
const toJson = (value) => (value === undefined ? null : (JSON.stringify(value) ?? null));

/** A journal entry's column values, in the journal table's order: the same bytes the store writes. */
const journalParams = (entry) => [
  entry.runId,
  entry.key,
  entry.name,
  entry.kind,
  entry.status,
  toJson(entry.result),
  toJson(entry.error),
  entry.startedAt,
  entry.endedAt,
  toJson(entry.meta),
];

/**
 * Journaled write vs bare INSERT, interleaved write by write (`pairs` of each, the order inside
 * a pair alternating) so machine load hits both alike; the median of each side's per-write times.
 * Both sides use a prepared statement, as the store does.
 */
async function writeRatio(store, schema, { pairs }) {
  const now = Date.now();
  const runId = 'bench-writes';
  await store.createRun({
    id: runId,
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
  const bare = benchPool();
  await bare.query(`CREATE TABLE "${schema}".bare (LIKE "${schema}".journal INCLUDING ALL)`);
  const insert = {
    name: 'bench_bare_insert',
    text: `INSERT INTO "${schema}".bare (run_id, key, name, kind, status, result, error, started_at, ended_at, meta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
  };
  // What a model step journals: a message with some text and usage.
  const result = {
    message: { role: 'assistant', content: [{ type: 'text', text: 'x'.repeat(200) }] },
    usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15 },
  };
  const entry = (key) => ({
    runId,
    key,
    name: 'model',
    kind: 'model',
    status: 'completed',
    result,
    startedAt: now,
    endedAt: now,
  });
  const journaled = async (key) => {
    const started = process.hrtime.bigint();
    await store.appendJournal(entry(key), { owner: 'bench', now: Date.now() });
    return Number(process.hrtime.bigint() - started) / 1000;
  };
  const bareInsert = async (key) => {
    const started = process.hrtime.bigint();
    await bare.query({ ...insert, values: journalParams(entry(key)) });
    return Number(process.hrtime.bigint() - started) / 1000;
  };
  try {
    const warmUp = 50;
    for (let index = 0; index < warmUp; index++) {
      await journaled(`w#${index}`);
      await bareInsert(`w#${index}`);
    }
    const samples = { journaled: [], bare: [] };
    for (let index = 0; index < pairs; index++) {
      if (index % 2 === 0) {
        samples.journaled.push(await journaled(`j#${index}`));
        samples.bare.push(await bareInsert(`b#${index}`));
      } else {
        samples.bare.push(await bareInsert(`b#${index}`));
        samples.journaled.push(await journaled(`j#${index}`));
      }
    }
    const { rows } = await bare.query(`SELECT count(*)::int AS n FROM "${schema}".bare`);
    if (rows[0].n !== warmUp + pairs) throw new Error(`baton-postgres: ${rows[0].n} bare rows`);
    return { journaled: median(samples.journaled), bare: median(samples.bare), pairs };
  } finally {
    await bare.end();
  }
}

/** `inFlight` runs of the agent started together; journal entries and transactions from the store's counters. */
async function inFlightCounts(store, runOnce, inFlight) {
  const before = { ...store.stats };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: inFlight }, runOnce));
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const entries = store.stats.journalEntries - before.journalEntries;
  const transactions = store.stats.transactions - before.transactions;
  const writes = store.stats.queuedWrites - before.queuedWrites;
  const statements = store.stats.statements - before.statements;
  return { ms, entries, transactions, writes, statements };
}

export async function setup() {
  const { createPostgresStore } = await dist('stores/postgres/index.js');
  const schema = freshSchema('pg');
  const store = createPostgresStore({ connectionString: POSTGRES_URL, schema });
  await store.open();
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(store);
  let writesPerRun;
  let counted = 0;
  let transactionsBefore = 0;
  let writesBefore = 0;
  return {
    runOnce: async () => {
      if (counted === 0) {
        transactionsBefore = store.stats.transactions;
        writesBefore = store.stats.queuedWrites;
      }
      await runOnce();
      counted += 1;
    },
    toolCalls,
    modelCalls,
    metrics: async () => {
      writesPerRun = {
        transactions: (store.stats.transactions - transactionsBefore) / counted,
        writes: (store.stats.queuedWrites - writesBefore) / counted,
      };
      const quick = process.argv.includes('quick');
      const ratio = await writeRatio(store, schema, { pairs: quick ? 200 : 1_000 });
      const flight = await inFlightCounts(store, runOnce, 100);
      return {
        'one run at a time: store writes per run': writesPerRun.writes,
        'one run at a time: transactions per run': writesPerRun.transactions,
        'journaled write µs (appendJournal, fenced, alone)': ratio.journaled,
        'bare INSERT of the same bytes, own transaction, µs': ratio.bare,
        'journaled write ÷ bare INSERT': ratio.journaled / ratio.bare,
        'write pairs timed (interleaved, medians)': ratio.pairs,
        '100 runs in flight: wall ms': flight.ms,
        '100 runs in flight: journal entries': flight.entries,
        '100 runs in flight: store writes': flight.writes,
        '100 runs in flight: transactions': flight.transactions,
        '100 runs in flight: statements': flight.statements,
        '100 runs in flight: transactions per journal entry': flight.transactions / flight.entries,
      };
    },
    close: async () => {
      await runtime.close();
      await store.close();
      await dropSchema(schema);
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: `Postgres journaled write ÷ bare INSERT of the same bytes in its own transaction (${Math.round(metrics['journaled write µs (appendJournal, fenced, alone)'])} µs ÷ ${Math.round(metrics['bare INSERT of the same bytes, own transaction, µs'])} µs)`,
    value: metrics['journaled write ÷ bare INSERT'],
    limit: WRITE_LIMIT,
    unit: '×',
  },
];

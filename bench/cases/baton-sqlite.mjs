// Baton on SQLite (WAL, synchronous=NORMAL): every step is a durable write before the run moves on.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  baton,
  batonSqlite,
  createBatonAgent,
  Database,
  timeInFlight,
  timeSequential,
} from '../lib/baton-agent.mjs';

export const name = 'baton-sqlite';
export const kind = 'subject';
export const description =
  'The same agent on createSqliteStore() in a temp directory: per run, 1 run insert, 3 journal appends (one transaction each when alone, grouped when runs overlap) and 1 run update.';
export const importSpecifiers = ['../../dist/index.js', '../../dist/stores/sqlite/index.js'];
export const packages = ['better-sqlite3'];

/** Store writes per run: create the run, three journal entries, the final update. */
const WRITES_PER_RUN = 5;

/**
 * The floor for one journaled write: a prepared INSERT of the same bytes, each in its own
 * transaction, on a database with the same settings, measured in this process.
 */
function bareInsertUs(directory, payloads, rows = 4000, rounds = 5) {
  const db = new Database(join(directory, 'bare.db'));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(
    'CREATE TABLE bare (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, key TEXT NOT NULL, payload TEXT, UNIQUE (run_id, key))',
  );
  const insert = db.prepare('INSERT INTO bare (run_id, key, payload) VALUES (?, ?, ?)');
  const samples = [];
  let next = 0;
  for (let round = 0; round < rounds; round++) {
    const started = process.hrtime.bigint();
    for (let row = 0; row < rows; row++) {
      next++;
      insert.run(`run_${next}`, `r#${next}`, payloads[next % payloads.length]);
    }
    samples.push(Number(process.hrtime.bigint() - started) / 1000 / rows);
  }
  db.close();
  return samples.sort((left, right) => left - right)[Math.floor(samples.length / 2)];
}

export async function setup() {
  const directory = mkdtempSync(join(tmpdir(), 'baton-bench-'));
  const store = batonSqlite.createSqliteStore({ path: join(directory, 'baton.db') });
  const { runtime, runOnce, toolCalls, modelCalls } = createBatonAgent(store);
  return {
    runOnce,
    toolCalls,
    modelCalls,
    metrics: async ({ usPerRun }) => {
      // The bytes one run writes: its run record and its journal entries, as JSON.
      const runId = await runOnce();
      const payloads = [
        JSON.stringify(await runtime.get(runId)),
        ...(await runtime.journal(runId)).map((entry) => JSON.stringify(entry)),
      ];
      const bare = bareInsertUs(directory, payloads);
      // The same runs on the memory store, in this process, to isolate what the writes cost.
      const memory = createBatonAgent(baton.createMemoryStore());
      for (let index = 0; index < 3000; index++) await memory.runOnce();
      const memoryUs = await timeSequential(memory.runOnce, 3000);
      await memory.runtime.close();
      const perWrite = (usPerRun - memoryUs) / WRITES_PER_RUN;
      const before = toolCalls();
      const inFlight = await timeInFlight(runOnce, 100, 10);
      if (toolCalls() - before !== 100 * 10 * 5)
        throw new Error('baton-sqlite: tool executions do not match runs in flight');
      return {
        'bare INSERT µs (same bytes, own transaction)': bare,
        'memory-store µs/run (same process)': memoryUs,
        'µs per journaled write': perWrite,
        'journaled write ÷ bare INSERT': perWrite / bare,
        'µs per run, 100 in flight': inFlight,
      };
    },
    close: async () => {
      await runtime.close();
      await store.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: 'journaled write ÷ bare INSERT',
    value: metrics['journaled write ÷ bare INSERT'],
    limit: 1.5,
    unit: '×',
  },
  { label: 'µs per run, 100 in flight', value: metrics['µs per run, 100 in flight'], limit: 40, unit: 'µs' },
];

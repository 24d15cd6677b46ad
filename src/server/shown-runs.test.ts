import { describe, expect, it } from 'vitest';
import type { JournalEntry, RunRecord, Store } from '../core/store.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createShownRuns } from './shown-runs.js';

const run = (id: string, status: RunRecord['status']): RunRecord => ({
  id,
  target: 'intake',
  targetVersion: '1',
  input: 'Mail jane@example.com',
  status,
  usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
  costUsd: 0,
  createdAt: 1,
  updatedAt: 1,
  schemaVersion: 1,
});

const decision = (runId: string): JournalEntry => ({
  runId,
  key: 'r#0',
  name: 'guardrail:pii',
  kind: 'step',
  status: 'completed',
  result: { action: 'rewrite', text: 'Mail [REDACTED:email]', reason: 'redacted' },
  meta: { guardrail: 'pii', stage: 'input' },
  startedAt: 1,
  endedAt: 1,
});

/** A memory store that counts journal reads by run. */
function countingStore(): { store: Store; reads: Map<string, number> } {
  const inner = createMemoryStore();
  const reads = new Map<string, number>();
  const store: Store = {
    ...inner,
    loadJournal(runId, from) {
      reads.set(runId, (reads.get(runId) ?? 0) + 1);
      return inner.loadJournal(runId, from);
    },
  };
  return { store, reads };
}

describe('createShownRuns', () => {
  it("shows each run's input as the guardrails left it, and reads an ended run's journal only once", async () => {
    const { store, reads } = countingStore();
    const runs = [run('run_a', 'completed'), run('run_b', 'completed'), run('run_c', 'running')];
    for (const record of runs) await store.createRun(record);
    await store.appendJournal(decision('run_a'));
    await store.appendJournal(decision('run_c'));
    const shown = createShownRuns(store);
    for (let page = 0; page < 3; page++) {
      const inputs = (await shown.many(runs)).map((record) => record.input);
      expect(inputs).toEqual(['Mail [REDACTED:email]', 'Mail jane@example.com', 'Mail [REDACTED:email]']);
    }
    // A running run may still record a decision on its input: its journal is read each time.
    expect(Object.fromEntries(reads)).toEqual({ run_a: 1, run_b: 1, run_c: 3 });
    expect(runs[0]?.input).toBe('Mail jane@example.com');
  });

  it('forgets the runs remembered longest ago beyond its capacity, and does not remember a large rewritten input', async () => {
    const { store, reads } = countingStore();
    const runs = ['run_a', 'run_b', 'run_c'].map((id) => run(id, 'completed'));
    for (const record of runs) await store.createRun(record);
    const shown = createShownRuns(store, { capacity: 2 });
    await shown.many(runs);
    // run_a, remembered first, was forgotten when run_c came.
    await shown.many(runs);
    expect(Object.fromEntries(reads)).toEqual({ run_a: 2, run_b: 1, run_c: 1 });

    await store.appendJournal(decision('run_d'));
    const large = createShownRuns(store, { largestInput: 10 });
    await large.one(run('run_d', 'completed'));
    expect((await large.one(run('run_d', 'completed'))).input).toBe('Mail [REDACTED:email]');
    expect(reads.get('run_d')).toBe(2);
  });
});

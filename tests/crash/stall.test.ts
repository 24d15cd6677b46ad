/** A process frozen with SIGSTOP past its lease and thawed while another process re-runs its step: the thawed one records nothing and starts no step. */

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { exitOf, killStarted, readEffects, startWorker, waitForLine } from './crash-harness.js';

const worker = join(import.meta.dirname, 'stall-worker.ts');

describe('a process that stalls past its lease (SIGSTOP / SIGCONT) on SQLite', () => {
  afterEach(killStarted);

  it.each(['step-2', 'step-3', 'step-5'])(
    'frozen in %s and thawed while the new owner re-runs that step: no other step runs twice and the stalled process starts none',
    async (stallAt) => {
      const directory = mkdtempSync(join(tmpdir(), 'baton-stall-'));
      const dbPath = join(directory, 'baton.db');
      const logPath = join(directory, 'effects.log');
      const runId = `run_stall_${stallAt}`;

      const stalled = startWorker(worker, ['start', dbPath, logPath, runId], '');
      await waitForLine(stalled, `IN ${stallAt}`);
      stalled.child.kill('SIGSTOP');
      const taker = startWorker(worker, ['recover', dbPath, logPath, runId], '');
      // The new owner claims the run once the frozen lease expires, replays, and re-runs the step in flight.
      await waitForLine(taker, `IN ${stallAt}`);
      const thawedAt = readEffects(logPath).length;
      stalled.child.kill('SIGCONT');
      await waitForLine(taker, 'ENDED');
      await waitForLine(stalled, 'ENDED');
      await Promise.all([exitOf(stalled), exitOf(taker)]);

      expect(taker.output).toContain('ENDED completed "step-1,step-2,step-3,step-4,step-5,step-6"');
      const effects = readEffects(logPath);
      const starts = effects.filter((effect) => effect.phase === 'start');
      // Only the step in flight at the freeze ran twice (at least once for the step in flight).
      const twice = [...new Set(starts.map((effect) => effect.tag))].filter(
        (tag) => starts.filter((effect) => effect.tag === tag).length > 1,
      );
      expect(twice).toEqual([stallAt]);
      // After the thaw, the stalled process started nothing.
      const stalledPid = stalled.child.pid;
      expect(
        effects.slice(thawedAt).filter((effect) => effect.pid === stalledPid && effect.phase === 'start'),
      ).toEqual([]);
      // The journal holds each step once, with the new owner's result.
      const store = createSqliteStore({ path: dbPath });
      const journal = await store.loadJournal(runId);
      await store.close();
      expect(journal.map((entry) => entry.name)).toEqual([
        'step-1',
        'step-2',
        'step-3',
        'step-4',
        'step-5',
        'step-6',
      ]);
    },
  );
});

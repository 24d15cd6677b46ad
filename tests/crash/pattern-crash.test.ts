import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, type JournalEntry } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { exitOf, kill, killStarted, readEffects, startWorker, waitForLine } from './crash-harness.js';
import { patternCrashTeam, teamTask } from './pattern-crash-flow.js';

const worker = join(import.meta.dirname, 'pattern-crash-worker.ts');
/** Generous: a worker process starts tsx and waits out a lease on a busy two-core machine. */
const lineTimeoutMs = 90_000;

/**
 * The effect tag of every model and tool call in a journal, with the key it is recorded at: the
 * n-th model step of an agent is `model:<agent>#<n>` (its turn), a changelog call is
 * `tool:changelog:<version>`.
 */
function tagsOf(journal: readonly JournalEntry[]): Map<string, string> {
  const tags = new Map<string, string>();
  const turns = new Map<string, number>();
  for (const entry of journal) {
    if (entry.kind === 'model') {
      const agent = String(entry.meta?.agent);
      const turn = turns.get(agent) ?? 0;
      turns.set(agent, turn + 1);
      tags.set(`model:${agent}#${turn}`, entry.key);
    } else if (entry.kind === 'tool') {
      tags.set(`${entry.name}:${(entry.result as { version: string }).version}`, entry.key);
    }
  }
  return tags;
}

async function journalOf(dbPath: string, runId: string): Promise<JournalEntry[]> {
  const store = createSqliteStore({ path: dbPath });
  try {
    return await store.loadJournal(runId);
  } finally {
    await store.close();
  }
}

/** What must match an uncrashed run: where each entry is, what it is, and its outcome. */
const shapeOf = (journal: readonly JournalEntry[]) =>
  journal.map((entry) => ({ key: entry.key, name: entry.name, kind: entry.kind, status: entry.status }));

describe('pattern crash recovery with SIGKILL', () => {
  afterEach(killStarted);

  it('recovers a magentic > supervisor > makerChecker team killed four times, never repeating a recorded call', async () => {
    // The reference: the same team, uncrashed, in memory.
    const directory = mkdtempSync(join(tmpdir(), 'baton-pattern-crash-'));
    const referenceLog = join(directory, 'reference.log');
    const reference = patternCrashTeam(referenceLog, undefined);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const handle = await runtime.start(reference, teamTask);
    const expected = await handle.result();
    const referenceJournal = await runtime.journal(handle.runId);
    await runtime.close();
    expect(expected.answer).toBe('Published: v2 adds offline mode and fixes the sync bug.');
    const referenceStarts = readEffects(referenceLog).filter((effect) => effect.phase === 'start');
    const allTags = [
      'model:lead#0',
      'model:lead#1',
      'model:chief#0',
      'model:writer#0',
      'tool:changelog:v2',
      'model:writer#1',
      'model:critic#0',
      'model:writer#2',
      'model:critic#1',
      'model:chief#1',
      'model:lead#2',
      'model:lead#3',
    ];
    expect(referenceStarts.map((effect) => effect.tag)).toEqual(allTags);
    expect([...tagsOf(referenceJournal).keys()].sort()).toEqual([...allTags].sort());

    const dbPath = join(directory, 'baton.db');
    const logPath = join(directory, 'effects.log');
    const runId = 'run_pattern_crash_test';
    // Killed during the deepest worker's tool call, between the maker/checker's rounds (the
    // maker's revision call after round 1's verdict is journaled), during the supervisor's
    // manager's answer after its worker finished, and during the magentic manager's final answer.
    const plan: Array<{ mode: string; killAt: string }> = [
      { mode: 'start', killAt: 'tool:changelog:v2' },
      { mode: 'recover', killAt: 'model:writer#2' },
      { mode: 'recover', killAt: 'model:chief#1' },
      { mode: 'recover', killAt: 'model:lead#3' },
    ];
    const recordedAtKill: Set<string>[] = [];
    const pids: number[] = [];
    // Fails at once (instead of at the time limit) when a process starts a call recorded before.
    const noRerun = (pid: number | undefined) => () => {
      const recorded = recordedAtKill.at(-1);
      if (recorded === undefined || pid === undefined) return;
      const rerun = readEffects(logPath).find(
        (effect) => effect.pid === pid && effect.phase === 'start' && recorded.has(effect.tag),
      );
      if (rerun !== undefined)
        throw new Error(
          `process ${pid} ran ${rerun.tag} again, recorded before kill ${recordedAtKill.length}`,
        );
    };
    for (const [index, step] of plan.entries()) {
      const proc = startWorker(worker, [step.mode, dbPath, logPath, runId], step.killAt);
      await waitForLine(proc, `IN-FLIGHT ${step.killAt}`, lineTimeoutMs, noRerun(proc.child.pid));
      await kill(proc);
      pids.push(proc.child.pid!);
      const recorded = new Set(tagsOf(await journalOf(dbPath, runId)).keys());
      const started = readEffects(logPath).filter(
        (effect) => effect.pid === proc.child.pid && effect.phase === 'start',
      );
      // The run is sequential: at the kill, everything this process started is recorded except
      // the call it was killed in.
      expect(
        started.map((effect) => effect.tag).filter((tag) => !recorded.has(tag)),
        `kill ${index + 1}`,
      ).toEqual([step.killAt]);
      // Each process made progress past what the previous one had recorded.
      if (index > 0) expect(recorded.size, `kill ${index + 1}`).toBeGreaterThan(recordedAtKill.at(-1)!.size);
      recordedAtKill.push(recorded);
    }
    const last = startWorker(worker, ['recover', dbPath, logPath, runId], '');
    await waitForLine(last, 'ENDED', lineTimeoutMs, noRerun(last.child.pid));
    await exitOf(last);
    pids.push(last.child.pid!);
    expect(last.output).toContain('ENDED completed');

    const final = createSqliteStore({ path: dbPath });
    const run = await final.getRun(runId);
    const journal = await final.loadJournal(runId);
    await final.close();
    expect(run?.output).toEqual(expected);
    // The same entries at the same keys as the uncrashed run: nothing recorded twice, nothing lost.
    expect(shapeOf(journal)).toEqual(shapeOf(referenceJournal));

    const effects = readEffects(logPath);
    // A call recorded before a kill never starts again in any later process.
    for (const [index, recorded] of recordedAtKill.entries()) {
      const laterPids = new Set(pids.slice(index + 1));
      const rerun = effects.filter(
        (effect) => laterPids.has(effect.pid) && effect.phase === 'start' && recorded.has(effect.tag),
      );
      expect(rerun, `after kill ${index + 1}`).toEqual([]);
    }
    // Executions per step key over all processes: once, or twice for the call each kill interrupted.
    const keyOf = tagsOf(journal);
    expect([...keyOf.keys()].sort()).toEqual([...allTags].sort());
    const executions: Record<string, number> = {};
    for (const effect of effects) {
      if (effect.phase !== 'start') continue;
      const key = keyOf.get(effect.tag);
      expect(key, `${effect.tag} has a journal entry`).toBeDefined();
      executions[key!] = (executions[key!] ?? 0) + 1;
    }
    const killed = new Set(plan.map((step) => step.killAt));
    expect(executions).toEqual(
      Object.fromEntries(allTags.map((tag) => [keyOf.get(tag)!, killed.has(tag) ? 2 : 1])),
    );

    // Each ledger, verdict and child run of the patterns is recorded once.
    const recordedSteps = (name: string) => journal.filter((entry) => entry.name === name);
    expect(recordedSteps('ledger:task').map((entry) => entry.meta?.round)).toEqual([0]);
    expect(recordedSteps('ledger:progress').map((entry) => entry.meta?.round)).toEqual([1, 2]);
    expect(
      recordedSteps('decision:makerChecker').map((entry) => {
        const result = entry.result as { decision: string; data: { round: number } };
        return [result.data.round, result.decision];
      }),
    ).toEqual([
      [1, 'rejected'],
      [2, 'approved'],
    ]);
    expect(recordedSteps('run:desk')).toHaveLength(1);
    expect(recordedSteps('run:review')).toHaveLength(1);
    expect(new Set(journal.map((entry) => entry.key)).size).toBe(journal.length);
    rmSync(directory, { recursive: true, force: true });
  }, 300_000);
});

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { crashFlow } from './crash-flow.js';
import {
  exitOf,
  kill,
  killStarted,
  readEffects,
  startWorker as startProcess,
  waitForLine,
} from './crash-harness.js';

const worker = join(import.meta.dirname, 'crash-worker.ts');

function startWorker(mode: string, dbPath: string, logPath: string, runId: string, killAt: string) {
  return startProcess(worker, [mode, dbPath, logPath, runId], killAt);
}

/** The side-effect tags whose step is recorded in the journal. */
async function recordedTags(dbPath: string, runId: string): Promise<Set<string>> {
  const store = createSqliteStore({ path: dbPath });
  const journal = await store.loadJournal(runId);
  await store.close();
  const tags = new Set<string>();
  let modelTurn = 0;
  for (const entry of journal) {
    if (entry.name === 'model:calc') tags.add(`model#${modelTurn++}`);
    else tags.add(entry.name);
  }
  return tags;
}

/** The output of the crash flow run once, uncrashed, in memory. */
async function uncrashedOutput(directory: string): Promise<unknown> {
  const reference = crashFlow(join(directory, 'reference.log'), undefined);
  const runtime = createRuntime({ store: createMemoryStore(), recover: false, workflows: [reference] });
  const handle = await runtime.start(reference, { order: 'A-1' });
  while ((await runtime.get(handle.runId)).status !== 'suspended')
    await new Promise((resolve) => setTimeout(resolve, 5));
  await runtime.signal(handle.runId, 'approve', { approvedBy: 'ops' });
  const expected = await handle.result();
  await runtime.close();
  return expected;
}

/**
 * Runs the crash flow in worker processes, each killed at its plan's point (the first one starts
 * the run, as `runId` or, with `-`, under an id the runtime generates), then one that ends it, and
 * checks what every crash test checks: the output is the uncrashed one, no step recorded before a
 * kill starts again, and only the steps in flight at a kill ran twice. Returns the steps in flight
 * and those recorded at each kill, and the run's id.
 */
async function crashAndRecover(
  plan: ReadonlyArray<{ mode: string; killAt: string; marker: string }>,
  givenId: string,
): Promise<{ inFlightAtKill: string[][]; recordedAtKill: Set<string>[]; runId: string }> {
  const directory = mkdtempSync(join(tmpdir(), 'baton-crash-'));
  const expected = await uncrashedOutput(directory);
  const dbPath = join(directory, 'baton.db');
  const logPath = join(directory, 'effects.log');
  let runId = givenId;
  const inFlightAtKill: string[][] = [];
  const recordedAtKill: Set<string>[] = [];
  const pids: number[] = [];
  for (const step of plan) {
    const proc = startWorker(step.mode, dbPath, logPath, runId, step.killAt);
    await waitForLine(proc, step.marker);
    if (runId === '-') runId = /STARTED (\S+)/.exec(proc.output)?.[1] ?? '-';
    await kill(proc);
    pids.push(proc.child.pid!);
    const recorded = await recordedTags(dbPath, runId);
    const started = readEffects(logPath).filter(
      (effect) => effect.pid === proc.child.pid && effect.phase === 'start',
    );
    inFlightAtKill.push(started.map((effect) => effect.tag).filter((tag) => !recorded.has(tag)));
    recordedAtKill.push(recorded);
  }
  const last = startWorker('recover', dbPath, logPath, runId, '');
  await waitForLine(last, 'ENDED');
  await exitOf(last);
  pids.push(last.child.pid!);

  expect(last.output).toContain('ENDED completed');
  const final = createSqliteStore({ path: dbPath });
  const run = await final.getRun(runId);
  await final.close();
  expect(run?.output).toEqual(expected);

  const effects = readEffects(logPath);
  // A step recorded before a kill never starts again in any later process.
  for (const [index, recorded] of recordedAtKill.entries()) {
    const laterPids = new Set(pids.slice(index + 1));
    const rerun = effects.filter(
      (effect) => laterPids.has(effect.pid) && effect.phase === 'start' && recorded.has(effect.tag),
    );
    expect(rerun, `after kill ${index + 1}`).toEqual([]);
  }
  // Each step ran once, plus once more for every kill that caught it in flight (at-least-once).
  const tags = new Set(effects.map((effect) => effect.tag));
  for (const tag of tags) {
    const starts = effects.filter((effect) => effect.tag === tag && effect.phase === 'start').length;
    const interrupted = inFlightAtKill.filter((inFlight) => inFlight.includes(tag)).length;
    expect(starts, tag).toBe(1 + interrupted);
  }
  expect(tags).toEqual(
    new Set(['fetch', 'left-1', 'left-2', 'right-1', 'right-2', 'charge', 'model#0', 'tool:add', 'model#1']),
  );
  return { inFlightAtKill, recordedAtKill, runId };
}

describe('crash recovery with SIGKILL', () => {
  afterEach(killStarted);

  it('never repeats a finished step across six kills and ends with the uncrashed output', async () => {
    // Each process is killed at one point: mid-step, in a parallel branch, while suspended on a
    // wait, right after the signal, during an agent's tool call and during its second model call.
    const { inFlightAtKill } = await crashAndRecover(
      [
        { mode: 'start', killAt: 'fetch', marker: 'IN-FLIGHT fetch' },
        { mode: 'recover', killAt: 'right-2', marker: 'IN-FLIGHT right-2' },
        { mode: 'recover', killAt: '', marker: 'SUSPENDED approve' },
        { mode: 'signal', killAt: 'charge', marker: 'IN-FLIGHT charge' },
        { mode: 'recover', killAt: 'tool:add', marker: 'IN-FLIGHT tool:add' },
        { mode: 'recover', killAt: 'model#1', marker: 'IN-FLIGHT model#1' },
      ],
      'run_crash_test',
    );
    // The planned kill points were really in flight when the process died.
    expect(inFlightAtKill.flat()).toEqual(
      expect.arrayContaining(['fetch', 'right-2', 'charge', 'tool:add', 'model#1']),
    );
  }, 120_000);

  it('recovers a run whose id the runtime generated, stored with its first step, killed after it', async () => {
    // No caller's id: the run's creation and its first step ('fetch') are stored in one
    // transaction (createsWithFirstStep), before start() resolves and the worker prints STARTED.
    const { inFlightAtKill, recordedAtKill, runId } = await crashAndRecover(
      [
        { mode: 'start', killAt: 'right-2', marker: 'IN-FLIGHT right-2' },
        { mode: 'recover', killAt: '', marker: 'SUSPENDED approve' },
        { mode: 'signal', killAt: 'tool:add', marker: 'IN-FLIGHT tool:add' },
      ],
      '-',
    );
    expect(runId).toMatch(/^run_/);
    expect(recordedAtKill[0]).toContain('fetch');
    expect(inFlightAtKill.flat()).toEqual(expect.arrayContaining(['right-2', 'tool:add']));
  }, 120_000);
});

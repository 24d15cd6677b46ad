/** A run's last journal entry is stored together with its end, never later than a step that follows it. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { scriptedModel } from '../testing/index.js';
import { tool } from '../tools/tool.js';
import { BatonError } from './errors.js';
import { runChangeConsumersStream, runChangesStream } from './run-changes.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';
import type { JournalEntry, Store } from './store.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runtimeOn(store: Store, flows: Parameters<Runtime['register']> = []): Runtime {
  const runtime = createRuntime({ store, workflows: flows, recover: false });
  cleanups.push(() => runtime.close());
  return runtime;
}

/**
 * The memory store as a group-committing store behaves: each journal append is applied at once
 * (later calls observe it, as the Store contract requires) but resolves only at `release(key)`,
 * its commit. The append of `failing` instead fails at its commit, as a failed transaction does,
 * with every write made while it was held. `log` records appends, ends and commits in order.
 */
function heldStore(log: string[], failing?: string): { store: Store; release(key: string): void } {
  const inner = createMemoryStore();
  const held = new Map<string, () => void>();
  /** Writes in the failing append's transaction: they fail with it. */
  let doomed: Array<(error: Error) => void> | undefined;
  const store: Store = {
    ...inner,
    appendJournal(entry: JournalEntry, fence) {
      log.push(`append ${entry.key}`);
      if (entry.key === failing) {
        doomed = [];
        return new Promise<void>((_, reject) => {
          held.set(entry.key, () => {
            log.push(`failed ${entry.key}`);
            const error = new Error('disk I/O error');
            for (const fail of doomed ?? []) fail(error);
            doomed = undefined;
            reject(error);
          });
        });
      }
      const applied = inner.appendJournal(entry, fence);
      return new Promise<void>((resolve, reject) => {
        held.set(entry.key, () => {
          log.push(`stored ${entry.key}`);
          applied.then(resolve, reject);
        });
      });
    },
    updateRun(runId, patch, now, fence) {
      if (patch.status !== undefined) log.push(`end ${patch.status}`);
      if (doomed !== undefined) {
        const transaction = doomed;
        return new Promise<void>((_, reject) => transaction.push(reject));
      }
      return inner.updateRun(runId, patch, now, fence);
    },
  };
  return {
    store,
    release: (key) => {
      const release = held.get(key);
      if (release === undefined) throw new Error(`no append of ${key} is held`);
      held.delete(key);
      release();
    },
  };
}

/** Resolves once `log` has an entry `line` (polling between event-loop turns). */
async function logged(log: string[], line: string): Promise<void> {
  for (let turn = 0; turn < 1000; turn++) {
    if (log.includes(line)) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`never logged "${line}": ${log.join(', ')}`);
}

describe("a step that ends the run (endsRun) is stored with the run's end", () => {
  it('starts no later step before its entry is stored, though it was not awaited', async () => {
    const log: string[] = [];
    const { store, release } = heldStore(log);
    const flow = workflow({ name: 'ends-then-goes-on', version: '1' }, async (ctx) => {
      // Says it ends the run, yet another step follows: that step must wait for the entry.
      const first = await ctx.step('charge', () => 'charged', { endsRun: () => true });
      log.push(`returned ${first}`);
      return ctx.step('receipt', () => {
        log.push('receipt runs');
        return 'receipt sent';
      });
    });
    const runtime = runtimeOn(store, [flow]);
    const handle = await runtime.start(flow, {});
    const result = handle.result();
    await logged(log, 'returned charged');
    // The step returned before its entry was stored, and the next step has not started.
    expect(log).toEqual(['append r#0', 'returned charged']);
    release('r#0');
    await logged(log, 'append r#1');
    expect(log).toEqual(['append r#0', 'returned charged', 'stored r#0', 'receipt runs', 'append r#1']);
    release('r#1');
    expect(await result).toBe('receipt sent');
  });

  it("reports the run's result only once the entry is stored", async () => {
    const log: string[] = [];
    const { store, release } = heldStore(log);
    const flow = workflow({ name: 'ends-at-once', version: '1' }, async (ctx) =>
      ctx.step('answer', () => 'done', { endsRun: () => true }),
    );
    const runtime = runtimeOn(store, [flow]);
    const handle = await runtime.start(flow, {});
    let settled = false;
    const result = handle.result().finally(() => {
      settled = true;
    });
    // The end is written right behind the entry (the same turn), but nothing is reported yet.
    await logged(log, 'end completed');
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    expect(log).toEqual(['append r#0', 'end completed']);
    release('r#0');
    expect(await result).toBe('done');
    expect((await runtime.journal(handle.runId)).map((entry) => entry.key)).toEqual(['r#0']);
  });

  it('does not report the run completed when that entry could not be stored', async () => {
    const log: string[] = [];
    const { store, release } = heldStore(log, 'r#0');
    const flow = workflow({ name: 'ends-on-a-failing-disk', version: '1' }, async (ctx) =>
      ctx.step('answer', () => 'done', { endsRun: () => true }),
    );
    const runtime = runtimeOn(store, [flow]);
    const handle = await runtime.start(flow, {});
    const result = handle.result().then(
      (value) => ({ value }),
      (error: unknown) => error,
    );
    await logged(log, 'append r#0');
    release('r#0');
    const error = await result;
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('STORE_UNAVAILABLE');
    // Released, not completed: it replays (and runs that step again) when it is resumed.
    expect((await runtime.get(handle.runId)).status).toBe('running');
    expect(await runtime.journal(handle.runId)).toEqual([]);
  });
});

describe('an agent that is the run itself, on SQLite', () => {
  it('stores its final model step and the run’s end in one transaction: 3 per tool-calling run', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'baton-run-end-write-'));
    const store = createSqliteStore({ path: join(folder, 'baton.db') });
    cleanups.push(async () => {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    });
    let additions = 0;
    const add = tool({
      name: 'add',
      description: 'Add two numbers',
      input: z.object({ a: z.number(), b: z.number() }),
      execute: ({ a, b }) => {
        additions++;
        return a + b;
      },
    });
    const script = [{ toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] }, { text: '5' }];
    const calculator = agent({
      name: 'calculator',
      instructions: 'Add numbers.',
      model: scriptedModel([...script, ...script]),
      tools: [add],
    });
    const runtime = runtimeOn(store);
    const first = await runtime.start(calculator, 'What is 2+3?');
    expect(await first.result()).toBe('5');
    const before = { ...store.stats };
    const handle = await runtime.start(calculator, 'What is 2+3?');
    expect(await handle.result()).toBe('5');
    // The run's insert with the first model step (createsWithFirstStep), the tool step, then the
    // final model step with the run's end.
    expect(store.stats.transactions - before.transactions).toBe(3);
    expect(store.stats.queuedWrites - before.queuedWrites).toBe(5);
    // No one reads the change feed (run-changes.ts): only the first run, before the runtime looked, wrote a change.
    expect((await store.readRecords(runChangesStream)).map((record) => record.data)).toEqual([
      expect.objectContaining({ runId: first.runId, status: 'completed' }),
    ]);
    expect(store.stats.journalEntries - before.journalEntries).toBe(3);
    expect(additions).toBe(2);
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual(['model:calculator', 'tool:add', 'model:calculator']);
    expect((await runtime.get(handle.runId)).status).toBe('completed');
  });

  it('with a consumer of the change feed, adds the change record to the same transaction', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'baton-run-end-write-'));
    const store = createSqliteStore({ path: join(folder, 'baton.db') });
    cleanups.push(async () => {
      await store.close();
      rmSync(folder, { recursive: true, force: true });
    });
    await store.appendRecord(runChangeConsumersStream, { consumer: 'test', wanted: true });
    const flow = workflow({ name: 'flow' }, async (ctx) => ctx.step('one', async () => 1));
    const runtime = runtimeOn(store, [flow]);
    await (await runtime.start(flow, null)).result();
    const before = { ...store.stats };
    const handle = await runtime.start(flow, null);
    expect(await handle.result()).toBe(1);
    // The run's insert with its step, then its end with the change record: 4 writes in 2 transactions.
    expect(store.stats.transactions - before.transactions).toBe(2);
    expect(store.stats.queuedWrites - before.queuedWrites).toBe(4);
    expect((await store.readRecords(runChangesStream)).at(-1)?.data).toMatchObject({
      runId: handle.runId,
      target: 'flow',
      status: 'completed',
      owner: expect.any(String),
    });
  });
});

/** On a store that `createsWithFirstStep` (SQLite), a new run's first step is stored in the transaction that creates it. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore, type SqliteStore } from '../stores/sqlite/index.js';
import { scriptedModel } from '../testing/index.js';
import { sampleRun } from '../testing/store-conformance.js';
import { tool } from '../tools/tool.js';
import { BatonError } from './errors.js';
import type { BatonEvent } from './events.js';
import { type Runnable, workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';
import type { Store } from './store.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function databasePath(): string {
  const folder = mkdtempSync(join(tmpdir(), 'baton-first-step-'));
  cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  return join(folder, 'baton.db');
}

function sqliteStore(path = databasePath(), busyTimeoutMs?: number): SqliteStore {
  const store = createSqliteStore(busyTimeoutMs === undefined ? { path } : { path, busyTimeoutMs });
  cleanups.push(() => store.close());
  return store;
}

function runtimeOn(store: Store): Runtime {
  const runtime = createRuntime({ store, recover: false });
  cleanups.push(() => runtime.close());
  return runtime;
}

/** The bench's agent: one tool call, then the answer. */
function calculator(runs = 1) {
  const add = tool({
    name: 'add',
    description: 'Add two numbers',
    input: z.object({ a: z.number(), b: z.number() }),
    execute: ({ a, b }) => a + b,
  });
  const script = [{ toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] }, { text: '5' }];
  return agent({
    name: 'calculator',
    instructions: 'Add numbers.',
    model: scriptedModel(Array.from({ length: runs }, () => script).flat()),
    tools: [add],
  });
}

/** Every event `handle.events()` gives when asked for right after `start` resolves. */
async function eventsOf(runtime: Runtime, target: Runnable<string, unknown>): Promise<BatonEvent[]> {
  const handle = await runtime.start(target, 'What is 2+3?');
  const events: BatonEvent[] = [];
  for await (const event of handle.events()) events.push(event);
  return events;
}

describe('a new run stored with its first step (SQLite)', () => {
  it('makes three transactions of an agent run of model, tool, model (the run created with the first model step)', async () => {
    const store = sqliteStore();
    const runtime = runtimeOn(store);
    const target = calculator(2);
    expect(await (await runtime.start(target, 'What is 2+3?')).result()).toBe('5');
    const before = { ...store.stats };
    const handle = await runtime.start(target, 'What is 2+3?');
    expect(await handle.result()).toBe('5');
    expect(store.stats.transactions - before.transactions).toBe(3);
    expect(store.stats.queuedWrites - before.queuedWrites).toBe(5);
    expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toEqual([
      'model:calculator',
      'tool:add',
      'model:calculator',
    ]);
  });

  it('resolves start() only once the run is stored, with the first step beside it', async () => {
    const path = databasePath();
    const runtime = runtimeOn(sqliteStore(path));
    const reader = new Database(path, { readonly: true });
    cleanups.push(() => {
      reader.close();
    });
    const flow = workflow({ name: 'two-steps', version: '1' }, async (ctx) => {
      await ctx.step('first', () => 1);
      return ctx.step('second', () => 2);
    });
    const handle = await runtime.start(flow, null);
    // Another connection (another process) sees the run and its first entry, committed together.
    expect(reader.prepare('SELECT status FROM runs WHERE id = ?').pluck().get(handle.runId)).toBe('running');
    expect(reader.prepare('SELECT key FROM journal WHERE run_id = ?').pluck().all(handle.runId)).toEqual([
      'r#0',
    ]);
    expect(await handle.result()).toBe(2);
  });

  it('delivers every event from run-start to events() asked for right after start() resolves, as on the memory store', async () => {
    const onSqlite = await eventsOf(runtimeOn(sqliteStore()), calculator());
    const inMemory = await eventsOf(runtimeOn(createMemoryStore()), calculator());
    const types = onSqlite.map((event) => event.type);
    expect(types[0]).toBe('run-start');
    expect(types.at(-1)).toBe('run-end');
    expect(types).toEqual(inMemory.map((event) => event.type));
    // The first model step began before start() resolved; its events are there, in order.
    expect(types.slice(0, 4)).toEqual(['run-start', 'agent-start', 'step-start', 'step-end']);
  });

  it('delivers the events of a run that ended before events() was asked for', async () => {
    const runtime = runtimeOn(sqliteStore());
    // No step: the run's end is queued with its creation, so it has ended when start() resolves.
    const flow = workflow({ name: 'at-once', version: '1' }, async (ctx) => {
      ctx.emit({ name: 'note', data: 'hello' });
      return 'done';
    });
    const handle = await runtime.start(flow, null);
    expect((await runtime.get(handle.runId)).status).toBe('completed');
    const types: string[] = [];
    for await (const event of handle.events()) types.push(event.type);
    expect(types).toEqual(['run-start', 'custom', 'run-end']);
  });

  it("keeps a run's early events only until the turn after start() resolved", async () => {
    const runtime = runtimeOn(sqliteStore());
    const flow = workflow({ name: 'ends-at-once', version: '1' }, async () => 'done');
    const handle = await runtime.start(flow, null);
    await new Promise((resolve) => setImmediate(resolve));
    const types: string[] = [];
    for await (const event of handle.events()) types.push(event.type);
    // Asked for a turn late: the run had started (and ended) without anyone listening.
    expect(types).toEqual([]);
  });

  it("runs no step of a run started with a caller's id before that id is known to be free", async () => {
    const store = sqliteStore();
    const runtime = runtimeOn(store);
    await store.createRun(
      sampleRun({ id: 'taken', leaseOwner: 'someone', leaseExpiresAt: Date.now() + 60_000 }),
    );
    let charged = 0;
    const flow = workflow({ name: 'charge', version: '1' }, async (ctx) =>
      ctx.step('charge', () => {
        charged++;
        return 'charged';
      }),
    );
    const error = await runtime.start(flow, null, { runId: 'taken' }).catch((caught: unknown) => caught);
    expect(BatonError.isInstance(error) && error.code).toBe('RUN_EXISTS');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(charged).toBe(0);
    expect(await runtime.journal('taken')).toEqual([]);
    // A free id of the caller's runs as usual, its creation stored before its first step.
    const handle = await runtime.start(flow, null, { runId: 'free' });
    expect(await handle.result()).toBe('charged');
    expect(charged).toBe(1);
  });

  it('stops a run whose creation failed before it writes anything more; start() rejects', async () => {
    const path = databasePath();
    const store = sqliteStore(path, 0);
    const runtime = runtimeOn(store);
    const steps: string[] = [];
    const flow = workflow({ name: 'locked-out', version: '1' }, async (ctx) => {
      await ctx.step('first', () => steps.push('first'));
      return ctx.step('second', () => steps.push('second'));
    });
    // Another connection holds the write lock: the transaction with the run's creation fails.
    const holder = new Database(path);
    cleanups.push(() => {
      holder.close();
    });
    holder.exec('BEGIN IMMEDIATE');
    const error = await runtime.start(flow, null).catch((caught: unknown) => caught);
    holder.exec('COMMIT');
    expect(BatonError.isInstance(error) && error.code).toBe('STORE_UNAVAILABLE');
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setImmediate(resolve));
    // The first step had begun (at least once, as a step in flight at a crash); nothing was stored and nothing followed.
    expect(steps).toEqual(['first']);
    expect(await store.listRuns()).toEqual([]);
    expect(holder.prepare('SELECT count(*) FROM journal').pluck().get()).toBe(0);
  });
});

describe('a new run on a store that awaits each creation (memory)', () => {
  it('starts no step before start() resolves', async () => {
    const runtime = runtimeOn(createMemoryStore());
    const steps: string[] = [];
    const flow = workflow({ name: 'lazy', version: '1' }, async (ctx) =>
      ctx.step('first', () => steps.push('first')),
    );
    const starting = runtime.start(flow, null);
    await Promise.resolve();
    expect(steps).toEqual([]);
    const handle = await starting;
    expect(await handle.result()).toBe(1);
  });
});

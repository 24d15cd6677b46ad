/** The Postgres store beyond the shared contract: migrations, group commit, LISTEN/NOTIFY wake-ups and store failures, on the real local server. */

import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { BatonError } from '../../src/core/errors.js';
import { workflow } from '../../src/core/runnable.js';
import { createRuntime as createKernelRuntime } from '../../src/core/runtime.js';
import type { StoreChange } from '../../src/core/store.js';
import { createRuntime } from '../../src/runtime.js';
import { createPostgresStore, postgresSchemaVersion } from '../../src/stores/postgres/index.js';
import { expectBatonError, sampleEntry, sampleRun, T } from '../../src/testing/store-conformance.js';
import { waitForStatus } from '../../src/testing/wait-until.js';
import { admin, freshSchema, postgresUrl, testStore, useSharedServer } from './postgres-database.js';

useSharedServer();

describe('createPostgresStore migrations', () => {
  it('applies each migration exactly once when two stores open a new schema together', async () => {
    const schema = freshSchema();
    const stores = Array.from({ length: 3 }, () =>
      createPostgresStore({ connectionString: postgresUrl, schema }),
    );
    try {
      await Promise.all(stores.map((store) => store.open()));
      const applied = stores.map((store) => store.stats.migrationsApplied);
      expect(applied.reduce((sum, count) => sum + count, 0)).toBe(postgresSchemaVersion);
      expect(applied.filter((count) => count > 0)).toHaveLength(1);
      const { rows } = await admin.query<{ version: number }>(
        `SELECT version FROM "${schema}".baton_schema_versions ORDER BY version`,
      );
      expect(rows.map((row) => row.version)).toEqual(
        Array.from({ length: postgresSchemaVersion }, (_, index) => index + 1),
      );
      // A store opened later finds the schema current and applies nothing.
      const later = createPostgresStore({ connectionString: postgresUrl, schema });
      await later.open();
      expect(later.stats.migrationsApplied).toBe(0);
      await later.close();
    } finally {
      for (const store of stores) await store.close();
    }
  });

  it('refuses a schema written by a newer Baton with STORE_VERSION_UNSUPPORTED', async () => {
    const schema = freshSchema();
    const first = createPostgresStore({ connectionString: postgresUrl, schema });
    await first.createRun(sampleRun({ id: 'kept' }));
    await first.close();
    await admin.query(`INSERT INTO "${schema}".baton_schema_versions (version) VALUES ($1)`, [
      postgresSchemaVersion + 1,
    ]);
    const newer = createPostgresStore({ connectionString: postgresUrl, schema });
    const error = await expectBatonError(newer.getRun('kept'), 'STORE_VERSION_UNSUPPORTED', {
      fault: 'user',
    });
    expect(error.message).toContain(`version ${postgresSchemaVersion + 1}`);
    expect(error.message).toContain('Upgrade Baton');
    await newer.close();
  });

  it('holds writes issued while it opens until its tables exist, also on a pool of your own', async () => {
    const pool = new pg.Pool({ connectionString: postgresUrl, max: 3 });
    const store = createPostgresStore({ pool, schema: freshSchema() });
    try {
      await Promise.all([
        store.createRun(sampleRun({ id: 'a' })),
        store.createRun(sampleRun({ id: 'b' })),
        store.appendRecord('stream', 1, T),
      ]);
      expect((await store.listRuns()).map((run) => run.id)).toEqual(['b', 'a']);
    } finally {
      await store.close();
      await pool.end(); // the store leaves a pool it was given open
    }
  });

  it('checks its options before connecting', () => {
    expect(() => createPostgresStore({ connectionString: postgresUrl, schema: 'Bad-Name' })).toThrow(
      /schema must be/,
    );
    expect(() => createPostgresStore({})).toThrow(/exactly one of connectionString and pool/);
  });
});

describe('createPostgresStore durability and group commit', () => {
  it('commits an append before its promise resolves: another connection reads it at once', async () => {
    const store = testStore();
    try {
      await store.createRun(sampleRun({ id: 'r', leaseOwner: 'me', leaseExpiresAt: T + 100 }));
      await store.appendJournal(sampleEntry('r', 'r#0'), { owner: 'me', now: T + 1 });
      const { rows } = await admin.query(`SELECT key FROM "${store.schema}".journal WHERE run_id = 'r'`);
      expect(rows).toEqual([{ key: 'r#0' }]);
    } finally {
      await store.close();
    }
  });

  it("reads a record stream without waiting for this process's queued writes to other keys, and after its own appends to it", async () => {
    const store = testStore();
    const blocker = await admin.connect();
    try {
      await store.createRun(sampleRun({ id: 'locked' }));
      await store.appendRecord('busy', 'first', T);
      // Another connection holds the run's row: an update of it stays queued or in flight.
      await blocker.query('BEGIN');
      await blocker.query(`SELECT id FROM "${store.schema}".runs WHERE id = 'locked' FOR UPDATE`);
      let updated = false;
      const update = store.updateRun('locked', { status: 'running' }, T + 1).then(() => {
        updated = true;
      });
      const appended = store.appendRecord('busy', 'second', T + 2);
      // A stream no queued write touches reads at once, with the update still waiting.
      const waited = new Promise((resolve) => setTimeout(() => resolve('still waiting after 2 s'), 2000));
      expect(await Promise.race([store.readRecords('quiet'), waited])).toEqual([]);
      const read = store.readRecords('busy');
      expect(updated).toBe(false);
      await blocker.query('COMMIT');
      await update;
      // A stream this process appended to reads what was queued before the read.
      expect((await read).map((record) => record.data)).toEqual(['first', 'second']);
      expect(await appended).toBe(2);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await store.close();
    }
  });

  it('with 100 runs in flight, commits far fewer transactions than journal entries', async () => {
    const store = testStore();
    const steps = 5;
    const flow = workflow({ name: 'five-steps', version: '1' }, async (ctx, input: number) => {
      let total = input;
      for (let step = 0; step < steps; step++) total = await ctx.step(`add-${step}`, async () => total + 1);
      return total;
    });
    const runtime = createKernelRuntime({ store, workflows: [flow], recover: false });
    try {
      await store.open();
      const before = { ...store.stats };
      const handles = await Promise.all(
        Array.from({ length: 100 }, (_, index) => runtime.start(flow, index)),
      );
      const results = await Promise.all(handles.map((handle) => handle.result()));
      expect(results).toEqual(Array.from({ length: 100 }, (_, index) => index + steps));
      const entries = store.stats.journalEntries - before.journalEntries;
      const transactions = store.stats.transactions - before.transactions;
      expect(entries).toBeGreaterThanOrEqual(100 * steps);
      // Every entry is on the server, and the writes shared their commits.
      const { rows } = await admin.query<{ count: string }>(`SELECT count(*) FROM "${store.schema}".journal`);
      expect(Number(rows[0]!.count)).toBe(entries);
      expect(transactions / entries).toBeLessThan(0.2);
      console.log(
        `postgres group commit, 100 runs in flight: ${entries} journal entries in ${transactions} transactions (${(transactions / entries).toFixed(3)} per entry)`,
      );
    } finally {
      await runtime.close();
      await store.close();
    }
  });
});

describe('createPostgresStore wake-ups (LISTEN/NOTIFY)', () => {
  it('tells subscribers of every store on the schema about signals, journal appends and status changes', async () => {
    const schema = freshSchema();
    const a = createPostgresStore({ connectionString: postgresUrl, schema });
    const b = createPostgresStore({ connectionString: postgresUrl, schema });
    const heard: StoreChange[] = [];
    try {
      await a.open();
      const off = a.subscribe((change) => heard.push(change));
      await a.listening();
      await b.createRun(sampleRun({ id: 'run', status: 'suspended' }));
      await b.addSignal('run', 'approval', true, T);
      await b.appendJournal(sampleEntry('run', 'r#0'));
      await b.updateRun('run', { status: 'completed' }, T + 1);
      await a.addSignal('run', 'late', null, T + 2);
      const deadline = Date.now() + 5_000;
      while (heard.length < 4 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 10));
      // Each batch announces its changes after its commit, so they may arrive in another order.
      const byKind = (change: StoreChange) => `${change.kind}:${change.local}`;
      expect(heard.map(byKind).sort()).toEqual(['journal:false', 'run:false', 'signal:false', 'signal:true']);
      expect(heard.every((change) => change.runId === 'run')).toBe(true);
      off();
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('wakes a suspended run in another process when a signal arrives, with no polling', async () => {
    const schema = freshSchema();
    const flow = workflow({ name: 'approve', version: '1' }, async (ctx) => {
      const approval = await ctx.waitFor<{ ok: boolean }>('approval', { timeoutMs: 3_600_000 });
      return approval.ok ? 'approved' : 'refused';
    });
    const waitingStore = createPostgresStore({ connectionString: postgresUrl, schema });
    // The poll interval is ten minutes: only the notification can wake the run within the test.
    const waiting = createRuntime({
      store: waitingStore,
      workflows: [flow],
      pollIntervalMs: 600_000,
      inlineWaitMs: 0,
    });
    // The sender names the store by URL, as `createRuntime({ store: 'postgres://…' })` and the CLI do.
    const sending = createRuntime({ store: `${postgresUrl}?schema=${schema}`, recover: false });
    try {
      const handle = await waiting.start(flow, {});
      await waitForStatus(waiting, handle.runId, 'suspended');
      await waitingStore.listening();
      const sentAt = Date.now();
      await sending.signal(handle.runId, 'approval', { ok: true });
      await waitForStatus(waiting, handle.runId, 'completed', { timeoutMs: 5_000 });
      expect((await waiting.get(handle.runId)).output).toBe('approved');
      console.log(
        `postgres LISTEN/NOTIFY: signal to completed run in another runtime in ${Date.now() - sentAt} ms`,
      );
    } finally {
      await waiting.close();
      await sending.close();
      await waitingStore.close();
    }
  });
});

describe('a new run stored with its first step on Postgres (createsWithFirstStep)', () => {
  it('commits the run with its first step, and resolves start() only once both are on the server', async () => {
    const store = testStore();
    let open = () => {};
    const flow = workflow({ name: 'two-steps', version: '1' }, async (ctx, gated: boolean) => {
      await ctx.step('first', () => 1);
      // The second step waits for the test: what the server holds meanwhile is start()'s doing.
      const gate = gated ? new Promise<void>((resolve) => (open = resolve)) : undefined;
      return ctx.step('second', async () => {
        await gate;
        return 2;
      });
    });
    const runtime = createKernelRuntime({ store, workflows: [flow], recover: false });
    try {
      await (await runtime.start(flow, false)).result(); // opens the store
      const before = { ...store.stats };
      const handle = await runtime.start(flow, true);
      // The run's creation and its first step share the transaction start() waited for.
      expect(store.stats.transactions - before.transactions).toBe(1);
      expect(store.stats.queuedWrites - before.queuedWrites).toBe(2);
      const { rows } = await admin.query<{ status: string; keys: string[] }>(
        `SELECT r.status, array(SELECT key FROM "${store.schema}".journal WHERE run_id = r.id) AS keys
         FROM "${store.schema}".runs AS r WHERE r.id = $1`,
        [handle.runId],
      );
      expect(rows).toEqual([{ status: 'running', keys: ['r#0'] }]);
      open();
      expect(await handle.result()).toBe(2);
    } finally {
      await runtime.close();
      await store.close();
    }
  });

  it("runs no step of a run started with a caller's id before that id is known to be free", async () => {
    const store = testStore();
    // The taken run is leased to this runtime's owner: a step let through would be stored in it.
    const runtime = createKernelRuntime({ store, recover: false, owner: 'tester' });
    try {
      await store.createRun(
        sampleRun({ id: 'taken', leaseOwner: 'tester', leaseExpiresAt: Date.now() + 60_000 }),
      );
      let charged = 0;
      const flow = workflow({ name: 'charge', version: '1' }, async (ctx) =>
        ctx.step('charge', () => {
          charged++;
          return 'charged';
        }),
      );
      await expectBatonError(runtime.start(flow, null, { runId: 'taken' }), 'RUN_EXISTS');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(charged).toBe(0);
      expect(await store.loadJournal('taken')).toEqual([]);
    } finally {
      await runtime.close();
      await store.close();
    }
  });
});

describe('resuming a run by signal on Postgres', () => {
  it('stores the signal and claims the run in one transaction, the only commit before its next step starts, and reads the run once', async () => {
    const store = testStore();
    const flow = workflow({ name: 'resumed', version: '1' }, async (ctx, input: string) => {
      const before = await ctx.step('before', () => input);
      const payload = await ctx.waitFor<string>('go');
      return ctx.step('after', () => `${before}:${payload}`);
    });
    const runtime = createKernelRuntime({ store, workflows: [flow], recover: false });
    try {
      const handle = await runtime.start(flow, 'order');
      await waitForStatus(runtime, handle.runId, 'suspended');
      // The suspension's own writes may still commit (the change feed's record, issued with the
      // status, can take its own transaction): count from when they are done.
      for (let last = -1; last !== store.stats.transactions; ) {
        last = store.stats.transactions;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const reads: string[] = [];
      for (const method of ['getRun', 'loadJournal', 'listSignals', 'readRecords'] as const) {
        const original = store[method].bind(store) as (...args: unknown[]) => Promise<unknown>;
        (store as unknown as Record<string, unknown>)[method] = (...args: unknown[]) => {
          reads.push(method);
          return original(...args);
        };
      }
      const before = store.stats.transactions;
      let atStepStart: number | undefined;
      const off = runtime.on((event) => {
        if (event.type === 'step-start' && event.runId === handle.runId && atStepStart === undefined)
          atStepStart = store.stats.transactions;
      });
      await runtime.signal(handle.runId, 'go', 'now');
      expect(await handle.result()).toBe('order:now');
      off();
      // The signal with the claim: one commit before the next step (the wait's record is
      // stored while the run goes on, in order before the next step's).
      expect(atStepStart! - before).toBe(1);
      // One getRun (signal's), the payload check's and the budget's readRecords, journal, signals.
      expect(reads.filter((read) => read === 'getRun')).toHaveLength(1);
      expect(reads.filter((read) => read === 'listSignals')).toHaveLength(1);
    } finally {
      await runtime.close();
      await store.close();
    }
  });
});

describe('taking a queued run on Postgres (a worker job)', () => {
  it('takes the run from the queue and claims it in one transaction, reading its record once, before its first step starts', async () => {
    const store = testStore();
    const flow = workflow({ name: 'queued', version: '1' }, async (ctx, input: string) =>
      ctx.step('only', () => `ran ${input}`),
    );
    const dispatched: string[] = [];
    const dispatcher = { dispatch: async (runId: string) => void dispatched.push(runId) };
    // One runtime dispatches (as an API server does), the other executes the job (as a worker does).
    const starting = createKernelRuntime({ store, workflows: [flow], dispatcher, recover: false });
    const working = createKernelRuntime({ store, workflows: [flow], dispatcher, recover: false });
    try {
      const handle = await starting.start(flow, 'once');
      expect(dispatched).toEqual([handle.runId]);
      let getRuns = 0;
      const getRun = store.getRun.bind(store);
      store.getRun = (runId) => {
        getRuns++;
        return getRun(runId);
      };
      const before = store.stats.transactions;
      let atStepStart: number | undefined;
      working.on((event) => {
        if (event.type === 'step-start' && atStepStart === undefined) atStepStart = store.stats.transactions;
      });
      expect((await working.execute(handle.runId)).status).toBe('completed');
      // The job read the run once; the claim was its only commit before the step.
      expect(getRuns).toBe(1);
      expect(atStepStart! - before).toBe(1);
      expect(await handle.result()).toBe('ran once');
    } finally {
      await working.close();
      await starting.close();
      await store.close();
    }
  });
});

describe('createPostgresStore failures', () => {
  it('rejects with the driver error (not a BatonError) when the server does not answer, so runs see STORE_UNAVAILABLE', async () => {
    const store = createPostgresStore({
      connectionString: 'postgres://postgres@127.0.0.1:1/test',
      schema: freshSchema(),
    });
    const error = await store.getRun('x').catch((caught: unknown) => caught);
    expect(BatonError.isInstance(error)).toBe(false);
    expect(String(error)).toMatch(/ECONNREFUSED/);
    const flow = workflow({ name: 'never-stored', version: '1' }, async () => 'done');
    const runtime = createKernelRuntime({ store, workflows: [flow], recover: false });
    const started = await runtime.start(flow, {}).catch((caught: unknown) => caught);
    expect((started as BatonError).code).toBe('STORE_UNAVAILABLE');
    await runtime.close();
    await store.close();
  });

  it('releases a run whose connection is killed mid-write with STORE_UNAVAILABLE, then completes it', async () => {
    const application = `baton_kill_${Date.now()}`;
    const schema = freshSchema();
    const store = createPostgresStore({
      connectionString: `${postgresUrl}?application_name=${application}`,
      schema,
    });
    let charges = 0;
    let blocker: import('pg').PoolClient | undefined;
    const flow = workflow({ name: 'charge', version: '1' }, async (ctx) => {
      await ctx.step('charge', async () => {
        charges++;
        if (charges === 1) {
          // Another session holds the run's row, so the fenced append of this step waits on it...
          blocker = await admin.connect();
          await blocker.query('BEGIN');
          // The step may begin before the run's creation commits (createsWithFirstStep): lock the
          // run's row once it is there.
          while ((await blocker.query(`SELECT 1 FROM "${schema}".runs FOR UPDATE`)).rowCount === 0)
            await new Promise((resolve) => setTimeout(resolve, 5));
          // ...and the server then ends the store's sessions (as a failover or an admin would).
          setTimeout(() => {
            void admin
              .query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [
                application,
              ])
              .then(() => blocker?.query('ROLLBACK'))
              .then(() => blocker?.release());
          }, 300);
        }
        return 'charged';
      });
      return ctx.step('receipt', async () => 'receipt sent');
    });
    const runtime = createKernelRuntime({ store, workflows: [flow], pollIntervalMs: 100, leaseMs: 1_000 });
    try {
      await store.open(); // the step below reads the schema's tables
      const handle = await runtime.start(flow, {});
      const error = await handle.result().catch((caught: unknown) => caught);
      expect((error as BatonError).code).toBe('STORE_UNAVAILABLE');
      expect((error as BatonError).message).toMatch(/terminat/);
      expect((await runtime.get(handle.runId)).status).not.toBe('failed');
      await waitForStatus(runtime, handle.runId, 'completed', { timeoutMs: 10_000 });
      expect((await runtime.get(handle.runId)).output).toBe('receipt sent');
      expect(charges).toBe(2); // the step in flight was never recorded, so it ran again
    } finally {
      await runtime.close();
      await store.close();
    }
  });
});

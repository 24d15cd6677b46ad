/**
 * The Store conformance suite (`batonjs/testing/store-conformance`): every rule of the Store
 * contract, registered as Vitest cases against any store implementation, yours included.
 * Vitest is an optional peer dependency, loaded only by this entry.
 */

import { afterEach, beforeEach, describe, expect, it, type TestContext } from 'vitest';
import { BatonError, type SerializedError } from '../core/errors.js';
import type { JournalEntry, RunRecord, Store } from '../core/store.js';

/** Options for `describeStoreConformance`. */
export interface StoreConformanceOptions {
  /** Cases this store cannot pass, by case name, each with the reason; the reason is shown in the report. */
  skip?: Readonly<Record<string, string>>;
}

/**
 * A fixed epoch so every timestamp in the suite is readable: `T + 5` is 5 ms after it.
 *
 * @example
 * ```ts
 * await store.createRun(sampleRun({ id: 'a', leaseOwner: 'me', leaseExpiresAt: T + 100 }));
 * ```
 */
export const T = 1_700_000_000_000;

/**
 * A complete run record with plain defaults; `overrides` replace fields.
 *
 * @example
 * ```ts
 * await store.createRun(sampleRun({ id: 'a', status: 'suspended', wakeAt: T + 10 }));
 * ```
 */
export function sampleRun(overrides: Partial<RunRecord> & { id: string }): RunRecord {
  return {
    target: 'support-team',
    targetVersion: '1',
    input: { question: 'Where is my order?' },
    status: 'running',
    usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
    costUsd: 0,
    createdAt: T,
    updatedAt: T,
    schemaVersion: 1,
    ...overrides,
  };
}

/**
 * A completed journal entry with plain defaults; `overrides` replace fields.
 *
 * @example
 * ```ts
 * await store.appendJournal(sampleEntry('run-1', 'r#0', { result: 42 }));
 * ```
 */
export function sampleEntry(runId: string, key: string, overrides: Partial<JournalEntry> = {}): JournalEntry {
  return {
    runId,
    key,
    name: 'step',
    kind: 'step',
    status: 'completed',
    result: `result of ${key}`,
    startedAt: T,
    endedAt: T + 1,
    ...overrides,
  };
}

/**
 * Awaits `promise`, expecting it to reject with a `BatonError` with this `code` (and, when
 * given, `fault` and `runId`); returns the error for further checks.
 *
 * @example
 * ```ts
 * await expectBatonError(store.getRun('x'), 'STORE_CLOSED');
 * ```
 */
export async function expectBatonError(
  promise: Promise<unknown>,
  code: string,
  details: { fault?: string; runId?: string } = {},
): Promise<BatonError> {
  const outcome = await promise.then(
    (value) => ({ rejected: false as const, value }),
    (error: unknown) => ({ rejected: true as const, error }),
  );
  if (!outcome.rejected)
    throw new Error(`Expected a rejection with ${code}, got ${JSON.stringify(outcome.value)}`);
  const { error } = outcome;
  if (!BatonError.isInstance(error))
    throw new Error(`Expected a BatonError coded ${code}, got ${String(error)}`);
  expect(error.code).toBe(code);
  if (details.fault !== undefined) expect(error.fault).toBe(details.fault);
  if (details.runId !== undefined) expect(error.runId).toBe(details.runId);
  return error;
}

const fullError: SerializedError = {
  name: 'ToolError',
  message: 'Refund API returned 503 — “service unavailable” ⚠️',
  code: 'TOOL_FAILED',
  fault: 'tool',
  stack: 'ToolError: Refund API returned 503\n    at refund (tools.ts:12:5)',
  data: { tool: 'refund', agent: 'billing', statusCode: 503, nested: { attempts: [1, 2, 3] } },
};

/** A JSON value with every JSON type, nesting, unicode (incl. a lone surrogate, which JSON escapes) and edge numbers. */
const nestedValue = {
  text: 'héllo wörld — 你好 — שלום — 🚀👩‍👩‍👧',
  loneSurrogate: 'broken \ud800 pair',
  escapes: 'quote " backslash \\ newline \n tab \t nul \u0000',
  numbers: [0, -1, 1.5, 1e-9, 2 ** 53 - 1, -(2 ** 31)],
  flags: [true, false],
  nothing: null,
  empty: { object: {}, array: [], string: '' },
  deep: { a: { b: { c: { d: [{ e: 'bottom' }] } } } },
  'ключ with spaces': 'unicode key',
};

/**
 * Registers the conformance cases for one Store implementation. Each case gets a fresh store
 * from `makeStore` and closes it afterwards.
 *
 * @example
 * ```ts
 * describeStoreConformance('memory', () => createMemoryStore());
 * describeStoreConformance('sqlite', () => createSqliteStore({ path: nextPath() }), {
 *   skip: { 'some case': 'why this store cannot do it' },
 * });
 * ```
 */
export function describeStoreConformance(
  label: string,
  makeStore: () => Promise<Store> | Store,
  options: StoreConformanceOptions = {},
): void {
  const skip = options.skip ?? {};
  const registered = new Set<string>();

  /** Registers a case, or skips it with the store's stated reason. */
  function check(name: string, body: (context: TestContext) => Promise<void>): void {
    registered.add(name);
    const reason = skip[name];
    if (reason === undefined) it(name, body);
    else it.skip(`${name} (skipped: ${reason})`, body);
  }

  describe(`Store conformance: ${label}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('createRun and getRun', () => {
      check('round-trips every field, including nested JSON and unicode', async () => {
        const run = sampleRun({
          id: 'run-🚀-ünïcødé-1',
          target: 'équipe-support/团队',
          targetVersion: '2.1.0-β',
          input: nestedValue,
          status: 'failed',
          output: { answer: 'refunded', lines: ['a', 'b'], nested: nestedValue },
          error: fullError,
          threadId: 'thread-💬-1',
          source: '/home/ana/teams/support team.yaml',
          usage: { inputTokens: 1200, outputTokens: 345, totalTokens: 1545 },
          costUsd: 0.012_345,
          createdAt: T,
          updatedAt: T + 5,
          endedAt: T + 6,
          wakeAt: T + 7,
          leaseOwner: 'host-a:4242:🦊',
          leaseExpiresAt: T + 30_000,
          trace: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          schemaVersion: 1,
        });
        await store.createRun(run);
        expect(await store.getRun(run.id)).toStrictEqual(run);
      });

      check('leaves absent optional fields absent', async () => {
        const run = sampleRun({ id: 'minimal' });
        await store.createRun(run);
        const stored = await store.getRun('minimal');
        expect(stored).toStrictEqual(run);
        expect(Object.keys(stored ?? {}).sort()).toEqual(
          [
            'costUsd',
            'createdAt',
            'id',
            'input',
            'schemaVersion',
            'status',
            'target',
            'targetVersion',
            'updatedAt',
            'usage',
          ].sort(),
        );
      });

      check('keeps falsy JSON values in input and output', async () => {
        const values: unknown[] = [null, 0, false, '', [], {}];
        for (const [index, value] of values.entries()) {
          await store.createRun(sampleRun({ id: `falsy-${index}`, input: value, output: value }));
        }
        for (const [index, value] of values.entries()) {
          const stored = await store.getRun(`falsy-${index}`);
          expect(stored?.input).toStrictEqual(value);
          expect(stored).toHaveProperty('output');
          expect(stored?.output).toStrictEqual(value);
        }
      });

      check('keeps an undefined input undefined (not null)', async () => {
        await store.createRun(sampleRun({ id: 'no-input', input: undefined }));
        const stored = await store.getRun('no-input');
        expect(stored?.input).toBeUndefined();
        expect(stored).not.toHaveProperty('output');
      });

      check('getRun of an unknown id resolves undefined', async () => {
        await store.createRun(sampleRun({ id: 'known' }));
        expect(await store.getRun('unknown')).toBeUndefined();
      });

      check('createRun rejects a taken id with RUN_EXISTS and keeps the first run', async () => {
        const first = sampleRun({ id: 'dup', target: 'first' });
        await store.createRun(first);
        await expectBatonError(store.createRun(sampleRun({ id: 'dup', target: 'second' })), 'RUN_EXISTS', {
          fault: 'system',
          runId: 'dup',
        });
        expect(await store.getRun('dup')).toStrictEqual(first);
      });

      check(
        'records are snapshots: changing a passed or returned record does not change the store',
        async () => {
          const run = sampleRun({ id: 'snap' });
          await store.createRun(run);
          run.status = 'failed';
          run.costUsd = 99;
          const read = await store.getRun('snap');
          expect(read?.status).toBe('running');
          if (read === undefined) throw new Error('missing run');
          read.status = 'cancelled';
          read.leaseOwner = 'intruder';
          await store.updateRun('snap', { costUsd: 1 }, T + 1);
          expect(await store.getRun('snap')).toStrictEqual(
            sampleRun({ id: 'snap', costUsd: 1, updatedAt: T + 1 }),
          );
        },
      );
    });

    describe('updateRun', () => {
      check('applies present fields, keeps absent ones and sets updatedAt', async () => {
        const run = sampleRun({
          id: 'u',
          threadId: 'thread',
          source: 'team.yaml',
          trace: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
          leaseOwner: 'a',
          leaseExpiresAt: T + 100,
        });
        await store.createRun(run);
        const usage = { inputTokens: 10, outputTokens: 20, totalTokens: 30 };
        await store.updateRun(
          'u',
          { status: 'completed', output: nestedValue, usage, costUsd: 0.5, endedAt: T + 40 },
          T + 42,
        );
        const updated = await store.getRun('u');
        const expected: RunRecord = {
          ...run,
          status: 'completed',
          output: nestedValue,
          usage,
          costUsd: 0.5,
          endedAt: T + 40,
          updatedAt: T + 42,
        };
        expect(updated).toStrictEqual(expected);
        expect(await store.getRun('u')).toStrictEqual(expected);
      });

      check('null clears optional fields', async () => {
        await store.createRun(
          sampleRun({
            id: 'c',
            status: 'suspended',
            error: fullError,
            endedAt: T + 1,
            wakeAt: T + 2,
            leaseOwner: 'owner',
            leaseExpiresAt: T + 3,
          }),
        );
        await store.updateRun(
          'c',
          { error: null, endedAt: null, wakeAt: null, leaseOwner: null, leaseExpiresAt: null },
          T + 10,
        );
        const updated = await store.getRun('c');
        const expected = sampleRun({ id: 'c', status: 'suspended', updatedAt: T + 10 });
        expect(updated).toStrictEqual(expected);
        const stored = await store.getRun('c');
        expect(stored).toStrictEqual(expected);
        for (const field of ['error', 'endedAt', 'wakeAt', 'leaseOwner', 'leaseExpiresAt']) {
          expect(stored).not.toHaveProperty(field);
        }
      });

      check('sets optional fields that were absent', async () => {
        await store.createRun(sampleRun({ id: 's' }));
        await store.updateRun(
          's',
          { status: 'suspended', error: fullError, wakeAt: T + 9, leaseOwner: 'x', leaseExpiresAt: T + 8 },
          T + 1,
        );
        const updated = await store.getRun('s');
        expect(updated).toStrictEqual(
          sampleRun({
            id: 's',
            status: 'suspended',
            error: fullError,
            wakeAt: T + 9,
            leaseOwner: 'x',
            leaseExpiresAt: T + 8,
            updatedAt: T + 1,
          }),
        );
      });

      check('an empty patch only sets updatedAt', async () => {
        const run = sampleRun({ id: 'e', wakeAt: T + 5, error: fullError });
        await store.createRun(run);
        await expect(store.updateRun('e', {}, T + 77)).resolves.toBeUndefined();
        expect(await store.getRun('e')).toStrictEqual({ ...run, updatedAt: T + 77 });
      });

      check('output null is stored as the value null, not cleared', async () => {
        await store.createRun(sampleRun({ id: 'o', output: 'before' }));
        await store.updateRun('o', { output: null }, T + 1);
        const stored = await store.getRun('o');
        expect(stored).toHaveProperty('output');
        expect(stored?.output).toBeNull();
      });

      check('rejects an unknown run with RUN_NOT_FOUND', async () => {
        await expectBatonError(store.updateRun('ghost', { status: 'completed' }, T), 'RUN_NOT_FOUND', {
          fault: 'user',
          runId: 'ghost',
        });
        expect(await store.getRun('ghost')).toBeUndefined();
      });
    });

    describe('listRuns', () => {
      /** Six runs: created at T+1..T+6 except two sharing T+4 (ties break by id, descending). */
      async function seed(): Promise<void> {
        const runs: RunRecord[] = [
          sampleRun({ id: 'a', createdAt: T + 1, status: 'completed', target: 'alpha', threadId: 't1' }),
          sampleRun({ id: 'b', createdAt: T + 2, status: 'running', target: 'beta', threadId: 't1' }),
          sampleRun({ id: 'c', createdAt: T + 3, status: 'suspended', target: 'alpha' }),
          sampleRun({ id: 'd', createdAt: T + 4, status: 'failed', target: 'alpha', threadId: 't2' }),
          sampleRun({ id: 'e', createdAt: T + 4, status: 'running', target: 'beta', threadId: 't1' }),
          sampleRun({ id: 'f', createdAt: T + 6, status: 'cancelled', target: 'alpha', threadId: 't2' }),
        ];
        // Insert out of order so that insertion order cannot stand in for createdAt order.
        for (const index of [3, 0, 5, 1, 4, 2]) await store.createRun(runs[index]!);
      }
      const ids = (runs: RunRecord[]) => runs.map((run) => run.id);

      check('returns every run newest first when unfiltered, ties by id descending', async () => {
        await seed();
        expect(ids(await store.listRuns())).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
        expect(ids(await store.listRuns({}))).toEqual(['f', 'e', 'd', 'c', 'b', 'a']);
      });

      check('returns full records', async () => {
        const run = sampleRun({
          id: 'full',
          output: nestedValue,
          error: fullError,
          threadId: 'x',
          wakeAt: T,
        });
        await store.createRun(run);
        expect(await store.listRuns()).toStrictEqual([run]);
      });

      check('returns [] for an empty store', async () => {
        expect(await store.listRuns()).toEqual([]);
        expect(await store.listRuns({ status: 'running', limit: 5 })).toEqual([]);
      });

      check('filters by one status or a list of statuses', async () => {
        await seed();
        expect(ids(await store.listRuns({ status: 'running' }))).toEqual(['e', 'b']);
        expect(ids(await store.listRuns({ status: ['completed', 'failed', 'cancelled'] }))).toEqual([
          'f',
          'd',
          'a',
        ]);
        expect(ids(await store.listRuns({ status: ['suspended'] }))).toEqual(['c']);
        expect(ids(await store.listRuns({ status: [] }))).toEqual([]);
      });

      check('filters by target and by threadId', async () => {
        await seed();
        expect(ids(await store.listRuns({ target: 'alpha' }))).toEqual(['f', 'd', 'c', 'a']);
        expect(ids(await store.listRuns({ threadId: 't1' }))).toEqual(['e', 'b', 'a']);
        expect(ids(await store.listRuns({ target: 'beta', threadId: 't1' }))).toEqual(['e', 'b']);
        expect(ids(await store.listRuns({ target: 'nobody' }))).toEqual([]);
      });

      check('createdBefore is strict and limit keeps the newest', async () => {
        await seed();
        expect(ids(await store.listRuns({ createdBefore: T + 4 }))).toEqual(['c', 'b', 'a']);
        expect(ids(await store.listRuns({ createdBefore: T + 1 }))).toEqual([]);
        expect(ids(await store.listRuns({ limit: 2 }))).toEqual(['f', 'e']);
        expect(ids(await store.listRuns({ limit: 0 }))).toEqual([]);
        expect(ids(await store.listRuns({ limit: 100 }))).toHaveLength(6);
      });

      check('combines every filter', async () => {
        await seed();
        const filtered = await store.listRuns({
          status: ['running', 'failed', 'completed'],
          target: 'alpha',
          threadId: 't2',
          createdBefore: T + 6,
          limit: 5,
        });
        expect(ids(filtered)).toEqual(['d']);
        expect(
          ids(await store.listRuns({ status: ['running', 'completed'], threadId: 't1', limit: 2 })),
        ).toEqual(['e', 'b']);
      });

      check('pages through runs with createdBefore and limit', async () => {
        for (let index = 0; index < 7; index++) {
          await store.createRun(sampleRun({ id: `p${index}`, createdAt: T + index * 10 }));
        }
        const seen: string[] = [];
        let before: number | undefined;
        for (;;) {
          const page = await store.listRuns(
            before === undefined ? { limit: 3 } : { limit: 3, createdBefore: before },
          );
          if (page.length === 0) break;
          seen.push(...ids(page));
          before = page[page.length - 1]!.createdAt;
        }
        expect(seen).toEqual(['p6', 'p5', 'p4', 'p3', 'p2', 'p1', 'p0']);
      });
    });

    describe('claimRun', () => {
      check('takes a free lease: status running, lease until now + leaseMs, updatedAt now', async () => {
        const run = sampleRun({ id: 'free', status: 'suspended', wakeAt: T + 1 });
        await store.createRun(run);
        const claimed = await store.claimRun('free', 'worker-1', T + 10, 30_000);
        const expected: RunRecord = {
          ...run,
          status: 'running',
          leaseOwner: 'worker-1',
          leaseExpiresAt: T + 30_010,
          updatedAt: T + 10,
        };
        expect(claimed).toStrictEqual(expected);
        expect(await store.getRun('free')).toStrictEqual(expected);
      });

      check('refuses while another owner holds an unexpired lease', async () => {
        const run = sampleRun({ id: 'held', leaseOwner: 'worker-1', leaseExpiresAt: T + 100 });
        await store.createRun(run);
        expect(await store.claimRun('held', 'worker-2', T + 99, 1000)).toBeUndefined();
        expect(await store.claimRun('held', 'worker-2', T + 99, 1000, false)).toBeUndefined();
        expect(await store.getRun('held')).toStrictEqual(run);
      });

      check('takes a lease that expired, including one expiring exactly now', async () => {
        await store.createRun(sampleRun({ id: 'exp', leaseOwner: 'worker-1', leaseExpiresAt: T + 100 }));
        const claimed = await store.claimRun('exp', 'worker-2', T + 100, 50);
        expect(claimed?.leaseOwner).toBe('worker-2');
        expect(claimed?.leaseExpiresAt).toBe(T + 150);
        await store.createRun(sampleRun({ id: 'exp2', leaseOwner: 'worker-1', leaseExpiresAt: T + 100 }));
        expect((await store.claimRun('exp2', 'worker-2', T + 5000, 50))?.leaseOwner).toBe('worker-2');
      });

      check('lets the owner re-claim and extend its own lease', async () => {
        await store.createRun(sampleRun({ id: 'mine', leaseOwner: 'worker-1', leaseExpiresAt: T + 100 }));
        const claimed = await store.claimRun('mine', 'worker-1', T + 50, 1000);
        expect(claimed).toMatchObject({
          leaseOwner: 'worker-1',
          leaseExpiresAt: T + 1050,
          updatedAt: T + 50,
        });
      });

      check('force takes a lease another owner holds', async () => {
        await store.createRun(
          sampleRun({ id: 'forced', status: 'suspended', leaseOwner: 'worker-1', leaseExpiresAt: T + 100 }),
        );
        const claimed = await store.claimRun('forced', 'worker-2', T + 1, 10, true);
        expect(claimed).toMatchObject({ status: 'running', leaseOwner: 'worker-2', leaseExpiresAt: T + 11 });
        expect((await store.getRun('forced'))?.leaseOwner).toBe('worker-2');
      });

      check('refuses terminal runs, even with force, and leaves them unchanged', async () => {
        for (const status of ['completed', 'failed', 'cancelled', 'budget-exceeded'] as const) {
          const run = sampleRun({ id: `done-${status}`, status, endedAt: T + 1 });
          await store.createRun(run);
          expect(await store.claimRun(run.id, 'worker-1', T + 2, 100)).toBeUndefined();
          expect(await store.claimRun(run.id, 'worker-1', T + 2, 100, true)).toBeUndefined();
          expect(await store.getRun(run.id)).toStrictEqual(run);
        }
      });

      check('treats a lease without an owner or without an expiry as free', async () => {
        await store.createRun(sampleRun({ id: 'no-expiry', leaseOwner: 'worker-1' }));
        await store.createRun(sampleRun({ id: 'no-owner', leaseExpiresAt: T + 1000 }));
        expect((await store.claimRun('no-expiry', 'worker-2', T, 10))?.leaseOwner).toBe('worker-2');
        expect((await store.claimRun('no-owner', 'worker-2', T, 10))?.leaseExpiresAt).toBe(T + 10);
      });

      check('returns undefined for an unknown run', async () => {
        expect(await store.claimRun('ghost', 'worker-1', T, 100)).toBeUndefined();
        expect(await store.claimRun('ghost', 'worker-1', T, 100, true)).toBeUndefined();
        expect(await store.getRun('ghost')).toBeUndefined();
      });

      check('only one of two racing owners wins a free lease', async () => {
        await store.createRun(sampleRun({ id: 'race', status: 'suspended' }));
        const claims = await Promise.all([
          store.claimRun('race', 'worker-1', T, 1000),
          store.claimRun('race', 'worker-2', T, 1000),
        ]);
        const winners = claims.filter((claim) => claim !== undefined);
        expect(winners).toHaveLength(1);
        expect((await store.getRun('race'))?.leaseOwner).toBe(winners[0]?.leaseOwner);
      });
    });

    describe('renewLeases', () => {
      check("extends only the owner's leases on running runs", async () => {
        await store.createRun(sampleRun({ id: 'r1', leaseOwner: 'me', leaseExpiresAt: T + 10 }));
        await store.createRun(sampleRun({ id: 'r2', leaseOwner: 'me', leaseExpiresAt: T + 5 }));
        const other = sampleRun({ id: 'r3', leaseOwner: 'other', leaseExpiresAt: T + 10 });
        await store.createRun(other);
        const unleased = sampleRun({ id: 'r4' });
        await store.createRun(unleased);
        expect(await store.renewLeases('me', T + 500)).toEqual([]);
        expect((await store.getRun('r1'))?.leaseExpiresAt).toBe(T + 500);
        expect((await store.getRun('r2'))?.leaseExpiresAt).toBe(T + 500);
        expect(await store.getRun('r3')).toStrictEqual(other);
        expect(await store.getRun('r4')).toStrictEqual(unleased);
      });

      check(
        "returns the ids of the owner's runs that are no longer running, without extending them",
        async () => {
          await store.createRun(sampleRun({ id: 'running', leaseOwner: 'me', leaseExpiresAt: T + 10 }));
          const cancelled = sampleRun({
            id: 'cancelled',
            status: 'cancelled',
            leaseOwner: 'me',
            leaseExpiresAt: T + 10,
          });
          const suspended = sampleRun({
            id: 'suspended',
            status: 'suspended',
            leaseOwner: 'me',
            leaseExpiresAt: T + 10,
          });
          await store.createRun(cancelled);
          await store.createRun(suspended);
          await store.createRun(
            sampleRun({ id: 'theirs', status: 'cancelled', leaseOwner: 'other', leaseExpiresAt: T }),
          );
          const stopped = await store.renewLeases('me', T + 500);
          expect([...stopped].sort()).toEqual(['cancelled', 'suspended']);
          expect(await store.getRun('cancelled')).toStrictEqual(cancelled);
          expect(await store.getRun('suspended')).toStrictEqual(suspended);
          expect((await store.getRun('running'))?.leaseExpiresAt).toBe(T + 500);
        },
      );

      check('sees leases taken and released through claimRun and updateRun', async () => {
        await store.createRun(sampleRun({ id: 'x', status: 'suspended' }));
        await store.claimRun('x', 'me', T, 100);
        await store.renewLeases('me', T + 900);
        expect((await store.getRun('x'))?.leaseExpiresAt).toBe(T + 900);
        await store.updateRun('x', { status: 'cancelled' }, T + 1);
        expect(await store.renewLeases('me', T + 1000)).toEqual(['x']);
        await store.updateRun('x', { leaseOwner: null, leaseExpiresAt: null }, T + 2);
        expect(await store.renewLeases('me', T + 1000)).toEqual([]);
      });

      check('returns [] for an owner with no leases', async () => {
        await store.createRun(sampleRun({ id: 'x', leaseOwner: 'other', leaseExpiresAt: T }));
        expect(await store.renewLeases('nobody', T + 5)).toEqual([]);
        expect((await store.getRun('x'))?.leaseExpiresAt).toBe(T);
      });
    });

    describe('findRecoverable', () => {
      const ids = (runs: RunRecord[]) => runs.map((run) => run.id);

      check('finds running runs whose lease expired or that have no lease', async () => {
        await store.createRun(sampleRun({ id: 'expired', leaseOwner: 'w', leaseExpiresAt: T + 10 }));
        await store.createRun(sampleRun({ id: 'expires-now', leaseOwner: 'w', leaseExpiresAt: T + 50 }));
        await store.createRun(sampleRun({ id: 'held', leaseOwner: 'w', leaseExpiresAt: T + 51 }));
        await store.createRun(sampleRun({ id: 'no-lease', updatedAt: T + 20 }));
        await store.createRun(sampleRun({ id: 'owner-without-expiry', leaseOwner: 'w', updatedAt: T + 30 }));
        const found = await store.findRecoverable(T + 50, 10);
        expect(ids(found)).toEqual(['expired', 'no-lease', 'owner-without-expiry', 'expires-now']);
        expect(found[0]).toStrictEqual(sampleRun({ id: 'expired', leaseOwner: 'w', leaseExpiresAt: T + 10 }));
      });

      check('finds suspended runs whose wakeAt has come, not later ones or ones without wakeAt', async () => {
        await store.createRun(sampleRun({ id: 'due', status: 'suspended', wakeAt: T + 5 }));
        await store.createRun(sampleRun({ id: 'due-now', status: 'suspended', wakeAt: T + 50 }));
        await store.createRun(sampleRun({ id: 'future', status: 'suspended', wakeAt: T + 51 }));
        await store.createRun(sampleRun({ id: 'waiting', status: 'suspended' }));
        expect(ids(await store.findRecoverable(T + 50, 10))).toEqual(['due', 'due-now']);
        expect(ids(await store.findRecoverable(T + 4, 10))).toEqual([]);
      });

      check('never returns terminal runs', async () => {
        for (const status of ['completed', 'failed', 'cancelled'] as const) {
          await store.createRun(
            sampleRun({ id: status, status, wakeAt: T, leaseOwner: 'w', leaseExpiresAt: T, endedAt: T }),
          );
        }
        expect(await store.findRecoverable(T + 1_000_000, 10)).toEqual([]);
      });

      check('returns the longest-due first across both kinds, ties by id, at most limit', async () => {
        await store.createRun(sampleRun({ id: 'run-30', leaseOwner: 'w', leaseExpiresAt: T + 30 }));
        await store.createRun(sampleRun({ id: 'sus-10', status: 'suspended', wakeAt: T + 10 }));
        await store.createRun(sampleRun({ id: 'sus-40', status: 'suspended', wakeAt: T + 40 }));
        await store.createRun(sampleRun({ id: 'run-20b', leaseOwner: 'w', leaseExpiresAt: T + 20 }));
        await store.createRun(sampleRun({ id: 'run-20a', leaseOwner: 'w', leaseExpiresAt: T + 20 }));
        await store.createRun(sampleRun({ id: 'sus-20', status: 'suspended', wakeAt: T + 20 }));
        expect(ids(await store.findRecoverable(T + 100, 10))).toEqual([
          'sus-10',
          'run-20a',
          'run-20b',
          'sus-20',
          'run-30',
          'sus-40',
        ]);
        expect(ids(await store.findRecoverable(T + 100, 2))).toEqual(['sus-10', 'run-20a']);
        expect(await store.findRecoverable(T + 100, 0)).toEqual([]);
      });

      check('follows status changes made by updateRun and claimRun', async () => {
        await store.createRun(sampleRun({ id: 'x', status: 'suspended', wakeAt: T }));
        expect(ids(await store.findRecoverable(T, 5))).toEqual(['x']);
        await store.claimRun('x', 'w', T, 100);
        expect(ids(await store.findRecoverable(T + 99, 5))).toEqual([]);
        expect(ids(await store.findRecoverable(T + 100, 5))).toEqual(['x']);
        await store.updateRun('x', { status: 'completed', leaseOwner: null, leaseExpiresAt: null }, T + 101);
        expect(await store.findRecoverable(T + 1000, 5)).toEqual([]);
      });
    });

    describe('appendJournal and loadJournal', () => {
      check('loads entries in append order, not key order', async () => {
        const keys = ['r#10', 'r#2', 'r/1.0#0', 'r#1~timer', 'a#0', 'r#1'];
        for (const key of keys) await store.appendJournal(sampleEntry('run', key));
        expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(keys);
      });

      check('keeps call order for appends issued concurrently', async () => {
        const keys = Array.from({ length: 50 }, (_, index) => `r#${(index * 37) % 50}`);
        await Promise.all(keys.map((key) => store.appendJournal(sampleEntry('run', key))));
        expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(keys);
      });

      check('round-trips completed and failed entries with every field', async () => {
        const completed: JournalEntry = {
          runId: 'run-✨',
          key: 'r/1.0#3',
          name: 'tool:search_知识',
          kind: 'tool',
          status: 'completed',
          result: nestedValue,
          startedAt: T + 1,
          endedAt: T + 2,
          meta: {
            agent: 'researcher',
            model: 'gpt-test',
            tool: 'search',
            usage: { inputTokens: 5, outputTokens: 6, totalTokens: 11 },
            costUsd: 0.000_123,
            extra: { anything: ['json', 1, null] },
          },
        };
        const failed: JournalEntry = {
          runId: 'run-✨',
          key: 'r#4',
          name: 'model',
          kind: 'model',
          status: 'failed',
          error: fullError,
          startedAt: T + 3,
          endedAt: T + 4,
        };
        const bare: JournalEntry = {
          runId: 'run-✨',
          key: 'r#5',
          name: 'now',
          kind: 'now',
          status: 'completed',
          startedAt: T + 5,
          endedAt: T + 5,
        };
        await store.appendJournal(completed);
        await store.appendJournal(failed);
        await store.appendJournal(bare);
        const loaded = await store.loadJournal('run-✨');
        expect(loaded).toStrictEqual([completed, failed, bare]);
        expect(loaded[1]).not.toHaveProperty('result');
        expect(loaded[2]).not.toHaveProperty('result');
        expect(loaded[2]).not.toHaveProperty('meta');
      });

      check('keeps falsy results (null, 0, false, empty string) as present values', async () => {
        const values: unknown[] = [null, 0, false, '', [], {}];
        for (const [index, value] of values.entries()) {
          await store.appendJournal(sampleEntry('run', `r#${index}`, { result: value }));
        }
        const loaded = await store.loadJournal('run');
        expect(loaded.map((entry) => entry.result)).toStrictEqual(values);
        for (const entry of loaded) expect(entry).toHaveProperty('result');
      });

      check(
        'rejects a key already recorded for the run with JOURNAL_CONFLICT and keeps the first',
        async () => {
          const first = sampleEntry('run', 'r#0', { result: 'first' });
          await store.appendJournal(first);
          await expectBatonError(
            store.appendJournal(sampleEntry('run', 'r#0', { result: 'second', name: 'other' })),
            'JOURNAL_CONFLICT',
            { fault: 'system', runId: 'run' },
          );
          await store.appendJournal(sampleEntry('run', 'r#1'));
          expect(await store.loadJournal('run')).toStrictEqual([first, sampleEntry('run', 'r#1')]);
        },
      );

      check('accepts the same key in different runs', async () => {
        await store.appendJournal(sampleEntry('run-a', 'r#0', { result: 'a' }));
        await store.appendJournal(sampleEntry('run-b', 'r#0', { result: 'b' }));
        expect(await store.loadJournal('run-a')).toStrictEqual([
          sampleEntry('run-a', 'r#0', { result: 'a' }),
        ]);
        expect(await store.loadJournal('run-b')).toStrictEqual([
          sampleEntry('run-b', 'r#0', { result: 'b' }),
        ]);
      });

      check('rejects only the conflicting entry among concurrent appends', async () => {
        await store.appendJournal(sampleEntry('run-3', 'r#0'));
        const entries = Array.from({ length: 10 }, (_, index) => sampleEntry(`run-${index}`, 'r#0'));
        const outcomes = await Promise.allSettled(entries.map((entry) => store.appendJournal(entry)));
        expect(outcomes.map((outcome) => outcome.status)).toEqual(
          entries.map((_, index) => (index === 3 ? 'rejected' : 'fulfilled')),
        );
        const rejected = outcomes[3];
        expect(rejected?.status === 'rejected' && BatonError.isInstance(rejected.reason)).toBe(true);
        expect((rejected as PromiseRejectedResult).reason.code).toBe('JOURNAL_CONFLICT');
        for (const index of [0, 9]) expect(await store.loadJournal(`run-${index}`)).toHaveLength(1);
        expect(await store.loadJournal('run-3')).toHaveLength(1);
      });

      check('loadJournal of a run with no entries resolves []', async () => {
        await store.createRun(sampleRun({ id: 'quiet' }));
        await store.appendJournal(sampleEntry('other', 'r#0'));
        expect(await store.loadJournal('quiet')).toEqual([]);
        expect(await store.loadJournal('never-created')).toEqual([]);
      });

      check('loadJournal from a position resolves the entries after it, in append order', async () => {
        await store.createRun(sampleRun({ id: 'followed' }));
        for (const key of ['r#0', 'r#1', 'r#2']) await store.appendJournal(sampleEntry('followed', key));
        await store.appendJournal(sampleEntry('other', 'r#0'));
        const keys = async (from: number): Promise<string[]> =>
          (await store.loadJournal('followed', from)).map((entry) => entry.key);
        expect(await keys(0)).toEqual(['r#0', 'r#1', 'r#2']);
        expect(await keys(1)).toEqual(['r#1', 'r#2']);
        expect(await keys(3)).toEqual([]);
        expect(await keys(7)).toEqual([]);
        expect(await store.loadJournal('followed', 2)).toStrictEqual(
          (await store.loadJournal('followed')).slice(2),
        );
      });

      check('an append is visible to the next read without awaiting it first', async () => {
        const pending = store.appendJournal(sampleEntry('run', 'r#0'));
        const loaded = store.loadJournal('run');
        await pending;
        expect((await loaded).map((entry) => entry.key)).toEqual(['r#0']);
      });
    });

    describe('lease fences', () => {
      const held = { leaseOwner: 'worker-a', leaseExpiresAt: T + 100 };

      check('appends a fenced entry while its owner holds the lease', async () => {
        await store.createRun(sampleRun({ id: 'run', ...held }));
        await store.appendJournal(sampleEntry('run', 'r#0'), { owner: 'worker-a', now: T + 99 });
        expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(['r#0']);
      });

      check('refuses a fenced append from an owner that lost the lease, writing nothing', async () => {
        await store.createRun(sampleRun({ id: 'run', ...held }));
        await store.claimRun('run', 'worker-b', T + 150, 1000);
        const error = await expectBatonError(
          store.appendJournal(sampleEntry('run', 'r#0'), { owner: 'worker-a', now: T + 50 }),
          'LEASE_LOST',
          { fault: 'system', runId: 'run' },
        );
        expect(error.message).toContain('worker-a');
        expect(await store.loadJournal('run')).toEqual([]);
      });

      check('refuses a fenced append at or past the lease expiry, even with no new owner', async () => {
        await store.createRun(sampleRun({ id: 'run', ...held }));
        await expectBatonError(
          store.appendJournal(sampleEntry('run', 'r#0'), { owner: 'worker-a', now: T + 100 }),
          'LEASE_LOST',
        );
        await expectBatonError(
          store.appendJournal(sampleEntry('run', 'r#0'), { owner: 'worker-a', now: T + 5000 }),
          'LEASE_LOST',
        );
        expect(await store.loadJournal('run')).toEqual([]);
      });

      check('refuses a fenced append to a run without a lease or an unknown run', async () => {
        await store.createRun(sampleRun({ id: 'free' }));
        await expectBatonError(
          store.appendJournal(sampleEntry('free', 'r#0'), { owner: 'worker-a', now: T }),
          'LEASE_LOST',
        );
        await expectBatonError(
          store.appendJournal(sampleEntry('missing', 'r#0'), { owner: 'worker-a', now: T }),
          'LEASE_LOST',
        );
      });

      check('reports a taken key under a held lease as JOURNAL_CONFLICT', async () => {
        await store.createRun(sampleRun({ id: 'run', ...held }));
        const fence = { owner: 'worker-a', now: T + 1 };
        await store.appendJournal(sampleEntry('run', 'r#0', { result: 'first' }), fence);
        await expectBatonError(
          store.appendJournal(sampleEntry('run', 'r#0', { result: 'second' }), fence),
          'JOURNAL_CONFLICT',
        );
        expect((await store.loadJournal('run')).map((entry) => entry.result)).toEqual(['first']);
      });

      check('keeps fenced appends in a batch independent: a refused one rejects alone', async () => {
        await store.createRun(sampleRun({ id: 'mine', ...held }));
        await store.createRun(sampleRun({ id: 'theirs', leaseOwner: 'worker-b', leaseExpiresAt: T + 100 }));
        const fence = { owner: 'worker-a', now: T + 1 };
        const outcomes = await Promise.allSettled([
          store.appendJournal(sampleEntry('mine', 'r#0'), fence),
          store.appendJournal(sampleEntry('theirs', 'r#0'), fence),
          store.appendJournal(sampleEntry('mine', 'r#1'), fence),
        ]);
        expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
        expect((await store.loadJournal('mine')).map((entry) => entry.key)).toEqual(['r#0', 'r#1']);
        expect(await store.loadJournal('theirs')).toEqual([]);
      });

      check('applies a fenced update only while its owner holds the lease', async () => {
        await store.createRun(sampleRun({ id: 'run', ...held }));
        await store.updateRun('run', { costUsd: 1 }, T + 10, { owner: 'worker-a', now: T + 10 });
        expect((await store.getRun('run'))?.costUsd).toBe(1);
        await store.claimRun('run', 'worker-b', T + 200, 1000);
        await expectBatonError(
          store.updateRun('run', { status: 'completed', output: 'stale' }, T + 20, {
            owner: 'worker-a',
            now: T + 20,
          }),
          'LEASE_LOST',
        );
        const after = await store.getRun('run');
        expect(after?.status).toBe('running');
        expect(after?.output).toBeUndefined();
        expect(after?.leaseOwner).toBe('worker-b');
        await expectBatonError(
          store.updateRun('missing', { costUsd: 1 }, T, { owner: 'worker-a', now: T }),
          'RUN_NOT_FOUND',
        );
      });
    });

    describe('a run stored with its first step (createsWithFirstStep)', () => {
      check(
        'refuses the writes to a run queued behind its failed createRun, storing none of them',
        async (context) => {
          if (store.createsWithFirstStep !== true)
            context.skip('the store does not set createsWithFirstStep: the runtime awaits each creation');
          const held = { leaseOwner: 'worker-a', leaseExpiresAt: T + 100 };
          const fence = { owner: 'worker-a', now: T + 1 };
          await store.createRun(sampleRun({ id: 'taken', ...held, input: 'first' }));
          await store.appendJournal(sampleEntry('taken', 'r#0', { result: 'first' }), fence);
          // Issued together, as the runtime issues a new run's creation and its first step: the
          // second creation fails, and its writes (which the lease would let through, since the
          // same owner holds the taken run) must not land in the other run.
          const outcomes = await Promise.allSettled([
            store.createRun(sampleRun({ id: 'taken', ...held, input: 'second' })),
            store.appendJournal(sampleEntry('taken', 'r#1', { result: 'second' }), fence),
            store.updateRun('taken', { status: 'completed', output: 'second' }, T + 2, fence),
            store.createRun(sampleRun({ id: 'fresh', ...held })),
            store.appendJournal(sampleEntry('fresh', 'r#0'), fence),
          ]);
          const codes = outcomes.map((outcome) =>
            outcome.status === 'fulfilled' ? 'stored' : (outcome.reason as BatonError).code,
          );
          expect(codes).toEqual(['RUN_EXISTS', 'RUN_NOT_FOUND', 'RUN_NOT_FOUND', 'stored', 'stored']);
          expect((await store.loadJournal('taken')).map((entry) => entry.result)).toEqual(['first']);
          const taken = await store.getRun('taken');
          expect([taken?.status, taken?.input, taken?.output]).toEqual(['running', 'first', undefined]);
          expect((await store.loadJournal('fresh')).map((entry) => entry.key)).toEqual(['r#0']);
        },
      );
    });

    describe('appendJournalWith (optional: an entry and records in one write)', () => {
      const held = { leaseOwner: 'worker-a', leaseExpiresAt: T + 100 };
      const fence = { owner: 'worker-a', now: T + 1 };
      const skipped = 'the store has no appendJournalWith: the runtime appends records after the entry';

      check(
        'stores the entry and its records together, the records in order after earlier ones',
        async (context) => {
          if (store.appendJournalWith === undefined) context.skip(skipped);
          await store.createRun(sampleRun({ id: 'run', ...held }));
          await store.appendRecord('audit:run', 'earlier', T);
          await store.appendJournalWith?.(sampleEntry('run', 'r#0'), fence, [
            { stream: 'audit:run', data: { index: 1 }, at: T + 1 },
            { stream: 'audit:run', data: { index: 2 }, at: T + 2 },
            { stream: 'other', data: null, at: T + 3 },
          ]);
          expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(['r#0']);
          expect(await store.readRecords('audit:run')).toEqual([
            { seq: 1, at: T, data: 'earlier' },
            { seq: 2, at: T + 1, data: { index: 1 } },
            { seq: 3, at: T + 2, data: { index: 2 } },
          ]);
          expect(await store.readRecords('other')).toEqual([{ seq: 1, at: T + 3, data: null }]);
          // Without a fence and without records, it is appendJournal.
          await store.appendJournalWith?.(sampleEntry('run', 'r#1'), undefined, []);
          expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(['r#0', 'r#1']);
        },
      );

      check('stores none of the records of an entry that is refused', async (context) => {
        if (store.appendJournalWith === undefined) context.skip(skipped);
        await store.createRun(sampleRun({ id: 'run', ...held }));
        await store.appendJournal(sampleEntry('run', 'r#0'), fence);
        const records = [{ stream: 'audit:run', data: 'never', at: T + 2 }];
        const outcomes = await Promise.allSettled([
          store.appendJournalWith?.(sampleEntry('run', 'r#0'), fence, records),
          store.appendJournalWith?.(sampleEntry('run', 'r#1'), { owner: 'worker-b', now: T + 2 }, records),
          store.appendJournalWith?.(sampleEntry('run', 'r#2'), { owner: 'worker-a', now: T + 100 }, records),
          store.appendJournalWith?.(sampleEntry('run', 'r#3'), fence, [
            { stream: 'audit:run', data: 'kept', at: T + 3 },
          ]),
        ]);
        expect(
          outcomes.map((outcome) =>
            outcome.status === 'fulfilled' ? 'stored' : (outcome.reason as BatonError).code,
          ),
        ).toEqual(['JOURNAL_CONFLICT', 'LEASE_LOST', 'LEASE_LOST', 'stored']);
        expect((await store.loadJournal('run')).map((entry) => entry.key)).toEqual(['r#0', 'r#3']);
        expect((await store.readRecords('audit:run')).map((record) => record.data)).toEqual(['kept']);
      });

      check('checks every record before writing anything', async (context) => {
        if (store.appendJournalWith === undefined) context.skip(skipped);
        await store.createRun(sampleRun({ id: 'run', ...held }));
        await expectBatonError(
          store.appendJournalWith?.(sampleEntry('run', 'r#0'), fence, [
            { stream: 'audit:run', data: 'fine', at: T },
            { stream: 'bad stream!', data: 'x', at: T },
          ]) ?? Promise.resolve(),
          'INVALID_STREAM',
        );
        await expectBatonError(
          store.appendJournalWith?.(sampleEntry('run', 'r#0'), fence, [
            { stream: 'audit:run', data: { when: new Date(T) }, at: T },
          ]) ?? Promise.resolve(),
          'INVALID_RECORD',
        );
        expect(await store.loadJournal('run')).toEqual([]);
        expect(await store.readRecords('audit:run')).toEqual([]);
      });
    });

    describe('signals', () => {
      check('addSignal returns the stored signal and listSignals returns them in id order', async () => {
        await store.createRun(sampleRun({ id: 'run' }));
        const first = await store.addSignal('run', 'approval', { approved: true, by: 'Zoë 👩‍💼' }, T + 1);
        const second = await store.addSignal('run', 'comment', 'looks good', T + 2);
        const third = await store.addSignal('run', 'approval', null, T + 3);
        expect(first).toStrictEqual({
          id: first.id,
          runId: 'run',
          name: 'approval',
          payload: { approved: true, by: 'Zoë 👩‍💼' },
          createdAt: T + 1,
        });
        expect(second.id).toBeGreaterThan(first.id);
        expect(third.id).toBeGreaterThan(second.id);
        const fourth = await store.addSignal('run', 'poke', undefined, T + 4);
        expect(fourth.payload).toBeUndefined();
        expect(await store.listSignals('run')).toStrictEqual([first, second, third, fourth]);
        expect((await store.listSignals('run'))[2]?.payload).toBeNull();
        expect((await store.listSignals('run'))[3]?.payload).toBeUndefined();
      });

      check('ids increase across runs and listSignals returns only the run’s own', async () => {
        await store.createRun(sampleRun({ id: 'a' }));
        await store.createRun(sampleRun({ id: 'b' }));
        const a1 = await store.addSignal('a', 'go', nestedValue, T);
        const b1 = await store.addSignal('b', 'go', 1, T);
        const a2 = await store.addSignal('a', 'go', 2, T);
        expect(b1.id).toBeGreaterThan(a1.id);
        expect(a2.id).toBeGreaterThan(b1.id);
        expect(await store.listSignals('a')).toStrictEqual([a1, a2]);
        expect(await store.listSignals('b')).toStrictEqual([b1]);
        expect(await store.listSignals('nobody')).toEqual([]);
      });

      check('a signal to a suspended run sets its wakeAt (and updatedAt) to now', async () => {
        await store.createRun(sampleRun({ id: 'parked', status: 'suspended', wakeAt: T + 10_000 }));
        await store.createRun(sampleRun({ id: 'waiting', status: 'suspended' }));
        await store.addSignal('parked', 'approval', true, T + 5);
        await store.addSignal('waiting', 'approval', true, T + 6);
        expect(await store.getRun('parked')).toStrictEqual(
          sampleRun({ id: 'parked', status: 'suspended', wakeAt: T + 5, updatedAt: T + 5 }),
        );
        expect((await store.getRun('waiting'))?.wakeAt).toBe(T + 6);
        expect((await store.findRecoverable(T + 6, 10)).map((run) => run.id)).toEqual(['parked', 'waiting']);
      });

      check('a signal to a running or terminal run leaves the run unchanged', async () => {
        const running = sampleRun({ id: 'running', leaseOwner: 'w', leaseExpiresAt: T + 100 });
        const completed = sampleRun({ id: 'completed', status: 'completed', endedAt: T });
        await store.createRun(running);
        await store.createRun(completed);
        const early = await store.addSignal('running', 'approval', 'yes', T + 5);
        await store.addSignal('completed', 'approval', 'late', T + 5);
        expect(await store.getRun('running')).toStrictEqual(running);
        expect(await store.getRun('completed')).toStrictEqual(completed);
        expect(await store.listSignals('running')).toStrictEqual([early]);
        expect(await store.listSignals('completed')).toHaveLength(1);
      });

      check('rejects an unknown run with RUN_NOT_FOUND and stores nothing', async () => {
        await expectBatonError(store.addSignal('ghost', 'approval', true, T), 'RUN_NOT_FOUND', {
          fault: 'user',
          runId: 'ghost',
        });
        expect(await store.listSignals('ghost')).toEqual([]);
        await store.createRun(sampleRun({ id: 'ghost' }));
        expect(await store.listSignals('ghost')).toEqual([]);
      });
    });

    describe('record streams', () => {
      check(
        'appendRecord numbers each stream 1, 2, 3, ... and readRecords returns them in order',
        async () => {
          expect(await store.appendRecord('policy:router', { reward: 1 }, T + 1)).toBe(1);
          expect(await store.appendRecord('policy:router', nestedValue, T + 2)).toBe(2);
          expect(await store.appendRecord('audit', 'first', T + 3)).toBe(1);
          expect(await store.appendRecord('policy:router', null, T + 4)).toBe(3);
          expect(await store.readRecords('policy:router')).toStrictEqual([
            { seq: 1, at: T + 1, data: { reward: 1 } },
            { seq: 2, at: T + 2, data: nestedValue },
            { seq: 3, at: T + 4, data: null },
          ]);
          expect(await store.readRecords('audit')).toStrictEqual([{ seq: 1, at: T + 3, data: 'first' }]);
        },
      );

      check('keeps streams apart from runs: no run is needed and run ids do not clash', async () => {
        await store.createRun(sampleRun({ id: 'policy:router' }));
        await store.appendRecord('policy:router', 1, T);
        expect(await store.getRun('policy:router')).toStrictEqual(sampleRun({ id: 'policy:router' }));
        expect(await store.loadJournal('policy:router')).toEqual([]);
        expect(await store.listSignals('policy:router')).toEqual([]);
        expect(await store.readRecords('policy:other')).toEqual([]);
      });

      check('pages with after and limit', async () => {
        for (let index = 0; index < 7; index++) await store.appendRecord('s', index, T + index);
        const seqs = async (options: { after?: number; limit?: number }) =>
          (await store.readRecords('s', options)).map((record) => record.seq);
        expect(await seqs({ after: 4 })).toEqual([5, 6, 7]);
        expect(await seqs({ limit: 2 })).toEqual([1, 2]);
        expect(await seqs({ after: 2, limit: 3 })).toEqual([3, 4, 5]);
        expect(await seqs({ after: 7 })).toEqual([]);
        expect(await seqs({ after: 100, limit: 5 })).toEqual([]);
        expect(await seqs({ limit: 0 })).toEqual([]);
        expect((await store.readRecords('s', { after: 5, limit: 1 }))[0]).toStrictEqual({
          seq: 6,
          at: T + 5,
          data: 5,
        });
      });

      check('gives concurrent appends distinct consecutive seqs in call order', async () => {
        const seqs = await Promise.all(
          Array.from({ length: 20 }, (_, index) => store.appendRecord('busy', { index }, T)),
        );
        expect(seqs).toEqual(Array.from({ length: 20 }, (_, index) => index + 1));
        const records = await store.readRecords('busy');
        expect(records.map((record) => (record.data as { index: number }).index)).toEqual(
          Array.from({ length: 20 }, (_, index) => index),
        );
      });

      check('returns JSON copies: changing appended or read data never changes the stream', async () => {
        const data = { list: [1, 2], skipped: undefined as unknown };
        await store.appendRecord('copies', data, T);
        data.list.push(3);
        const [read] = await store.readRecords('copies');
        expect(read?.data).toStrictEqual({ list: [1, 2] });
        (read!.data as { list: number[] }).list.push(4);
        expect((await store.readRecords('copies'))[0]?.data).toStrictEqual({ list: [1, 2] });
      });

      check('rejects invalid stream names with INVALID_STREAM and writes nothing', async () => {
        for (const stream of [
          '',
          ' policy',
          'policy router',
          '-x',
          'a'.repeat(201),
          42 as unknown as string,
        ]) {
          const error = await expectBatonError(store.appendRecord(stream, 1, T), 'INVALID_STREAM', {
            fault: 'user',
          });
          expect(error.message).toContain('Invalid record stream name');
          await expectBatonError(store.readRecords(stream), 'INVALID_STREAM');
        }
        expect(await store.appendRecord('a'.repeat(200), 1, T)).toBe(1);
        expect(await store.appendRecord('ok.name_with-all:chars@v1/x', 1, T)).toBe(1);
      });

      check(
        'rejects data JSON cannot hold with INVALID_RECORD naming where, and writes nothing',
        async () => {
          const cyclic: Record<string, unknown> = { name: 'loop' };
          cyclic.self = cyclic;
          const cases: Array<[unknown, string]> = [
            [undefined, 'data is undefined'],
            [() => 1, 'data is a function'],
            [10n, 'data is a bigint'],
            [{ outcome: { reward: Number.NaN } }, 'data.outcome.reward is NaN'],
            [{ at: new Date(T) }, 'data.at is a Date'],
            [{ list: [1, undefined] }, 'data.list[1] is undefined'],
            [{ tags: new Map() }, 'data.tags is a Map'],
            [cyclic, 'data.self refers back'],
            [Symbol('s'), 'data is a symbol'],
          ];
          for (const [data, problem] of cases) {
            const error = await expectBatonError(store.appendRecord('checked', data, T), 'INVALID_RECORD', {
              fault: 'user',
            });
            expect(error.message).toContain('appendRecord("checked")');
            expect(error.message).toContain(problem);
          }
          expect(await store.readRecords('checked')).toEqual([]);
          expect(await store.appendRecord('checked', { fine: [null, true, -0.5, 'x', {}] }, T)).toBe(1);
        },
      );

      check('rejects a bad now, after or limit with a ConfigError', async () => {
        await expectBatonError(store.appendRecord('s', 1, Number.NaN), 'INVALID_OPTION');
        await expectBatonError(store.readRecords('s', { after: -1 }), 'INVALID_OPTION');
        await expectBatonError(store.readRecords('s', { limit: 1.5 }), 'INVALID_OPTION');
        expect(await store.readRecords('s')).toEqual([]);
      });

      check('stamps a record with the current time when no now is given', async () => {
        const before = Date.now();
        await store.appendRecord('clock', 'tick');
        const [record] = await store.readRecords('clock');
        expect(record?.at).toBeGreaterThanOrEqual(before);
        expect(record?.at).toBeLessThanOrEqual(Date.now());
      });
    });

    describe('close', () => {
      check('settles appends issued before close as written', async () => {
        await store.createRun(sampleRun({ id: 'run' }));
        const appends = [
          store.appendJournal(sampleEntry('run', 'r#0')),
          store.appendJournal(sampleEntry('run', 'r#1')),
        ];
        await store.close();
        await expect(Promise.all(appends)).resolves.toEqual([undefined, undefined]);
      });

      check('is idempotent, and every call after it rejects with STORE_CLOSED', async () => {
        await store.createRun(sampleRun({ id: 'run' }));
        await store.close();
        await expect(store.close()).resolves.toBeUndefined();
        const calls: Array<Promise<unknown>> = [
          store.createRun(sampleRun({ id: 'late' })),
          store.getRun('run'),
          store.updateRun('run', {}, T),
          store.listRuns(),
          store.claimRun('run', 'w', T, 1),
          store.renewLeases('w', T),
          store.findRecoverable(T, 1),
          store.appendJournal(sampleEntry('run', 'r#0')),
          store.loadJournal('run'),
          store.addSignal('run', 'go', null, T),
          store.listSignals('run'),
          store.appendRecord('stream', 1, T),
          store.readRecords('stream'),
        ];
        for (const call of calls) await expectBatonError(call, 'STORE_CLOSED');
      });
    });

    if (Object.keys(skip).length > 0) {
      it('skips only cases that exist', () => {
        expect(Object.keys(skip).filter((name) => !registered.has(name))).toEqual([]);
      });
    }
  });
}

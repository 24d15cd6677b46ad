/** Step results the journal cannot hold as they are fail the step with a clear error, the same way on every replay. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { BatonError } from './errors.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';
import type { Store } from './store.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function sqlitePath(): string {
  const folder = mkdtempSync(join(tmpdir(), 'baton-step-results-'));
  cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
  return join(folder, 'baton.db');
}

function runtimeOn(store: Store, flow: Parameters<Runtime['register']>[0]): Runtime {
  const runtime = createRuntime({ store, workflows: [flow], recover: false });
  cleanups.push(() => runtime.close());
  return runtime;
}

const cases: Array<[string, () => unknown, RegExp]> = [
  ['a Date', () => ({ chargedAt: new Date('2026-12-07T10:00:00Z') }), /its result\.chargedAt is a Date/],
  ['a Map', () => new Map([['A-1', 2]]), /its result is a Map/],
  ['a BigInt', () => ({ cents: 10n }), /its result\.cents is a bigint/],
  [
    'a nested class instance',
    () => ({ lines: [{ at: new URL('https://example.test/x') }] }),
    /lines\[0\]\.at is a URL/,
  ],
  ['NaN', () => [1, Number.NaN], /its result\[1\] is NaN/],
];

describe('step results JSON cannot hold', () => {
  it.each(cases)(
    '%s fails the step with INVALID_STEP_RESULT naming the step and the path',
    async (_kind, make, problem) => {
      let effects = 0;
      const flow = workflow({ name: 'charge', version: '1' }, async (ctx) => {
        const charged = await ctx.step('charge', () => {
          effects++;
          return make();
        });
        return { charged };
      });
      const runtime = runtimeOn(createMemoryStore(), flow);
      const handle = await runtime.start(flow, {});
      const error = await handle.result().catch((caught: unknown) => caught);
      expect(BatonError.isInstance(error)).toBe(true);
      expect((error as BatonError).code).toBe('INVALID_STEP_RESULT');
      expect((error as BatonError).fault).toBe('user');
      expect((error as BatonError).message).toContain('Step "charge" (r#0)');
      expect((error as BatonError).message).toMatch(problem);
      const [entry] = await runtime.journal(handle.runId);
      expect(entry).toMatchObject({
        name: 'charge',
        status: 'failed',
        error: { code: 'INVALID_STEP_RESULT' },
      });
      expect(effects).toBe(1);
    },
  );

  it('a Date result no longer turns into a string after a resume on SQLite: the first execution already refuses it', async () => {
    const path = sqlitePath();
    const seen: string[] = [];
    const flow = workflow({ name: 'dated', version: '1' }, async (ctx) => {
      const when = await ctx.step('when', () => new Date('2026-12-07T10:00:00Z'));
      seen.push(typeof when);
      await ctx.waitFor('go');
      return (when as Date).getTime();
    });
    const store = createSqliteStore({ path });
    const runtime = runtimeOn(store, flow);
    cleanups.push(() => store.close());
    const handle = await runtime.start(flow, {});
    await expect(handle.result()).rejects.toMatchObject({ code: 'INVALID_STEP_RESULT' });
    expect(seen).toEqual([]);
    expect((await runtime.get(handle.runId)).status).toBe('failed');
  });

  it('accepts plain JSON results, undefined, null and objects without a prototype', async () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { plain: true });
    const flow = workflow({ name: 'plain', version: '1' }, async (ctx) => [
      await ctx.step('object', () => ({ a: [1, 'two', null, { b: false }], skipped: undefined })),
      await ctx.step('nothing', () => undefined),
      await ctx.step('null', () => null),
      await ctx.step('bare', () => bare),
    ]);
    const runtime = runtimeOn(createMemoryStore(), flow);
    const output = await (await runtime.start(flow, {})).result();
    expect(output).toEqual([{ a: [1, 'two', null, { b: false }] }, undefined, null, { plain: true }]);
  });
});

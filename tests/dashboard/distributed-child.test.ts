/**
 * The run page of a run whose children ran as runs of their own on a BullMQ worker (`distribute:
 * true`), in Chromium: the server's runtime and the worker share a SQLite file; Redis is the local
 * server (never mocked). The parent's tree links each child to its own page, which shows the
 * child's journal and links back.
 */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorker } from '../../src/distributed/redis/index.js';
import { createRuntime, type RunContext, workflow } from '../../src/index.js';
import { createApiKey, createServer } from '../../src/server/index.js';
import { listen } from '../../src/server/listen.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { redis, workerTestHarness } from '../workers/worker-harness.js';
import { buildOnce, launchBrowser, openPage, screenshot } from './dashboard-fixtures.js';

/** A unit: two steps that take a little time. */
const pack = workflow({ name: 'pack', version: '1' }, async (ctx: RunContext, n: number) => {
  const weighed = await ctx.step(
    'weigh',
    () => new Promise<number>((done) => setTimeout(() => done(n * 3), 40)),
  );
  return ctx.step('label', () => `parcel ${n}: ${weighed} kg`);
});

/** A parent that sends two units to the workers and waits for both. */
const shipping = workflow({ name: 'shipping', version: '1' }, async (ctx: RunContext, count: number) => {
  const labels = await ctx.parallel(
    Array.from(
      { length: count },
      (_, n) => (branch: RunContext) => branch.run(pack, n + 1, { distribute: true }),
    ),
  );
  return ctx.step('manifest', () => labels.join('; '));
});

const harness = workerTestHarness('baton-dashboard-distributed');
const cleanups: (() => Promise<unknown>)[] = [];
let browser: Browser;
let url: string;
let key: string;
let runtime: ReturnType<typeof createRuntime>;

beforeAll(async () => {
  const build = await buildOnce();
  cleanups.push(async () => build.remove());
  browser = await launchBrowser();
  cleanups.push(() => browser.close());
  // The server's store and dispatcher on a fresh queue; the worker opens the same SQLite file.
  const { queue, prefix, dbPath, store, dispatcher } = harness.queue('dashboard');
  const workerStore = createSqliteStore({ path: dbPath });
  const worker = await createWorker({
    redis,
    queue,
    prefix,
    store: workerStore,
    workflows: [shipping, pack],
    leaseMs: 2000,
    pollIntervalMs: 100,
    concurrency: 4,
  });
  cleanups.push(async () => {
    await worker.close();
    await workerStore.close();
  });
  runtime = createRuntime({
    store,
    dispatcher,
    workflows: [shipping, pack],
    recover: false,
    pollIntervalMs: 50,
  });
  cleanups.push(() => runtime.close());
  const abort = new AbortController();
  const server = await listen(
    createServer({
      runtime,
      targets: [shipping, pack],
      keyCacheMs: 0,
      pollMs: 25,
      signal: abort.signal,
      dashboard: { root: build.outdir },
    }),
    { port: 0 },
  );
  cleanups.push(async () => {
    abort.abort();
    await server.close();
  });
  url = server.url;
  key = (await createApiKey(store, { scopes: ['read', 'run'], name: 'distributed test' })).key;
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

describe('a run with distributed children', () => {
  it("links each child the worker ran to its own page, which shows the child's journal and links back", async () => {
    const response = await fetch(`${url}/v1/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'shipping', input: 2 }),
    });
    expect(response.status).toBe(201);
    const runId = ((await response.json()) as { id: string }).id;
    await waitForStatus(runtime, runId, 'completed', { timeoutMs: 20_000 });
    const children = (await runtime.store.listRuns({ limit: 50 })).filter((run) =>
      run.id.startsWith(`${runId}.child.`),
    );
    expect(children.map((run) => [run.target, run.status])).toEqual([
      ['pack', 'completed'],
      ['pack', 'completed'],
    ]);

    const { page, context, errors } = await openPage(browser, { key });
    await page.goto(`${url}/#/runs/${runId}`);
    const links = page.locator('section.run-tree a.tree-node[data-kind="spawn"]');
    await expect.poll(() => links.count()).toBe(2);
    // Each child is the spawned run itself, right under the parent (not an unnamed child scope).
    expect(await page.locator('section.run-tree .tree-label').allTextContents()).toEqual([
      'shipping',
      'pack',
      'pack',
    ]);
    const targets = await links.evaluateAll((anchors) =>
      anchors.map((anchor) => anchor.getAttribute('href')),
    );
    expect(
      targets.map((target) => decodeURIComponent(target ?? '').replace(/^#\/runs\//, '')).sort(),
    ).toEqual(children.map((run) => run.id).sort());
    await screenshot(page, 'run-distributed-parent', true);

    await links.first().click();
    const childId = decodeURIComponent(new URL(page.url()).hash.replace(/^#\/runs\//, ''));
    expect(children.map((run) => run.id)).toContain(childId);
    await page.locator('button.step-row').first().waitFor();
    const journal = await runtime.journal(childId);
    await expect.poll(() => page.locator('button.step-row').count()).toBe(journal.length);
    expect(await page.locator('button.step-row .step-name').allTextContents()).toEqual(
      journal.map((entry) => entry.name),
    );
    const back = page.locator('p.crumbs a', { hasText: runId });
    expect(await back.getAttribute('href')).toBe(`#/runs/${encodeURIComponent(runId)}`);
    await screenshot(page, 'run-distributed-child', true);
    await back.click();
    await expect.poll(() => page.url()).toContain(encodeURIComponent(runId));
    expect(errors).toEqual([]);
    await context.close();
  });
});

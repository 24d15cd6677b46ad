/** In Chromium: the runs list's search, time and has-waits filters; the stats charts over time and the evals beside them, from real runs; forking a run from a step lands on the new run. */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataset, runEval } from '../../src/evals/index.js';
import { workflow } from '../../src/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import {
  buildOnce,
  launchBrowser,
  openPage,
  type Served,
  screenshot,
  serveDashboard,
} from './dashboard-fixtures.js';
import { greet, nightly, order, prices, supportTeam } from './flows.js';

let build: Awaited<ReturnType<typeof buildOnce>>;
let browser: Browser;
let served: Served;

/** Asleep for an hour: suspended, but waiting for no one. */
const nap = workflow({ name: 'nap' }, async (ctx) => {
  await ctx.sleep(3_600_000);
  return 'rested';
});

let answer = 'A-1001 is refunded';
const faq = workflow({ name: 'faq' }, async (ctx, question: string) =>
  ctx.step('answer', async () => `${question}: ${answer}`),
);

const ids: Record<string, string> = {};
const day = 86_400_000;

async function post(path: string, body: unknown): Promise<{ status: number; body: { id: string } }> {
  const response = await fetch(`${served.server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { id: string } };
}

async function start(target: string, input: unknown, threadId?: string): Promise<string> {
  const started = await post('/v1/runs', { target, input, ...(threadId === undefined ? {} : { threadId }) });
  expect(started.status).toBe(201);
  return started.body.id;
}

/** `YYYY-MM-DDTHH:mm` in this machine's time zone, as a datetime-local field holds it (Chromium runs in the same zone). */
function localInput(time: number): string {
  const date = new Date(time);
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [greet, order, nightly, supportTeam([]), nap, faq], { prices });
  const { runtime, store } = served;
  // Two runs of days ago (straight in the store: the runtime stamps runs with the current time).
  for (const [index, ago] of [3, 2].entries()) {
    const createdAt = Date.now() - ago * day;
    await store.createRun({
      id: `run_old_${index}`,
      target: 'greet',
      targetVersion: '1',
      input: { name: `old ${index}` },
      status: 'completed',
      usage: { inputTokens: 100, outputTokens: 20, totalTokens: 120 },
      costUsd: 0.002,
      createdAt,
      updatedAt: createdAt + 500,
      endedAt: createdAt + 500,
      schemaVersion: 1,
    });
  }
  ids.greet = await start('greet', { name: 'Ada' }, 'customer-42');
  ids.nightly = await start('nightly-report', {});
  ids.order = await start('order', { amount: 40 }, 'customer-42');
  ids.support = await start('support', 'I was charged twice for A-1001.', 'customer-7');
  ids.nap = await start('nap', null);
  ids.shipped = await start('order', { amount: 12 });
  await waitForStatus(runtime, ids.greet, 'completed');
  await waitForStatus(runtime, ids.nightly, 'failed');
  await waitForStatus(runtime, ids.order, 'suspended');
  await waitForStatus(runtime, ids.support, 'suspended');
  await waitForStatus(runtime, ids.nap, 'suspended');
  await waitForStatus(runtime, ids.shipped, 'suspended');
  await runtime.signal(ids.shipped, 'go', { approved: true });
  await waitForStatus(runtime, ids.shipped, 'completed');
  // Two evals of faq on one dataset: the second regresses.
  const cases = dataset({
    name: 'billing-faq',
    cases: [
      { id: 'refund', input: 'Refund?', contains: 'refunded' },
      { id: 'order', input: 'Order?', contains: 'A-1001' },
    ],
  });
  await runEval({ runtime, target: faq, dataset: cases });
  answer = 'we will look into it';
  await runEval({ runtime, target: faq, dataset: cases });
}, 60_000);

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

const shownRuns = (page: import('playwright-core').Page) =>
  page.locator('tbody tr[data-run]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-run')));

describe('runs filters', () => {
  it('searches, bounds by start time and keeps only runs waiting for a person; the address keeps them', async () => {
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs`);
    await page.locator(`tr[data-run="${ids.shipped}"]`).waitFor();

    // Search: part of a target name.
    await page.fill('input[name="q"]', 'ORD');
    await page.press('input[name="q"]', 'Enter');
    await expect.poll(() => shownRuns(page)).toEqual([ids.shipped, ids.order]);
    expect(page.url()).toContain('q=ORD');
    // A thread id; then a run id.
    await page.fill('input[name="q"]', 'customer-42');
    await page.press('input[name="q"]', 'Enter');
    await expect.poll(() => shownRuns(page)).toEqual([ids.order, ids.greet]);
    await page.fill('input[name="q"]', ids.support as string);
    await page.press('input[name="q"]', 'Enter');
    await expect.poll(() => shownRuns(page)).toEqual([ids.support]);

    // Waiting for a person: the order waiting for "go" and the support run waiting for an approval, not the nap.
    await page.goto(`${served.server.url}/#/runs`);
    await page.locator(`tr[data-run="${ids.nap}"]`).waitFor();
    await page.check('input[name="waiting"]');
    await expect.poll(() => shownRuns(page)).toEqual([ids.support, ids.order]);
    expect(page.url()).toContain('waiting=1');
    await screenshot(page, 'runs-filter-waiting');
    // Answering the order's wait drops it from the list live.
    await served.runtime.signal(ids.order as string, 'go', { approved: false });
    await expect.poll(() => shownRuns(page), { timeout: 10_000 }).toEqual([ids.support]);

    // Started before a day ago: only the two old runs. Unchecking "waiting" and setting the time in one
    // task (before the page renders again) keeps both changes: each reads the address, not its render.
    const dayAgo = localInput(Date.now() - day);
    // A string: it runs in the page (this file is type-checked without the DOM).
    await page.evaluate(`(() => {
      document.querySelector('input[name="waiting"]').click();
      const before = document.querySelector('input[name="before"]');
      before.value = ${JSON.stringify(dayAgo)};
      before.dispatchEvent(new Event('change', { bubbles: true }));
    })()`);
    await expect.poll(() => shownRuns(page)).toEqual(['run_old_1', 'run_old_0']);
    expect(page.url()).not.toContain('waiting=1');
    await page.fill('input[name="before"]', '');
    await page.fill('input[name="after"]', localInput(Date.now() - 2.5 * day));
    await expect.poll(() => shownRuns(page)).toContain('run_old_1');
    expect(await shownRuns(page)).not.toContain('run_old_0');
    await screenshot(page, 'runs-filter-time');
    // A link keeps every filter.
    await page.goto(`${served.server.url}/#/runs?q=greet&before=${encodeURIComponent(dayAgo)}`);
    await expect.poll(() => shownRuns(page)).toEqual(['run_old_1', 'run_old_0']);
    expect(await page.inputValue('input[name="q"]')).toBe('greet');
    expect(await page.inputValue('input[name="before"]')).toBe(dayAgo);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('fits the filters at phone width in the dark', async () => {
    const { page, context, errors } = await openPage(browser, {
      key: served.key,
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await page.goto(`${served.server.url}/#/runs?waiting=1`);
    await page.locator('tbody tr[data-run]').first().waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'runs-filters-phone-dark');
    expect(errors).toEqual([]);
    await context.close();
  });
});

interface Bucketed {
  bucketMs: number;
  buckets: Array<{ start: number; rows: Array<{ key: string; costUsd: number; count: number }> }>;
}

describe('stats over time', () => {
  it('charts cost, tokens, latency and errors per bucket from the runs, by workflow and by model, beside the evals', async () => {
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/stats?since=7d&by=workflow`);
    await page.locator('figure.chart').first().waitFor();
    expect(
      await page
        .locator('figure.chart figcaption')
        .evaluateAll((captions) => captions.map((caption) => caption.textContent)),
    ).toEqual(['Cost', 'Tokens', 'Latency p95 (p50 dashed)', 'Error rate']);
    const stats = (await (
      await fetch(`${served.server.url}/v1/stats?since=7d&by=workflow&bucket=6h`, {
        headers: { authorization: `Bearer ${served.key}` },
      })
    ).json()) as Bucketed;
    // One point per bucket with runs of a key, for each key charted (every key here: fewer than 6).
    const points = stats.buckets.reduce(
      (sum, bucket) => sum + bucket.rows.filter((row) => row.costUsd > 0).length,
      0,
    );
    expect(points).toBeGreaterThan(1);
    expect(await page.locator('figure[data-chart="Cost"] circle.point').count()).toBe(points);
    const legend = await page
      .locator('.legend li')
      .evaluateAll((items) => items.map((item) => item.textContent));
    expect(legend).toContain('greet');
    expect(legend).toContain('support');
    // The error rate shows the failed nightly run: a point at 100%.
    expect(await page.locator('figure[data-chart="Error rate"] svg').getAttribute('aria-label')).toContain(
      'up to 100%',
    );
    // Evals beside: the second faq eval regressed on both cases, against the first.
    const rows = page.locator('table.evals-table tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    expect(await rows.first().getAttribute('data-regressed')).toBe('true');
    expect(await rows.first().locator('.verdict').textContent()).toContain('regressed: refund, order');
    expect(await rows.first().textContent()).toContain('100% → 0%');
    expect(await rows.nth(1).locator('.verdict').textContent()).toBe('first eval');
    await screenshot(page, 'stats-charts', true);

    await page.selectOption('select[name="by"]', 'model');
    await expect
      .poll(() => page.locator('.legend li').evaluateAll((items) => items.map((item) => item.textContent)))
      .toEqual(['scripted:demo-model']);
    await page.locator('figure[data-chart="Tokens"] circle.point').first().waitFor();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('reads at phone width in the dark', async () => {
    const { page, context, errors } = await openPage(browser, {
      key: served.key,
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await page.goto(`${served.server.url}/#/stats?since=7d&by=workflow`);
    await page.locator('figure.chart').first().waitFor();
    await page.locator('table.evals-table').waitFor();
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await screenshot(page, 'stats-charts-phone-dark', true);
    expect(errors).toEqual([]);
    await context.close();
  });
});

describe('fork from a step', () => {
  it('forks the open run at the selected step with the keyboard and lands on the new run', async () => {
    const { runtime } = served;
    const journal = await runtime.journal(ids.shipped as string);
    const position = journal.findIndex((entry) => entry.name === 'price') + 1;
    expect(position).toBeGreaterThan(0);
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs/${ids.shipped}?step=${position}`);
    const details = page.locator(`aside.step-details[data-position="${position}"]`);
    await details.waitFor();
    const button = details.getByRole('button', { name: 'Fork from here' });
    await button.scrollIntoViewIfNeeded();
    await screenshot(page, 'run-fork-step');
    await button.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL(
      (url) => url.hash.startsWith('#/runs/') && !url.hash.includes(ids.shipped as string),
    );
    const forkId = decodeURIComponent(
      new URL(page.url()).hash.replace(/^#\/runs\//, '').split('?')[0] as string,
    );
    expect(await runtime.forkOrigin(forkId)).toEqual({
      runId: ids.shipped,
      at: journal[position - 1]?.key,
      step: position,
    });
    // The new run: check shared, price and reserve live, then waiting for go again.
    await waitForStatus(runtime, forkId, 'suspended');
    expect((await runtime.journal(forkId)).slice(0, 3).map((entry) => entry.name)).toEqual([
      'check',
      'price',
      'reserve',
    ]);
    await expect.poll(() => page.locator('button.step-row').count()).toBeGreaterThanOrEqual(3);
    await page.locator('.waiting-row').waitFor();
    // The shared step (recorded by the original, seconds before) sits at the start, marked (the
    // chart's scale to the fork's own steps is checked in tests/dashboard/timeline-model.test.ts).
    await expect.poll(() => page.locator('.steps > li.shared').count()).toBe(1);
    expect(await page.locator('.steps > li.shared .shared-chip').textContent()).toBe('shared');
    const sharedLeft = await page
      .locator('.steps > li.shared .step-bar')
      .evaluate((bar) => (bar as unknown as { style: { left: string } }).style.left);
    expect(sharedLeft).toBe('0%');
    await screenshot(page, 'run-forked');

    // Another input that is not JSON is refused before anything is sent; a reader key is told it may not fork.
    await page.goto(`${served.server.url}/#/runs/${ids.shipped}?step=${position}`);
    await details.waitFor();
    await details.locator('summary', { hasText: 'With another input' }).click();
    await details.locator('textarea[name="fork-input"]').fill('{ amount: 5');
    await details.getByRole('button', { name: 'Fork from here' }).click();
    await expect.poll(() => details.locator('.error-note').textContent()).toContain('not JSON');
    expect(errors).toEqual([]);
    await context.close();

    const { createApiKey } = await import('../../src/server/index.js');
    const reader = (await createApiKey(served.store, { scopes: ['read'] })).key;
    const readOnly = await openPage(browser, { key: reader });
    await readOnly.page.goto(`${served.server.url}/#/runs/${ids.shipped}?step=${position}`);
    const panel = readOnly.page.locator(`aside.step-details[data-position="${position}"]`);
    await panel.getByRole('button', { name: 'Fork from here' }).click();
    await expect
      .poll(() => panel.locator('.error-note').textContent())
      .toContain('Not allowed with this key');
    expect(readOnly.page.url()).toContain(ids.shipped as string);
    await readOnly.context.close();
  });
});

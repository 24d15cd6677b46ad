/** The runs page in Chromium: the list follows a run as it progresses (GET /v1/events, no reload), filters, the stats page, phone width and dark. */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [greet, order, nightly, supportTeam([])], { prices });
});

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

async function start(target: string, input: unknown, threadId?: string): Promise<string> {
  const response = await fetch(`${served.server.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, input, ...(threadId === undefined ? {} : { threadId }) }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('the runs page', () => {
  it('updates the list live while a run progresses, without reloading', async () => {
    const { runtime } = served;
    const done = await start('greet', { name: 'Ada' }, 'customer-42');
    const failed = await start('nightly-report', {});
    const support = await start('support', 'I was charged twice for A-1001.', 'customer-42');
    await waitForStatus(runtime, done, 'completed');
    await waitForStatus(runtime, failed, 'failed');
    await waitForStatus(runtime, support, 'suspended');

    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs`);
    await page.locator(`tr[data-run="${support}"]`).waitFor();
    await page.locator('[data-live="live"]').waitFor();
    expect(await page.locator('tbody tr').count()).toBe(3);
    await expect.poll(() => page.locator(`tr[data-run="${failed}"] .status`).textContent()).toBe('failed');
    // A marker on the window: it survives only if the page is never reloaded.
    await page.evaluate('window.stayed = true');

    // A run that starts now appears at the top, waits, then completes once signalled.
    const live = await start('order', { amount: 40 });
    const row = page.locator(`tr[data-run="${live}"]`);
    await row.waitFor();
    expect(await page.locator('tbody tr').first().getAttribute('data-run')).toBe(live);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('suspended');
    await expect.poll(async () => row.locator('.status').textContent()).toBe('waiting');
    await screenshot(page, 'runs');

    await fetch(`${served.server.url}/v1/runs/${live}/signal`, {
      method: 'POST',
      headers: { authorization: `Bearer ${served.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'go', payload: { approved: true } }),
    });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('completed');
    expect(await page.evaluate('window.stayed')).toBe(true);
    // The row has the run's figures: its duration is the run's, from the store.
    const record = await runtime.get(live);
    expect(record.endedAt).toBeDefined();
    expect(await row.locator('td.target a').first().textContent()).toBe('order');

    // Filters: status (the URL keeps it), then a thread.
    await page.selectOption('select[name="status"]', 'completed');
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    expect(page.url()).toContain('status=completed');
    await page.goto(`${served.server.url}/#/runs?thread=customer-42`);
    await expect.poll(() => page.locator('tbody tr').count()).toBe(2);
    expect(
      (
        await page.locator('tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-run')))
      ).sort(),
    ).toEqual([done, support].sort());
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows the stats of /v1/stats', async () => {
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/stats?since=all`);
    await page.locator('table.stats tbody tr').first().waitFor();
    const stats = (await (
      await fetch(`${served.server.url}/v1/stats?since=all`, {
        headers: { authorization: `Bearer ${served.key}` },
      })
    ).json()) as { total: { count: number }; rows: { key: string }[] };
    expect(await page.locator('[data-total="count"]').textContent()).toBe(String(stats.total.count));
    expect(
      await page
        .locator('table.stats tbody tr')
        .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-key'))),
    ).toEqual(stats.rows.map((row) => row.key));
    await screenshot(page, 'stats');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('reads at phone width in the dark', async () => {
    const { page, context, errors } = await openPage(browser, {
      key: served.key,
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await page.goto(`${served.server.url}/#/runs`);
    await page.locator('tbody tr').first().waitFor();
    // Nothing wider than the screen but the table, which scrolls inside its frame.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    const background = await page.evaluate('getComputedStyle(document.documentElement).backgroundColor');
    expect(background).toBe('rgb(17, 19, 23)');
    await screenshot(page, 'runs-phone-dark');
    expect(errors).toEqual([]);
    await context.close();
  });
});

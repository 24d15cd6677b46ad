/** The run page in Chromium: the timeline and each step's details match the journal, it grows live while the run runs, the keyboard moves through it, and 2,000 steps render in under a second. */

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
import { manySteps, order, prices, supportTeam } from './flows.js';

interface Entry {
  key: string;
  name: string;
  kind: string;
  status: string;
  startedAt: number;
  endedAt: number;
  result?: unknown;
}

let build: Awaited<ReturnType<typeof buildOnce>>;
let browser: Browser;
let served: Served;
const refunds: string[] = [];

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [order, supportTeam(refunds), manySteps], { prices });
});

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

async function post(path: string, body: unknown): Promise<Response> {
  return fetch(`${served.server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function start(target: string, input: unknown): Promise<string> {
  const response = await post('/v1/runs', { target, input });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function journal(runId: string): Promise<Entry[]> {
  const response = await fetch(`${served.server.url}/v1/runs/${runId}/journal`, {
    headers: { authorization: `Bearer ${served.key}` },
  });
  return ((await response.json()) as { entries: Entry[] }).entries;
}

/** Journal positions (1-based) in the order the timeline shows them: by start, then position. */
function timelineOrder(entries: readonly Entry[]): number[] {
  return entries
    .map((entry, index) => ({ entry, position: index + 1 }))
    .sort((a, b) => a.entry.startedAt - b.entry.startedAt || a.position - b.position)
    .map(({ position }) => position);
}

describe('the run page', () => {
  it("shows a run's timeline and step details as its journal has them", async () => {
    const runId = await start('support', 'I was charged twice for A-1001.');
    await waitForStatus(served.runtime, runId, 'suspended');
    expect((await post(`/v1/runs/${runId}/approvals/call_refund`, { approved: true })).status).toBe(202);
    await waitForStatus(served.runtime, runId, 'completed');
    const entries = await journal(runId);
    expect(entries.length).toBeGreaterThanOrEqual(6);

    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs/${runId}`);
    const rows = page.locator('button.step-row');
    await expect.poll(() => rows.count()).toBe(entries.length);
    // One row per journal entry, in start order, named as recorded.
    const shown = await rows.evaluateAll((buttons) =>
      buttons.map((button) => ({
        position: Number(button.getAttribute('data-position')),
        name: button.querySelector('.step-name')?.textContent,
      })),
    );
    expect(shown.map((row) => row.position)).toEqual(timelineOrder(entries));
    for (const row of shown) expect(row.name).toBe(entries[row.position - 1]?.name);
    // Markers: the handoff to billing and the answered approval.
    expect(await page.locator('.marker-lane .marker-handoff').count()).toBeGreaterThan(0);
    expect(await page.locator('.marker-lane .marker-wait').count()).toBe(1);

    // Every step's details: latency, output and, for tools, the arguments the model gave.
    for (const { position } of shown) {
      const entry = entries[position - 1] as Entry;
      await page.locator(`button.step-row[data-position="${position}"]`).click();
      const details = page.locator(`aside.step-details[data-position="${position}"]`);
      await details.waitFor();
      expect(await details.locator('h2').textContent()).toBe(entry.name);
      expect(Number(await details.locator('[data-latency]').getAttribute('data-latency'))).toBe(
        entry.endedAt - entry.startedAt,
      );
      const output =
        entry.result === undefined
          ? '(none)'
          : typeof entry.result === 'string'
            ? entry.result
            : JSON.stringify(entry.result, null, 2);
      // Model answers and ledgers are laid out for reading, with the value as recorded beside them.
      const recorded = details.locator('pre.step-output-json');
      expect(
        await ((await recorded.count()) > 0 ? recorded : details.locator('pre.step-output')).textContent(),
      ).toBe(output);
      if (entry.name === 'tool:refund')
        expect(JSON.parse((await details.locator('pre.step-input').textContent()) ?? '')).toEqual({
          orderId: 'A-1001',
          amount: 40,
        });
    }
    const refund = entries.findIndex((entry) => entry.name === 'tool:refund') + 1;
    await page.locator(`button.step-row[data-position="${refund}"]`).click();
    expect(page.url()).toContain(`step=${refund}`);
    await screenshot(page, 'run-timeline');

    // The keyboard: arrows move between steps, Enter opens one, Escape closes it.
    await page.locator('button.step-row').first().focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    const third = timelineOrder(entries)[2];
    await page.locator(`aside.step-details[data-position="${third}"]`).waitFor();
    await page.keyboard.press('Escape');
    await expect.poll(() => page.locator('aside.step-details').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('grows live while the run runs', async () => {
    const runId = await start('order', { amount: 40 });
    await waitForStatus(served.runtime, runId, 'suspended');
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs/${runId}`);
    const rows = page.locator('button.step-row');
    await expect.poll(() => rows.count()).toBe(3);
    await page.locator('[data-live="live"]').waitFor();
    await expect.poll(() => page.locator('.page-head .status').textContent()).toBe('waiting');
    await screenshot(page, 'run-live');
    expect((await post(`/v1/runs/${runId}/signal`, { name: 'go', payload: { approved: true } })).status).toBe(
      202,
    );
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBe(7);
    await expect
      .poll(() => page.locator('.page-head .status').textContent(), { timeout: 10_000 })
      .toBe('completed');
    const entries = await journal(runId);
    expect(
      await rows.evaluateAll((buttons) =>
        buttons.map((button) => Number(button.getAttribute('data-position'))),
      ),
    ).toEqual(timelineOrder(entries));
    await expect.poll(() => page.locator('details.io pre').last().textContent()).toBe('shipped');
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders a run of 2,000 steps in under a second', async () => {
    const runId = await start('many-steps', { count: 2000 });
    await waitForStatus(served.runtime, runId, 'completed', { timeoutMs: 60_000 });
    const { page, context, errors } = await openPage(browser, { key: served.key });
    // Warm the page (its script compiled, the browser started) so the figure is the timeline's.
    await page.goto(`${served.server.url}/#/runs`);
    await page.locator('[data-live]').waitFor();
    await page.goto('about:blank');
    const started = Date.now();
    await page.goto(`${served.server.url}/#/runs/${runId}`);
    await page.locator('[data-steps="2000"]').waitFor({ timeout: 20_000 });
    await page.locator('button.step-row').first().waitFor();
    const wall = Date.now() - started;
    const marks = await page.evaluate(() => {
      const at = (name: string) => performance.getEntriesByName(name)[0]?.startTime ?? Number.NaN;
      return { loaded: at('baton:journal-loaded'), rendered: at('baton:timeline-rendered') };
    });
    const render = marks.rendered - marks.loaded;
    process.stdout.write(
      `2,000-step timeline: ${render.toFixed(0)} ms from journal to rows on screen, ${marks.rendered.toFixed(0)} ms from navigation, ${wall} ms as the test saw it\n`,
    );
    // The goal (issue 14) is under a second to render. The bound is on the render itself, measured
    // in the page; the machine is shared and loaded, and this is still several times what it takes.
    expect(render).toBeLessThan(1000);
    // From navigation to rows on screen (fetching a 2,000-entry journal included): a generous bound.
    expect(marks.rendered).toBeLessThan(5000);
    // Only the rows in view are in the page; the keyboard reaches the last step all the same.
    expect(await page.locator('button.step-row').count()).toBeLessThan(100);
    expect(await page.locator('section.timeline').getAttribute('aria-label')).toBe('Timeline, 2000 steps');
    await page.locator('button.step-row').first().focus();
    await page.keyboard.press('End');
    await expect.poll(() => page.evaluate('document.activeElement?.dataset.position')).toBe('2000');
    expect(await page.locator('button.step-row[data-position="2000"] .step-name').textContent()).toBe(
      'item-1999',
    );
    await page.keyboard.press('Enter');
    await page.locator('aside.step-details[data-position="2000"]').waitFor();
    await screenshot(page, 'run-2000-steps');
    expect(errors).toEqual([]);
    await context.close();
  });
});

/** In Chromium: a forked run says where it came from (a link to the origin's step); Replay checks an ended run against today's code; a sleeping run reads "sleeping until …", not as waiting for a person. */

import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { createApiKey } from '../../src/server/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import {
  buildOnce,
  launchBrowser,
  openPage,
  type Served,
  screenshot,
  serveDashboard,
} from './dashboard-fixtures.js';
import { order } from './flows.js';

let build: Awaited<ReturnType<typeof buildOnce>>;
let browser: Browser;
let served: Served;

const hour = 3_600_000;

/** Asleep for an hour from the start. */
const nap = workflow({ name: 'nap' }, async (ctx) => {
  await ctx.sleep(hour);
  return 'rested';
});

/** Waits for `go` (a person), then sleeps an hour. */
const nightcap = workflow({ name: 'nightcap' }, async (ctx) => {
  await ctx.waitFor('go');
  await ctx.sleep(hour);
  return 'rested';
});

/** Drafts and publishes; once `reviewed` is set (today's code), it asks for a review in between. */
let reviewed = false;
const plan = workflow({ name: 'plan' }, async (ctx, topic: string) => {
  const draft = await ctx.step('draft', async () => `Draft on ${topic}`);
  if (reviewed) await ctx.step('review', async () => `${draft}, reviewed`);
  return ctx.step('publish', async () => `Published: ${draft}`);
});

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [order, nap, nightcap, plan]);
}, 60_000);

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

async function post(path: string, body: unknown): Promise<{ status: number; body: { id: string } }> {
  const response = await fetch(`${served.server.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { id: string } };
}

async function start(target: string, input: unknown): Promise<string> {
  const started = await post('/v1/runs', { target, input });
  expect(started.status).toBe(201);
  return started.body.id;
}

/** No horizontal scrolling of the page (phone width). */
async function overflow(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
}

describe('a forked run', () => {
  it('says where it was forked from, a link to the step it ran again that the keyboard follows', async () => {
    const { runtime } = served;
    const origin = await start('order', { amount: 40 });
    await waitForStatus(runtime, origin, 'suspended');
    await runtime.signal(origin, 'go', { approved: true });
    await waitForStatus(runtime, origin, 'completed');
    const journal = await runtime.journal(origin);
    const position = journal.findIndex((entry) => entry.name === 'price') + 1;
    const forked = await post(`/v1/runs/${origin}/fork`, { at: journal[position - 1]?.key });
    expect(forked.status).toBe(201);
    const forkId = forked.body.id;
    await waitForStatus(runtime, forkId, 'suspended');

    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs/${forkId}`);
    const note = page.locator('.fork-origin');
    await note.waitFor();
    expect(await note.textContent()).toContain(`Forked from ${origin} at step ${position}`);
    const link = note.getByRole('link', { name: origin });
    expect(await link.getAttribute('href')).toBe(`#/runs/${origin}?step=${position}`);
    await page.locator('button.step-row').first().waitFor();
    await screenshot(page, 'run-fork-origin');
    // The original run was not forked: no such note.
    await link.focus();
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.hash === `#/runs/${origin}?step=${position}`);
    await page.locator(`aside.step-details[data-position="${position}"]`).waitFor();
    expect(await page.locator('.step-details h2').textContent()).toBe('price');
    expect(await page.locator('.fork-origin').count()).toBe(0);
    expect(errors).toEqual([]);
    await context.close();

    const phone = await openPage(browser, {
      key: served.key,
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await phone.page.goto(`${served.server.url}/#/runs/${forkId}`);
    await phone.page.locator('.fork-origin').waitFor();
    await phone.page.locator('button.step-row').first().waitFor();
    expect(await overflow(phone.page)).toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'run-fork-origin-phone-dark');
    expect(phone.errors).toEqual([]);
    await phone.context.close();
  });
});

describe('replay', () => {
  it("checks an ended run against today's code from its page: identical, then the first step that differs", async () => {
    const { runtime } = served;
    reviewed = false;
    const runId = await start('plan', 'owls');
    await waitForStatus(runtime, runId, 'completed');
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs/${runId}`);
    await page.locator('button.step-row').first().waitFor();
    const button = page.getByRole('button', { name: 'Replay' });
    await button.focus();
    await page.keyboard.press('Enter');
    const report = page.locator('.replay-report');
    await expect.poll(() => report.getAttribute('data-identical')).toBe('true');
    expect(await report.textContent()).toContain('identical');

    // Today's code asks for a review where the run published: the report names step 2 and opens it.
    reviewed = true;
    await button.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => report.getAttribute('data-identical')).toBe('false');
    const text = await report.textContent();
    expect(text).toContain('differs at step #2');
    expect(text).toContain('"publish"');
    expect(text).toContain('"review"');
    await screenshot(page, 'run-replay');
    await report.getByRole('button', { name: 'Open step #2' }).focus();
    await page.keyboard.press('Enter');
    await page.locator('aside.step-details[data-position="2"]').waitFor();
    // Nothing was stored: the run and its journal are as they were.
    expect((await runtime.journal(runId)).map((entry) => entry.name)).toEqual(['draft', 'publish']);
    expect(errors).toEqual([]);
    await context.close();

    // At phone width in the dark.
    const phone = await openPage(browser, {
      key: served.key,
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await phone.page.goto(`${served.server.url}/#/runs/${runId}`);
    await phone.page.locator('button.step-row').first().waitFor();
    await phone.page.getByRole('button', { name: 'Replay' }).click();
    await phone.page.locator('.replay-report[data-identical="false"]').waitFor();
    expect(await overflow(phone.page)).toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'run-replay-phone-dark', true);
    expect(phone.errors).toEqual([]);
    await phone.context.close();
    reviewed = false;
  });

  it('is told a key without the run scope may not replay, and offers no replay for a run still going', async () => {
    const { runtime, store } = served;
    const runId = await start('plan', 'bats');
    await waitForStatus(runtime, runId, 'completed');
    const reader = (await createApiKey(store, { scopes: ['read'] })).key;
    const { page, context } = await openPage(browser, { key: reader });
    await page.goto(`${served.server.url}/#/runs/${runId}`);
    await page.getByRole('button', { name: 'Replay' }).click();
    await expect
      .poll(() => page.locator('.replay .error-note').textContent())
      .toContain('Not allowed with this key');
    expect(await page.locator('.replay-report').count()).toBe(0);

    const waiting = await start('order', { amount: 3 });
    await waitForStatus(runtime, waiting, 'suspended');
    await page.goto(`${served.server.url}/#/runs/${waiting}`);
    await page.locator('button.step-row').first().waitFor();
    expect(await page.getByRole('button', { name: 'Replay' }).count()).toBe(0);
    await context.close();
  });
});

describe('a sleeping run', () => {
  it('reads "sleeping until …" in the list and on its page, apart from runs waiting for a person, and live', async () => {
    const { runtime } = served;
    const asleep = await start('nap', null);
    const person = await start('order', { amount: 7 });
    const later = await start('nightcap', null);
    for (const runId of [asleep, person, later]) await waitForStatus(runtime, runId, 'suspended');
    const wakeAt = (await runtime.get(asleep)).wakeAt as number;
    expect(wakeAt).toBeGreaterThan(Date.now());

    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/runs`);
    const row = (runId: string) => page.locator(`tr[data-run="${runId}"]`);
    await row(later).waitFor();
    expect(await row(asleep).locator('.status').textContent()).toBe('sleeping');
    expect(await row(asleep).locator('.wait-note').textContent()).toMatch(
      /^until (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d$/,
    );
    expect(await row(person).locator('.status').textContent()).toBe('waiting');
    expect(await row(person).locator('.wait-note').textContent()).toBe('for a person');
    expect(await row(later).locator('.wait-note').textContent()).toBe('for a person');

    // Answered, the nightcap goes to sleep: its row changes in place.
    await runtime.signal(later, 'go', null);
    await expect
      .poll(() => row(later).locator('.status').textContent(), { timeout: 10_000 })
      .toBe('sleeping');
    expect(await row(later).locator('.wait-note').textContent()).toMatch(/^until /);
    await screenshot(page, 'runs-sleeping');

    // The inbox lists the order, not the sleepers.
    await page.goto(`${served.server.url}/#/inbox`);
    await page.locator(`article.request[data-run="${person}"]`).waitFor();
    expect(await page.locator(`article.request[data-run="${asleep}"]`).count()).toBe(0);
    expect(await page.locator(`article.request[data-run="${later}"]`).count()).toBe(0);

    // Its page: asleep until a time, nothing to answer; the timeline's last row sleeps.
    await page.goto(`${served.server.url}/#/runs/${asleep}`);
    const note = page.locator('.waiting-note');
    await note.waitFor();
    expect(await note.getAttribute('data-wait')).toBe('sleep');
    expect(await note.textContent()).toContain('Sleeping until');
    expect(await note.locator('a').count()).toBe(0);
    expect(await page.locator('.waiting-row .step-name').textContent()).toBe('sleeping…');
    await screenshot(page, 'run-sleeping');
    // A run waiting for a person says so, with the way to the inbox.
    await page.goto(`${served.server.url}/#/runs/${person}`);
    await page.locator('.waiting-note[data-wait="person"]').waitFor();
    expect(await page.locator('.waiting-note').textContent()).toContain('Waiting for a person');
    expect(await page.locator('.waiting-note a').getAttribute('href')).toBe('#/inbox');
    expect(await page.locator('.waiting-row .step-name').textContent()).toBe('waiting…');
    expect(errors).toEqual([]);
    await context.close();

    const phone = await openPage(browser, {
      key: served.key,
      viewport: { width: 390, height: 844 },
      colorScheme: 'dark',
    });
    await phone.page.goto(`${served.server.url}/#/runs`);
    await phone.page.locator(`tr[data-run="${asleep}"] .wait-note`).waitFor();
    expect(await overflow(phone.page)).toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'runs-sleeping-phone-dark');
    await phone.page.goto(`${served.server.url}/#/runs/${asleep}`);
    await phone.page.locator('.waiting-note').waitFor();
    expect(await overflow(phone.page)).toBeLessThanOrEqual(0);
    await screenshot(phone.page, 'run-sleeping-phone-dark');
    expect(phone.errors).toEqual([]);
    await phone.context.close();
  });
});

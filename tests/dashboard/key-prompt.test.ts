/** The API key in Chromium: without one the API answers 401 and the page asks for a key; a refused key says so; a good one is kept in local storage; "Forget key" asks again. With auth off there is no prompt. */

import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildOnce,
  launchBrowser,
  openPage,
  type Served,
  screenshot,
  serveDashboard,
} from './dashboard-fixtures.js';
import { greet } from './flows.js';

let build: Awaited<ReturnType<typeof buildOnce>>;
let browser: Browser;
let served: Served;

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [greet]);
  await served.runtime.start('greet', { name: 'Ada' });
});

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

describe('the API key', () => {
  it('asks for a key when the API answers 401, and keeps a good one', async () => {
    const { page, context, errors } = await openPage(browser);
    const unauthorized: string[] = [];
    page.on('response', (response) => {
      if (response.status() === 401) unauthorized.push(new URL(response.url()).pathname);
    });
    await page.goto(`${served.server.url}/`);
    const prompt = page.locator('section.key-prompt');
    await prompt.waitFor();
    await expect.poll(() => unauthorized.length).toBeGreaterThan(0);
    expect(unauthorized.every((path) => path.startsWith('/v1/'))).toBe(true);
    expect(await prompt.locator('[role="alert"]').textContent()).toBe('This server needs an API key.');
    // The field has the focus: type and press Enter.
    await expect.poll(() => page.evaluate('document.activeElement?.id')).toBe('api-key');
    await screenshot(page, 'key-prompt');

    await page.keyboard.type('bk_not-a-key');
    await page.keyboard.press('Enter');
    await expect
      .poll(() => prompt.locator('[role="alert"]').textContent())
      .toBe('The server refused this key: This API key is not valid (unknown or revoked).');

    await page.getByRole('textbox', { name: 'API key' }).fill(served.key);
    await page.getByRole('button', { name: 'Use this key' }).click();
    await page.locator('table.runs tbody tr').first().waitFor();
    expect(await page.evaluate("localStorage.getItem('baton.apiKey')")).toBe(served.key);
    await page.reload();
    await page.locator('table.runs tbody tr').first().waitFor();
    expect(await prompt.count()).toBe(0);

    await page.getByRole('button', { name: 'Forget key' }).click();
    await prompt.waitFor();
    expect(await page.evaluate("localStorage.getItem('baton.apiKey')")).toBeNull();
    expect(errors).toEqual([]);
    await context.close();
  });

  it('shows no prompt when the server runs without keys', async () => {
    const open = await serveDashboard(build.outdir, [greet], { auth: false });
    try {
      await open.runtime.start('greet', { name: 'Grace' });
      const { page, context, errors } = await openPage(browser);
      await page.goto(`${open.server.url}/#/runs`);
      await page.locator('table.runs tbody tr').first().waitFor();
      expect(await page.locator('section.key-prompt').count()).toBe(0);
      expect(errors).toEqual([]);
      await context.close();
    } finally {
      await open.stop();
    }
  });
});

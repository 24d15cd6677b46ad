/** The inbox in Chromium: approving resumes a waiting run (the tool runs once), rejecting needs a reason, a reply answers a human member, and a key without the approve scope is told why. */

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
import { prices, reviewedPost, supportTeam } from './flows.js';

let build: Awaited<ReturnType<typeof buildOnce>>;
let browser: Browser;
let served: Served;
const refunds: string[] = [];

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [supportTeam(refunds), reviewedPost], { prices });
});

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

async function start(target: string, input: unknown, key = served.key): Promise<string> {
  const response = await fetch(`${served.server.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, input }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('the inbox', () => {
  it('approving a tool call resumes the waiting run; a reply answers a human member', async () => {
    const support = await start('support', 'I was charged twice for A-1001.');
    const review = await start('reviewed-post', 'tea');
    await waitForStatus(served.runtime, support, 'suspended');
    await waitForStatus(served.runtime, review, 'suspended');

    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/inbox`);
    const approval = page.locator(`article.request[data-run="${support}"]`);
    const question = page.locator(`article.request[data-run="${review}"]`);
    await approval.waitFor();
    await question.waitFor();
    expect(await approval.locator('h2').textContent()).toBe('Approve refund?');
    expect(JSON.parse((await approval.locator('pre.request-input').textContent()) ?? '')).toEqual({
      orderId: 'A-1001',
      amount: 40,
    });
    await expect.poll(() => page.locator('header .count').textContent()).toBe('2 waiting');
    await screenshot(page, 'inbox');

    await approval.getByRole('button', { name: 'Approve' }).click();
    await waitForStatus(served.runtime, support, 'completed');
    expect(refunds).toEqual(['A-1001 40']);
    expect((await served.runtime.get(support)).output).toBe(
      'Refunded the duplicate charge of $40 on A-1001.',
    );
    // The answered request leaves the inbox without a reload.
    await expect.poll(() => approval.count(), { timeout: 10_000 }).toBe(0);

    await question.getByLabel('Your answer').fill('Ship it');
    await question.getByRole('button', { name: 'Reply' }).click();
    await waitForStatus(served.runtime, review, 'completed');
    expect((await served.runtime.get(review)).output).toBe('Published: Ship it');
    await page.getByText('Nothing waits for a person.').waitFor({ timeout: 10_000 });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('rejecting needs a reason, which the run gets; the tool never runs', async () => {
    refunds.length = 0;
    const support = await start('support', 'Refund A-1001 please.');
    await waitForStatus(served.runtime, support, 'suspended');
    const { page, context, errors } = await openPage(browser, { key: served.key });
    await page.goto(`${served.server.url}/#/inbox`);
    const approval = page.locator(`article.request[data-run="${support}"]`);
    await approval.getByRole('button', { name: 'Reject…' }).click();
    const reject = approval.getByRole('button', { name: 'Reject', exact: true });
    expect(await reject.isDisabled()).toBe(true);
    await approval.getByLabel('Why? The model reads this.').fill('Already refunded by the bank');
    await reject.click();
    await waitForStatus(served.runtime, support, 'completed');
    expect(refunds).toEqual([]);
    const signals = await served.store.listSignals(support);
    expect(signals.at(-1)?.payload).toMatchObject({
      approved: false,
      reason: 'Already refunded by the bank',
    });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('tells a key without the approve scope that it cannot answer', async () => {
    const { createApiKey } = await import('../../src/server/index.js');
    const reader = (await createApiKey(served.store, { scopes: ['read', 'run'], name: 'viewer' })).key;
    const support = await start('support', 'Refund A-1001 again.');
    await waitForStatus(served.runtime, support, 'suspended');
    const { page, context } = await openPage(browser, { key: reader });
    await page.goto(`${served.server.url}/#/inbox`);
    const approval = page.locator(`article.request[data-run="${support}"]`);
    await approval.getByRole('button', { name: 'Approve' }).click();
    const note = approval.locator('.error-note');
    await note.waitFor();
    expect(await note.textContent()).toContain('Not allowed with this key');
    expect(await note.textContent()).toContain('approve');
    expect((await served.runtime.get(support)).status).toBe('suspended');
    await context.close();
  });
});

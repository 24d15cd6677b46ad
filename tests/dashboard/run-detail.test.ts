/** The run page in depth, in Chromium: the tree of child runs and agents, magentic ledgers, a group chat as a chat, redaction (never in the page nor in what the API sent it), a failed step's class and route, and where a resumed run was interrupted. */

import type { Browser, Page } from 'playwright-core';
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
import { checkout, intake, namingChat, pipeline, refundTeam, secretEmail } from './run-flows.js';

interface Entry {
  key: string;
  name: string;
  kind: string;
}

let build: Awaited<ReturnType<typeof buildOnce>>;
let browser: Browser;
let served: Served;

beforeAll(async () => {
  [build, browser] = await Promise.all([buildOnce(), launchBrowser()]);
  served = await serveDashboard(build.outdir, [checkout, refundTeam(), namingChat(), intake(), pipeline]);
});

afterAll(async () => {
  await served?.stop();
  await browser?.close();
  build?.remove();
});

async function start(target: string, input: unknown): Promise<string> {
  const response = await fetch(`${served.server.url}/v1/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, input }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function finished(target: string, input: unknown): Promise<string> {
  const runId = await start(target, input);
  await waitForStatus(served.runtime, runId, 'completed');
  return runId;
}

async function openRun(runId: string, options: Parameters<typeof openPage>[1] = {}) {
  const opened = await openPage(browser, { key: served.key, ...options });
  await opened.page.goto(`${served.server.url}/#/runs/${runId}`);
  await opened.page.locator('button.step-row').first().waitFor();
  return opened;
}

const rowPositions = (page: Page) =>
  page
    .locator('button.step-row')
    .evaluateAll((buttons) => buttons.map((button) => Number(button.getAttribute('data-position'))));

describe('the run page in depth', () => {
  it('shows the tree of child runs and agents with their latency; clicking a child opens it alone', async () => {
    const runId = await finished('checkout', { orderId: 'A-7' });
    const entries = (await served.runtime.journal(runId)) as Entry[];
    const { page, context, errors } = await openRun(runId);
    const tree = page.locator('section.run-tree');
    const labels = await tree.locator('.tree-label').allTextContents();
    expect(labels).toEqual(['checkout', 'prepare', 'billing', 'billing']);
    expect(await tree.locator('.tree-failed').allTextContents()).toEqual(['1 failed step', '1 failed step']);
    // The child runs sit under the run, the agent under its child run; each has a latency.
    const billingChild = tree.locator('.tree-node[data-kind="child"]', { hasText: 'billing' });
    expect(await tree.locator('li li li .tree-node[data-kind="agent"] .tree-label').textContent()).toBe(
      'billing',
    );
    for (const latency of await tree.locator('.tree-latency').allTextContents())
      expect(latency).toMatch(/\d+ ms|s$/);
    await screenshot(page, 'run-tree', true);

    await billingChild.click();
    await page.locator('.scope-note').waitFor();
    expect(page.url()).toContain('scope=r%2F1');
    const inChild = entries.flatMap((entry, index) => (entry.key.startsWith('r/1#') ? [index + 1] : []));
    await expect.poll(() => rowPositions(page)).toHaveLength(inChild.length);
    expect((await rowPositions(page)).sort((a, b) => a - b)).toEqual(inChild);
    // Its `run:` step is open in the details.
    const runStep = entries.findIndex((entry) => entry.name === 'run:billing') + 1;
    await page.locator(`aside.step-details[data-position="${runStep}"]`).waitFor();
    await screenshot(page, 'run-tree-child');
    await page.getByRole('button', { name: 'Show the whole run' }).click();
    await expect.poll(() => rowPositions(page)).toHaveLength(entries.length);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows a failed step's error class and the route that raised it", async () => {
    const runId = await finished('checkout', { orderId: 'A-8' });
    const entries = (await served.runtime.journal(runId)) as Entry[];
    const failed = entries.findIndex((entry) => entry.name === 'tool:charge_card') + 1;
    expect(failed).toBeGreaterThan(0);
    const { page, context, errors } = await openRun(runId);
    const item = page.locator('section.errors .error-item');
    expect(await item.count()).toBe(1);
    expect(await item.locator('.error-class').textContent()).toBe(
      "TOOL_FAILED · ToolError · recoverable · tool's fault",
    );
    expect(await item.locator('.error-route').textContent()).toBe('checkout › billing › tool charge_card');
    expect(await item.locator('.error-message').textContent()).toContain('card declined by the issuer');
    await item.locator('button').click();
    const details = page.locator(`aside.step-details[data-position="${failed}"]`);
    await details.waitFor();
    expect(await details.locator('[data-error-class]').textContent()).toContain('TOOL_FAILED');
    expect(await details.locator('[data-error-route]').textContent()).toBe(
      'raised at checkout › billing › tool charge_card',
    );
    // The timeline marks it.
    expect(await page.locator('.marker-lane .marker-error').count()).toBe(1);
    await screenshot(page, 'run-error');
    expect(errors).toEqual([]);
    await context.close();
  });

  it("renders a magentic team's task and progress ledgers as ledgers", async () => {
    const runId = await finished('refund-team', 'I was charged twice for A-1001.');
    const { page, context, errors } = await openRun(runId);
    const task = page.locator('section.task-ledger');
    expect(await task.locator('.ledger-plan li').allTextContents()).toEqual([
      'researcher: find both charges',
      'billing: refund the duplicate',
    ]);
    expect(await task.locator('.ledger-facts').textContent()).toContain(
      'the customer was charged twice for A-1001',
    );
    const rounds = page.locator('.progress-table tbody tr');
    expect(await rounds.count()).toBe(3);
    expect(await rounds.nth(0).locator('td').allTextContents()).toEqual([
      'no',
      'no',
      'yes',
      'researcher',
      'Find both charges on A-1001.',
    ]);
    expect(await rounds.nth(2).locator('td').first().textContent()).toBe('yes');
    // The manager's choices of speaker are markers; a ledger step's details show the ledger.
    expect(await page.locator('.marker-lane .marker-speaker').count()).toBeGreaterThan(0);
    expect(await page.locator('.marker-lane .marker-ledger').count()).toBe(4);
    await rounds.nth(1).locator('th button').click();
    await page.locator('aside.step-details .ledger-progress').waitFor();
    await screenshot(page, 'run-ledgers', true);
    expect(errors).toEqual([]);
    await context.close();
  });

  it('renders a group chat as a chat, with the speaker selections as markers', async () => {
    const runId = await finished('naming', 'Name our framework.');
    const { page, context, errors } = await openRun(runId);
    const messages = page.locator('section.chat .chat-message');
    expect(await messages.count()).toBe(4);
    expect(await messages.locator('.chat-speaker').allTextContents()).toEqual([
      'user',
      'writer',
      'critic',
      'writer',
    ]);
    expect(await messages.nth(1).locator('.chat-text').textContent()).toBe('How about "Baton"?');
    // Each change of speaker is a speaker selection, not a handoff.
    expect(await page.locator('.marker-lane .marker-speaker').count()).toBe(2);
    expect(await page.locator('.marker-lane .marker-handoff').count()).toBe(0);
    await screenshot(page, 'run-chat', true);
    await context.close();
    // Phone width, dark.
    const phone = await openRun(runId, { viewport: { width: 390, height: 844 }, colorScheme: 'dark' });
    await phone.page.locator('section.chat').scrollIntoViewIfNeeded();
    await screenshot(phone.page, 'run-chat-phone-dark', true);
    const overflow = await phone.page.evaluate('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow as number).toBeLessThanOrEqual(0);
    expect([...errors, ...phone.errors]).toEqual([]);
    await phone.context.close();
  });

  it('never lets a redacted value reach the page: not in the DOM, not in any API answer', async () => {
    const runId = await finished('intake', `Customer ${secretEmail} asks about plans.`);
    // The store holds it (so this test can fail).
    expect(JSON.stringify(await served.runtime.journal(runId))).toContain(secretEmail);
    const opened = await openPage(browser, { key: served.key });
    const bodies: Promise<string>[] = [];
    opened.page.on('response', (response) => {
      // JSON answers (the run, its journal, the inbox, the list); the open event streams never end, and
      // tests/server/redaction.test.ts reads a run's stream with content.
      if (response.url().includes('/v1/') && response.headers()['content-type']?.includes('json') === true)
        bodies.push(response.text().catch(() => ''));
    });
    // The list first: it carries each run's input.
    await opened.page.goto(`${served.server.url}/#/runs`);
    await opened.page.locator(`tr[data-run="${runId}"]`).waitFor();
    expect(await opened.page.content()).not.toContain(secretEmail);
    await opened.page.goto(`${served.server.url}/#/runs/${runId}`);
    const rows = opened.page.locator('button.step-row');
    await rows.first().waitFor();
    const positions = await rowPositions(opened.page);
    for (const position of positions) {
      await opened.page.locator(`button.step-row[data-position="${position}"]`).click();
      await opened.page.locator(`aside.step-details[data-position="${position}"]`).waitFor();
      for (const summary of await opened.page.locator('aside.step-details details summary').all())
        await summary.click();
      expect(await opened.page.content()).not.toContain(secretEmail);
    }
    await opened.page.locator('details.io summary').first().click();
    const html = await opened.page.content();
    expect(html).not.toContain(secretEmail);
    expect(html).toContain('[REDACTED:email]');
    const answers = await Promise.all(bodies);
    expect(answers.some((body) => body.includes('"entries"'))).toBe(true);
    expect(answers.some((body) => body.includes('"nextCursor"') && body.includes(runId))).toBe(true);
    for (const body of answers) expect(body).not.toContain(secretEmail);
    // The tool's output as the guardrail left it, for the screenshot.
    const tool = await opened.page.locator('button.step-row', { hasText: 'tool:lookup_customer' });
    await tool.click();
    expect(await opened.page.locator('aside.step-details pre.step-output').textContent()).toBe(
      '{"id":"C-7","email":"[REDACTED:email]","plan":"pro"}',
    );
    await opened.page.evaluate('window.scrollTo(0, 0)');
    await screenshot(opened.page, 'run-redacted');
    expect(opened.errors).toEqual([]);
    await opened.context.close();
  });

  it('shows where a resumed run was interrupted', async () => {
    // What a process that died in step 3 leaves in the store: the run still `running` under its
    // expired lease, steps 1 and 2 recorded a minute and a half ago.
    const runId = 'run_crashed_pipeline';
    const at = Date.now() - 90_000;
    await served.store.createRun({
      id: runId,
      target: 'pipeline',
      targetVersion: '1',
      input: {},
      status: 'running',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      costUsd: 0,
      createdAt: at,
      updatedAt: at + 60,
      leaseOwner: 'a-process-that-died',
      leaseExpiresAt: at + 30_000,
      schemaVersion: 1,
    });
    for (const [index, name] of ['collect', 'price'].entries())
      await served.store.appendJournal({
        runId,
        key: `r#${index}`,
        name,
        kind: 'step',
        status: 'completed',
        result: `${name} done`,
        startedAt: at + index * 30,
        endedAt: at + index * 30 + 25,
      });
    await (await served.runtime.resume(runId)).result();
    const { page, context, errors } = await openRun(runId);
    const note = page.locator('.interruption-note');
    await note.waitFor();
    expect(await note.textContent()).toMatch(
      /Interrupted after step #2 price .*resumed 1 m \d+ s later with step #3 reserve/,
    );
    // The marker sits between the last step before and the first after.
    const resumed = page.locator('.steps > li.resumed-after button.step-row');
    expect(await resumed.getAttribute('data-position')).toBe('3');
    expect(await resumed.locator('.resume-chip').textContent()).toMatch(/^resumed after 1 m \d+ s$/);
    expect(await page.locator('.marker-lane .marker-resume').count()).toBe(1);
    await screenshot(page, 'run-resumed');
    expect(errors).toEqual([]);
    await context.close();
  });
});

/** What the dashboard tests share: a fresh build of the page, a server with the dashboard on a memory store, Debian's Chromium driven by playwright-core, screenshots. */

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildDashboard, type DashboardBuild } from '../../scripts/build-dashboard.js';
import {
  createMemoryStore,
  createRuntime,
  type PriceTable,
  type Runnable,
  type Runtime,
  type Store,
} from '../../src/index.js';
import { type ApiKeyScope, createApiKey, createServer, type ServerOptions } from '../../src/server/index.js';
import { type Listening, listen } from '../../src/server/listen.js';

/** Debian's Chromium (`apt-get install -y chromium`); never a browser downloaded by Playwright. */
export const chromiumPath = process.env.BATON_CHROMIUM ?? '/usr/bin/chromium';

/** Where screenshots go (git-ignored): one PNG per page, named by the test. */
export const artifacts = resolve(import.meta.dirname, 'artifacts');

/** Builds the dashboard from source into a temporary folder (so the test sees the current code). */
export async function buildOnce(): Promise<DashboardBuild & { remove(): void }> {
  const outdir = mkdtempSync(join(tmpdir(), 'baton-dashboard-'));
  const built = await buildDashboard({ outdir });
  return { ...built, remove: () => rmSync(outdir, { recursive: true, force: true }) };
}

/** Starts headless Chromium; fails (never skips) when it is not installed. */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(chromiumPath))
    throw new Error(
      `No Chromium at ${chromiumPath}: install Debian's (apt-get install -y chromium) or set BATON_CHROMIUM.`,
    );
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** A served dashboard over a memory store. */
export interface Served {
  store: Store;
  runtime: Runtime;
  server: Listening;
  /** A key with read, run and approve. */
  key: string;
  stop(): Promise<void>;
}

/** A runtime and a server with the dashboard (from `root`) serving `targets`. */
export async function serveDashboard(
  root: string,
  targets: Runnable[],
  options: Partial<ServerOptions> & { scopes?: ApiKeyScope[]; prices?: PriceTable } = {},
): Promise<Served> {
  const { scopes = ['read', 'run', 'approve'], prices, ...serverOptions } = options;
  const store = createMemoryStore();
  const runtime = createRuntime({ store, pollIntervalMs: 50, ...(prices === undefined ? {} : { prices }) });
  const abort = new AbortController();
  const app = createServer({
    runtime,
    targets,
    keyCacheMs: 0,
    pollMs: 25,
    signal: abort.signal,
    dashboard: { root },
    ...serverOptions,
  });
  const server = await listen(app, { port: 0 });
  const { key } = await createApiKey(store, { scopes, name: 'dashboard test' });
  return {
    store,
    runtime,
    server,
    key,
    async stop() {
      abort.abort();
      await server.close();
      await runtime.close();
    },
  };
}

/**
 * A page at 1280×800 (or `viewport`) whose local storage holds `key` before the dashboard loads;
 * without `key` the page starts with none. Console errors fail the test that reads `errors`.
 */
export async function openPage(
  browser: Browser,
  options: {
    key?: string;
    viewport?: { width: number; height: number };
    colorScheme?: 'light' | 'dark';
  } = {},
): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 800 },
    colorScheme: options.colorScheme ?? 'light',
  });
  if (options.key !== undefined) {
    // A string: this runs in the page (about:blank has no storage, hence the try).
    await context.addInitScript({
      content: `try { if (localStorage.getItem('baton.apiKey') === null) localStorage.setItem('baton.apiKey', ${JSON.stringify(options.key)}); } catch {}`,
    });
  }
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    // A 401 the page answers with the key prompt is expected; anything else is a defect.
    if (message.type() === 'error' && !message.text().includes('401')) errors.push(message.text());
  });
  return { context, page, errors };
}

/** Writes a screenshot of the page to tests/dashboard/artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  mkdirSync(artifacts, { recursive: true });
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage });
  return path;
}

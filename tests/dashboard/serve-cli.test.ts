/** `baton serve` from the built package serves the dashboard at / (from dist/dashboard, built by `npm run build`) and says where; `--no-dashboard` leaves the API alone. */

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo } from '../baton-cli.js';

let folder: string;
const env = offlineEnv();
beforeAll(() => {
  assertCliBuilt();
  if (!existsSync(join(repo, 'dist/dashboard/index.html')))
    throw new Error('dist/dashboard is missing: run npm run build (it runs build:ui).');
  folder = mkdtempSync(join(tmpdir(), 'baton-serve-dashboard-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Starts `baton serve` on any free port; resolves with its URL and what it printed once it listens. */
async function serve(extra: string[]): Promise<{ url: string; output: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      join(repo, 'dist/cli/main.js'),
      'serve',
      'tests/server/fixtures/flows',
      '--port',
      '0',
      '--store',
      join(folder, 'baton.db'),
      ...extra,
    ],
    { cwd: repo, env },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton serve did not start: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = / on (http:\/\/[^ ]+) \(store/.exec(output);
      if (match?.[1] !== undefined && output.includes('Ctrl-C')) {
        clearTimeout(timer);
        resolve({ url: match[1], output, child });
      }
    });
    child.once('exit', (code) => reject(new Error(`baton serve exited ${code}: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('baton serve and the dashboard', () => {
  it('serves the dashboard at / and prints its address', async () => {
    const { url, output, child } = await serve([]);
    try {
      expect(output).toContain(`Dashboard: ${url}/`);
      const page = await fetch(`${url}/`);
      expect(page.status).toBe(200);
      const html = await page.text();
      const script = /src="\.\/assets\/([^"]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      const asset = await fetch(`${url}/assets/${script}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    } finally {
      await stop(child);
    }
  });

  it('leaves / to the API with --no-dashboard', async () => {
    const { url, output, child } = await serve(['--no-dashboard']);
    try {
      expect(output).not.toContain('Dashboard:');
      expect((await fetch(`${url}/`)).status).toBe(404);
    } finally {
      await stop(child);
    }
  });
});

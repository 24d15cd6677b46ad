/** `baton dev` serves as `baton serve` does and opens the dashboard with the platform's opener (here BATON_BROWSER, a script that records the URL), or says to open it by hand. */

import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo } from '../baton-cli.js';

let folder: string;
let opener: string;
let opened: string;
beforeAll(() => {
  assertCliBuilt();
  folder = mkdtempSync(join(tmpdir(), 'baton-dev-'));
  opener = join(folder, 'opener.mjs');
  opened = join(folder, 'opened.txt');
  // A stand-in browser: writes the URL it is given where the test reads it.
  writeFileSync(
    opener,
    `#!${process.execPath}\nimport { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(opened)}, process.argv[2] ?? '');\n`,
  );
  chmodSync(opener, 0o755);
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Starts `baton dev`; resolves once it printed `until` (and its URL). */
async function dev(
  extra: string[],
  browser: string,
  until: RegExp,
): Promise<{ url: string; output: string; child: ChildProcess }> {
  rmSync(opened, { force: true });
  const child = spawn(
    process.execPath,
    [
      join(repo, 'dist/cli/main.js'),
      'dev',
      'tests/server/fixtures/flows',
      '--port',
      '0',
      '--store',
      join(folder, 'baton.db'),
      ...extra,
    ],
    { cwd: repo, env: { ...offlineEnv(), BATON_BROWSER: browser } },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton dev did not get there: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = / on (http:\/\/[^ ]+) \(store/.exec(output);
      if (match?.[1] !== undefined && until.test(output)) {
        clearTimeout(timer);
        resolve({ url: match[1], output, child });
      }
    });
    child.once('exit', (code) => reject(new Error(`baton dev exited ${code}: ${output}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

describe('baton dev', () => {
  it('serves the dashboard and opens it in the browser', async () => {
    const { url, output, child } = await dev(['--no-auth'], opener, /Opened /);
    try {
      expect(output).toContain(`Dashboard: ${url}/`);
      expect(output).toContain(`Opened ${url}/ in your browser (${opener}).`);
      expect(readFileSync(opened, 'utf8')).toBe(`${url}/`);
      expect((await fetch(`${url}/`)).status).toBe(200);
      expect((await fetch(`${url}/v1/runs`)).status).toBe(200);
    } finally {
      await stop(child);
    }
  });

  it('prints the URL to open when no browser can be started', async () => {
    const { url, output, child } = await dev([], join(folder, 'no-such-browser'), /Could not open/);
    try {
      expect(output).toContain(`Could not open a browser (`);
      expect(output).toContain(`open ${url}/ yourself`);
      // Keys as for baton serve: without --no-auth the API wants one.
      expect((await fetch(`${url}/v1/runs`)).status).toBe(401);
    } finally {
      await stop(child);
    }
  });

  it('opens nothing with --no-open (or --no-dashboard)', async () => {
    const quiet = await dev(['--no-open'], opener, /Ctrl-C/);
    // The open would come right after the address; give a wrong one time to show.
    await new Promise((resolve) => setTimeout(resolve, 500));
    await stop(quiet.child);
    expect(quiet.output).not.toContain('Opened');
    expect(existsSync(opened)).toBe(false);
    const bare = await dev(['--no-dashboard'], opener, /nothing to open/);
    await stop(bare.child);
    expect(existsSync(opened)).toBe(false);
  });
});

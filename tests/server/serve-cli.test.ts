/** `baton serve` and `baton keys` from the built CLI: keys created once and revoked, a folder served on an ephemeral port, SIGTERM stops it. */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';
import { call } from './server-fixtures.js';

let folder: string;
let store: string;
const env = offlineEnv();
beforeAll(() => {
  assertCliBuilt();
  folder = mkdtempSync(join(tmpdir(), 'baton-serve-cli-'));
  store = join(folder, 'baton.db');
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** Starts `baton serve` and resolves with its URL once it listens. */
async function serve(args: string[]): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const child = spawn(
    process.execPath,
    [join(repo, 'dist/cli/main.js'), 'serve', ...args, '--store', store],
    {
      cwd: repo,
      env,
    },
  );
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`baton serve did not start: ${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = / on (http:\/\/[^ ]+) \(store/.exec(output);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`baton serve exited ${code}: ${output}`)));
  });
  return { url, child, output: () => output };
}

describe('baton keys and baton serve', () => {
  it('creates a key (printed once), lists it without its secret, serves a folder with it, and revokes it', async () => {
    const created = runBaton(env, [
      'keys',
      'create',
      '--scope',
      'read,run',
      '--name',
      'ci',
      '--store',
      store,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^bk_[\w-]{43}$/);
    expect(created.stderr).toMatch(/Key key_[0-9a-f]{12} \(read, run\) created/);
    const listed = runBaton(env, ['keys', 'list', '--json', '--store', store]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(key.slice(3));
    const [info] = JSON.parse(listed.stdout) as { id: string; scopes: string[]; name: string }[];
    expect(info).toMatchObject({ scopes: ['read', 'run'], name: 'ci' });
    expect(runBaton(env, ['keys', 'create', '--scope', 'root', '--store', store]).code).toBe(2);

    const server = await serve(['tests/server/fixtures/flows', '--port', '0']);
    try {
      expect(server.output()).toMatch(/Serving echo, expense on http:\/\/127\.0\.0\.1:\d+/);
      expect((await call(`${server.url}/v1/targets`)).status).toBe(401);
      const targets = await call(`${server.url}/v1/targets`, { key });
      expect(targets.body.targets.map((target: { name: string; source: string }) => target.source)).toEqual([
        'tests/server/fixtures/flows/expense.ts#echo',
        'tests/server/fixtures/flows/expense.ts#expense',
      ]);
      const started = await call(`${server.url}/v1/runs`, {
        key,
        body: { target: 'echo', input: { hello: 1 } },
      });
      expect(started.status).toBe(201);
      let run = started.body;
      for (let tries = 0; run.status !== 'completed' && tries < 100; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        run = (await call(`${server.url}/v1/runs/${started.body.id}`, { key })).body;
      }
      expect(run).toMatchObject({
        status: 'completed',
        output: { hello: 1 },
        source: 'tests/server/fixtures/flows/expense.ts#echo',
      });

      const revoked = runBaton(env, ['keys', 'revoke', info?.id as string, '--store', store]);
      expect(revoked.code, revoked.stderr).toBe(0);
      // The server reads the key list again after its cache (5 s).
      let status = 200;
      for (let tries = 0; status !== 401 && tries < 80; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await call(`${server.url}/v1/targets`, { key })).status;
      }
      expect(status).toBe(401);
    } finally {
      server.child.kill('SIGTERM');
    }
    const code = await new Promise<number | null>((resolve) =>
      server.child.once('exit', (exit) => resolve(exit)),
    );
    expect(code).toBe(0);
    expect(server.output()).toContain('SIGTERM: stopping.');
    expect(runBaton(env, ['keys', 'list', '--store', store]).stdout).toMatch(
      /key_[0-9a-f]{12} +ci +read,run +all .+ \S+/,
    );
  }, 60_000);

  it('serves tenants from their own stores with --tenants; a tenant key reaches only its own; past its --rate, 429', async () => {
    const acmeStore = join(folder, 'acme.db');
    const bad = runBaton(env, [
      'serve',
      'tests/server/fixtures/flows',
      '--tenants',
      'acme',
      '--store',
      store,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tenants takes id=store pairs');
    const same = runBaton(env, [
      'serve',
      'tests/server/fixtures/flows',
      '--tenants',
      `acme=${store}`,
      '--store',
      store,
    ]);
    expect(same.code).toBe(2);
    expect(same.stderr).toContain('must have its own store');
    const created = runBaton(env, [
      'keys',
      'create',
      '--scope',
      'read,run',
      '--tenant',
      'acme',
      '--rate',
      '5',
      '--store',
      store,
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toMatch(/tenant acme; 5\/min\) created/);
    expect(
      runBaton(env, ['keys', 'create', '--scope', 'read', '--rate', 'lots', '--store', store]).code,
    ).toBe(2);
    const acmeKey = created.stdout.trim();
    const server = await serve([
      'tests/server/fixtures/flows',
      '--port',
      '0',
      '--tenants',
      `acme=${acmeStore}`,
    ]);
    try {
      expect(server.output()).toContain('Tenant acme: store');
      const started = await call(`${server.url}/v1/runs`, {
        key: acmeKey,
        body: { target: 'echo', input: { t: 1 } },
      });
      expect(started.status).toBe(201);
      const own = runBaton(env, ['runs', '--json', '--store', acmeStore]);
      expect(own.stdout).toContain(started.body.id);
      expect(runBaton(env, ['runs', '--json', '--store', store]).stdout).not.toContain(started.body.id);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++)
        statuses.push((await call(`${server.url}/v1/targets`, { key: acmeKey })).status);
      expect(statuses.at(-1)).toBe(429);
    } finally {
      server.child.kill('SIGTERM');
    }
    await new Promise((resolve) => server.child.once('exit', resolve));
  }, 60_000);

  it('serves without keys only on a loopback host', async () => {
    const refused = runBaton(env, [
      'serve',
      'tests/server/fixtures/flows',
      '--no-auth',
      '--host',
      '0.0.0.0',
      '--store',
      store,
    ]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--no-auth serves without keys, so only on a loopback --host');
    const server = await serve([
      'tests/server/fixtures/flows/expense.ts',
      'examples/customer-support/team.yaml',
      '--no-auth',
      '--port',
      '0',
    ]);
    try {
      expect(server.output()).toContain('No API keys: anyone who reaches this address');
      const targets = await call(`${server.url}/v1/targets`);
      expect(targets.status).toBe(200);
      expect(targets.body.targets).toContainEqual(
        expect.objectContaining({ name: 'customer-support', source: 'examples/customer-support/team.yaml' }),
      );
    } finally {
      server.child.kill('SIGINT');
    }
    const code = await new Promise<number | null>((resolve) =>
      server.child.once('exit', (exit) => resolve(exit)),
    );
    expect(code).toBe(0);
    const nothing = runBaton(env, ['serve', 'tests/server/fixtures/flows/helpers.ts', '--store', store]);
    expect(nothing.code).toBe(1);
    expect(nothing.stderr).toContain('exports no workflow, agent or pattern to serve');
  }, 60_000);
});

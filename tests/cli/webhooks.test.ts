/** `baton webhooks` from the built CLI: create (the secret once), list, deliveries, revoke, mistakes refused with the flag at fault; and `baton serve` sending webhooks for a run another process ran. */

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature } from '../../src/server/index.js';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';
import { startReceiver } from '../server/webhook-receiver.js';

let folder: string;
const env = offlineEnv();
beforeAll(() => {
  assertCliBuilt();
  folder = mkdtempSync(join(tmpdir(), 'baton-webhooks-cli-'));
});
afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('baton webhooks', () => {
  it('creates a webhook (its secret printed once), lists it, shows its deliveries, revokes it', () => {
    const store = join(folder, 'crud.db');
    const created = runBaton(env, [
      'webhooks',
      'create',
      '--url',
      'https://hooks.example.com/baton',
      '--events',
      'run.completed,run.waiting',
      '--target',
      'expense',
      '--store',
      store,
    ]);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^whsec_[\w-]{43}$/);
    const id = /Webhook (wh_[0-9a-f]{12}) \(run\.completed, run\.waiting; targets expense\) created/.exec(
      created.stderr,
    )?.[1];
    expect(id, created.stderr).toBeDefined();
    const listed = runBaton(env, ['webhooks', 'list', '--store', store]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(
      new RegExp(`${id} +https://hooks\\.example\\.com/baton +run\\.completed,run\\.waiting +expense `),
    );
    expect(listed.stdout).not.toContain('whsec_');
    const json = JSON.parse(runBaton(env, ['webhooks', 'list', '--json', '--store', store]).stdout);
    expect(json).toMatchObject([{ id, events: ['run.completed', 'run.waiting'], targets: ['expense'] }]);
    expect(JSON.stringify(json)).not.toContain(secret);
    const deliveries = runBaton(env, ['webhooks', 'deliveries', id as string, '--store', store]);
    expect(deliveries).toMatchObject({ code: 0, stdout: `No deliveries for ${id} yet.\n` });
    const revoked = runBaton(env, ['webhooks', 'revoke', id as string, '--store', store]);
    expect(revoked).toMatchObject({
      code: 0,
      stdout: `Webhook ${id} revoked: nothing more is sent to it.\n`,
    });
    expect(runBaton(env, ['webhooks', 'list', '--store', store]).stdout).toMatch(/expense +\S+ \S+ +\S+ \S+/);
    const unknown = runBaton(env, ['webhooks', 'revoke', 'wh_000000000000', '--store', store]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No webhook wh_000000000000; see baton webhooks list.');
  });

  it('refuses a URL that is not http(s) and unknown events, naming the flag and the item', () => {
    const store = join(folder, 'refused.db');
    const bad = runBaton(env, [
      'webhooks',
      'create',
      '--url',
      'ftp://example.com/drop',
      '--events',
      'run.completed,run.faild',
      '--store',
      store,
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(
      '--url: "ftp://example.com/drop" is a ftp: URL; webhooks are sent to http(s) URLs only',
    );
    expect(bad.stderr).toContain('--events (item 2): unknown event "run.faild". Did you mean "run.failed"?');
    const none = runBaton(env, ['webhooks', 'create', '--events', 'run.failed', '--store', store]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('webhooks create needs --url');
    expect(runBaton(env, ['webhooks', 'purge', '--store', store]).stderr).toContain(
      'webhooks needs an action: create, list, revoke or deliveries; got "purge"',
    );
    expect(JSON.parse(runBaton(env, ['webhooks', 'list', '--json', '--store', store]).stdout)).toEqual([]);
  });

  it('baton serve sends a webhook for a run that baton run executed in another process', async () => {
    const store = join(folder, 'serve.db');
    const hook = await startReceiver();
    let server: ChildProcess | undefined;
    try {
      const created = runBaton(env, [
        'webhooks',
        'create',
        '--url',
        hook.url,
        '--events',
        'run.completed',
        '--json',
        '--store',
        store,
      ]);
      expect(created.code, created.stderr).toBe(0);
      const { id, secret } = JSON.parse(created.stdout) as { id: string; secret: string };
      server = spawn(
        process.execPath,
        [
          join(repo, 'dist/cli/main.js'),
          'serve',
          'tests/server/fixtures/flows',
          '--port',
          '0',
          '--store',
          store,
        ],
        { cwd: repo, env },
      );
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`baton serve did not start: ${output}`)), 30_000);
        server?.stdout?.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('Ctrl-C stops')) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      const ran = runBaton(env, [
        'run',
        'tests/server/fixtures/flows/expense.ts',
        '--export',
        'echo',
        '--input-json',
        '{"hello": 1}',
        '--store',
        store,
      ]);
      expect(ran.code, ran.stderr).toBe(0);
      const [request] = await hook.waitFor(1, 20_000);
      expect(request?.event).toMatchObject({ type: 'run.completed', target: 'echo', output: { hello: 1 } });
      expect(
        verifyWebhookSignature({ secret, body: request?.body ?? '', headers: request?.headers ?? {} }),
      ).toBe(true);
      let log = runBaton(env, ['webhooks', 'deliveries', id, '--store', store]);
      for (let tries = 0; !log.stdout.includes('delivered') && tries < 20; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        log = runBaton(env, ['webhooks', 'deliveries', id, '--store', store]);
      }
      expect(log.stdout).toMatch(/TIME +EVENT +RUN +ATTEMPT +OUTCOME +STATUS +DURATION/);
      expect(log.stdout).toMatch(/run\.completed +run_\S+ +1 +delivered +200 /);
    } finally {
      server?.kill('SIGTERM');
      await hook.close();
    }
  }, 60_000);
});

/** Webhooks in code and over HTTP: hostile or mistaken input refused with what and where, admin-only routes, the delivery log route, signature checks. */

import { afterEach, describe, expect, it } from 'vitest';
import { BatonError, createMemoryStore, type Store } from '../../src/index.js';
import {
  createWebhook,
  createWebhookDispatcher,
  listWebhooks,
  signWebhook,
  verifyWebhookSignature,
} from '../../src/server/index.js';
import { call, keyWith, startServer } from './server-fixtures.js';
import { startReceiver } from './webhook-receiver.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function refusal(options: Parameters<typeof createWebhook>[1]): Promise<string> {
  const error = await createWebhook(createMemoryStore(), options).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(BatonError.isInstance(error)).toBe(true);
  expect((error as BatonError).code).toBe('INVALID_OPTION');
  return (error as Error).message;
}

describe('createWebhook refuses', () => {
  it('a URL that is not http(s), plain http off loopback, credentials, a fragment, or no URL', async () => {
    expect(await refusal({ url: 'ftp://example.com/x', events: ['run.completed'] })).toContain(
      'url: "ftp://example.com/x" is a ftp: URL; webhooks are sent to http(s) URLs only',
    );
    expect(await refusal({ url: 'javascript:alert(1)', events: ['run.completed'] })).toContain(
      'is a javascript: URL',
    );
    expect(await refusal({ url: 'example.com/hook', events: ['run.completed'] })).toContain(
      'url: "example.com/hook" is not a URL',
    );
    expect(await refusal({ url: 'http://example.com/hook', events: ['run.completed'] })).toContain(
      'plain http to a host that is not loopback',
    );
    expect(await refusal({ url: 'https://user:pw@example.com/', events: ['run.completed'] })).toContain(
      'user name or password',
    );
    expect(await refusal({ url: 'https://example.com/#top', events: ['run.completed'] })).toContain(
      '#fragment',
    );
    expect(await refusal({ url: '', events: ['run.completed'] })).toContain('url: give the URL');
    const store = createMemoryStore();
    await expect(
      createWebhook(store, { url: 'http://hooks.internal/x', events: ['run.failed'], allowHttp: true }),
    ).resolves.toMatchObject({ info: { url: 'http://hooks.internal/x' } });
    await expect(
      createWebhook(store, { url: 'http://127.0.0.1:9/x', events: ['run.failed'] }),
    ).resolves.toBeDefined();
  });

  it('unknown events, with a did-you-mean and where they are', async () => {
    const message = await refusal({
      url: 'https://example.com/hook',
      events: ['run.completed', 'run.complete', 'run.budget-exceeded', 'deploy.done'],
    });
    expect(message).toContain('events.1: unknown event "run.complete". Did you mean "run.completed"?');
    expect(message).toContain(
      'events.2: unknown event "run.budget-exceeded". Did you mean "run.budget_exceeded"?',
    );
    expect(message).toContain('events.3: unknown event "deploy.done". Events: run.completed, run.failed');
    expect(await refusal({ url: 'https://example.com/hook', events: [] })).toContain(
      'events: name at least one event',
    );
  });
});

describe('createWebhookDispatcher refuses', () => {
  it('an unknown option (with a did-you-mean), a bad number, no store', () => {
    const store = createMemoryStore();
    expect(() => createWebhookDispatcher({ store, pollMS: 10 } as never)).toThrow(
      'createWebhookDispatcher(): unknown option "pollMS". Did you mean "pollMs"?',
    );
    expect(() => createWebhookDispatcher({ store, maxAttempts: 0 })).toThrow(
      'createWebhookDispatcher(): maxAttempts must be a whole number ≥ 1; got 0.',
    );
    expect(() => createWebhookDispatcher({} as never)).toThrow('store must be a Store');
  });
});

describe('webhook routes', () => {
  async function served(store: Store = createMemoryStore()) {
    const started = await startServer(store);
    cleanups.push(started.stop);
    return { ...started, store, url: started.server.url, admin: await keyWith(store, ['admin']) };
  }

  it('creates (the secret once), lists without secrets, revokes; admin keys only', async () => {
    const { url, admin, store } = await served();
    const created = await call(`${url}/v1/webhooks`, {
      key: admin,
      body: { url: 'https://example.com/hook', events: ['run.completed', 'run.waiting'], targets: ['greet'] },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ url: 'https://example.com/hook', targets: ['greet'] });
    expect(created.body.secret).toMatch(/^whsec_[\w-]{43}$/);
    expect(created.headers.get('location')).toBe(`/v1/webhooks/${created.body.id}`);
    const listed = await call(`${url}/v1/webhooks`, { key: admin });
    expect(listed.body.webhooks).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    const reader = await keyWith(store, ['read', 'run']);
    expect((await call(`${url}/v1/webhooks`, { key: reader })).status).toBe(403);
    expect((await call(`${url}/v1/webhooks/${created.body.id}/deliveries`, { key: reader })).status).toBe(
      403,
    );
    const revoked = await call(`${url}/v1/webhooks/${created.body.id}/revoke`, {
      key: admin,
      method: 'POST',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).toBeGreaterThan(0);
    const missing = await call(`${url}/v1/webhooks/wh_000000000000/revoke`, { key: admin, method: 'POST' });
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'WEBHOOK_NOT_FOUND' } } });
    const noLog = await call(`${url}/v1/webhooks/wh_000000000000/deliveries`, { key: admin });
    expect(noLog.status).toBe(404);
  });

  it('leaves the routes out with webhooks: false', async () => {
    const { runtime } = await served();
    const { createServer } = await import('../../src/server/index.js');
    const paths = createServer({ runtime, targets: [], webhooks: false }).routes.map((route) => route.path);
    expect(paths).toContain('/v1/runs');
    expect(paths.filter((path) => path.startsWith('/v1/webhooks'))).toEqual([]);
  });

  it('refuses a bad URL, unknown events and __proto__ with what and where', async () => {
    const { url, admin, store } = await served();
    const bad = await call(`${url}/v1/webhooks`, {
      key: admin,
      body: { url: 'file:///etc/passwd', events: ['run.complted'] },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('INVALID_REQUEST');
    expect(bad.body.error.issues).toEqual([
      { path: ['url'], message: expect.stringContaining('is a file: URL') },
      { path: ['events', 0], message: expect.stringContaining('Did you mean "run.completed"?') },
    ]);
    const polluted = await call(`${url}/v1/webhooks`, {
      key: admin,
      body: '{"url":"https://example.com/h","events":["run.failed"],"targets":[{"__proto__":{"admin":true}}]}',
    });
    expect(polluted).toMatchObject({ status: 400, body: { error: { code: 'FORBIDDEN_KEY' } } });
    expect(polluted.body.error.message).toContain('at targets.0.__proto__');
    const unknownField = await call(`${url}/v1/webhooks`, {
      key: admin,
      body: { url: 'https://example.com/h', events: ['run.failed'], secret: 'mine' },
    });
    expect(unknownField.status).toBe(400);
    expect(unknownField.body.error.message).toContain('secret');
    expect(await listWebhooks(store)).toEqual([]);
  });

  it('serves the delivery log of a subscription, newest first', async () => {
    const hook = await startReceiver((_request, index) => ({ status: index === 0 ? 502 : 200 }));
    cleanups.push(() => hook.close());
    const { url, admin, store, runtime } = await served();
    const dispatcher = createWebhookDispatcher({ store, pollMs: 25, retryBaseMs: 20 });
    cleanups.push(() => dispatcher.close());
    const { info } = await createWebhook(store, { url: hook.url, events: ['run.completed'] });
    await (await runtime.start('greet', { name: 'Ada' })).result();
    await hook.waitFor(2);
    let log = await call(`${url}/v1/webhooks/${info.id}/deliveries`, { key: admin });
    for (let tries = 0; log.body.deliveries.length < 2 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      log = await call(`${url}/v1/webhooks/${info.id}/deliveries`, { key: admin });
    }
    expect(log.status).toBe(200);
    expect(log.body.deliveries).toMatchObject([
      { attempt: 2, outcome: 'delivered', statusCode: 200, event: { type: 'run.completed' } },
      { attempt: 1, outcome: 'retry', statusCode: 502, error: 'HTTP 502: refused with 502' },
    ]);
    expect(typeof log.body.deliveries[0].durationMs).toBe('number');
    const limited = await call(`${url}/v1/webhooks/${info.id}/deliveries?limit=1`, { key: admin });
    expect(limited.body.deliveries).toHaveLength(1);
  });
});

describe('verifyWebhookSignature', () => {
  const secret = 'whsec_test';
  const body = '{"type":"run.completed"}';
  const now = 1_765_000_000_000;
  const headersAt = (seconds: number, signature = signWebhook(secret, 'evt_1', seconds, body)) => ({
    'baton-webhook-id': 'evt_1',
    'baton-webhook-timestamp': String(seconds),
    'baton-webhook-signature': signature,
  });

  it('accepts its own signature, in a Headers or a plain object, among several', () => {
    expect(verifyWebhookSignature({ secret, body, headers: headersAt(now / 1000), now })).toBe(true);
    expect(verifyWebhookSignature({ secret, body, headers: new Headers(headersAt(now / 1000)), now })).toBe(
      true,
    );
    const both = `v1=${'0'.repeat(64)} ${signWebhook(secret, 'evt_1', now / 1000, body)}`;
    expect(verifyWebhookSignature({ secret, body, headers: headersAt(now / 1000, both), now })).toBe(true);
  });

  it('refuses another body, another secret, an old or future timestamp, missing headers', () => {
    const headers = headersAt(now / 1000);
    expect(verifyWebhookSignature({ secret, body: `${body} `, headers, now })).toBe(false);
    expect(verifyWebhookSignature({ secret: 'whsec_other', body, headers, now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, headers: headersAt(now / 1000 - 301), now })).toBe(false);
    expect(verifyWebhookSignature({ secret, body, headers: headersAt(now / 1000 + 301), now })).toBe(false);
    expect(
      verifyWebhookSignature({
        secret,
        body,
        headers: headersAt(now / 1000 - 301),
        now,
        toleranceSeconds: 600,
      }),
    ).toBe(true);
    expect(verifyWebhookSignature({ secret, body, headers: { 'baton-webhook-id': 'evt_1' }, now })).toBe(
      false,
    );
    expect(
      verifyWebhookSignature({ secret, body, headers: { ...headers, 'baton-webhook-id': 'evt_2' }, now }),
    ).toBe(false);
  });
});

/** API keys on every route: none, a wrong one, a revoked one, one outside its scope or targets; and the OpenAPI document lists every route. */

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryStore, type Store } from '../../src/index.js';
import {
  createApiKey,
  createApiKeyVerifier,
  createWebhook,
  listApiKeys,
  revokeApiKey,
} from '../../src/server/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { call, keyWith, startServer } from './server-fixtures.js';

let store: Store;
let served: Awaited<ReturnType<typeof startServer>>;
let url: string;
let runId: string;
let webhookId: string;

beforeEach(async () => {
  store = createMemoryStore();
  served = await startServer(store);
  url = served.server.url;
  const admin = await keyWith(store, ['admin']);
  const started = await call(`${url}/v1/runs`, {
    key: admin,
    body: { target: 'approval', input: { amount: 1 } },
  });
  runId = started.body.id;
  await waitForStatus(served.runtime, runId, 'suspended');
  webhookId = (await createWebhook(store, { url: 'https://example.com/hook', events: ['run.completed'] }))
    .info.id;
});
afterEach(() => served.stop());

interface Operation {
  method: 'GET' | 'POST';
  path: string;
  scope: string;
}

/** Every operation of the OpenAPI document, with a request that is valid once authorized. */
async function operations(): Promise<(Operation & { body?: unknown })[]> {
  const document = (await call(`${url}/openapi.json`)).body as {
    paths: Record<string, Record<string, { 'x-baton-scope': string }>>;
  };
  const firstStep = (await store.loadJournal(runId))[0]?.key;
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, operation]) => {
      const concrete = path
        .replace('{id}', path.startsWith('/v1/webhooks/') ? webhookId : runId)
        .replace('{call}', 'call_1')
        .replace('{target}', 'helper');
      const body =
        concrete === '/v1/runs' && method === 'post'
          ? { target: 'greet', input: { name: 'a' } }
          : concrete.endsWith('/signal')
            ? { name: 'approval', payload: { approved: true } }
            : concrete.includes('/approvals/')
              ? { approved: true }
              : concrete.endsWith('/reply')
                ? { member: 'lead', text: 'yes' }
                : concrete.startsWith('/v1/chat/')
                  ? {
                      id: 'chat-1',
                      messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
                    }
                  : concrete.endsWith('/fork')
                    ? { at: firstStep }
                    : concrete === '/v1/webhooks' && method === 'post'
                      ? { url: 'https://example.com/other', events: ['run.failed'] }
                      : undefined;
      return {
        method: method.toUpperCase() as Operation['method'],
        path: concrete,
        scope: operation['x-baton-scope'],
        ...(body === undefined ? {} : { body }),
      };
    }),
  );
}

async function request(
  operation: Operation & { body?: unknown },
  key?: string,
  headers?: Record<string, string>,
) {
  if (operation.path.endsWith('/events') || operation.path.startsWith('/v1/chat/')) {
    // An event stream that is let in stays open: read its status and hang up.
    const response = await fetch(`${url}${operation.path}`, {
      method: operation.method,
      headers: {
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
        ...(operation.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(operation.body === undefined ? {} : { body: JSON.stringify(operation.body) }),
    });
    await response.body?.cancel();
    return { status: response.status };
  }
  return call(`${url}${operation.path}`, {
    method: operation.method,
    ...(key === undefined ? {} : { key }),
    ...(operation.body === undefined ? {} : { body: operation.body }),
    ...(headers === undefined ? {} : { headers }),
  });
}

describe('API keys', () => {
  it('covers every route: 401 without a key, with a wrong one, a revoked one or a malformed header; 403 outside the scope; let in with it', async () => {
    const all = await operations();
    expect(all.length).toBe(23);
    const revoked = await createApiKey(store, { scopes: ['admin'] });
    await revokeApiKey(store, revoked.info.id);
    const approveOnly = await keyWith(store, ['approve']);
    const checked: string[] = [];
    for (const operation of all) {
      const name = `${operation.method} ${operation.path}`;
      if (operation.scope === 'public') {
        expect((await request(operation)).status, name).toBe(200);
        continue;
      }
      checked.push(name);
      for (const [key, label] of [
        [undefined, 'no key'],
        [`bk_${'A'.repeat(43)}`, 'a wrong key'],
        [revoked.key, 'a revoked key'],
        ['not-even-a-baton-key', 'a malformed key'],
      ] as const) {
        const answer = await request(operation, key);
        expect(answer.status, `${name} with ${label}`).toBe(401);
      }
      const basic = await request(operation, undefined, { authorization: `Basic ${btoa('user:pass')}` });
      expect(basic.status, `${name} with basic auth`).toBe(401);
      const other = operation.scope === 'read' ? 'run' : 'read';
      const wrong = await request(operation, await keyWith(store, [other as 'read' | 'run']));
      expect(wrong.status, `${name} with a ${other} key`).toBe(403);
      if (operation.scope !== 'approve')
        expect((await request(operation, approveOnly)).status, `${name} with an approve key`).toBe(403);
      const right = await request(
        operation,
        await keyWith(store, [operation.scope as 'read' | 'run' | 'approve']),
      );
      // Let in: the signal may find the run cancelled by a route before it (409); the run waits for no
      // tool approval or human member (404 REQUEST_NOT_FOUND) and has no thread (404 THREAD_NOT_FOUND).
      expect([200, 201, 202, 404, 409], `${name} with a ${operation.scope} key`).toContain(right.status);
      if (right.status === 404)
        expect(['REQUEST_NOT_FOUND', 'THREAD_NOT_FOUND'], name).toContain(
          (right as { body: { error: { code: string } } }).body.error.code,
        );
    }
    expect(checked).toHaveLength(22);
  });

  it('limits a key to its targets: other runs are 403, lists and targets show only its own', async () => {
    const greetOnly = await keyWith(store, ['read', 'run'], ['greet']);
    const other = await call(`${url}/v1/runs/${runId}`, { key: greetOnly });
    expect(other).toMatchObject({ status: 403, body: { error: { code: 'FORBIDDEN' } } });
    for (const path of ['cancel', 'signal']) {
      const answer = await call(`${url}/v1/runs/${runId}/${path}`, {
        key: greetOnly,
        body: { name: 'approval', payload: { approved: true } },
      });
      expect(answer.status, path).toBe(403);
    }
    expect((await call(`${url}/v1/runs/${runId}/journal`, { key: greetOnly })).status).toBe(403);
    const refused = await call(`${url}/v1/runs`, {
      key: greetOnly,
      body: { target: 'approval', input: { amount: 2 } },
    });
    expect(refused.status).toBe(403);
    const mine = await call(`${url}/v1/runs`, {
      key: greetOnly,
      body: { target: 'greet', input: { name: 'b' } },
    });
    expect(mine.status).toBe(201);
    const listed = await call(`${url}/v1/runs`, { key: greetOnly });
    expect(listed.body.runs.map((run: { target: string }) => run.target)).toEqual(['greet']);
    expect((await call(`${url}/v1/runs?target=approval`, { key: greetOnly })).status).toBe(403);
    const targets = await call(`${url}/v1/targets`, { key: greetOnly });
    expect(targets.body.targets.map((target: { name: string }) => target.name)).toEqual(['greet']);
    expect((await store.getRun(runId))?.status).toBe('suspended');
  });

  it('stores only a hash; lists keys without secrets; a revoked key stops after the cache time', async () => {
    const { key, info } = await createApiKey(store, { scopes: ['read'], name: 'ci', targets: ['greet'] });
    expect(key).toMatch(/^bk_[A-Za-z0-9_-]{43}$/);
    const records = JSON.stringify(await store.readRecords('server:api-keys'));
    expect(records).not.toContain(key.slice(3));
    expect(await listApiKeys(store)).toContainEqual({ ...info });
    const verifier = createApiKeyVerifier(store, { cacheMs: 60_000 });
    expect(await verifier.verify(key)).toEqual(info);
    await revokeApiKey(store, info.id);
    // Cached: still valid until the cache expires; a fresh verifier refuses it at once.
    expect(await verifier.verify(key)).toEqual(info);
    expect(await createApiKeyVerifier(store, { cacheMs: 0 }).verify(key)).toBeUndefined();
    expect(await revokeApiKey(store, 'key_nope')).toBe(false);
    await expect(createApiKey(store, { scopes: [] })).rejects.toThrow(/scopes/);
  });

  it("gives another tenant's key nothing of this tenant on any route, whatever its scopes", async () => {
    const { createRuntime } = await import('../../src/index.js');
    const other = createRuntime({ store: createMemoryStore(), pollIntervalMs: 50 });
    const tenanted = await startServer(store, { tenants: { globex: { runtime: other } } });
    try {
      const base = tenanted.server.url;
      const stranger = (await createApiKey(store, { scopes: ['admin'], tenant: 'globex' })).key;
      for (const operation of await operations()) {
        if (operation.scope === 'public') continue;
        const name = `${operation.method} ${operation.path}`;
        const answer = await (operation.path.endsWith('/events') || operation.path.startsWith('/v1/chat/')
          ? fetch(`${base}${operation.path}`, {
              method: operation.method,
              headers: {
                authorization: `Bearer ${stranger}`,
                ...(operation.body === undefined ? {} : { 'content-type': 'application/json' }),
              },
              ...(operation.body === undefined ? {} : { body: JSON.stringify(operation.body) }),
            }).then(async (response) => {
              await response.body?.cancel();
              return { status: response.status, body: undefined };
            })
          : call(`${base}${operation.path}`, {
              method: operation.method,
              key: stranger,
              ...(operation.body === undefined ? {} : { body: operation.body }),
            }));
        // This tenant's run does not exist for the stranger; lists and figures are of its own (empty) store.
        if (operation.path.includes(runId)) {
          expect(answer.status, name).toBe(404);
          continue;
        }
        expect(JSON.stringify(answer.body ?? ''), name).not.toContain(runId);
      }
      expect((await call(`${base}/v1/stats?since=all`, { key: stranger })).body.total.count).toBe(
        (await other.store.listRuns()).length,
      );
      expect((await store.getRun(runId))?.status).toBe('suspended');
    } finally {
      await tenanted.stop();
      await other.close();
    }
  });

  it('needs no key with auth: false', async () => {
    const open = await startServer(store, { auth: false });
    try {
      expect((await call(`${open.server.url}/v1/runs/${runId}`)).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});

describe('OpenAPI document', () => {
  it('is OpenAPI 3.1 and lists every route the app serves, with the request schemas that validate it', async () => {
    const document = (await call(`${url}/openapi.json`)).body;
    expect(document.openapi).toBe('3.1.0');
    const documented = Object.entries(document.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    const { createServer } = await import('../../src/server/index.js');
    const app = createServer({ runtime: served.runtime, targets: [] });
    const routed = [
      ...new Set(
        app.routes
          .filter((route) => route.method === 'GET' || route.method === 'POST')
          .map((route) => `${route.method} ${route.path.replace(/:(\w+)/g, '{$1}')}`),
      ),
    ].sort();
    expect(documented).toEqual(routed);
    expect(routed).toEqual([
      'GET /openapi.json',
      'GET /v1/evals',
      'GET /v1/events',
      'GET /v1/inbox',
      'GET /v1/runs',
      'GET /v1/runs/{id}',
      'GET /v1/runs/{id}/events',
      'GET /v1/runs/{id}/journal',
      'GET /v1/stats',
      'GET /v1/targets',
      'GET /v1/threads/{id}',
      'GET /v1/webhooks',
      'GET /v1/webhooks/{id}/deliveries',
      'POST /v1/chat/{target}',
      'POST /v1/runs',
      'POST /v1/runs/{id}/approvals/{call}',
      'POST /v1/runs/{id}/cancel',
      'POST /v1/runs/{id}/fork',
      'POST /v1/runs/{id}/replay',
      'POST /v1/runs/{id}/reply',
      'POST /v1/runs/{id}/signal',
      'POST /v1/webhooks',
      'POST /v1/webhooks/{id}/revoke',
    ]);
    const start = document.paths['/v1/runs'].post;
    expect(start.requestBody.content['application/json'].schema).toMatchObject({
      type: 'object',
      required: ['target'],
      additionalProperties: false,
    });
    expect(start.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header' }),
    );
    const list = document.paths['/v1/runs'].get;
    expect(list.parameters.map((parameter: { name: string }) => parameter.name)).toEqual([
      'status',
      'target',
      'thread',
      'after',
      'before',
      'waiting',
      'q',
      'limit',
      'cursor',
    ]);
    expect(
      list.parameters.find((parameter: { name: string }) => parameter.name === 'status').schema.enum,
    ).toContain('suspended');
    expect(document.paths['/v1/runs/{id}'].get.parameters[0]).toMatchObject({
      name: 'id',
      in: 'path',
      required: true,
    });
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
  });
});

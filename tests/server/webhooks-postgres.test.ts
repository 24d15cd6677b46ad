/** Webhooks on Postgres: two dispatchers that poll once a minute are woken by the store's notifications, and each event is sent once. */

import { describe, expect, it } from 'vitest';
import { createRuntime, workflow } from '../../src/index.js';
import { createWebhook, createWebhookDispatcher } from '../../src/server/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { freshSchema, postgresUrl, useSharedServer } from '../stores/postgres-database.js';
import { pause, startReceiver } from './webhook-receiver.js';

useSharedServer();

const greet = workflow({ name: 'greet' }, async (ctx, name: string) =>
  ctx.step('hello', async () => `Hello, ${name}`),
);
const hold = workflow({ name: 'hold' }, async (ctx) => ctx.waitFor<string>('go'));

describe('webhooks on Postgres', () => {
  it('delivers each event once from two dispatchers woken by LISTEN/NOTIFY', async () => {
    const schema = freshSchema();
    const stores = [0, 1, 2].map(() => createPostgresStore({ connectionString: postgresUrl, schema }));
    const [runs, first, second] = stores as [(typeof stores)[0], (typeof stores)[0], (typeof stores)[0]];
    const hook = await startReceiver();
    const runtime = createRuntime({ store: runs, workflows: [greet, hold], recover: false });
    // A poll a minute: only a notification makes a dispatcher look in time.
    const dispatchers = [first, second].map((store) => createWebhookDispatcher({ store, pollMs: 60_000 }));
    try {
      await Promise.all([first.listening(), second.listening()]);
      await createWebhook(runs, { url: hook.url, events: ['run.completed', 'run.waiting'] });
      // A first change makes both dispatchers look, and find the subscription.
      await (await runtime.start(greet, 'first')).result();
      await hook.waitFor(1, 15_000);
      const handles = await Promise.all(['a', 'b', 'c', 'd'].map((name) => runtime.start(greet, name)));
      await Promise.all(handles.map((handle) => handle.result()));
      const waiting = await runtime.start(hold, null);
      const requests = await hook.waitFor(6, 15_000);
      await pause(500);
      expect(hook.received).toHaveLength(6);
      expect(new Set(requests.map((request) => request.headers['baton-webhook-id'])).size).toBe(6);
      expect(requests.find((request) => request.event.runId === waiting.runId)?.event).toMatchObject({
        type: 'run.waiting',
        pending: [{ kind: 'signal', signal: 'go' }],
      });
    } finally {
      for (const dispatcher of dispatchers) await dispatcher.close();
      await runtime.close();
      await hook.close();
      for (const store of stores) await store.close();
    }
  }, 60_000);
});

import { getEventListeners } from 'node:events';
import { Message } from '@a2a-js/sdk';
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../index.js';
import { PushNotifier } from './a2a-push.js';

describe('PushNotifier', () => {
  it('holds one listener on the server signal however many tasks it watches', async () => {
    const store = createMemoryStore();
    const server = new AbortController();
    const notifier = new PushNotifier({
      store,
      pollMs: 20,
      timeoutMs: 1_000,
      signal: server.signal,
      decode: (json) => Message.fromJSON(json),
    });
    for (let task = 0; task < 15; task++) notifier.ensure(`task-${task}`, false);
    expect(getEventListeners(server.signal, 'abort').length).toBeLessThanOrEqual(1);
    server.abort();
    // Nothing new starts once the server stopped.
    notifier.ensure('task-late', false);
    expect(getEventListeners(server.signal, 'abort').length).toBeLessThanOrEqual(1);
  });
});

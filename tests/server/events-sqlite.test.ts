/** On the SQLite store an event stream wakes on the store's own change announcements, not on its poll: a run served here streams its steps as they are stored. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { workflow } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { call, keyWith, readEvents, startServer } from './server-fixtures.js';

const folder = mkdtempSync(join(tmpdir(), 'baton-events-sqlite-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const paced = workflow({ name: 'paced' }, async (ctx) => {
  for (let step = 0; step < 3; step++)
    await ctx.step(`step-${step}`, () => new Promise((resolve) => setTimeout(() => resolve(step), 200)));
  return 'done';
});

describe('SSE on the SQLite store', () => {
  it('sends each step as it is stored, though the stream polls only once a minute', async () => {
    const store = createSqliteStore({ path: join(folder, 'baton.db') });
    const served = await startServer(store, { targets: [paced], pollMs: 60_000 });
    try {
      const key = await keyWith(store, ['read', 'run']);
      const started = await call(`${served.server.url}/v1/runs`, { key, body: { target: 'paced' } });
      const arrived: number[] = [];
      const { events, ended } = await readEvents(`${served.server.url}/v1/runs/${started.body.id}/events`, {
        key,
        stop: (got) => {
          const last = got.at(-1);
          if (last?.event === 'step') arrived.push(Date.now() - last.data.endedAt);
          return last?.event === 'end';
        },
      });
      expect(ended || events.at(-1)?.event === 'end').toBe(true);
      expect(events.filter((event) => event.event === 'step')).toHaveLength(3);
      // Woken by the store, not by the 60 s poll: each step within a few seconds of being stored.
      expect(Math.max(...arrived)).toBeLessThan(5_000);
    } finally {
      await served.stop();
      await store.close();
    }
  });
});

/** Live events on a Postgres store: the stream wakes on LISTEN/NOTIFY when another process changes the run, not on its poll. */

import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/index.js';
import { createPostgresStore } from '../../src/stores/postgres/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { freshSchema, postgresUrl, useSharedServer } from '../stores/postgres-database.js';
import { approval, readEvents, startServer } from './server-fixtures.js';

useSharedServer();

describe('run events on Postgres', () => {
  it("wakes on another process's changes through the store's notifications", async () => {
    const schema = freshSchema();
    const storeA = createPostgresStore({ connectionString: postgresUrl, schema });
    const storeB = createPostgresStore({ connectionString: postgresUrl, schema });
    // The server polls once a minute: only a notification can end the stream in time.
    const a = await startServer(storeA, { auth: false, pollMs: 60_000 });
    const other = createRuntime({ store: storeB, workflows: [approval], recover: false });
    try {
      const handle = await other.start(approval, { amount: 4 });
      await waitForStatus(other, handle.runId, 'suspended');
      const stream = readEvents(`${a.server.url}/v1/runs/${handle.runId}/events`, {
        signal: AbortSignal.timeout(15_000),
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await storeA.listening();
      const started = Date.now();
      await other.signal(handle.runId, 'approval', { approved: true });
      const read = await stream;
      expect(read.ended).toBe(true);
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(read.events.at(-1)).toMatchObject({ event: 'end', data: { status: 'completed' } });
      expect(read.events.filter((event) => event.event === 'step').map((event) => event.data.name)).toEqual(
        (await other.journal(handle.runId)).map((entry) => entry.name),
      );
    } finally {
      await a.stop();
      await other.close();
      await storeA.close();
      await storeB.close();
    }
  }, 30_000);
});

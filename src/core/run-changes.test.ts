import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { runChangeConsumersStream, runChangesStream } from './run-changes.js';
import { workflow } from './runnable.js';
import { createRuntime } from './runtime.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the run change feed', () => {
  it('is written while a consumer wants it, and from about a second after one registers', async () => {
    const store = createMemoryStore();
    const flow = workflow({ name: 'flow' }, async (ctx, name: string) => ctx.step('one', async () => name));
    const runtime = createRuntime({ store, workflows: [flow] });
    const run = async (name: string) => {
      const handle = await runtime.start(flow, name);
      await handle.result();
      return handle.runId;
    };
    const logged = async () =>
      (await store.readRecords(runChangesStream)).map((record) => (record.data as { runId: string }).runId);
    // Before the runtime looked at the consumers it writes; then nobody wants the feed.
    const first = await run('a');
    await run('b');
    expect(await logged()).toEqual([first]);
    await store.appendRecord(runChangeConsumersStream, { consumer: 'test', wanted: true });
    await run('c'); // within the second the last look holds
    expect(await logged()).toEqual([first]);
    await pause(1100);
    const later = [await run('d'), await run('e')];
    expect(await logged()).toEqual([first, ...later]);
    expect((await store.readRecords(runChangesStream)).at(-1)?.data).toMatchObject({
      runId: later[1],
      target: 'flow',
      status: 'completed',
      owner: expect.any(String),
    });
    // Withdrawn: the first run end after the look expired still writes, then none.
    await store.appendRecord(runChangeConsumersStream, { consumer: 'test', wanted: false });
    await pause(1100);
    const last = await run('f');
    await run('g');
    expect(await logged()).toEqual([first, ...later, last]);
    await runtime.close();
  });

  it('records a wait for a signal with the seq of its waits record, and a cancellation', async () => {
    const store = createMemoryStore();
    await store.appendRecord(runChangeConsumersStream, { consumer: 'test', wanted: true });
    const waits = workflow({ name: 'waits' }, async (ctx) => ctx.waitFor<string>('go'));
    const runtime = createRuntime({ store, workflows: [waits] });
    const handle = await runtime.start(waits, null);
    for (let tries = 0; (await runtime.get(handle.runId)).status !== 'suspended' && tries < 500; tries++)
      await pause(5);
    await runtime.cancel(handle.runId);
    const changes = (await store.readRecords(runChangesStream)).map((record) => record.data);
    expect(changes).toEqual([
      expect.objectContaining({ runId: handle.runId, status: 'suspended', waits: 1 }),
      expect.objectContaining({ runId: handle.runId, status: 'cancelled' }),
    ]);
    expect(changes[1]).not.toHaveProperty('owner');
    await runtime.close();
  });
});

import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { runChangeConsumersStream, runChangesStream } from './run-changes.js';
import { workflow } from './runnable.js';
import { createRuntime } from './runtime.js';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitUntil(condition: () => boolean): Promise<void> {
  for (let tries = 0; !condition() && tries < 500; tries++) await pause(5);
  expect(condition()).toBe(true);
}

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

  it('is not written for runs that end together, long after the last look, while nobody wants it', async () => {
    const store = createMemoryStore();
    // The look at the consumers waits for the store, as on Postgres behind queued writes.
    const readRecords = store.readRecords.bind(store);
    store.readRecords = async (stream, options) => {
      if (stream === runChangeConsumersStream) await pause(50);
      return readRecords(stream, options);
    };
    const release: Array<() => void> = [];
    const slow = workflow({ name: 'slow' }, async (ctx, name: string) =>
      ctx.step('call', () => new Promise<string>((resolve) => release.push(() => resolve(name)))),
    );
    const runtime = createRuntime({ store, workflows: [slow] });
    const first = await runtime.start(slow, 'first');
    await waitUntil(() => release.length === 1);
    release[0]?.();
    await first.result();
    await pause(100); // the look the first end began has answered: nobody wants the feed
    const handles = await Promise.all(['a', 'b', 'c', 'd'].map((name) => runtime.start(slow, name)));
    await waitUntil(() => release.length === 5);
    await pause(1300); // longer than the last look holds
    for (const each of release.slice(1)) each();
    await Promise.all(handles.map((handle) => handle.result()));
    const changes = (await store.readRecords(runChangesStream)).map(
      (record) => (record.data as { runId: string }).runId,
    );
    expect(changes).toEqual([first.runId]);
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

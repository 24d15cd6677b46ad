/** Live events over SSE: read from the store, so a client resumes with Last-Event-ID after a disconnect or a server restart and loses nothing. */

import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoreChange } from '../../src/core/store.js';
import { createMemoryStore, type Store } from '../../src/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { waitForStatus } from '../../src/testing/index.js';
import { call, readEvents, type SseEvent, startServer } from './server-fixtures.js';

let cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups = [];
});

async function open(store: Store, options = {}) {
  const started = await startServer(store, { auth: false, ...options });
  cleanups.push(started.stop);
  return { ...started, url: started.server.url };
}

/** Starts an approval run and drives it to its end through the API. */
async function finishedRun(
  url: string,
  runtime: Awaited<ReturnType<typeof open>>['runtime'],
): Promise<string> {
  const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 3 } } });
  await waitForStatus(runtime, started.body.id, 'suspended');
  await call(`${url}/v1/runs/${started.body.id}/signal`, {
    body: { name: 'approval', payload: { approved: true } },
  });
  await waitForStatus(runtime, started.body.id, 'completed');
  return started.body.id;
}

const summary = (events: SseEvent[]) =>
  events.map((event) => `${event.id} ${event.event} ${event.data.name ?? event.data.status}`);

describe('run events over SSE', () => {
  it('serves the journal as step events, then the status and an end; a client that reads half resumes with Last-Event-ID and gets exactly the rest', async () => {
    const { url, runtime } = await open(createMemoryStore());
    const runId = await finishedRun(url, runtime);
    const events = `${url}/v1/runs/${runId}/events`;
    const whole = await readEvents(events);
    expect(whole.ended).toBe(true);
    const journal = await runtime.journal(runId);
    expect(summary(whole.events)).toEqual([
      '0:running run running',
      ...journal.map((entry, index) => `${index + 1} step ${entry.name}`),
      `${journal.length}:completed run completed`,
      `${journal.length}:end end completed`,
    ]);
    expect(whole.events.at(-2)?.data.output).toBe('done');
    // Without ?content=1 a step event leaves out the result.
    expect(whole.events[1]?.data).toMatchObject({ position: 1, name: 'check', status: 'completed' });
    expect(whole.events[1]?.data.result).toBeUndefined();
    const withContent = await readEvents(`${events}?content=1`, { stop: (seen) => seen.length === 2 });
    expect(withContent.events[1]?.data.result).toBe('check 3');

    for (const half of [
      1,
      Math.floor(whole.events.length / 2),
      whole.events.length - 2,
      whole.events.length - 1,
    ]) {
      const first = await readEvents(events, { stop: (seen) => seen.length === half });
      expect(first.events).toHaveLength(half);
      const rest = await readEvents(events, { lastEventId: first.events.at(-1)?.id as string });
      expect([...first.events, ...rest.events], `resumed after ${half}`).toEqual(whole.events);
    }
    const bad = await fetch(events, { headers: { 'last-event-id': 'seven' } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_EVENT_ID');
  });

  it('follows a live run, sends heartbeats while it waits, and stops when the client disconnects', async () => {
    const reads = { count: 0 };
    const { url, runtime } = await open(countingStore(createMemoryStore(), reads), { heartbeatMs: 30 });
    const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 1 } } });
    const live = readEvents(`${url}/v1/runs/${started.body.id}/events`);
    await waitForStatus(runtime, started.body.id, 'suspended');
    const waiting = await readEvents(`${url}/v1/runs/${started.body.id}/events`, {
      stop: (seen) => seen.at(-1)?.data.status === 'suspended',
    });
    expect(summary(waiting.events).at(-1)).toMatch(/^\d+:suspended run suspended$/);
    const heartbeats = await readEvents(`${url}/v1/runs/${started.body.id}/events`, {
      lastEventId: waiting.events.at(-1)?.id as string,
      signal: AbortSignal.timeout(200),
    });
    expect(heartbeats.events).toEqual([]);
    expect(heartbeats.comments).toBeGreaterThanOrEqual(2);
    // Both disconnected streams stopped reading the store (it polls every 20 ms while a client is there).
    await new Promise((resolve) => setTimeout(resolve, 100));
    const afterDisconnect = reads.count;
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reads.count - afterDisconnect).toBeLessThanOrEqual(12); // the live stream: at most one read per poll
    expect(reads.count - afterDisconnect).toBeGreaterThan(0);
    await call(`${url}/v1/runs/${started.body.id}/signal`, {
      body: { name: 'approval', payload: { approved: false } },
    });
    const followed = await live;
    expect(followed.ended).toBe(true);
    const kinds = followed.events.map((event) =>
      event.event === 'step' ? 'step' : `${event.event}:${event.data.status}`,
    );
    // It came in while the run waited (it may have joined after the first steps), and saw the rest live.
    const suspended = kinds.indexOf('run:suspended');
    expect(suspended).toBeGreaterThanOrEqual(0);
    expect(kinds.slice(suspended + 1, suspended + 2)).toEqual(['run:running']);
    expect(kinds.slice(suspended + 2, -2).every((kind) => kind === 'step')).toBe(true);
    expect(kinds.slice(suspended + 2, -2).length).toBeGreaterThanOrEqual(3);
    expect(kinds.slice(-2)).toEqual(['run:completed', 'end:completed']);
    const whole = await readEvents(`${url}/v1/runs/${started.body.id}/events`);
    // Every step the live client saw, in journal order, and nothing else but status events.
    expect(followed.events.filter((event) => event.event === 'step')).toEqual(
      whole.events.filter((event) => event.event === 'step'),
    );
  });

  it('holds one listener on the server signal however many streams are open, and ends them all when it aborts', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    cleanups.push(() => {
      process.off('warning', onWarning);
    });
    const { url, runtime, abort } = await open(createMemoryStore());
    const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 1 } } });
    await waitForStatus(runtime, started.body.id, 'suspended');
    const streams = Array.from({ length: 30 }, (_, index) => {
      let seen = (): void => {};
      const first = new Promise<void>((resolve) => {
        seen = resolve;
      });
      const url_ = index % 2 === 0 ? `${url}/v1/runs/${started.body.id}/events` : `${url}/v1/events`;
      const read = readEvents(url_, {
        stop: (events) => {
          seen();
          return events.length > 1_000;
        },
      });
      return { first, read };
    });
    // The target stream has nothing to send yet: wait for the run streams' first event, then a poll.
    await Promise.all(streams.filter((_, index) => index % 2 === 0).map((stream) => stream.first));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(getEventListeners(abort.signal, 'abort').length).toBeLessThanOrEqual(1);
    abort.abort();
    const ended = await Promise.all(streams.map((stream) => stream.read));
    expect(ended.every((stream) => stream.ended)).toBe(true);
    expect(warnings.filter((warning) => warning.name === 'MaxListenersExceededWarning')).toEqual([]);
  });

  it('loses nothing across a server restart: a client cut off mid-stream resumes on the next server from the store', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'baton-serve-'));
    cleanups.push(() => rmSync(folder, { recursive: true, force: true }));
    const path = join(folder, 'baton.db');
    const storeA = createSqliteStore({ path });
    const a = await startServer(storeA, { auth: false });
    const started = await call(`${a.server.url}/v1/runs`, {
      body: { target: 'approval', input: { amount: 9 } },
    });
    await waitForStatus(a.runtime, started.body.id, 'suspended');
    // The client follows on A; A goes away under it.
    const cut = readEvents(`${a.server.url}/v1/runs/${started.body.id}/events`, {
      signal: AbortSignal.timeout(5000),
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    await a.stop();
    await storeA.close();
    const before = await cut;
    expect(before.events.at(-1)?.data.status).toBe('suspended');

    const storeB = createSqliteStore({ path });
    cleanups.push(() => storeB.close());
    const b = await open(storeB);
    await call(`${b.url}/v1/runs/${started.body.id}/signal`, {
      body: { name: 'approval', payload: { approved: true } },
    });
    const after = await readEvents(`${b.url}/v1/runs/${started.body.id}/events`, {
      lastEventId: before.events.at(-1)?.id as string,
    });
    expect(after.ended).toBe(true);
    const whole = await readEvents(`${b.url}/v1/runs/${started.body.id}/events`);
    const steps = (events: SseEvent[]) => events.filter((event) => event.event === 'step');
    expect([...steps(before.events), ...steps(after.events)]).toEqual(steps(whole.events));
    expect(steps(whole.events).map((event) => event.data.name)).toEqual(
      (await b.runtime.journal(started.body.id)).map((entry) => entry.name),
    );
    expect(after.events.slice(-2).map((event) => event.event)).toEqual(['run', 'end']);
  });

  it("wakes on the store's change notifications when it has them, without waiting for its poll", async () => {
    const store = notifyingStore(createMemoryStore());
    const { url, runtime } = await open(store, { pollMs: 60_000 });
    const started = await call(`${url}/v1/runs`, { body: { target: 'approval', input: { amount: 2 } } });
    await waitForStatus(runtime, started.body.id, 'suspended');
    const stream = readEvents(`${url}/v1/runs/${started.body.id}/events`, {
      signal: AbortSignal.timeout(10_000),
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    await call(`${url}/v1/runs/${started.body.id}/signal`, {
      body: { name: 'approval', payload: { approved: true } },
    });
    const read = await stream;
    expect(read.ended).toBe(true);
    expect(read.events.at(-1)?.event).toBe('end');
  });
});

/** A store that counts its journal reads. */
function countingStore(inner: Store, reads: { count: number }): Store {
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'loadJournal') {
        return (...args: unknown[]) => {
          reads.count++;
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
}

/** A memory store that announces its journal and run changes, as the Postgres store does. */
function notifyingStore(inner: Store): Store {
  const listeners = new Set<(change: StoreChange) => void>();
  const emit = (change: StoreChange) => {
    for (const listener of listeners) listener(change);
  };
  return new Proxy(inner, {
    get(target, property, receiver) {
      if (property === 'subscribe') {
        return (listener: (change: StoreChange) => void) => {
          listeners.add(listener);
          return () => listeners.delete(listener);
        };
      }
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      if (property === 'appendJournal' || property === 'updateRun' || property === 'claimRun') {
        return async (...args: unknown[]) => {
          const result = await value.apply(target, args);
          const runId =
            property === 'appendJournal' ? (args[0] as { runId: string }).runId : (args[0] as string);
          emit({ kind: property === 'appendJournal' ? 'journal' : 'run', runId, local: true });
          return result;
        };
      }
      return value.bind(target);
    },
  });
}

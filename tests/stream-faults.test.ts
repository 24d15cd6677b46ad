import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { agent, type BatonEvent, createMemoryStore, createRuntime, type Runtime } from '../src/index.js';
import { resetResilience } from '../src/models/resilience/index.js';
import { createStubServer, type StubFault, type StubServer } from '../src/testing/index.js';

// A provider can fail after it answered 200: a proxy cuts the stream short (no finish reason),
// or the stream carries an error event. Agents stream whenever someone listens to the run's
// events, so these faults must take the same routes (retry, then fallback) as unstreamed ones.
// Every test drives the real AI SDK OpenAI-compatible client over HTTP against Baton's stub server.
let stub: StubServer;
let other: StubServer;
beforeAll(async () => {
  stub = await createStubServer();
  other = await createStubServer();
});
afterAll(async () => {
  await stub.close();
  await other.close();
});
beforeEach(() => {
  stub.reset();
  other.reset();
  resetResilience();
});

function model(provider: string, server: StubServer) {
  return createOpenAICompatible({ baseURL: server.url, name: provider, includeUsage: true }).chatModel(
    'stub-model',
  );
}

const fast = { initialDelayMs: 1, maxDelayMs: 5 };

/** A runtime; with `listen`, an event listener is attached, so agents stream their model calls. */
function setup(listen: boolean): { runtime: Runtime; events: BatonEvent[] } {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  if (listen) runtime.on((event) => events.push(event));
  return { runtime, events };
}

const faults: Array<[string, StubFault]> = [
  ['a stream that ends without a finish reason', { fault: 'unfinished', text: 'Partial' }],
  ['a stream that sends an error event', { fault: 'error-event', message: 'Overloaded', text: 'Par' }],
];

describe('provider faults inside a 200 response', () => {
  it.each(faults)('a streamed agent run retries %s and completes', async (_name, fault) => {
    stub.enqueue(fault, { text: 'The whole answer.' });
    const { runtime, events } = setup(true);
    const handle = await runtime.start(
      agent({ name: 'streamer', instructions: 'x', model: model('stub', stub), retry: fast }),
      'hi',
    );
    expect(await handle.result()).toBe('The whole answer.');
    expect(stub.requests.map((request) => request.body.stream)).toEqual([true, true]);
    expect(events.find((event) => event.type === 'call-retry')).toMatchObject({
      target: 'model',
      attempt: 1,
    });
    const [entry] = (await runtime.journal(handle.runId)).filter((journaled) => journaled.kind === 'model');
    expect(entry?.meta?.attempts).toBe(2);
    await runtime.close();
  });

  it.each(faults)(
    'an unstreamed agent run retries the same glitch as %s and completes',
    async (_name, fault) => {
      stub.enqueue(fault, { text: 'The whole answer.' });
      const { runtime } = setup(false);
      const handle = await runtime.start(
        agent({ name: 'quiet', instructions: 'x', model: model('stub', stub), retry: fast }),
        'hi',
      );
      expect(await handle.result()).toBe('The whole answer.');
      expect(stub.requests.map((request) => request.body.stream)).toEqual([undefined, undefined]);
      await runtime.close();
    },
  );

  it.each(faults)(
    'a streamed agent run falls back to the next model when retries of %s are exhausted',
    async (_name, fault) => {
      stub.setHandler(() => fault);
      other.enqueue({ text: 'The backup answered.' });
      const { runtime, events } = setup(true);
      const handle = await runtime.start(
        agent({
          name: 'chain',
          instructions: 'x',
          model: [model('primary', stub), model('backup', other)],
          retry: { ...fast, maxAttempts: 2 },
        }),
        'hi',
      );
      expect(await handle.result()).toBe('The backup answered.');
      expect(stub.requests).toHaveLength(2);
      expect(other.requests.map((request) => request.body.stream)).toEqual([true]);
      const [entry] = (await runtime.journal(handle.runId)).filter((journaled) => journaled.kind === 'model');
      expect(entry?.meta).toMatchObject({
        model: 'backup:stub-model',
        fallbackFrom: ['primary:stub-model'],
        attempts: 3,
      });
      expect(events.find((event) => event.type === 'model-fallback')).toMatchObject({
        from: 'primary:stub-model',
        to: 'backup:stub-model',
      });
      await runtime.close();
    },
  );

  it('a streamed run whose model keeps failing mid-stream fails as transient, naming what the provider said', async () => {
    stub.setHandler(() => ({ fault: 'error-event', message: 'Overloaded, try again later' }));
    const { runtime } = setup(true);
    const handle = await runtime.start(
      agent({
        name: 'unlucky',
        instructions: 'x',
        model: model('stub', stub),
        retry: { ...fast, maxAttempts: 2 },
      }),
      'hi',
    );
    const error = await handle.result().then(
      () => undefined,
      (caught: unknown) => caught as Error & { code?: string },
    );
    expect(error?.message).toMatch(/Model stub:stub-model failed .*Overloaded, try again later/);
    expect((await runtime.get(handle.runId)).error?.data).toMatchObject({
      errorClass: 'transient',
      attempts: 2,
    });
    await runtime.close();
  });
});

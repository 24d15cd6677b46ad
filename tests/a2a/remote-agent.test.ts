/** remoteAgent() against A2A agents built with the SDK's server classes (and against Baton's own A2A server): as a member, as a tool, retries, input-required as a wait for a person. */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  agent,
  BatonError,
  createMemoryStore,
  createResilience,
  createRuntime,
  human,
  listPending,
  type Runtime,
  type Store,
  sequential,
  workflow,
} from '../../src/index.js';
import { remoteAgent } from '../../src/protocols/a2a/index.js';
import { createApiKey, createServer } from '../../src/server/index.js';
import { type Listening, listen } from '../../src/server/listen.js';
import { scriptedModel } from '../../src/testing/index.js';
import { eventually } from './a2a-fixtures.js';
import { type SdkAgent, startSdkAgent } from './sdk-agent.js';

let shout: SdkAgent;
let painter: SdkAgent;
let store: Store;
let runtime: Runtime;

beforeAll(async () => {
  shout = await startSdkAgent('shout', async (text) => ({ text: text.toUpperCase() }));
  painter = await startSdkAgent('painter', async (text, turn) =>
    turn === 1 ? { text: 'Which colour?', needsInput: true } : { text: `Colour: ${text}` },
  );
  store = createMemoryStore();
  runtime = createRuntime({ store, pollIntervalMs: 50 });
});

afterAll(async () => {
  await runtime.close();
  await shout.close();
  await painter.close();
});

const exclaim = workflow({ name: 'exclaim' }, async (ctx, text: string) =>
  ctx.step('exclaim', () => `${text}!`),
);

describe('remoteAgent', () => {
  it('is a member of a pattern: the call is a journaled step and its answer the next stage input', async () => {
    const before = shout.received.length;
    const remote = remoteAgent({ url: shout.url, name: 'shout' });
    const pipeline = sequential({ name: 'pipeline', stages: [remote, exclaim] });
    const handle = await runtime.start(pipeline, 'hello there');
    expect(await handle.result()).toBe('HELLO THERE!');
    const steps = (await runtime.journal(handle.runId)).filter((entry) => entry.name === 'a2a:shout');
    expect(steps).toHaveLength(1);
    expect(steps[0]?.meta).toMatchObject({ agent: 'shout', a2a: shout.url });
    expect(shout.received.length - before).toBe(1);
  });

  it('is a tool of an agent (asTool): the model calls it and gets its answer', async () => {
    const remote = remoteAgent({ url: shout.url, name: 'shouter', description: 'Shouts the text back' });
    const lead = agent({
      name: 'lead',
      instructions: 'Use the shouter.',
      tools: [remote.asTool()],
      model: scriptedModel([
        { toolCalls: [{ tool: 'shouter', input: { input: 'quiet please' } }] },
        { text: 'done' },
      ]),
    });
    const handle = await runtime.start(lead, 'go');
    expect(await handle.result()).toBe('done');
    const journal = await runtime.journal(handle.runId);
    const calls = journal.filter(
      (entry) => entry.name === 'a2a:shouter' || entry.name === 'a2a-wait:shouter',
    );
    expect((calls.at(-1)?.result as { output?: unknown } | undefined)?.output).toBe('QUIET PLEASE');
    // The tool ran the remote agent as a child run, whose output went back to the model.
    expect(journal.find((entry) => entry.name === 'run:shouter')?.result).toBe('QUIET PLEASE');
  });

  it('retries a transient failure (HTTP 503) and sends the message once', async () => {
    const before = shout.received.length;
    const remote = remoteAgent({
      url: shout.url,
      name: 'flaky',
      retry: { maxAttempts: 4, initialDelayMs: 10 },
    });
    shout.failNext(2, 503);
    const handle = await runtime.start(remote, 'again');
    expect(await handle.result()).toBe('AGAIN');
    const step = (await runtime.journal(handle.runId)).find((entry) => entry.name === 'a2a:flaky');
    expect(step?.meta?.attempts).toBe(3);
    expect(shout.received.length - before).toBe(1);
  });

  it('opens its circuit breaker after repeated transient failures: the next call fails fast without reaching the agent', async () => {
    const resilience = createResilience({
      tools: { 'a2a:fragile': { breaker: { threshold: 2, halfOpenAfterMs: 60_000 } } },
    });
    const own = createRuntime({ store: createMemoryStore(), pollIntervalMs: 50, resilience });
    try {
      const remote = remoteAgent({ url: shout.url, name: 'fragile', retry: { maxAttempts: 1 } });
      shout.failNext(2, 503);
      const codes: unknown[] = [];
      for (const input of ['one', 'two', 'three']) {
        const handle = await own.start(remote, input);
        codes.push(
          await handle.result().then(
            () => 'completed',
            (error: unknown) => (BatonError.isInstance(error) ? error.code : error),
          ),
        );
      }
      // The third call would have succeeded (no failures left): it never reached the agent.
      expect(codes).toEqual(['REMOTE_AGENT_UNAVAILABLE', 'REMOTE_AGENT_UNAVAILABLE', 'CIRCUIT_OPEN']);
      expect(resilience.breakerState('tool', 'a2a:fragile')).toBe('open');
    } finally {
      await own.close();
    }
  });

  it('does not retry a refusal (HTTP 403): the run fails with REMOTE_AGENT_UNAVAILABLE', async () => {
    const remote = remoteAgent({ url: shout.url, name: 'refused', retry: { initialDelayMs: 10 } });
    shout.failNext(1, 403);
    const handle = await runtime.start(remote, 'no');
    const error = await handle.result().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(BatonError.isInstance(error) && error.code).toBe('REMOTE_AGENT_UNAVAILABLE');
    expect(String(error)).toContain('403');
  });

  it('turns a remote task that needs input into a durable wait for a person, and sends the answer to the task', async () => {
    const before = painter.received.length;
    const remote = remoteAgent({ url: painter.url, name: 'painter' });
    const handle = await runtime.start(remote, 'paint the fence');
    await eventually(async () => (await runtime.get(handle.runId)).status === 'suspended');
    const [request] = await listPending(store, { runId: handle.runId });
    expect(request).toMatchObject({ kind: 'human', signal: 'human:painter', input: 'Which colour?' });
    await runtime.signal(handle.runId, 'human:painter', { text: 'blue' });
    expect(await handle.result()).toBe('Colour: blue');
    const sent = painter.received.slice(before);
    expect(sent.map((message) => message.parts[0]?.content?.value)).toEqual(['paint the fence', 'blue']);
    expect(sent[1]?.taskId).not.toBe('');
  });

  it("fails with REMOTE_INPUT_REQUIRED when told not to ask (onInputRequired: 'fail')", async () => {
    const remote = remoteAgent({ url: painter.url, name: 'impatient', onInputRequired: 'fail' });
    const handle = await runtime.start(remote, 'paint');
    const error = await handle.result().then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(BatonError.isInstance(error) && error.code).toBe('REMOTE_INPUT_REQUIRED');
    expect(String(error)).toContain('Which colour?');
  });

  it("talks to Baton's own A2A server with an API key", async () => {
    const serverStore = createMemoryStore();
    const serverRuntime = createRuntime({ store: serverStore, pollIntervalMs: 50 });
    const echo = workflow({ name: 'echo' }, async (ctx, input: string) =>
      ctx.step('echo', () => `Echo: ${input}`),
    );
    const boss = human({ name: 'boss', prompt: 'Approve the draft?' });
    const review = workflow(
      { name: 'review' },
      async (ctx, draft: string) => `${draft}: ${await ctx.run(boss, draft)}`,
    );
    const abort = new AbortController();
    const server: Listening = await listen(
      createServer({
        runtime: serverRuntime,
        targets: [echo, review],
        pollMs: 20,
        keyCacheMs: 0,
        signal: abort.signal,
      }),
      { port: 0 },
    );
    try {
      const { key } = await createApiKey(serverStore, { scopes: ['read', 'run'] });
      const remote = remoteAgent({ url: `${server.url}/a2a/echo`, token: key });
      expect(remote.name).toBe(`127.0.0.1-${server.port}-a2a-echo`);
      const handle = await runtime.start(remote, 'over the wire');
      expect(await handle.result()).toBe('Echo: over the wire');
      const runs = await serverRuntime.list({ target: 'echo' });
      expect(runs).toHaveLength(1);
      // Calls of one run share a context: the remote run's thread.
      expect(runs[0]?.threadId).toMatch(/^baton-/);

      // The remote team's human member asks; the question becomes a wait here, the answer goes back.
      const reviewer = remoteAgent({ url: `${server.url}/a2a/review`, token: key, name: 'review' });
      const asked = await runtime.start(reviewer, 'Draft 1');
      await eventually(async () => (await runtime.get(asked.runId)).status === 'suspended');
      const [question] = await listPending(store, { runId: asked.runId });
      expect(question).toMatchObject({ kind: 'human', signal: 'human:review' });
      expect(String(question?.input)).toContain('Approve the draft?');
      await runtime.signal(asked.runId, 'human:review', 'looks good');
      expect(await asked.result()).toBe('Draft 1: looks good');
    } finally {
      abort.abort();
      await server.close();
      await serverRuntime.close();
    }
  });
});

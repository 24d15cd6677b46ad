import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { stepTreeText } from '../src/cli/commands/show.js';
import { createStyle } from '../src/cli/output.js';
import { buildStepTree } from '../src/cli/step-tree.js';
import {
  agent,
  type BatonError,
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  type Runtime,
  tool,
} from '../src/index.js';
import {
  breakerState,
  configureResilience,
  latencyStats,
  resetResilience,
} from '../src/models/resilience/index.js';
import { createStubServer, type StubServer } from '../src/testing/index.js';
import { waitForStatus } from '../src/testing/wait-until.js';

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

/** A model on a stub server; `provider` names its breaker and bulkhead. */
function model(provider = 'stub', server: StubServer = stub) {
  return createOpenAICompatible({ baseURL: server.url, name: provider, includeUsage: true }).chatModel(
    'stub-model',
  );
}

const fast = { initialDelayMs: 1, maxDelayMs: 5 };

function setup(): { runtime: Runtime; events: BatonEvent[] } {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

const failure = async (promise: Promise<unknown>) =>
  (await promise.then(
    () => undefined,
    (error: unknown) => error,
  )) as BatonError & { data?: Record<string, unknown> };

async function modelEntries(runtime: Runtime, runId: string) {
  return (await runtime.journal(runId)).filter((entry) => entry.kind === 'model');
}

describe('model call retries inside the model step', () => {
  it('honours retry-after-ms on a 429, then completes; attempts are in the step meta', async () => {
    const arrivals: number[] = [];
    let calls = 0;
    stub.setHandler(() => {
      arrivals.push(Date.now());
      calls += 1;
      return calls === 1
        ? { fault: 'status', status: 429, headers: { 'retry-after-ms': '150' } }
        : { text: 'after the wait' };
    });
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({ name: 'patient', instructions: 'x', model: model(), retry: fast }),
      'hi',
    );
    expect(await handle.result()).toBe('after the wait');
    expect(arrivals).toHaveLength(2);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(140);
    const [entry] = await modelEntries(runtime, handle.runId);
    expect(entry?.meta).toMatchObject({ model: 'stub:stub-model', attempts: 2 });
    expect(events.find((event) => event.type === 'call-retry')).toMatchObject({
      agent: 'patient',
      target: 'model',
      name: 'stub:stub-model',
      attempt: 1,
      delayMs: 150,
    });
    await runtime.close();
  });

  it('honours retry-after in seconds', async () => {
    const arrivals: number[] = [];
    stub.setHandler(() => {
      arrivals.push(Date.now());
      return arrivals.length === 1
        ? { fault: 'status', status: 429, headers: { 'retry-after': '0.2' } }
        : { text: 'ok' };
    });
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'sec', instructions: 'x', model: model(), retry: fast }),
      'hi',
    );
    expect(await handle.result()).toBe('ok');
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(190);
    await runtime.close();
  });

  it('retries 500s and completes', async () => {
    stub.enqueue({ fault: 'status', status: 500 }, { fault: 'status', status: 502 }, { text: 'third time' });
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'retrier', instructions: 'x', model: model(), retry: fast }),
      'hi',
    );
    expect(await handle.result()).toBe('third time');
    expect(stub.requests).toHaveLength(3);
    const entries = await modelEntries(runtime, handle.runId);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.meta?.attempts).toBe(3);
    await runtime.close();
  });

  it('times out a hanging call and retries it', async () => {
    stub.enqueue({ fault: 'hang' }, { text: 'answered' });
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({ name: 'hasty', instructions: 'x', model: model(), retry: fast, timeoutMs: 200 }),
      'hi',
    );
    const started = Date.now();
    expect(await handle.result()).toBe('answered');
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    const retry = events.find((event) => event.type === 'call-retry');
    expect(retry).toMatchObject({ error: expect.stringMatching(/did not answer within 200 ms/) });
    expect((await modelEntries(runtime, handle.runId))[0]?.meta?.attempts).toBe(2);
    await runtime.close();
  });

  it('classifies a malformed body as transient and retries it', async () => {
    stub.enqueue({ fault: 'malformed' }, { text: 'well-formed' });
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({ name: 'parser', instructions: 'x', model: model(), retry: fast }),
      'hi',
    );
    expect(await handle.result()).toBe('well-formed');
    expect(events.some((event) => event.type === 'call-retry')).toBe(true);
    await runtime.close();
  });

  it('fails with class transient after maxAttempts of persistent 500s', async () => {
    stub.setHandler(() => ({ fault: 'status', status: 500 }));
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'doomed', instructions: 'x', model: model(), retry: { ...fast, maxAttempts: 2 } }),
      'hi',
    );
    const error = await failure(handle.result());
    expect(error.code).toBe('MODEL_CALL_FAILED');
    expect(stub.requests).toHaveLength(2);
    const [entry] = await modelEntries(runtime, handle.runId);
    expect(entry?.status).toBe('failed');
    expect(entry?.error?.data).toMatchObject({ errorClass: 'transient', attempts: 2, statusCode: 500 });
    expect((await runtime.get(handle.runId)).error?.data).toMatchObject({ errorClass: 'transient' });
    await runtime.close();
  });

  it('fails fast on a 401 (fatal, no retry)', async () => {
    stub.setHandler(() => ({ fault: 'status', status: 401, body: { error: { message: 'bad key' } } }));
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({ name: 'locked', instructions: 'x', model: model(), retry: fast }),
      'hi',
    );
    const error = await failure(handle.result());
    expect(error.message).toMatch(/HTTP 401/);
    expect(stub.requests).toHaveLength(1);
    expect(events.some((event) => event.type === 'call-retry')).toBe(false);
    const [entry] = await modelEntries(runtime, handle.runId);
    expect(entry?.error?.data).toMatchObject({ errorClass: 'fatal', attempts: 1 });
    await runtime.close();
  });

  it('never repeats a model call that finished after retries when the run resumes after a crash', async () => {
    stub.enqueue(
      { fault: 'status', status: 503 },
      { toolCalls: [{ name: 'charge', arguments: { amount: 5 } }] },
      { text: 'charged' },
    );
    let hang = true;
    let executions = 0;
    const charge = tool({
      name: 'charge',
      description: 'Charge',
      input: z.object({ amount: z.number() }),
      execute: async ({ amount }) => {
        executions += 1;
        if (hang) await new Promise(() => undefined);
        return `charged ${amount}`;
      },
    });
    const store = createMemoryStore();
    const cashier = agent({
      name: 'cashier',
      instructions: 'x',
      model: model(),
      tools: [charge],
      retry: fast,
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(cashier, 'charge 5');
    while (executions === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    hang = false;
    expect(stub.requests).toHaveLength(2);
    const second = createRuntime({ store, recover: false, workflows: [cashier] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('charged');
    // The first model step (a 503, then the answer) was journaled with its attempts and is not called again.
    expect(stub.requests).toHaveLength(3);
    const models = await modelEntries(second, handle.runId);
    expect(models.map((entry) => entry.meta?.attempts)).toEqual([2, undefined]);
    await second.close();
  });
});

describe('model fallback chains', () => {
  it('falls back to the next model when the first keeps failing; the meta says which answered', async () => {
    stub.setHandler(() => ({ fault: 'status', status: 503 }));
    other.enqueue({ text: 'the backup answered' });
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({
        name: 'chain',
        instructions: 'x',
        model: [model('primary', stub), model('backup', other)],
        retry: { ...fast, maxAttempts: 2 },
      }),
      'hi',
    );
    expect(await handle.result()).toBe('the backup answered');
    expect(stub.requests).toHaveLength(2);
    expect(other.requests).toHaveLength(1);
    const [entry] = await modelEntries(runtime, handle.runId);
    expect(entry?.meta).toMatchObject({
      model: 'backup:stub-model',
      fallbackFrom: ['primary:stub-model'],
      attempts: 3,
    });
    expect(events.find((event) => event.type === 'model-fallback')).toMatchObject({
      agent: 'chain',
      from: 'primary:stub-model',
      to: 'backup:stub-model',
    });
    await runtime.close();
  });

  it('baton show prints the attempts, the fallback and the error class of model steps', async () => {
    stub.setHandler(() => ({ fault: 'status', status: 503 }));
    other.enqueue({ text: 'fine' });
    const { runtime } = setup();
    const chained = agent({
      name: 'shown',
      instructions: 'x',
      model: [model('first', stub), model('second', other)],
      retry: { ...fast, maxAttempts: 2 },
    });
    const ok = await runtime.start(chained, 'hi');
    await ok.result();
    const plain = createStyle({ write: () => true }, {});
    const text = stepTreeText(buildStepTree(await runtime.journal(ok.runId)), plain);
    expect(text).toContain('model second:stub-model');
    expect(text).toContain('3 attempts');
    expect(text).toContain('fallback from first:stub-model');
    const single = agent({
      name: 'lone',
      instructions: 'x',
      model: model('first', stub),
      retry: { ...fast, maxAttempts: 2 },
    });
    const failed = await runtime.start(single, 'hi');
    await failure(failed.result());
    const failedText = stepTreeText(buildStepTree(await runtime.journal(failed.runId)), plain);
    expect(failedText).toMatch(
      /error: \[transient, 2 attempts\] Model first:stub-model failed with HTTP 503/,
    );
    await runtime.close();
  });

  it('does not fall back on a fatal error', async () => {
    stub.setHandler(() => ({ fault: 'status', status: 400 }));
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({
        name: 'strict',
        instructions: 'x',
        model: [model('p1', stub), model('p2', other)],
        retry: fast,
      }),
      'hi',
    );
    await failure(handle.result());
    expect(other.requests).toHaveLength(0);
    await runtime.close();
  });
});

describe('circuit breakers and bulkheads', () => {
  it('opens a provider breaker after N failures, fails fast without reaching the server, recovers via a half-open probe', async () => {
    configureResilience({ providers: { brk: { breaker: { threshold: 3, halfOpenAfterMs: 300 } } } });
    stub.setHandler(() => ({ fault: 'status', status: 503 }));
    const { runtime, events } = setup();
    const caller = agent({
      name: 'caller',
      instructions: 'x',
      model: model('brk'),
      retry: { ...fast, maxAttempts: 2 },
    });
    await failure((await runtime.start(caller, 'one')).result());
    expect(stub.requests).toHaveLength(2);
    // The third failure opens the breaker; the retry then fails fast.
    const second = await failure((await runtime.start(caller, 'two')).result());
    expect(stub.requests).toHaveLength(3);
    expect(second.code).toBe('CIRCUIT_OPEN');
    expect(breakerState('provider', 'brk')).toBe('open');
    const third = await runtime.start(caller, 'three');
    const error = await failure(third.result());
    expect(error.code).toBe('CIRCUIT_OPEN');
    expect(stub.requests).toHaveLength(3);
    const [entry] = await modelEntries(runtime, third.runId);
    expect(entry?.error).toMatchObject({ code: 'CIRCUIT_OPEN', data: { errorClass: 'transient' } });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'breaker-state', name: 'brk', state: 'open' }),
    );

    stub.setHandler(() => ({ text: 'healthy again' }));
    await new Promise((resolve) => setTimeout(resolve, 350));
    expect(await (await runtime.start(caller, 'four')).result()).toBe('healthy again');
    expect(stub.requests).toHaveLength(4);
    expect(breakerState('provider', 'brk')).toBe('closed');
    const states = events.filter((event) => event.type === 'breaker-state').map((event) => event.state);
    expect(states).toEqual(['open', 'half-open', 'closed']);
    await runtime.close();
  });

  it("a run whose call is in flight hears of its breaker opening on another run's failure, and only then", async () => {
    configureResilience({ providers: { shared: { breaker: { threshold: 1, halfOpenAfterMs: 60_000 } } } });
    let release: (() => void) | undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    stub.setHandler(async ({ body }) => {
      if (String(body.messages.at(-1)?.content) === 'slow') {
        await released;
        return { text: 'slow answer' };
      }
      return { fault: 'status', status: 500 };
    });
    const { runtime, events } = setup();
    const caller = agent({
      name: 'caller',
      instructions: 'x',
      model: model('shared'),
      retry: { maxAttempts: 1 },
    });
    const slow = await runtime.start(caller, 'slow');
    await vi.waitFor(() => expect(stub.requests).toHaveLength(1));
    const failing = await runtime.start(caller, 'fail');
    expect((await failure(failing.result())).code).not.toBe('CIRCUIT_OPEN');
    expect(breakerState('provider', 'shared')).toBe('open');
    release?.();
    expect(await slow.result()).toBe('slow answer');
    const opened = (runId: string) =>
      events.flatMap((event) =>
        event.type === 'breaker-state' && event.runId === runId ? [event.state] : [],
      );
    // Both calls were in flight through the breaker when it opened; a later call fails fast without a change.
    expect(opened(slow.runId)).toEqual(['open']);
    expect(opened(failing.runId)).toEqual(['open']);
    const late = await runtime.start(caller, 'late');
    expect((await failure(late.result())).code).toBe('CIRCUIT_OPEN');
    expect(opened(late.runId)).toEqual([]);
    await runtime.close();
  });

  it('an open breaker sends the call to the next model of the chain', async () => {
    configureResilience({ providers: { down: { breaker: { threshold: 1, halfOpenAfterMs: 60_000 } } } });
    stub.setHandler(() => ({ fault: 'status', status: 500 }));
    other.setHandler(() => ({ text: 'backup' }));
    const { runtime } = setup();
    const chained = agent({
      name: 'chained',
      instructions: 'x',
      model: [model('down', stub), model('up', other)],
      retry: fast,
    });
    expect(await (await runtime.start(chained, 'a')).result()).toBe('backup');
    expect(stub.requests).toHaveLength(1);
    expect(await (await runtime.start(chained, 'b')).result()).toBe('backup');
    expect(stub.requests).toHaveLength(1);
    await runtime.close();
  });

  async function measureInFlight(run: () => Promise<unknown>): Promise<number> {
    let inFlight = 0;
    let max = 0;
    stub.setHandler(async () => {
      inFlight += 1;
      max = Math.max(max, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 60));
      inFlight -= 1;
      return { text: 'done' };
    });
    await run();
    return max;
  }

  it('caps concurrent calls per provider (bulkhead, shared by all runs)', async () => {
    configureResilience({ providers: { capped: { maxConcurrent: 2 } } });
    const { runtime } = setup();
    const worker = agent({ name: 'worker', instructions: 'x', model: model('capped') });
    const max = await measureInFlight(async () => {
      const handles = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => runtime.start(worker, `job ${n}`)));
      expect(await Promise.all(handles.map((handle) => handle.result()))).toEqual(Array(6).fill('done'));
    });
    expect(max).toBe(2);
    expect(stub.requests).toHaveLength(6);
    await runtime.close();
  });

  it('caps concurrent model calls per agent', async () => {
    const { runtime } = setup();
    const single = agent({ name: 'single', instructions: 'x', model: model('uncapped'), maxConcurrent: 1 });
    const max = await measureInFlight(async () => {
      const handles = await Promise.all([1, 2, 3, 4].map((n) => runtime.start(single, `job ${n}`)));
      await Promise.all(handles.map((handle) => handle.result()));
    });
    expect(max).toBe(1);
    await runtime.close();
  });
});

describe('tools', () => {
  it('times out a hanging tool; the model sees the error and carries on', async () => {
    const hang = tool({
      name: 'hang',
      description: 'Never returns',
      input: z.object({}),
      timeoutMs: 50,
      execute: (_input, { signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    });
    stub.enqueue({ toolCalls: [{ name: 'hang', arguments: {} }] }, { text: 'gave up on it' });
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'user', instructions: 'x', model: model(), tools: [hang] }),
      'go',
    );
    expect(await handle.result()).toBe('gave up on it');
    expect(JSON.stringify(stub.requests[1]?.body.messages)).toContain('timed out after 50 ms');
    const toolEntry = (await runtime.journal(handle.runId)).find((entry) => entry.kind === 'tool');
    expect(toolEntry?.error).toMatchObject({
      code: 'TOOL_TIMEOUT',
      data: { errorClass: 'transient', attempts: 1 },
    });
    await runtime.close();
  });

  it('retries an idempotent tool after a timeout', async () => {
    let calls = 0;
    const flaky = tool({
      name: 'flaky_read',
      description: 'Slow the first time',
      input: z.object({}),
      idempotent: true,
      timeoutMs: 50,
      retry: fast,
      execute: async () => {
        calls += 1;
        if (calls === 1) await new Promise((resolve) => setTimeout(resolve, 500));
        return 'read it';
      },
    });
    stub.enqueue({ toolCalls: [{ name: 'flaky_read', arguments: {} }] }, { text: 'ok' });
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'reader', instructions: 'x', model: model(), tools: [flaky] }),
      'go',
    );
    expect(await handle.result()).toBe('ok');
    const toolEntry = (await runtime.journal(handle.runId)).find((entry) => entry.kind === 'tool');
    expect(toolEntry).toMatchObject({ status: 'completed', result: 'read it', meta: { attempts: 2 } });
    await runtime.close();
  });

  it('opens a tool breaker: later calls fail fast without running the tool', async () => {
    configureResilience({ tools: { inventory: { breaker: { threshold: 2, halfOpenAfterMs: 60_000 } } } });
    let executions = 0;
    const inventory = tool({
      name: 'inventory',
      description: 'Stock levels',
      input: z.object({}),
      execute: () => {
        executions += 1;
        throw Object.assign(new Error('inventory service unavailable'), { errorClass: 'transient' });
      },
    });
    const call = { toolCalls: [{ name: 'inventory', arguments: {} }] };
    stub.enqueue(call, call, call, { text: 'no stock data' });
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({ name: 'shop', instructions: 'x', model: model(), tools: [inventory], maxToolErrors: 5 }),
      'go',
    );
    expect(await handle.result()).toBe('no stock data');
    expect(executions).toBe(2);
    expect(JSON.stringify(stub.requests[3]?.body.messages)).toContain('circuit breaker is open');
    expect(breakerState('tool', 'inventory')).toBe('open');
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'breaker-state', breaker: 'tool', state: 'open' }),
    );
    await runtime.close();
  });

  it('a fatal tool error fails the run instead of going back to the model', async () => {
    const deploy = tool({
      name: 'deploy',
      description: 'Deploys',
      input: z.object({}),
      classify: () => 'fatal',
      execute: () => {
        throw new Error('permission denied on prod');
      },
    });
    stub.enqueue({ toolCalls: [{ name: 'deploy', arguments: {} }] }, { text: 'should not get here' });
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'ops', instructions: 'x', model: model(), tools: [deploy] }),
      'go',
    );
    const error = await failure(handle.result());
    expect(error.message).toBe('permission denied on prod');
    expect(stub.requests).toHaveLength(1);
    await runtime.close();
  });

  it('escalates to a human: a durable wait, then the signal retries the tool and the run completes', async () => {
    let calls = 0;
    const ledger = tool({
      name: 'post_ledger',
      description: 'Posts to the ledger',
      input: z.object({}),
      classify: (error) => ((error as Error).message.includes('locked') ? 'escalate' : undefined),
      execute: () => {
        calls += 1;
        if (calls === 1) throw new Error('ledger locked by finance');
        return 'posted';
      },
    });
    stub.enqueue({ toolCalls: [{ name: 'post_ledger', arguments: {} }] }, { text: 'all posted' });
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({ name: 'accountant', instructions: 'x', model: model(), tools: [ledger] }),
      'post it',
    );
    await waitForStatus(runtime, handle.runId);
    expect(events.find((event) => event.type === 'escalation')).toMatchObject({
      agent: 'accountant',
      tool: 'post_ledger',
      signal: 'escalation:accountant',
      error: 'ledger locked by finance',
    });
    expect(events.find((event) => event.type === 'run-suspended')).toMatchObject({
      waitingFor: ['escalation:accountant'],
    });
    await runtime.signal(handle.runId, 'escalation:accountant', { action: 'retry', note: 'unlocked' });
    expect(await handle.result()).toBe('all posted');
    expect(calls).toBe(2);
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => `${entry.name}:${entry.status}`)).toEqual([
      'model:accountant:completed',
      'tool:post_ledger:failed',
      expect.stringMatching(/escalation:accountant:completed$/),
      'tool:post_ledger:completed',
      'model:accountant:completed',
    ]);
    expect(journal[1]?.error?.data).toMatchObject({ errorClass: 'escalate' });
    await runtime.close();
  });

  it('escalates a model failure the agent classifies as escalate, and retries the model step on the signal', async () => {
    stub.enqueue(
      { fault: 'status', status: 403, body: { error: { message: 'quota exhausted' } } },
      { text: 'back' },
    );
    const { runtime, events } = setup();
    const handle = await runtime.start(
      agent({
        name: 'quota',
        instructions: 'x',
        model: model(),
        classifyError: (error) =>
          (error as { statusCode?: number }).statusCode === 403 ? 'escalate' : undefined,
      }),
      'hi',
    );
    await waitForStatus(runtime, handle.runId);
    expect(events.find((event) => event.type === 'escalation')).toMatchObject({
      agent: 'quota',
      signal: 'escalation:quota',
    });
    await runtime.signal(handle.runId, 'escalation:quota', { action: 'retry' });
    expect(await handle.result()).toBe('back');
    const models = await modelEntries(runtime, handle.runId);
    expect(models.map((entry) => entry.status)).toEqual(['failed', 'completed']);
    expect(models[0]?.error?.data).toMatchObject({ errorClass: 'escalate', statusCode: 403 });
    await runtime.close();
  });

  it('an escalation answered with fail fails the run with the note', async () => {
    const ledger = tool({
      name: 'post_ledger',
      description: 'Posts to the ledger',
      input: z.object({}),
      execute: () => {
        throw Object.assign(new Error('ledger locked'), { errorClass: 'escalate' });
      },
    });
    stub.enqueue({ toolCalls: [{ name: 'post_ledger', arguments: {} }] });
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'clerk', instructions: 'x', model: model(), tools: [ledger] }),
      'go',
    );
    await waitForStatus(runtime, handle.runId);
    await runtime.signal(handle.runId, 'escalation:clerk', { action: 'fail', note: 'not today' });
    const error = await failure(handle.result());
    expect(error.code).toBe('ESCALATION_FAILED');
    expect(error.message).toMatch(/not today/);
    await runtime.close();
  });

  it('derives a tool timeout from its observed p95 latency once enough calls are recorded', async () => {
    configureResilience({ adaptiveTimeout: { minSamples: 20, multiplier: 3, minMs: 300, maxMs: 10_000 } });
    const lookup = tool({
      name: 'lookup',
      description: 'Looks up',
      input: z.object({ slow: z.boolean() }),
      execute: async ({ slow }) => {
        await new Promise((resolve) => setTimeout(resolve, slow ? 2000 : 1));
        return 'found';
      },
    });
    const quick = Array.from({ length: 20 }, () => ({ name: 'lookup', arguments: { slow: false } }));
    stub.enqueue(
      { toolCalls: quick },
      { toolCalls: [{ name: 'lookup', arguments: { slow: true } }] },
      { text: 'finished' },
    );
    const { runtime } = setup();
    const handle = await runtime.start(
      agent({ name: 'looker', instructions: 'x', model: model(), tools: [lookup] }),
      'go',
    );
    const started = Date.now();
    expect(await handle.result()).toBe('finished');
    const stats = latencyStats('tool:lookup');
    expect(stats.count).toBe(20);
    // p95 of ~1 ms calls x 3 is far below the floor, so the floor applies.
    expect(stats.timeoutMs).toBe(300);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(JSON.stringify(stub.requests[2]?.body.messages)).toContain('timed out after 300 ms');
    // Model calls are tracked the same way.
    expect(latencyStats('model:stub:stub-model').count).toBe(3);
    await runtime.close();
  });
});

import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { BatonError } from './errors.js';
import type { BatonEvent } from './events.js';
import type { RunContext } from './run-context.js';
import { workflow } from './runnable.js';
import { createRuntime, type RuntimeOptions } from './runtime.js';
import type { Store } from './store.js';

function runtimeWith(store: Store, options: Partial<RuntimeOptions> = {}) {
  return createRuntime({ store, recover: false, ...options });
}

/** A promise that never settles: simulates a process that dies in the middle of a step. */
const never = () => new Promise<never>(() => undefined);

describe('steps and replay', () => {
  it('journals each step once and replays recorded results after a crash', async () => {
    const store = createMemoryStore();
    const calls: string[] = [];
    let crash = true;
    const flow = workflow({ name: 'three-steps' }, async (ctx, input: number) => {
      const a = await ctx.step('a', () => {
        calls.push('a');
        return input + 1;
      });
      const b = await ctx.step('b', async () => {
        calls.push('b');
        if (crash) return never();
        return a * 10;
      });
      const c = await ctx.step('c', () => {
        calls.push('c');
        return b + 1;
      });
      return c;
    });
    const first = runtimeWith(store);
    const handle = await first.start(flow, 1);
    await waitUntil(() => calls.includes('b'));
    // The first process "dies" while b is in flight: a is recorded, b is not.
    crash = false;
    const second = runtimeWith(store);
    second.register(flow);
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe(21);
    expect(calls).toEqual(['a', 'b', 'b', 'c']);
    const journal = await second.journal(handle.runId);
    expect(journal.map((entry) => `${entry.key}:${entry.name}`)).toEqual(['r#0:a', 'r#1:b', 'r#2:c']);
    expect((await second.get(handle.runId)).status).toBe('completed');
    await second.close();
  });

  it('emits events again once a resumed run gets past a recorded child run', async () => {
    const store = createMemoryStore();
    let crash = true;
    const inner = workflow({ name: 'inner' }, async (ctx) => {
      await ctx.step('a', () => 1);
      await ctx.step('b', () => 2);
      return 'inner done';
    });
    const outer = workflow({ name: 'outer' }, async (ctx) => {
      await ctx.run(inner, undefined);
      return ctx.step('after', () => (crash ? never() : 'ok'));
    });
    const first = runtimeWith(store);
    const handle = await first.start(outer, undefined);
    while ((await store.loadJournal(handle.runId)).length < 3)
      await new Promise((resolve) => setTimeout(resolve, 1));
    crash = false;
    const second = runtimeWith(store, { workflows: [outer] });
    const events: BatonEvent[] = [];
    second.on((event) => events.push(event));
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('ok');
    // The child's own steps are not replayed one by one; the run still leaves replay at the new step.
    expect(events.filter((event) => event.type === 'step-start').map((event) => event.name)).toEqual([
      'after',
    ]);
    await second.close();
  });

  it('raises NonDeterminismError naming both steps when code and journal disagree', async () => {
    const store = createMemoryStore();
    let stepName = 'original';
    const flow = workflow({ name: 'changing' }, async (ctx) => {
      await ctx.step(stepName, () => 1);
      await ctx.waitFor('go');
      return 'done';
    });
    const runtime = runtimeWith(store, { workflows: [flow] });
    const handle = await runtime.start(flow, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    stepName = 'renamed';
    await runtime.signal(handle.runId, 'go');
    const error = await handle.result().catch((caught: unknown) => caught);
    expect(BatonError.isInstance(error)).toBe(true);
    expect((error as BatonError).code).toBe('NON_DETERMINISM');
    expect((error as Error).message).toContain('"original"');
    expect((error as Error).message).toContain('"renamed"');
    expect((error as BatonError).runId).toBe(handle.runId);
    await runtime.close();
  });

  it('records a failed step and replays the same failure, so caught errors stay deterministic', async () => {
    const store = createMemoryStore();
    let attempts = 0;
    const flow = workflow({ name: 'fails-once' }, async (ctx) => {
      let fallback = false;
      try {
        await ctx.step('flaky', () => {
          attempts++;
          throw new Error('boom');
        });
      } catch (error) {
        fallback = (error as Error).message === 'boom';
      }
      await ctx.waitFor('continue');
      return fallback;
    });
    const runtime = runtimeWith(store, { workflows: [flow] });
    const handle = await runtime.start(flow, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    await runtime.signal(handle.runId, 'continue');
    expect(await handle.result()).toBe(true);
    expect(attempts).toBe(1);
    await runtime.close();
  });

  it('fails the run with the error, its code and the run id when code throws', async () => {
    const runtime = runtimeWith(createMemoryStore());
    const flow = workflow({ name: 'throws' }, async (ctx) => {
      await ctx.step('explode', () => {
        throw new BatonError('bad config', { code: 'MY_CODE', fault: 'user' });
      });
    });
    const handle = await runtime.start(flow, null);
    const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('MY_CODE');
    expect(error.runId).toBe(handle.runId);
    const stored = await runtime.get(handle.runId);
    expect(stored.status).toBe('failed');
    expect(stored.error?.code).toBe('MY_CODE');
    await runtime.close();
  });

  it('records now(), random() and uuid() so replays see the same values', async () => {
    const store = createMemoryStore();
    const flow = workflow({ name: 'values' }, async (ctx) => {
      const values = { now: ctx.now(), random: ctx.random(), uuid: ctx.uuid() };
      await ctx.waitFor('go');
      return values;
    });
    const runtime = runtimeWith(store, { workflows: [flow] });
    const handle = await runtime.start(flow, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    const journal = await runtime.journal(handle.runId);
    const recorded = Object.fromEntries(journal.map((entry) => [entry.name, entry.result]));
    await runtime.signal(handle.runId, 'go');
    expect(await handle.result()).toEqual({
      now: recorded.now,
      random: recorded.random,
      uuid: recorded.uuid,
    });
    await runtime.close();
  });

  it('gives parallel branches their own scopes, with keys independent of completion order', async () => {
    const store = createMemoryStore();
    const delays = [30, 0, 10];
    const flow = workflow({ name: 'fan' }, async (ctx) =>
      ctx.parallel(
        delays.map((delay, index) => async (branch: RunContext) => {
          await branch.step('wait', () => new Promise((resolve) => setTimeout(resolve, delay)));
          return branch.step('value', () => index * 2);
        }),
      ),
    );
    const runtime = runtimeWith(store);
    const handle = await runtime.start(flow, null);
    expect(await handle.result()).toEqual([0, 2, 4]);
    const keys = (await runtime.journal(handle.runId)).map((entry) => entry.key).sort();
    expect(keys).toEqual(['r/0.0#0', 'r/0.0#1', 'r/0.1#0', 'r/0.1#1', 'r/0.2#0', 'r/0.2#1']);
    await runtime.close();
  });

  it('runs a child in its own scope and journals its output once', async () => {
    const store = createMemoryStore();
    let childRuns = 0;
    const child = workflow({ name: 'child' }, async (ctx, text: string) =>
      ctx.step('upper', () => {
        childRuns++;
        return text.toUpperCase();
      }),
    );
    const parent = workflow({ name: 'parent' }, async (ctx) => {
      const value = await ctx.run(child, 'abc');
      await ctx.waitFor('go');
      return value;
    });
    const runtime = runtimeWith(store, { workflows: [parent] });
    const handle = await runtime.start(parent, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    await runtime.signal(handle.runId, 'go');
    expect(await handle.result()).toBe('ABC');
    expect(childRuns).toBe(1);
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => `${entry.key}:${entry.name}`)).toEqual([
      'r/0#0:upper',
      'r#0:run:child',
      'r#1:waitFor:go',
    ]);
    await runtime.close();
  });
});

describe('signals and timers', () => {
  it('suspends on waitFor with nothing in memory and resumes with the payload', async () => {
    const store = createMemoryStore();
    const flow = workflow({ name: 'approval' }, async (ctx, amount: number) => {
      const decision = await ctx.waitFor<{ approved: boolean }>('approval');
      return decision.approved ? `paid ${amount}` : 'rejected';
    });
    const runtime = runtimeWith(store, { workflows: [flow] });
    const events: string[] = [];
    runtime.on((event) => events.push(event.type));
    const handle = await runtime.start(flow, 40);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    expect(events).toContain('run-suspended');
    await runtime.signal(handle.runId, 'approval', { approved: true });
    expect(await handle.result()).toBe('paid 40');
    await runtime.close();
  });

  it('takes a signal sent before the run reached waitFor', async () => {
    const store = createMemoryStore();
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const flow = workflow({ name: 'early-signal' }, async (ctx) => {
      await ctx.step('slow', () => gate);
      return ctx.waitFor<string>('answer');
    });
    const runtime = runtimeWith(store, { workflows: [flow] });
    const handle = await runtime.start(flow, null);
    await runtime.signal(handle.runId, 'answer', 'yes');
    release();
    expect(await handle.result()).toBe('yes');
    await runtime.close();
  });

  it('consumes signals of the same name in order, one per waitFor', async () => {
    const flow = workflow({ name: 'two-waits' }, async (ctx) => [
      await ctx.waitFor('n'),
      await ctx.waitFor('n'),
    ]);
    const runtime = runtimeWith(createMemoryStore(), { workflows: [flow] });
    const handle = await runtime.start(flow, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    await runtime.signal(handle.runId, 'n', 1);
    await runtime.signal(handle.runId, 'n', 2);
    expect(await handle.result()).toEqual([1, 2]);
    await runtime.close();
  });

  it('times a wait out durably with WaitTimeoutError the code can catch', async () => {
    const clock = createFakeClock(1_000_000);
    const flow = workflow({ name: 'deadline' }, async (ctx) => {
      try {
        return await ctx.waitFor('reply', { timeoutMs: 60_000 });
      } catch (error) {
        return (error as BatonError).code;
      }
    });
    const runtime = runtimeWith(createMemoryStore(), { workflows: [flow], clock, inlineWaitMs: 0 });
    const handle = await runtime.start(flow, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    expect((await runtime.get(handle.runId)).wakeAt).toBe(1_060_000);
    clock.advance(60_000);
    expect(await handle.result()).toBe('WAIT_TIMEOUT');
    await runtime.close();
  });

  it('keeps a sleep timer across a restart of the runtime', async () => {
    const clock = createFakeClock(0);
    const store = createMemoryStore();
    const effects: string[] = [];
    const flow = workflow({ name: 'sleepy' }, async (ctx) => {
      await ctx.step('before', () => effects.push('before'));
      await ctx.sleep(3_600_000);
      await ctx.step('after', () => effects.push('after'));
      return 'woke';
    });
    const first = runtimeWith(store, { workflows: [flow], clock });
    const handle = await first.start(flow, null);
    await waitUntil(async () => (await first.get(handle.runId)).status === 'suspended');
    await first.close();
    clock.advance(3_600_000);
    const second = createRuntime({ store, workflows: [flow], clock, pollIntervalMs: 10 });
    clock.advance(10);
    await waitUntil(
      async () => (await second.get(handle.runId)).status === 'completed',
      () => clock.advance(10),
    );
    expect((await second.get(handle.runId)).output).toBe('woke');
    expect(effects).toEqual(['before', 'after']);
    await second.close();
  });

  it('rejects a signal to an unknown or finished run with a clear error', async () => {
    const runtime = runtimeWith(createMemoryStore());
    await expect(runtime.signal('run_missing', 'x')).rejects.toThrow(/No run with id "run_missing"/);
    const flow = workflow({ name: 'quick' }, async () => 1);
    const handle = await runtime.start(flow, null);
    await handle.result();
    await expect(runtime.signal(handle.runId, 'x')).rejects.toThrow(/is completed/);
    await runtime.close();
  });
});

describe('runtime', () => {
  it('recovers a run whose owner died once its lease expires', async () => {
    const clock = createFakeClock(0);
    const store = createMemoryStore();
    let hang = true;
    let sideEffects = 0;
    const flow = workflow({ name: 'recoverable' }, async (ctx) => {
      await ctx.step('effect', () => {
        sideEffects++;
      });
      await ctx.step('maybe-hang', () => (hang ? never() : 'ok'));
      return 'recovered';
    });
    // The dead process's clock never advances, so its heartbeat never renews the lease.
    const dead = runtimeWith(store, { workflows: [flow], clock: createFakeClock(0), leaseMs: 5000 });
    const handle = await dead.start(flow, null);
    await waitUntil(async () => (await store.loadJournal(handle.runId)).length === 1);
    hang = false;
    const fresh = createRuntime({ store, workflows: [flow], clock, pollIntervalMs: 100, owner: 'fresh' });
    clock.advance(100);
    expect((await store.getRun(handle.runId))?.leaseOwner).not.toBe('fresh');
    await waitUntil(
      async () => (await fresh.get(handle.runId)).status === 'completed',
      () => clock.advance(1000),
    );
    expect(sideEffects).toBe(1);
    await fresh.close();
  });

  it('refuses to resume a run another live process holds, and names the owner', async () => {
    const store = createMemoryStore();
    const flow = workflow({ name: 'held' }, async (ctx) => ctx.step('hang', never));
    const owner = runtimeWith(store, { owner: 'worker-a' });
    const handle = await owner.start(flow, null);
    const other = runtimeWith(store, { workflows: [flow] });
    await expect(other.resume(handle.runId)).rejects.toThrow(/worker-a/);
  });

  it('cancels a running run: its step sees the abort and the run ends cancelled', async () => {
    const runtime = runtimeWith(createMemoryStore());
    let aborted = false;
    const flow = workflow({ name: 'cancellable' }, async (ctx) =>
      ctx.step(
        'long',
        (step) =>
          new Promise((_, reject) => {
            step.signal.addEventListener('abort', () => {
              aborted = true;
              reject(step.signal.reason);
            });
          }),
      ),
    );
    const handle = await runtime.start(flow, null);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const record = await runtime.cancel(handle.runId);
    expect(record.status).toBe('cancelled');
    expect(aborted).toBe(true);
    await expect(handle.result()).rejects.toThrow(/cancelled/);
    expect((await runtime.journal(handle.runId)).length).toBe(0);
    await runtime.close();
  });

  it('refuses to resume with a different workflow version', async () => {
    const store = createMemoryStore();
    const v1 = workflow({ name: 'versioned', version: '1' }, async (ctx) => ctx.waitFor('go'));
    const first = runtimeWith(store);
    const handle = await first.start(v1, null);
    await waitUntil(async () => (await first.get(handle.runId)).status === 'suspended');
    const v2 = workflow({ name: 'versioned', version: '2' }, async (ctx) => ctx.waitFor('go'));
    const second = runtimeWith(store, { workflows: [v2] });
    await expect(second.resume(handle.runId)).rejects.toThrow(/version 1 .* version 2/);
    const v2compatible = workflow(
      { name: 'versioned', version: '2', compatibleVersions: ['1'] },
      async (ctx) => ctx.waitFor('go'),
    );
    const third = runtimeWith(store, { workflows: [v2compatible] });
    await third.signal(handle.runId, 'go', 'ok');
    expect(await (await third.resume(handle.runId)).result()).toBe('ok');
  });

  it('validates input against the workflow schema and names the bad field', async () => {
    const { z } = await import('zod');
    const flow = workflow(
      { name: 'typed', input: z.object({ email: z.string().email() }) },
      async (_ctx, input) => input.email,
    );
    const runtime = runtimeWith(createMemoryStore());
    await expect(runtime.start(flow, { email: 'nope' })).rejects.toThrow(/Invalid input for "typed": email/);
    await runtime.close();
  });

  it('reports unknown names, duplicate definitions and bad options clearly', async () => {
    const runtime = runtimeWith(createMemoryStore());
    await expect(runtime.start('nothing', null)).rejects.toThrow(
      /No workflow, agent or pattern named "nothing"/,
    );
    runtime.register(workflow({ name: 'dup' }, async () => 1));
    expect(() => runtime.register(workflow({ name: 'dup' }, async () => 2))).toThrow(
      /Two different definitions are named "dup"/,
    );
    expect(() => createRuntime({ store: createMemoryStore(), leaseMs: -1 })).toThrow(
      /leaseMs must be a positive/,
    );
    expect(() => workflow({ name: 'bad name!' }, async () => 1)).toThrow(/Invalid workflow name/);
    await runtime.close();
  });

  it('streams run events to the handle in order, ending at run-end', async () => {
    const runtime = runtimeWith(createMemoryStore());
    const flow = workflow({ name: 'evented' }, async (ctx) => {
      await ctx.step('one', () => 1);
      ctx.emit({ name: 'note', data: 'hello' });
      return 'ok';
    });
    const handle = await runtime.start(flow, null);
    const seen: BatonEvent[] = [];
    for await (const event of handle.events()) seen.push(event);
    expect(seen.map((event) => event.type)).toEqual([
      'run-start',
      'step-start',
      'step-end',
      'custom',
      'run-end',
    ]);
    await runtime.close();
  });
});

async function waitUntil(
  check: () => boolean | Promise<boolean>,
  tick?: () => void,
  timeoutMs = 5000,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    tick?.();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('one execution per run in a process', () => {
  it('runs a due run once when resume is called twice at the same time (a timer and a signal arriving together)', async () => {
    const store = createMemoryStore();
    const clock = createFakeClock(1_000_000);
    const calls: string[] = [];
    const flow = workflow({ name: 'sleep-then-step' }, async (ctx) => {
      await ctx.sleep(60_000);
      return ctx.step('after', async () => {
        calls.push('after');
        await new Promise((resolve) => setTimeout(resolve, 20));
        return 'done';
      });
    });
    const runtime = runtimeWith(store, { inlineWaitMs: 0, clock });
    const handle = await runtime.start(flow, null);
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    await runtime.close();
    clock.set(1_000_000 + 61_000);
    // Another process (no timer of its own): both wake-ups read the stored run before either
    // has launched an execution.
    const later = runtimeWith(store, { inlineWaitMs: 0, clock, workflows: [flow] });
    const starts: BatonEvent[] = [];
    later.on((event) => {
      if (event.type === 'run-start') starts.push(event);
    });
    const [first, second] = await Promise.all([later.resume(handle.runId), later.resume(handle.runId)]);
    expect(await first.result()).toBe('done');
    expect(await second.result()).toBe('done');
    expect(calls).toEqual(['after']);
    // One execution: two would race each other through the journal (and, past a wait, through steps).
    expect(starts).toHaveLength(1);
    expect((await later.journal(handle.runId)).filter((entry) => entry.name === 'after')).toHaveLength(1);
    await later.close();
  });
});

describe('run ids chosen by the caller', () => {
  it('refuses at start a run id that could not be resumed, naming it and what is allowed', async () => {
    const store = createMemoryStore();
    const flow = workflow({ name: 'waits' }, async (ctx) => ctx.waitFor<string>('go'));
    const runtime = runtimeWith(store, { workflows: [flow] });
    // Before: the run was stored, and every resume of it failed on its budget stream's name.
    await expect(runtime.start(flow, null, { runId: 'order#1' })).rejects.toThrow(/order#1/);
    await expect(runtime.start(flow, null, { runId: 'order#1' })).rejects.toMatchObject({
      code: 'INVALID_OPTION',
    });
    expect(await store.listRuns({})).toEqual([]);
    // An allowed id still works, through a suspension and a resume.
    const handle = await runtime.start(flow, null, { runId: 'order-1:retry.2@eu/x' });
    await waitUntil(async () => (await runtime.get(handle.runId)).status === 'suspended');
    await runtime.signal(handle.runId, 'go', 'yes');
    expect(await handle.result()).toBe('yes');
    await runtime.close();
  });
});

describe('generated run ids', () => {
  it('carry the start time in hex and stay distinct within a millisecond and across the next', async () => {
    const clock = createFakeClock(1_765_151_234_567);
    const flow = workflow({ name: 'quick' }, async () => 'done');
    const runtime = runtimeWith(createMemoryStore(), { workflows: [flow], clock });
    const ids: string[] = [];
    for (const advance of [0, 0, 1, 0, 255, 0]) {
      clock.advance(advance);
      const handle = await runtime.start(flow, null);
      await handle.result();
      expect(handle.runId.startsWith(`run_${clock.now().toString(16)}`)).toBe(true);
      ids.push(handle.runId);
    }
    expect(new Set(ids).size).toBe(ids.length);
    await runtime.close();
  });
});

import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../stores/memory/index.js';
import type { DispatchReason, RunDispatcher } from './dispatch.js';
import type { RunContext } from './run-context.js';
import { workflow } from './runnable.js';
import { createRuntime, type Runtime } from './runtime.js';

/**
 * A dispatcher that executes each dispatched run in this process, a little later (a queue and
 * one worker in miniature); `delayStart` holds back the dispatch of chosen runs' starts.
 */
function inProcessDispatcher(delayStart: (runId: string) => number = () => 0) {
  const state: { runtime?: Runtime } = {};
  const dispatcher: RunDispatcher = {
    async dispatch(runId: string, reason: DispatchReason, options?: { at?: number }) {
      const held = reason === 'start' ? delayStart(runId) : 0;
      if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
      const wait = Math.max(1, (options?.at ?? 0) - Date.now());
      setTimeout(() => state.runtime?.execute(runId).catch(() => undefined), wait);
    },
  };
  return {
    dispatcher,
    attach(runtime: Runtime) {
      state.runtime = runtime;
    },
  };
}

describe('distributed children', () => {
  it('gives each distributed child its own scope, so children started together in one scope replay the same way', async () => {
    const store = createMemoryStore();
    const double = workflow({ name: 'double' }, async (ctx, n: number) => ctx.step('double', () => n * 2));
    // Two children spawned at once from the same scope; the first child's start is dispatched
    // slower, so its spawn step is recorded after the second's.
    const parent = workflow({ name: 'pair' }, async (ctx: RunContext, n: number) => {
      const [a, b] = await Promise.all([
        ctx.run(double, n, { distribute: true }),
        ctx.run(double, n + 1, { distribute: true }),
      ]);
      return a + b;
    });
    const { dispatcher, attach } = inProcessDispatcher((runId) => (runId.endsWith('.child.r_0') ? 40 : 0));
    const runtime = createRuntime({ store, dispatcher, workflows: [parent, double], recover: false });
    attach(runtime);
    try {
      const handle = await runtime.start(parent, 5);
      expect(await handle.result()).toBe(10 + 12);
      const children = (await runtime.list({})).filter((record) => record.id.includes('.child.'));
      expect(children.map((record) => record.status)).toEqual(['completed', 'completed']);
    } finally {
      await runtime.close();
    }
  });

  it("wakes the parent by its own look at the child's record when the child's end is never handed over", async () => {
    const store = createMemoryStore();
    const double = workflow({ name: 'double' }, async (ctx, n: number) => ctx.step('double', () => n * 2));
    const parent = workflow({ name: 'one' }, async (ctx: RunContext, n: number) =>
      ctx.run(double, n, { distribute: true }),
    );
    // The children's runtime stores their end, but its signal to the parent fails: a worker
    // that died right after storing a child's end.
    const lossy = new Proxy(store, {
      get(target, key) {
        if (key === 'addSignal') return () => Promise.reject(new Error('the worker died'));
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const holder: { parents?: Runtime; children?: Runtime } = {};
    const dispatcher: RunDispatcher = {
      async dispatch(runId, _reason, options) {
        setTimeout(
          () => {
            const runtime = runId.includes('.child.') ? holder.children : holder.parents;
            runtime?.execute(runId).catch(() => undefined);
          },
          Math.max(1, (options?.at ?? 0) - Date.now()),
        );
      },
    };
    const runtime = createRuntime({ store, dispatcher, workflows: [parent, double], recover: false });
    const children = createRuntime({ store: lossy, dispatcher, workflows: [double], recover: false });
    holder.parents = runtime;
    holder.children = children;
    try {
      const handle = await runtime.start(parent, 4);
      expect(await handle.result()).toBe(8);
      // It woke at its first look (after 5 s), read the child's stored end and returned its output.
      expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toContain('check:double');
      expect(await store.listSignals(handle.runId)).toEqual([]);
    } finally {
      await runtime.close();
      await children.close();
    }
  }, 15_000);

  it('runs a distributed child inline on a runtime without a dispatcher', async () => {
    const store = createMemoryStore();
    const double = workflow({ name: 'double' }, async (ctx, n: number) => ctx.step('double', () => n * 2));
    const parent = workflow({ name: 'one' }, async (ctx: RunContext, n: number) =>
      ctx.run(double, n, { distribute: true }),
    );
    const runtime = createRuntime({ store, workflows: [parent, double], recover: false });
    try {
      const handle = await runtime.start(parent, 4);
      expect(await handle.result()).toBe(8);
      expect((await runtime.list({})).map((record) => record.id)).toEqual([handle.runId]);
    } finally {
      await runtime.close();
    }
  });
});

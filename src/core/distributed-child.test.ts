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
  const state: { runtime?: Runtime; pending: Set<Promise<unknown>> } = { pending: new Set() };
  const dispatcher: RunDispatcher = {
    async dispatch(runId: string, reason: DispatchReason, options?: { at?: number }) {
      const held = reason === 'start' ? delayStart(runId) : 0;
      if (held > 0) await new Promise((resolve) => setTimeout(resolve, held));
      const wait = Math.max(1, (options?.at ?? 0) - Date.now());
      const job = new Promise((resolve) => setTimeout(resolve, wait))
        .then(() => state.runtime?.execute(runId))
        .catch(() => undefined);
      state.pending.add(job);
      void job.finally(() => state.pending.delete(job));
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

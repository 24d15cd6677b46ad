import { describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, workflow } from '../../src/index.js';
import { replayRuns } from '../../src/testing/index.js';

describe('replayRuns (batonjs/testing)', () => {
  it('replays every ended run with the registered code and reports the ones that differ', async () => {
    const store = createMemoryStore();
    const v1 = workflow({ name: 'order' }, async (ctx, amount: number) =>
      ctx.step('charge', () => amount * 2),
    );
    const first = createRuntime({ store, workflows: [v1] });
    for (const amount of [1, 2]) await (await first.start(v1, amount)).result();
    await first.close();

    const same = createRuntime({ store, workflows: [v1] });
    const reports = await replayRuns(same);
    expect(reports.map((report) => report.identical)).toEqual([true, true]);
    await same.close();

    const v2 = workflow({ name: 'order' }, async (ctx, amount: number) => {
      await ctx.step('log', () => 'ok');
      return ctx.step('charge', () => amount * 2);
    });
    const changed = createRuntime({ store, workflows: [v2] });
    const after = await replayRuns(changed, { target: 'order', limit: 1 });
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({
      identical: false,
      difference: { key: 'r#0', recorded: 'charge', requested: 'log' },
    });
    await changed.close();
  });
});

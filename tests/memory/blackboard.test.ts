import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../../src/agents/agent.js';
import type { BatonEvent } from '../../src/core/events.js';
import { workflow } from '../../src/core/runnable.js';
import { createRuntime } from '../../src/core/runtime.js';
import { blackboard } from '../../src/memory/blackboard.js';
import { sequential } from '../../src/patterns/sequential.js';
import { createMemoryStore } from '../../src/stores/memory/index.js';
import { createSqliteStore } from '../../src/stores/sqlite/sqlite-store.js';
import { scriptedModel } from '../../src/testing/scripted-model.js';
import { tool } from '../../src/tools/tool.js';

const directory = mkdtempSync(join(tmpdir(), 'baton-blackboard-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const planSchema = z.object({ goal: z.string(), steps: z.array(z.string()), done: z.boolean() });
type Plan = z.infer<typeof planSchema>;

function boardEvents(events: BatonEvent[]) {
  return events.flatMap((event) =>
    event.type === 'custom' && event.name === 'blackboard-update'
      ? [event.data as Record<string, unknown>]
      : [],
  );
}

describe('blackboard', () => {
  it('is shared by two agents of a sequential pattern, every change journaled, and survives a crash mid-update', async () => {
    const path = join(directory, 'board.db');
    const store = createSqliteStore({ path });
    const plan = blackboard({
      name: 'plan',
      schema: planSchema,
      initial: { goal: '', steps: [], done: false } satisfies Plan,
    });
    const [readTool, updateTool] = plan.tools;
    // The worker's update tool stores its change, then "crashes" before the step is journaled.
    let hang = true;
    let updateAttempts = 0;
    const crashingUpdate = tool({
      name: updateTool.name,
      description: updateTool.description,
      input: updateTool.inputSchema,
      idempotent: true,
      execute: async (input, context) => {
        updateAttempts++;
        // Decided when the call starts: the test lets later calls through while this one stores.
        const hangs = hang;
        const result = await updateTool.execute(input, context);
        if (hangs) await new Promise(() => undefined);
        return result;
      },
    });
    const model = scriptedModel({
      planner: [
        {
          toolCalls: [
            {
              tool: 'blackboard_update',
              input: {
                set: { goal: 'Refund order A-1' },
                patch: [{ op: 'add', path: '/steps/-', value: 'check order' }],
              },
            },
          ],
        },
        { text: 'Planned.' },
      ],
      worker: [
        { toolCalls: [{ tool: 'blackboard_read', input: {} }] },
        // Invalid: `done` must be a boolean. Refused, and the model is told why.
        { toolCalls: [{ tool: 'blackboard_update', input: { set: { done: 'yes' } } }] },
        {
          toolCalls: [
            {
              tool: 'blackboard_update',
              input: { set: { done: true }, patch: [{ op: 'add', path: '/steps/-', value: 'refund' }] },
            },
          ],
        },
        { text: 'Done.' },
      ],
    });
    const planner = agent({ name: 'planner', instructions: 'Plan.', model, tools: plan.tools });
    const worker = agent({ name: 'worker', instructions: 'Work.', model, tools: [readTool, crashingUpdate] });
    const team = sequential({ name: 'team', stages: [planner, worker] });
    const flow = workflow({ name: 'plan-flow' }, async (ctx, request: string) => {
      await ctx.run(team, request);
      const value = await plan.read(ctx);
      const final = await plan.update(ctx, {
        patch: [{ op: 'replace', path: '/goal', value: `${value.goal} (closed)` }],
      });
      return { value, final };
    });

    const events: BatonEvent[] = [];
    const crashed = createRuntime({ store, recover: false });
    crashed.on((event) => events.push(event));
    const handle = await crashed.start(flow, 'Customer wants a refund for A-1');
    while (updateAttempts < 2) await new Promise((resolve) => setTimeout(resolve, 1));
    // The in-flight change is already stored but its step is not journaled.
    expect((await plan.history(store, handle.runId)).map((revision) => revision.version)).toEqual([0, 1, 2]);
    hang = false;

    const second = createRuntime({ store, recover: false, workflows: [flow] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toEqual({
      value: { goal: 'Refund order A-1', steps: ['check order', 'refund'], done: true },
      final: { goal: 'Refund order A-1 (closed)', steps: ['check order', 'refund'], done: true },
    });
    expect(updateAttempts).toBe(3);

    // Every change is a journaled step whose result is the new value.
    const journal = await second.journal(handle.runId);
    const boardSteps = journal.filter(
      (entry) => entry.name.startsWith('tool:blackboard') || entry.name.startsWith('blackboard:'),
    );
    expect(
      boardSteps.map((entry) => [
        entry.name,
        entry.status,
        (entry.result as { version?: number } | undefined)?.version,
      ]),
    ).toEqual([
      ['tool:blackboard_update', 'completed', 1],
      ['tool:blackboard_read', 'completed', 1],
      ['tool:blackboard_update', 'failed', undefined],
      ['tool:blackboard_update', 'completed', 2],
      ['blackboard:plan:read', 'completed', 2],
      ['blackboard:plan:update', 'completed', 3],
    ]);
    expect(boardSteps[2]!.error?.message).toMatch(
      /change refused, the new value does not match the schema: done/,
    );
    // The refusal went back to the worker as a tool error it could correct.
    expect(JSON.stringify(model.calls.at(-2)?.prompt)).toContain('change refused');

    // The change re-run after the crash found its own revision: applied once, not twice.
    const history = await plan.history(store, handle.runId);
    expect(history.map((revision) => [revision.version, revision.by])).toEqual([
      [0, undefined],
      [1, 'planner'],
      [2, 'worker'],
      [3, 'code'],
    ]);
    expect(history[2]!.value.steps).toEqual(['check order', 'refund']);

    // One event per change before the crash, each emitted once.
    expect(boardEvents(events).map((data) => [data.version, data.by])).toEqual([
      [1, 'planner'],
      [2, 'worker'],
    ]);
    // (Events after the resume are not asserted here: the kernel keeps `replaying` true for the rest of a
    // run resumed after completed child runs, which suppresses them; see the second test.)
    // The crashed runtime still holds its hung tool call: close only what the resume used.
    await second.close();
    await store.close();
  });

  it('replays reads from the journal even when the stored value moved on', async () => {
    const store = createMemoryStore();
    const counter = blackboard({ name: 'counter', schema: z.object({ n: z.number() }), initial: { n: 0 } });
    let gate: (() => void) | undefined;
    let reached = false;
    const flow = workflow({ name: 'count' }, async (ctx) => {
      const before = await counter.read(ctx);
      await counter.update(ctx, { set: { n: before.n + 1 } });
      await ctx.step('pause', async () => {
        reached = true;
        if (gate === undefined) await new Promise<void>((resolve) => (gate = resolve));
      });
      const after = await counter.read(ctx);
      await counter.update(ctx, { set: { n: after.n + 1 } });
      return { before, after };
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(flow, undefined);
    while (!reached) await new Promise((resolve) => setTimeout(resolve, 1));
    // Someone else changes the stored value while the run is down.
    await store.appendRecord(`blackboard:${handle.runId}:counter`, {
      version: 2,
      value: { n: 99 },
      by: 'ops',
    });
    gate = () => undefined;
    const second = createRuntime({ store, recover: false, workflows: [flow] });
    const events: BatonEvent[] = [];
    second.on((event) => events.push(event));
    const resumed = await second.resume(handle.runId, { force: true });
    // The first read and the update replay from the journal; the read after the crash sees the store.
    expect(await resumed.result()).toEqual({ before: { n: 0 }, after: { n: 99 } });
    expect((await counter.history(store, handle.runId)).map((revision) => revision.value.n)).toEqual([
      0, 1, 99, 100,
    ]);
    // The replayed change emits nothing again; the new one emits its event.
    expect(boardEvents(events)).toEqual([
      { blackboard: 'counter', version: 3, by: 'code', change: { set: { n: 100 } }, value: { n: 100 } },
    ]);
    await second.close();
  });

  it('rejects bad definitions and changes with errors that say what to do', async () => {
    expect(() =>
      blackboard({ name: 'bad name', schema: planSchema, initial: { goal: '', steps: [], done: false } }),
    ).toThrow(/Invalid blackboard name/);
    expect(() => blackboard({ name: 'plan', schema: planSchema, initial: { goal: 1 } as never })).toThrow(
      /initial does not match the schema: goal/,
    );
    const board = blackboard({
      name: 'b',
      schema: z.object({ items: z.array(z.string()) }),
      initial: { items: [] },
      toolPrefix: 'notes',
    });
    expect(board.tools.map((entry) => entry.name)).toEqual(['notes_read', 'notes_update']);
    expect(board.tools[1].description).toContain('"items"');
    const store = createMemoryStore();
    const flow = workflow({ name: 'bad-change' }, async (ctx) =>
      board.update(ctx, { patch: [{ op: 'remove', path: '/missing' }] }),
    );
    const runtime = createRuntime({ store, recover: false });
    const handle = await runtime.start(flow, undefined);
    await expect(handle.result()).rejects.toThrow(
      /blackboard\("b"\): change refused, patch\[0\] \(remove \/missing\): no field "missing"/,
    );
    await runtime.close();
  });

  it('refuses a blackboard_update that reaches for __proto__, constructor or prototype, and leaves Object.prototype clean', async () => {
    const settings = blackboard({
      name: 'settings',
      schema: z.object({ theme: z.string() }).passthrough(),
      initial: { theme: 'light' },
      toolPrefix: 'settings',
    });
    const attacks = [
      { patch: [{ op: 'add', path: '/__proto__/isAdmin', value: true }] },
      { patch: [{ op: 'add', path: '/constructor/prototype/isAdmin', value: true }] },
      { patch: [{ op: 'add', path: '/extra', value: JSON.parse('{"__proto__":{"isAdmin":true}}') }] },
      { set: JSON.parse('{"__proto__":{"isAdmin":true}}') },
    ];
    const model = scriptedModel({
      keeper: [
        ...attacks.map((input) => ({ toolCalls: [{ tool: 'settings_update', input }] })),
        { text: 'Gave up.' },
      ],
    });
    const keeper = agent({
      name: 'keeper',
      instructions: 'Keep settings.',
      model,
      tools: settings.tools,
      maxToolErrors: 5,
    });
    const store = createMemoryStore();
    const runtime = createRuntime({ store, recover: false });
    const handle = await runtime.start(keeper, 'Make me an admin.');
    expect(await handle.result()).toBe('Gave up.');
    expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('isAdmin');
    // Each refusal went back to the model as a tool error saying which key and where.
    const results = (model.calls.at(-1)?.prompt ?? []).flatMap((message) =>
      message.role === 'tool' ? message.content.map((part) => JSON.stringify(part)) : [],
    );
    expect(results).toHaveLength(4);
    expect(results[0]).toMatch(/the key \\"__proto__\\" at \/__proto__ is not allowed/);
    expect(results[1]).toMatch(/the key \\"constructor\\" at \/constructor is not allowed/);
    expect(results[2]).toMatch(/at \/patch\/0\/value\/__proto__ is not allowed/);
    expect(results[3]).toMatch(/at \/set\/__proto__ is not allowed/);
    // Nothing was stored: the value is still the initial one.
    expect((await settings.history(store, handle.runId)).map((revision) => revision.version)).toEqual([0]);
    await runtime.close();
  });
});

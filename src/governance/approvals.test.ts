import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime, type Runtime } from '../core/runtime.js';
import { human } from '../patterns/human.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { approvalSignal, listPending } from './approvals.js';

async function suspended(runtime: Runtime, runId: string): Promise<void> {
  for (let polls = 0; (await runtime.get(runId)).status !== 'suspended'; polls++) {
    if (polls > 2000) throw new Error(`run ${runId} did not suspend: ${(await runtime.get(runId)).status}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function refundTool(log: string[], approval: 'always' | ((input: { amount: number }) => boolean) = 'always') {
  return tool({
    name: 'refund',
    description: 'Refunds an amount to the customer',
    input: z.object({ orderId: z.string(), amount: z.number() }),
    capabilities: ['write', 'spend'],
    approval,
    execute: ({ orderId, amount }) => {
      log.push(`refund ${orderId} ${amount}`);
      return { refundId: `RF-${orderId}` };
    },
  });
}

describe('approvals', () => {
  it('suspends before a gated call, journals the request, and runs the tool once approved', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store, recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1001', amount: 129 }, id: 'call_refund' }] },
      { text: 'Refunded.' },
    ]);
    const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool(log)] });
    const handle = await runtime.start(billing, 'Refund A-1001');
    await suspended(runtime, handle.runId);
    expect(log).toEqual([]);
    expect(events.find((event) => event.type === 'run-suspended')).toMatchObject({
      waitingFor: ['approval:call_refund'],
    });
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => entry.name)).toEqual(['model:billing', 'approval:refund']);
    expect(journal[1]?.result).toMatchObject({
      kind: 'approval',
      signal: 'approval:call_refund',
      agent: 'billing',
      tool: 'refund',
      input: { orderId: 'A-1001', amount: 129 },
    });
    const inbox = await listPending(store);
    expect(inbox).toHaveLength(1);
    expect(inbox[0]).toMatchObject({
      kind: 'approval',
      runId: handle.runId,
      target: 'billing',
      signal: 'approval:call_refund',
      agent: 'billing',
      tool: 'refund',
      input: { orderId: 'A-1001', amount: 129 },
      answered: false,
    });

    await runtime.signal(handle.runId, approvalSignal('call_refund'), { approved: true, by: 'ana' });
    expect(await handle.result()).toBe('Refunded.');
    expect(log).toEqual(['refund A-1001 129']);
    expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toEqual([
      'model:billing',
      'approval:refund',
      'waitFor:approval:call_refund',
      'tool:refund',
      'model:billing',
    ]);
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain('RF-A-1001');
    expect(await listPending(store)).toEqual([]);
    await runtime.close();
  });

  it('gives the model "rejected: <reason>" as the result of a rejected call, and the run goes on', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1', amount: 900 }, id: 'call_big' }] },
      { text: 'The refund was not approved.' },
    ]);
    const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool(log)] });
    const handle = await runtime.start(billing, 'Refund A-1');
    await suspended(runtime, handle.runId);
    await runtime.signal(handle.runId, 'approval:call_big', { approved: false, reason: 'over the limit' });
    expect(await handle.result()).toBe('The refund was not approved.');
    expect(log).toEqual([]);
    const toolMessage = model.calls[1]?.prompt.at(-1);
    expect(toolMessage).toMatchObject({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'call_big', output: { value: 'rejected: over the limit' } },
      ],
    });
    await runtime.close();
  });

  it('asks only when the predicate says so, lets the agent override the tool, and gates calls independently', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const log: string[] = [];
    const model = scriptedModel([
      {
        toolCalls: [
          { tool: 'refund', input: { orderId: 'small', amount: 20 }, id: 'c1' },
          { tool: 'refund', input: { orderId: 'large', amount: 500 }, id: 'c2' },
          { tool: 'refund', input: { orderId: 'huge', amount: 5000 }, id: 'c3' },
        ],
      },
      { text: 'done' },
    ]);
    const billing = agent({
      name: 'billing',
      instructions: 'Refund.',
      model,
      tools: [refundTool(log, 'always')],
      // The agent's rule wins over the tool's 'always'.
      approvals: { refund: (input: { amount: number }) => input.amount > 100 },
    });
    const handle = await runtime.start(billing, 'Refund three orders');
    await suspended(runtime, handle.runId);
    // The small refund ran while the two large ones wait; both requests are pending at once.
    expect(log).toEqual(['refund small 20']);
    const pending = await listPending(runtime.store, { runId: handle.runId });
    expect(pending.map((request) => request.toolCallId)).toEqual(['c2', 'c3']);

    await runtime.signal(handle.runId, 'approval:c3', false);
    await suspended(runtime, handle.runId);
    expect((await listPending(runtime.store)).map((request) => request.toolCallId)).toEqual(['c2']);
    await runtime.signal(handle.runId, 'approval:c2', true);
    expect(await handle.result()).toBe('done');
    expect(log).toEqual(['refund small 20', 'refund large 500']);
    const last = model.calls[1]?.prompt.at(-1) as { content: Array<{ output: { value: unknown } }> };
    const results = last.content;
    expect(results.map((result) => result.output.value)).toEqual([
      { refundId: 'RF-small' },
      { refundId: 'RF-large' },
      'rejected: no reason given',
    ]);
    await runtime.close();
  });

  it('fails the run with a message saying how to answer when the payload is not a decision', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A', amount: 1 }, id: 'c9' }] },
      { text: 'x' },
    ]);
    const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool([])] });
    const handle = await runtime.start(billing, 'Refund A');
    await suspended(runtime, handle.runId);
    await runtime.signal(handle.runId, 'approval:c9', { approve: 'yes' });
    const error = (await handle.result().then(
      () => undefined,
      (caught: unknown) => caught,
    )) as BatonError;
    expect(error.code).toBe('INVALID_SIGNAL_PAYLOAD');
    expect(error.message).toContain('baton approve');
    await runtime.close();
  });

  it('waits for days with no timer and nothing in memory, then runs on the approval', async () => {
    const store = createMemoryStore();
    const clock = createFakeClock(Date.UTC(2026, 0, 1));
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-7', amount: 10 }, id: 'c7' }] },
      { text: 'ok' },
    ]);
    const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool(log)] });
    const first = createRuntime({ store, clock, recover: false });
    const handle = await first.start(billing, 'Refund A-7');
    await suspended(first, handle.runId);
    await first.close();
    expect((await store.getRun(handle.runId))?.wakeAt).toBeUndefined();
    clock.advance(3 * 24 * 3_600_000);
    const [request] = await listPending(store);
    expect(request).toMatchObject({ toolCallId: 'c7', since: Date.UTC(2026, 0, 1) });
    const later = createRuntime({ store, clock, recover: false, workflows: [billing] });
    await later.signal(handle.runId, 'approval:c7', { approved: true });
    expect(await (await later.resume(handle.runId)).result()).toBe('ok');
    expect(log).toEqual(['refund A-7 10']);
    await later.close();
  });

  it('lists human members waiting for an answer in the inbox too', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store, recover: false });
    const lead = human({ name: 'lead', prompt: 'Publish this?' });
    const flow = workflow({ name: 'review' }, async (ctx, draft: string) => ctx.run(lead, draft));
    const handle = await runtime.start(flow, 'Draft v1');
    await suspended(runtime, handle.runId);
    expect(await listPending(store)).toEqual([
      expect.objectContaining({
        kind: 'human',
        runId: handle.runId,
        target: 'review',
        signal: 'human:lead',
        member: 'lead',
        prompt: 'Publish this?',
        input: 'Draft v1',
        answered: false,
      }),
    ]);
    await runtime.signal(handle.runId, 'human:lead', 'yes');
    expect(await handle.result()).toBe('yes');
    expect(await listPending(store)).toEqual([]);
    await runtime.close();
  });

  it('rejects bad approval options when the tool or agent is defined', () => {
    expect(() => refundTool([], 'sometimes' as never)).toThrow(
      /tool\("refund"\): approval must be 'always', 'never' or a function/,
    );
    expect(() =>
      agent({ name: 'a', instructions: 'x', model: scriptedModel([]), approvals: { refund: 5 as never } }),
    ).toThrow(/agent\("a"\): approvals.refund must be/);
  });
});

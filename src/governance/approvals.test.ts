import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { type BatonError, ConfigError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { human } from '../patterns/human.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createSqliteStore } from '../stores/sqlite/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { waitForStatus, waitUntil } from '../testing/wait-until.js';
import { tool } from '../tools/tool.js';
import { listPending } from './approval-inbox.js';
import { type ApprovalRequest, type ApprovalRule, approvalSignal } from './approvals.js';

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
    await waitForStatus(runtime, handle.runId);
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
    await waitForStatus(runtime, handle.runId);
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
    await waitForStatus(runtime, handle.runId);
    // The small refund ran while the two large ones wait; both requests are pending at once.
    expect(log).toEqual(['refund small 20']);
    const pending = await listPending(runtime.store, { runId: handle.runId });
    expect(pending.map((request) => request.toolCallId)).toEqual(['c2', 'c3']);

    await runtime.signal(handle.runId, 'approval:c3', false);
    await waitForStatus(runtime, handle.runId);
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

  it('refuses a malformed approval at signal() naming the run, the wait and the problem; the run keeps waiting', async () => {
    const store = createMemoryStore();
    const runtime = createRuntime({ store, recover: false });
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A', amount: 1 }, id: 'c9' }] },
      { text: 'Refunded.' },
    ]);
    const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool(log)] });
    const handle = await runtime.start(billing, 'Refund A');
    await waitForStatus(runtime, handle.runId);
    const refused = (await runtime.signal(handle.runId, 'approval:c9', { approve: true }).then(
      () => undefined,
      (caught: unknown) => caught,
    )) as BatonError;
    expect(refused).toBeInstanceOf(ConfigError);
    expect(refused.code).toBe('INVALID_SIGNAL_PAYLOAD');
    expect(refused.message).toContain(`Run ${handle.runId} waits for "approval:c9"`);
    expect(refused.message).toContain('approved');
    expect(refused.message).toContain('the run keeps waiting');
    // A typo in an optional field and a prototype key are refused too.
    await expect(
      runtime.signal(handle.runId, 'approval:c9', { approved: true, reasn: 'ok' }),
    ).rejects.toThrow(/reasn/);
    await expect(
      runtime.signal(handle.runId, 'approval:c9', JSON.parse('{"approved": true, "__proto__": {"x": 1}}')),
    ).rejects.toThrow(/__proto__/);
    expect(await store.listSignals(handle.runId)).toEqual([]);
    expect((await runtime.get(handle.runId)).status).toBe('suspended');
    expect((await listPending(store)).map((request) => request.signal)).toEqual(['approval:c9']);

    await runtime.signal(handle.runId, 'approval:c9', { approved: true });
    expect(await handle.result()).toBe('Refunded.');
    expect(log).toEqual(['refund A 1']);
    await runtime.close();
  });

  it('keeps waiting when a malformed answer got into the store anyway, and runs on the next valid one', async () => {
    const store = createMemoryStore();
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A', amount: 1 }, id: 'c9' }] },
      { text: 'Refunded.' },
    ]);
    const billing = agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool(log)] });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(billing, 'Refund A');
    await waitForStatus(first, handle.runId);
    await first.close();
    // Written past runtime.signal (an older version, a hand-edited store): a later process must not fail the run.
    await store.addSignal(handle.runId, 'approval:c9', { approve: true }, Date.now());
    expect(await listPending(store)).toMatchObject([{ signal: 'approval:c9', answered: false }]);
    const second = createRuntime({ store, recover: false });
    second.register(billing);
    const resumed = await second.resume(handle.runId);
    await waitForStatus(second, handle.runId);
    expect((await second.get(handle.runId)).status).toBe('suspended');
    expect(log).toEqual([]);
    await second.signal(handle.runId, 'approval:c9', { approved: true });
    expect(await resumed.result()).toBe('Refunded.');
    expect(log).toEqual(['refund A 1']);
    await second.close();
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
    await waitForStatus(first, handle.runId);
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
    await waitForStatus(runtime, handle.runId);
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

describe('approval deadlines and escalation', () => {
  const start = Date.UTC(2026, 0, 1);
  const minute = 60_000;

  function gatedRefund(log: string[], approval: ApprovalRule<{ orderId: string; amount: number }>) {
    return tool({
      name: 'refund',
      description: 'Refunds an amount to the customer',
      input: z.object({ orderId: z.string(), amount: z.number() }),
      approval,
      execute: ({ orderId, amount }) => {
        log.push(`refund ${orderId} ${amount}`);
        return { refundId: `RF-${orderId}` };
      },
    });
  }

  function setup(approval: ApprovalRule<{ orderId: string; amount: number }>, agentRule?: ApprovalRule) {
    const store = createMemoryStore();
    const clock = createFakeClock(start);
    const runtime = createRuntime({ store, clock, recover: false });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1', amount: 500 }, id: 'c1' }] },
      { text: 'done' },
    ]);
    const billing = agent({
      name: 'billing',
      instructions: 'Refund.',
      model,
      tools: [gatedRefund(log, approval)],
      ...(agentRule === undefined ? {} : { approvals: { refund: agentRule } }),
    });
    const decided = () =>
      events.flatMap((event) =>
        event.type === 'custom' && event.name === 'approval-decided' ? [event.data] : [],
      );
    /** What the model got back for the call. */
    const toolResult = () => {
      const message = model.calls[1]?.prompt.at(-1) as
        | { content: Array<{ output: { value: unknown } }> }
        | undefined;
      return message?.content[0]?.output.value;
    };
    return { store, clock, runtime, log, model, billing, decided, toolResult };
  }

  /** Polls the inbox until `matches` holds (a resumed run journals its next request asynchronously). */
  it('rejects by timeout when nobody answers in time, and the model sees why', async () => {
    const { store, clock, runtime, log, billing, decided, toolResult } = setup({ timeout: '30m' });
    const handle = await runtime.start(billing, 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    expect((await store.getRun(handle.runId))?.wakeAt).toBe(start + 30 * minute);
    expect(await listPending(store)).toEqual([
      expect.objectContaining({ toolCallId: 'c1', deadline: start + 30 * minute, onTimeout: 'reject' }),
    ]);

    clock.advance(30 * minute - 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await runtime.get(handle.runId)).status).toBe('suspended');
    clock.advance(1);
    expect(await handle.result()).toBe('done');
    expect(log).toEqual([]);
    expect(toolResult()).toBe('rejected: no decision within 30m');
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => `${entry.name} ${entry.status}`)).toEqual([
      'model:billing completed',
      'approval:refund completed',
      'timer completed',
      'waitFor:approval:c1 failed',
      'approval-timeout:refund completed',
      'model:billing completed',
    ]);
    expect(journal[4]?.result).toMatchObject({
      kind: 'approval-decision',
      approved: false,
      by: 'timeout',
      reason: 'no decision within 30m',
    });
    expect(decided()).toEqual([
      {
        agent: 'billing',
        tool: 'refund',
        toolCallId: 'c1',
        approved: false,
        reason: 'no decision within 30m',
        by: 'timeout',
      },
    ]);
    expect(await listPending(store)).toEqual([]);
    await runtime.close();
  });

  it("runs the tool when the deadline passes and onTimeout is 'approve' (the agent's rule wins over the tool's)", async () => {
    const { clock, runtime, log, billing, decided, toolResult } = setup('always', {
      when: (input: { amount: number }) => input.amount > 100,
      timeout: 90_000,
      onTimeout: 'approve',
    });
    const handle = await runtime.start(billing, 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    expect(log).toEqual([]);
    clock.advance(90_000);
    expect(await handle.result()).toBe('done');
    expect(log).toEqual(['refund A-1 500']);
    expect(toolResult()).toEqual({ refundId: 'RF-A-1' });
    expect(decided()).toEqual([
      expect.objectContaining({ approved: true, by: 'timeout', reason: 'no decision within 90s' }),
    ]);
    await runtime.close();
  });

  it('lets an answer before the deadline win; the deadline passing later changes nothing', async () => {
    const { store, clock, runtime, log, billing, toolResult } = setup({
      timeout: '30m',
      onTimeout: 'approve',
    });
    const handle = await runtime.start(billing, 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    clock.advance(10 * minute);
    await runtime.signal(handle.runId, 'approval:c1', { approved: false, reason: 'not this one', by: 'ana' });
    expect(await handle.result()).toBe('done');
    const journal = (await runtime.journal(handle.runId)).map((entry) => entry.name);
    clock.advance(60 * minute);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(log).toEqual([]);
    expect(toolResult()).toBe('rejected: not this one');
    // The decision is journaled with who made it (what the audit log reads).
    const wait = (await runtime.journal(handle.runId)).find((entry) => entry.name === 'waitFor:approval:c1');
    expect(wait?.result).toMatchObject({ payload: { approved: false, by: 'ana' } });
    expect((await runtime.journal(handle.runId)).map((entry) => entry.name)).toEqual(journal);
    expect(journal).not.toContain('approval-timeout:refund');
    expect((await store.getRun(handle.runId))?.status).toBe('completed');
    await runtime.close();
  });

  it('escalates an unanswered request to a second approver, whose answer decides', async () => {
    const { store, clock, runtime, log, billing, toolResult } = setup({
      timeout: '30m',
      onTimeout: { escalateTo: 'oncall-lead', timeout: '1h' },
    });
    const handle = await runtime.start(billing, 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    expect(await listPending(store)).toEqual([
      expect.objectContaining({ toolCallId: 'c1', onTimeout: { escalateTo: 'oncall-lead' } }),
    ]);
    expect((await listPending(store))[0]?.escalatedTo).toBeUndefined();

    clock.advance(30 * minute);
    const [escalated, ...others] = await waitUntil(
      () => listPending(store),
      (pending) => pending[0]?.escalatedTo !== undefined,
    );
    expect(others).toEqual([]);
    expect(escalated).toMatchObject({
      kind: 'approval',
      signal: 'approval:c1',
      toolCallId: 'c1',
      tool: 'refund',
      input: { orderId: 'A-1', amount: 500 },
      escalatedTo: 'oncall-lead',
      deadline: start + 90 * minute,
      onTimeout: 'reject',
      answered: false,
    });
    await waitForStatus(runtime, handle.runId);
    expect(log).toEqual([]);

    await runtime.signal(handle.runId, escalated?.signal as string, { approved: true, by: 'lead' });
    expect(await handle.result()).toBe('done');
    expect(log).toEqual(['refund A-1 500']);
    expect(toolResult()).toEqual({ refundId: 'RF-A-1' });
    const journal = await runtime.journal(handle.runId);
    expect(
      journal.filter((entry) => entry.name === 'waitFor:approval:c1').map((entry) => entry.status),
    ).toEqual(['failed', 'completed']);
    expect(
      journal.find((entry) => entry.name === 'waitFor:approval:c1' && entry.status === 'completed')?.result,
    ).toMatchObject({
      payload: { approved: true, by: 'lead' },
    });
    const requests = (await runtime.journal(handle.runId)).filter(
      (entry) => entry.name === 'approval:refund',
    );
    expect(requests.map((entry) => (entry.result as ApprovalRequest).escalatedTo)).toEqual([
      undefined,
      'oncall-lead',
    ]);
    expect(requests[1]?.meta).toMatchObject({ approval: 'escalated', escalatedTo: 'oncall-lead' });
    await runtime.close();
  });

  it('rejects by timeout when the escalated request is not answered either', async () => {
    const { store, clock, runtime, log, billing, toolResult } = setup({
      timeout: '30m',
      onTimeout: { escalateTo: 'oncall-lead', timeout: '1h' },
    });
    const handle = await runtime.start(billing, 'Refund A-1');
    await waitForStatus(runtime, handle.runId);
    clock.advance(30 * minute);
    await waitUntil(
      () => listPending(store),
      (pending) => pending[0]?.escalatedTo === 'oncall-lead',
    );
    await waitForStatus(runtime, handle.runId);
    clock.advance(60 * minute);
    expect(await handle.result()).toBe('done');
    expect(log).toEqual([]);
    const reason = 'no decision within 30m, nor within 1h of escalation to oncall-lead';
    expect(toolResult()).toBe(`rejected: ${reason}`);
    const decision = (await runtime.journal(handle.runId)).find(
      (entry) => entry.name === 'approval-timeout:refund',
    );
    expect(decision?.result).toMatchObject({
      kind: 'approval-decision',
      approved: false,
      by: 'timeout',
      reason,
    });
    expect((await runtime.journal(handle.runId)).map((entry) => `${entry.name} ${entry.status}`)).toEqual([
      'model:billing completed',
      'approval:refund completed',
      'timer completed',
      'waitFor:approval:c1 failed',
      'approval:refund completed',
      'timer completed',
      'waitFor:approval:c1 failed',
      'approval-timeout:refund completed',
      'model:billing completed',
    ]);
    await runtime.close();
  });

  it('takes the timeout path when a new runtime resumes the run after the deadline', async () => {
    const store = createMemoryStore();
    const clock = createFakeClock(start);
    const log: string[] = [];
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1', amount: 5 }, id: 'c1' }] },
      { text: 'done' },
    ]);
    const billing = agent({
      name: 'billing',
      instructions: 'Refund.',
      model,
      tools: [gatedRefund(log, { timeout: '2h' })],
    });
    const first = createRuntime({ store, clock, recover: false });
    const handle = await first.start(billing, 'Refund A-1');
    await waitForStatus(first, handle.runId);
    await first.close();
    // Nothing runs while no process is up; the deadline is only in the store.
    clock.advance(3 * 60 * minute);
    expect((await store.getRun(handle.runId))?.status).toBe('suspended');
    const later = createRuntime({ store, clock, recover: false, workflows: [billing] });
    expect(await (await later.resume(handle.runId)).result()).toBe('done');
    expect(log).toEqual([]);
    expect(JSON.stringify(model.calls[1]?.prompt.at(-1))).toContain('rejected: no decision within 2h');
    await later.close();
  });

  it('rejects bad deadline options with a ConfigError naming the tool or agent and the option', () => {
    const define = (rule: unknown) => gatedRefund([], rule as ApprovalRule);
    const onAgent = (rule: unknown) =>
      agent({
        name: 'a',
        instructions: 'x',
        model: scriptedModel([]),
        approvals: { refund: rule as ApprovalRule },
      });
    const cases: Array<[() => unknown, RegExp]> = [
      [() => define({ timeout: -5 }), /tool\("refund"\): approval\.timeout must be a positive whole number/],
      [() => define({ timeout: 1.5 }), /approval\.timeout must be a positive/],
      [
        () => onAgent({ timeout: '30 minutes' }),
        /agent\("a"\): approvals\.refund\.timeout must be .* got "30 minutes"/,
      ],
      [() => onAgent({ timeout: '0s' }), /agent\("a"\): approvals\.refund\.timeout must be/],
      [() => onAgent({ timeout: '30d' }), /approvals\.refund\.timeout is "30d"; the longest timeout/],
      [
        () => define({ timeout: '10m', onTimeout: 'escalate' }),
        /tool\("refund"\): approval\.onTimeout must be 'reject', 'approve' or \{ escalateTo/,
      ],
      [
        () => onAgent({ onTimeout: 'approve' }),
        /agent\("a"\): approvals\.refund\.onTimeout needs approvals\.refund\.timeout/,
      ],
      [
        () => define({ timeout: '10m', onTimeout: { escalateTo: '' } }),
        /approval\.onTimeout\.escalateTo must name who/,
      ],
      [
        () => define({ timeout: '10m', onTimeout: { escalateTo: 'lead', timeout: 0 } }),
        /approval\.onTimeout\.timeout must be a positive/,
      ],
      [
        () => define({ timeout: '10m', onTimeout: { escalateTo: 'lead', after: '1h' } }),
        /approval\.onTimeout has an unknown option "after"/,
      ],
      [() => onAgent({ timout: '10m' }), /agent\("a"\): approvals\.refund has an unknown option "timout"/],
      [
        () => define({ when: 'sometimes' }),
        /tool\("refund"\): approval\.when must be 'always', 'never' or a function/,
      ],
    ];
    for (const [make, message] of cases) {
      let caught: unknown;
      try {
        make();
      } catch (error) {
        caught = error;
      }
      expect(caught, String(message)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
    }
    // The forms that were valid stay valid; an object is checked and normalized once.
    expect(define('always').approval).toBe('always');
    expect(define({ timeout: '1.5h', onTimeout: { escalateTo: 'lead', timeout: 600_000 } }).approval).toEqual(
      {
        when: 'always',
        timeout: 5_400_000,
        onTimeout: { escalateTo: 'lead', timeout: 600_000 },
      },
    );
    expect(define({ when: 'never' }).approval).toEqual({ when: 'never' });
  });
});

describe('approved arguments are the executed ones', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'baton-approval-binding-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** Suspends a gated refund of A-1 in a SQLite file, applies `edit` to the file, then approves what the inbox shows. */
  async function approveAfterEdit(name: string, edit: (db: Database.Database) => void) {
    const path = join(scratch, `${name}.db`);
    const log: string[] = [];
    // One scripted model for both processes: the second continues its script.
    const model = scriptedModel([
      { toolCalls: [{ tool: 'refund', input: { orderId: 'A-1', amount: 129 }, id: 'call_1' }] },
      { text: 'Refunded.' },
    ]);
    const billing = () =>
      agent({ name: 'billing', instructions: 'Refund.', model, tools: [refundTool(log)] });
    const firstStore = createSqliteStore({ path });
    const first = createRuntime({ store: firstStore, recover: false });
    const { runId } = await first.start(billing(), 'Refund A-1');
    await waitForStatus(first, runId);
    await first.close();
    await firstStore.close();
    const db = new Database(path);
    edit(db);
    db.close();
    const store = createSqliteStore({ path });
    const runtime = createRuntime({ store, recover: false });
    const [shown] = await listPending(store, { runId });
    await runtime.signal(runId, 'approval:call_1', { approved: true, inputHash: shown?.inputHash });
    runtime.register(billing());
    const outcome = await (await runtime.resume(runId)).result().then(
      (output) => ({ output, error: undefined }),
      (error: BatonError) => ({ output: undefined, error }),
    );
    await runtime.close();
    await store.close();
    return { shown, log, ...outcome };
  }

  it('runs the approved call once and unchanged', async () => {
    const { shown, log, output } = await approveAfterEdit('intact', () => undefined);
    expect(shown?.input).toEqual({ orderId: 'A-1', amount: 129 });
    expect(output).toBe('Refunded.');
    expect(log).toEqual(['refund A-1 129']);
  });

  it('does not run a call whose request was edited in the store while it waited: the approver saw other arguments', async () => {
    const { shown, log, error } = await approveAfterEdit('request-edited', (db) =>
      db
        .prepare("UPDATE journal SET result = json_set(result, '$.input.orderId', 'A-2') WHERE name = ?")
        .run('approval:refund'),
    );
    expect(shown?.input).toEqual({ orderId: 'A-2', amount: 129 });
    expect(log).toEqual([]);
    expect(error?.code).toBe('APPROVAL_MISMATCH');
    expect(error?.message).toContain('refund (call call_1) was not run');
  });

  it('does not run a call whose model-step arguments were edited after the request: they are not what was approved', async () => {
    const { shown, log, error } = await approveAfterEdit('arguments-edited', (db) => {
      const row = db.prepare("SELECT result FROM journal WHERE name = 'model:billing'").get() as {
        result: string;
      };
      db.prepare("UPDATE journal SET result = ? WHERE name = 'model:billing'").run(
        row.result.replace('A-1', 'A-2'),
      );
    });
    expect(shown?.input).toEqual({ orderId: 'A-1', amount: 129 });
    expect(log).toEqual([]);
    expect(error?.code).toBe('APPROVAL_MISMATCH');
  });
});

import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { type HandoffOptions, handoff } from './handoff.js';

function setup(store = createMemoryStore()) {
  const runtime = createRuntime({ store, recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events, store };
}

/**
 * Triage and billing hand the conversation to each other, unless told what to do: a loop warning
 * makes billing answer, a human's "refund approved" message makes it refund. The desk answers.
 */
const pingPongModel = () =>
  scriptedModel(({ agent: name, prompt }) => {
    const seen = JSON.stringify(prompt);
    if (name === 'desk') return { text: 'A person will call you back today.' };
    if (name === 'billing' && seen.includes('Refund approved')) return { text: 'Refunded order A-7.' };
    if (name === 'billing' && seen.includes('Loop warning'))
      return { text: 'I cannot change the order; here is how to return it.' };
    return {
      toolCalls: [{ tool: name === 'triage' ? 'transfer_to_billing' : 'transfer_to_triage', input: {} }],
    };
  });

/** Like `pingPongModel`, but nobody listens to warnings or humans. */
const deafModel = () =>
  scriptedModel(({ agent: name }) =>
    name === 'desk'
      ? { text: 'A person will call you back today.' }
      : {
          toolCalls: [{ tool: name === 'triage' ? 'transfer_to_billing' : 'transfer_to_triage', input: {} }],
        },
  );

function support(
  model: ReturnType<typeof scriptedModel>,
  extra: Partial<HandoffOptions> & { withFallback?: boolean } = {},
) {
  const { withFallback, ...rest } = extra;
  return handoff({
    name: 'support',
    entry: agent({ name: 'triage', instructions: 'Route.', model }),
    agents: [agent({ name: 'billing', instructions: 'Billing.', model })],
    allowReturn: true,
    maxHandoffs: 20,
    ...(withFallback === true ? { fallback: agent({ name: 'desk', instructions: 'Desk.', model }) } : {}),
    ...rest,
  });
}

const callsOf = (model: ReturnType<typeof scriptedModel>, name: string) =>
  model.calls.filter(
    (call) => (call.providerOptions?.baton as { agent?: string } | undefined)?.agent === name,
  );

const loopEvents = (events: BatonEvent[]) =>
  events.flatMap((event) =>
    event.type === 'loop-detected'
      ? [{ agent: event.agent, repeated: event.repeated, count: event.count, response: event.response }]
      : [],
  );

const handoffs = (events: BatonEvent[]) =>
  events.flatMap((event) => (event.type === 'handoff' ? [`${event.from}->${event.to}`] : []));

async function failure(promise: Promise<unknown>): Promise<BatonError> {
  return (await promise.then(
    () => expect.unreachable('the run should fail'),
    (error: unknown) => error,
  )) as BatonError;
}

describe('handoff loop response: stop (default)', () => {
  it('fails with HANDOFF_LOOP as before and reports loop-detected with response stop', async () => {
    const { runtime, events } = setup();
    const model = deafModel();
    const error = await failure((await runtime.start(support(model), 'refund A-7')).result());
    expect(error.code).toBe('HANDOFF_LOOP');
    expect(error.message).toContain('loop: triage -> billing -> triage, 2 times in a row');
    expect(model.calls).toHaveLength(3);
    expect(loopEvents(events)).toEqual([
      {
        agent: 'triage',
        repeated: 'the handoff cycle triage -> billing -> triage',
        count: 2,
        response: 'stop',
      },
    ]);
    await runtime.close();
  });

  it('hands over to the fallback when set, with loopResponse: stop spelled out', async () => {
    const { runtime } = setup();
    const team = support(deafModel(), { loopResponse: 'stop', withFallback: true });
    expect(await (await runtime.start(team, 'refund A-7')).result()).toBe(
      'A person will call you back today.',
    );
    await runtime.close();
  });
});

describe('handoff loop response: warn', () => {
  it('lets the transfer happen and tells the receiving agent about the cycle', async () => {
    const { runtime, events } = setup();
    const model = pingPongModel();
    const team = support(model, { loopResponse: 'warn' });
    expect(await (await runtime.start(team, 'refund A-7')).result()).toBe(
      'I cannot change the order; here is how to return it.',
    );
    expect(handoffs(events)).toEqual(['triage->billing', 'billing->triage', 'triage->billing']);
    const warned = callsOf(model, 'billing').at(-1);
    const last = warned?.prompt.at(-1);
    expect(last?.role).toBe('user');
    expect(JSON.stringify(last)).toContain(
      'Loop warning from \\"support\\": the conversation is going around in a cycle (triage -> billing -> triage, 2 times in a row)',
    );
    // The conversation is still there (the configured input filter, none here, applied as usual).
    expect(JSON.stringify(warned?.prompt)).toContain('refund A-7');
    expect(loopEvents(events).map((event) => event.response)).toEqual(['warn']);
    expect(events.find((event) => event.type === 'pattern-decision')).toMatchObject({
      decision: 'handoff loop warning',
      data: { cycle: ['triage', 'billing'] },
    });
    await runtime.close();
  });

  it('applies the configured input filter before adding the warning', async () => {
    const { runtime } = setup();
    const model = pingPongModel();
    const team = support(model, {
      loopResponse: 'warn',
      inputFilter: (messages) => messages.filter((message) => message.role === 'user'),
    });
    await (await runtime.start(team, 'refund A-7')).result();
    const prompt = callsOf(model, 'billing').at(-1)?.prompt ?? [];
    expect(prompt.map((message) => message.role)).toEqual(['system', 'user', 'user']);
    await runtime.close();
  });

  it('stops (or falls back) when the cycle comes back after the warning', async () => {
    const { runtime, events } = setup();
    const model = deafModel();
    const error = await failure(
      (await runtime.start(support(model, { loopResponse: 'warn' }), 'x')).result(),
    );
    expect(error.code).toBe('HANDOFF_LOOP');
    expect(error.message).toContain('again after a loop warning');
    // Warned at the 3rd handoff (triage, billing, triage, billing), then counted afresh from billing:
    // billing, triage, billing, triage trips at the 6th handoff.
    expect(handoffs(events)).toHaveLength(5);
    expect(loopEvents(events)).toEqual([
      {
        agent: 'triage',
        repeated: 'the handoff cycle triage -> billing -> triage',
        count: 2,
        response: 'warn',
      },
      {
        agent: 'billing',
        repeated: 'the handoff cycle billing -> triage -> billing',
        count: 3,
        response: 'stop',
      },
    ]);

    const fallingBack = support(deafModel(), {
      name: 'support-desk',
      loopResponse: 'warn',
      withFallback: true,
    });
    expect(await (await runtime.start(fallingBack, 'x')).result()).toBe('A person will call you back today.');
    await runtime.close();
  });
});

describe('handoff loop response: escalate', () => {
  it('suspends on loop:<name> and lets the transfer go on "continue", with the message, across a restart', async () => {
    const store = createMemoryStore();
    const first = setup(store);
    const model = pingPongModel();
    const team = support(model, { loopResponse: 'escalate' });
    const handle = await first.runtime.start(team, 'refund A-7');
    await expect.poll(async () => (await first.runtime.get(handle.runId)).status).toBe('suspended');
    expect(loopEvents(first.events)).toEqual([
      {
        agent: 'triage',
        repeated: 'the handoff cycle triage -> billing -> triage',
        count: 2,
        response: 'escalate',
      },
    ]);
    expect(model.calls).toHaveLength(3);
    await first.runtime.close();

    // A new process: the wait is journaled, so the signal resumes the run where it stopped.
    const second = createRuntime({ store, recover: false, workflows: [team] });
    await second.signal(handle.runId, 'loop:support', {
      action: 'continue',
      message: 'Refund approved by the manager.',
    });
    const resumed = await second.resume(handle.runId);
    expect(await resumed.result()).toBe('Refunded order A-7.');
    // The replay took no new model calls before billing's answer.
    expect(model.calls).toHaveLength(4);
    const prompt = callsOf(model, 'billing').at(-1)?.prompt ?? [];
    expect(JSON.stringify(prompt.at(-1))).toContain('Refund approved by the manager.');
    expect(JSON.stringify(prompt)).toContain('refund A-7');
    await second.close();
  });

  it('counts afresh after "continue" and asks again', async () => {
    const { runtime } = setup();
    const model = deafModel();
    const handle = await runtime.start(support(model, { loopResponse: 'escalate' }), 'x');
    await expect.poll(async () => (await runtime.get(handle.runId)).status).toBe('suspended');
    await runtime.signal(handle.runId, 'loop:support', { action: 'continue' });
    await expect.poll(() => model.calls.length).toBe(6);
    await expect.poll(async () => (await runtime.get(handle.runId)).status).toBe('suspended');
    await runtime.signal(handle.runId, 'loop:support', { action: 'stop' });
    expect((await failure(handle.result())).code).toBe('HANDOFF_LOOP');
    await runtime.close();
  });

  it('behaves as stop when the human says stop: fails, or hands over to the fallback', async () => {
    const { runtime, events } = setup();
    const handle = await runtime.start(support(deafModel(), { loopResponse: 'escalate' }), 'x');
    await expect.poll(async () => (await runtime.get(handle.runId)).status).toBe('suspended');
    await runtime.signal(handle.runId, 'loop:support', { action: 'stop' });
    const error = await failure(handle.result());
    expect(error.code).toBe('HANDOFF_LOOP');
    expect(error.message).toContain('loop: triage -> billing -> triage');
    expect((await runtime.get(handle.runId)).status).toBe('failed');

    const model = deafModel();
    const withDesk = await runtime.start(
      support(model, { name: 'support-desk', loopResponse: 'escalate', withFallback: true }),
      'x',
    );
    await expect.poll(async () => (await runtime.get(withDesk.runId)).status).toBe('suspended');
    await runtime.signal(withDesk.runId, 'loop:support-desk', { action: 'stop' });
    expect(await withDesk.result()).toBe('A person will call you back today.');
    expect(callsOf(model, 'desk')).toHaveLength(1);
    expect(callsOf(model, 'billing')).toHaveLength(1);
    expect(events.filter((event) => event.type === 'pattern-end').at(-1)).toMatchObject({
      outcome: 'answered by fallback desk',
    });
    await runtime.close();
  });
});

describe('handoff loop response: options', () => {
  it('refuses an unknown loopResponse, naming the option', () => {
    expect(() => support(deafModel(), { loopResponse: 'ignore' as never })).toThrow(
      /handoff\("support"\): loopResponse must be 'stop', 'warn' or 'escalate', got "ignore"/,
    );
  });
});

import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { waitForStatus } from '../testing/wait-until.js';
import { runnableTool } from '../tools/tool.js';
import { human } from './human.js';

function setup() {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

const failure = async (promise: Promise<unknown>) =>
  (await promise.then(
    () => undefined,
    (error: unknown) => error,
  )) as BatonError;

describe('human', () => {
  it('asks once, suspends, and answers with the signal payload (string or { text })', async () => {
    const { runtime, events } = setup();
    const alice = human({
      name: 'alice',
      description: 'Approves refunds',
      prompt: (input) => `Approve this? ${String(input)}`,
    });
    const flow = workflow({ name: 'two-questions' }, async (ctx, request: string) => {
      const first = await ctx.run(alice, request);
      const second = await ctx.run(alice, `${request} (again)`);
      return `${first} / ${second}`;
    });
    const handle = await runtime.start(flow, 'refund A-1001');
    await waitForStatus(runtime, handle.runId);
    const requests = events.filter(
      (event) => event.type === 'custom' && event.name === 'human-input-requested',
    );
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({
      data: {
        member: 'alice',
        description: 'Approves refunds',
        signal: 'human:alice',
        prompt: 'Approve this? refund A-1001',
        input: 'refund A-1001',
      },
    });
    expect(events.find((event) => event.type === 'run-suspended')).toMatchObject({
      waitingFor: ['human:alice'],
    });

    await runtime.signal(handle.runId, 'human:alice', 'yes');
    await runtime.signal(handle.runId, 'human:alice', { text: 'still yes' });
    expect(await handle.result()).toBe('yes / still yes');
    // The first question was not asked again when the run resumed; the second was asked once.
    const asked = events.filter((event) => event.type === 'custom' && event.name === 'human-input-requested');
    expect(asked.map((event) => (event as { data: { input: string } }).data.input)).toEqual([
      'refund A-1001',
      'refund A-1001 (again)',
    ]);
    const journal = await runtime.journal(handle.runId);
    expect(journal.filter((entry) => entry.name === 'ask:alice')).toHaveLength(2);
    expect(journal.filter((entry) => entry.name === 'waitFor:human:alice')).toHaveLength(2);
    await runtime.close();
  });

  it('answers with a fixed fallback when nobody answers in time', async () => {
    const { runtime, events } = setup();
    const bob = human({ name: 'bob', timeoutMs: 20, fallback: 'REJECTED: no answer from bob' });
    const handle = await runtime.start(bob, 'Ship it?');
    expect(await handle.result()).toBe('REJECTED: no answer from bob');
    expect(events.some((event) => event.type === 'custom' && event.name === 'human-timeout')).toBe(true);
    await runtime.close();
  });

  it('runs a fallback agent with the same input when nobody answers in time', async () => {
    const { runtime } = setup();
    const model = scriptedModel({ deputy: [{ text: 'Deputy says: approved' }] });
    const deputy = agent({ name: 'deputy', instructions: 'Decide for the manager.', model });
    const manager = human({ name: 'manager', timeoutMs: 20, fallback: deputy });
    const handle = await runtime.start(manager, 'Approve the 40 EUR refund?');
    expect(await handle.result()).toBe('Deputy says: approved');
    expect(JSON.stringify(model.calls[0]?.prompt)).toContain('Approve the 40 EUR refund?');
    await runtime.close();
  });

  it('fails with WAIT_TIMEOUT naming the human when there is no fallback', async () => {
    const { runtime } = setup();
    const carol = human({ name: 'carol', timeoutMs: 20 });
    const error = await failure((await runtime.start(carol, 'Well?')).result());
    expect(error.code).toBe('WAIT_TIMEOUT');
    expect(error.message).toContain('human("carol") did not answer within 20 ms');
    await runtime.close();
  });

  it('refuses an answer of the wrong shape at signal(); the person can answer again', async () => {
    const { runtime } = setup();
    const dave = human({ name: 'dave' });
    const handle = await runtime.start(dave, 'Ready?');
    await waitForStatus(runtime, handle.runId);
    const refused = await failure(runtime.signal(handle.runId, 'human:dave', { answer: 'yes' }));
    expect(refused.code).toBe('INVALID_SIGNAL_PAYLOAD');
    expect(refused.message).toContain(`Run ${handle.runId} waits for "human:dave"`);
    expect(refused.message).toContain('got {"answer":"yes"}');
    expect((await runtime.get(handle.runId)).status).toBe('suspended');
    await runtime.signal(handle.runId, 'human:dave', { text: 'yes' });
    expect(await handle.result()).toBe('yes');
    await runtime.close();
  });

  it('works as a tool: the agent waits for the person, then continues without repeating its first call', async () => {
    const { runtime } = setup();
    const erin = human({ name: 'erin', description: 'The account owner' });
    const model = scriptedModel({
      assistant: [
        { toolCalls: [{ tool: 'ask_erin', input: { input: 'May I refund order A-1001?' } }] },
        { text: 'Refund approved by Erin.' },
      ],
    });
    const assistant = agent({
      name: 'assistant',
      instructions: 'Ask the owner before refunds.',
      model,
      tools: [runnableTool(erin, { name: 'ask_erin', description: 'Asks the account owner' })],
    });
    const handle = await runtime.start(assistant, 'Refund A-1001');
    await waitForStatus(runtime, handle.runId);
    expect(model.calls).toHaveLength(1);
    await runtime.signal(handle.runId, 'human:erin', 'Yes, refund it.');
    expect(await handle.result()).toBe('Refund approved by Erin.');
    expect(model.calls).toHaveLength(2);
    expect(JSON.stringify(model.calls[1]?.prompt)).toContain('Yes, refund it.');
    const asked = (await runtime.journal(handle.runId)).find((entry) => entry.name === 'ask:erin');
    expect(asked?.result).toMatchObject({ input: 'May I refund order A-1001?' });
    await runtime.close();
  });

  it('rejects bad options', () => {
    expect(() => human({ name: 'x', timeoutMs: 0 })).toThrow(
      /human\("x"\): timeoutMs must be a positive number/,
    );
    expect(() => human({ name: 'x', fallback: 'no' })).toThrow(/fallback needs timeoutMs/);
    expect(() => human({ name: 'x', timeoutMs: 5, fallback: {} as never })).toThrow(
      /human\("x"\): fallback .* is not an agent, workflow or pattern/,
    );
    expect(() => human({ name: 'bad name' })).toThrow(/Invalid human name/);
  });
});

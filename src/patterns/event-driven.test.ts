import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { createTopicBus, eventDriven, readTopic } from './event-driven.js';

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });
const tick = () => new Promise((resolve) => setTimeout(resolve, 2));

/** A workflow that records its input in a step and returns `make(input)`. */
const worker = (name: string, make: (input: unknown) => unknown, delayMs = 0) =>
  workflow({ name }, async (ctx, input: unknown) =>
    ctx.step('work', async () => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      return make(input);
    }),
  );

describe('eventDriven', () => {
  it('chains agents A -> B -> C through topics and ends at the until topic', async () => {
    const rt = runtime();
    const model = scriptedModel({
      outliner: [{ text: 'outline: intro, body' }],
      writer: [{ text: 'draft from outline' }],
      editor: [{ text: 'FINAL DRAFT' }],
    });
    const outliner = agent({ name: 'outliner', instructions: 'Outline.', model });
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    const editor = agent({ name: 'editor', instructions: 'Edit.', model });
    const team = eventDriven({
      name: 'chain',
      subscribers: [
        { member: editor, topics: ['draft'], publishes: 'final' },
        { member: outliner, topics: ['input'], publishes: 'outline' },
        { member: writer, topics: ['outline'], publishes: 'draft' },
      ],
      until: 'final',
    });
    const handle = await rt.start(team, 'an essay on tides');
    expect(await handle.result()).toBe('FINAL DRAFT');
    const prompts = model.calls.map((call) => JSON.stringify(call.prompt));
    expect(prompts[0]).toContain('an essay on tides');
    expect(prompts[1]).toContain('outline: intro, body');
    expect(prompts[2]).toContain('draft from outline');
    const publishes = (await rt.journal(handle.runId)).filter((entry) => entry.name.startsWith('publish:'));
    expect(publishes.map((entry) => [entry.name, entry.meta?.offset, entry.meta?.from])).toEqual([
      ['publish:input', 0, undefined],
      ['publish:outline', 0, 'outliner'],
      ['publish:draft', 0, 'writer'],
      ['publish:final', 0, 'editor'],
    ]);
    await rt.close();
  });

  it('fans one topic out to two subscribers in parallel and publishes their outputs in subscriber order', async () => {
    const rt = runtime();
    const timeline: string[] = [];
    const reviewer = (name: string, delayMs: number) =>
      workflow({ name }, async (ctx, draft: string) =>
        ctx.step('review', async () => {
          timeline.push(`start ${name}`);
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          timeline.push(`end ${name}`);
          return `${name} on ${draft}`;
        }),
      );
    const team = eventDriven({
      name: 'fan-out',
      subscribers: [
        {
          member: worker('drafter', (input) => `draft of ${String(input)}`),
          topics: ['input'],
          publishes: 'draft',
        },
        { member: reviewer('legal', 30), topics: ['draft'], publishes: 'reviews' },
        { member: reviewer('style', 1), topics: ['draft'], publishes: 'reviews' },
      ],
    });
    const handle = await rt.start(team, 'memo');
    expect(await handle.result()).toEqual({
      topics: {
        input: ['memo'],
        draft: ['draft of memo'],
        reviews: ['legal on draft of memo', 'style on draft of memo'],
      },
    });
    // Both reviews were in flight together, and style finished first, yet legal's review has offset 0.
    expect(timeline).toEqual(['start legal', 'start style', 'end style', 'end legal']);
    const reviews = await readTopic(rt, handle.runId, 'reviews');
    expect(reviews.map((event) => [event.offset, event.from])).toEqual([
      [0, 'legal'],
      [1, 'style'],
    ]);
    await rt.close();
  });

  it('gives agent members a publish tool whose events are delivered after the agent finishes', async () => {
    const rt = runtime();
    const model = scriptedModel({
      router: [
        {
          toolCalls: [
            { tool: 'publish', input: { topic: 'billing', data: { order: 'A-1001', action: 'refund' } } },
            { tool: 'publish', input: { topic: 'bad topic!', data: 'x' } },
            { tool: 'publish', input: { topic: 'audit', data: 'refund requested' } },
          ],
        },
        { text: 'routed' },
      ],
    });
    const router = agent({ name: 'router', instructions: 'Route the request.', model });
    const billing = worker('billing', (input) => `refunded ${(input as { order: string }).order}`);
    const team = eventDriven({
      name: 'support-bus',
      subscribers: [
        { member: router, topics: ['input'], publishes: 'routed' },
        { member: billing, topics: ['billing'], publishes: 'done' },
      ],
    });
    const handle = await rt.start(team, 'I was charged twice for A-1001');
    expect(await handle.result()).toEqual({
      topics: {
        input: ['I was charged twice for A-1001'],
        billing: [{ order: 'A-1001', action: 'refund' }],
        audit: ['refund requested'],
        routed: ['routed'],
        done: ['refunded A-1001'],
      },
    });
    const tools = model.calls[0]?.tools?.map((offered) => offered.name);
    expect(tools).toEqual(['publish']);
    // The invalid topic was refused and the model was told why.
    const secondPrompt = JSON.stringify(model.calls[1]?.prompt);
    expect(secondPrompt).toContain('\\"bad topic!\\" is not a topic name');
    expect((await readTopic(rt, handle.runId, 'billing'))[0]).toEqual({
      topic: 'billing',
      offset: 0,
      data: { order: 'A-1001', action: 'refund' },
      from: 'router',
    });
    await rt.close();
  });

  it('stops members that keep triggering each other with MAX_EVENTS after exactly maxEvents publishes', async () => {
    const rt = runtime();
    const team = eventDriven({
      name: 'ping-pong',
      start: 'ping',
      subscribers: [
        { member: worker('pinger', (n) => Number(n) + 1), topics: ['ping'], publishes: 'pong' },
        { member: worker('ponger', (n) => Number(n) + 1), topics: ['pong'], publishes: 'ping' },
      ],
      maxEvents: 5,
    });
    const handle = await rt.start(team, 0);
    const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('MAX_EVENTS');
    expect(error.message).toContain('eventDriven("ping-pong"): more than 5 events in one run');
    expect(error.message).toContain('the next was on "pong" from "pinger"');
    expect(error.runId).toBe(handle.runId);
    const publishes = (await rt.journal(handle.runId)).filter((entry) => entry.name.startsWith('publish:'));
    expect(publishes).toHaveLength(5);
    expect((await readTopic(rt, handle.runId, 'ping')).map((event) => event.data)).toEqual([0, 2, 4]);
    await rt.close();
  });

  it('reads a topic from an offset, while the run is suspended and after it finished', async () => {
    const rt = runtime();
    const approver = workflow({ name: 'approver' }, async (ctx, drafts: unknown) => {
      const decision = await ctx.waitFor<string>('decision');
      return `${decision}: ${String(drafts)}`;
    });
    const team = eventDriven({
      name: 'drafts',
      subscribers: [
        {
          member: worker('splitter', (input) => String(input).split(',')),
          topics: ['input'],
          publishes: 'parts',
        },
        {
          member: worker('first', (parts) => `v1 ${(parts as string[])[0]}`),
          topics: ['parts'],
          publishes: 'drafts',
        },
        {
          member: worker('second', (parts) => `v2 ${(parts as string[])[1]}`),
          topics: ['parts'],
          publishes: 'drafts',
        },
        {
          member: worker('third', (parts) => `v3 ${(parts as string[])[2]}`),
          topics: ['parts'],
          publishes: 'drafts',
        },
        { member: approver, topics: ['parts'], publishes: 'approved' },
      ],
      until: 'approved',
    });
    const handle = await rt.start(team, 'a,b,c');
    while ((await rt.get(handle.runId)).status !== 'suspended') await tick();
    // The approver's branch suspends the whole delivery, so nothing of it is published yet.
    expect((await readTopic(rt, handle.runId, 'parts')).map((event) => event.data)).toEqual([
      ['a', 'b', 'c'],
    ]);
    expect(await readTopic(rt, handle.runId, 'drafts')).toEqual([]);
    await rt.signal(handle.runId, 'decision', 'ok');
    expect(await handle.result()).toBe('ok: a,b,c');
    const fromOne = await readTopic(rt, handle.runId, 'drafts', 1);
    expect(fromOne.map((event) => [event.offset, event.data])).toEqual([
      [1, 'v2 b'],
      [2, 'v3 c'],
    ]);
    expect(await readTopic(rt, handle.runId, 'drafts', 3)).toEqual([]);
    expect(await readTopic(rt, handle.runId, 'drafts', 0, { name: 'another-bus' })).toEqual([]);
    await rt.close();
  });

  it('never repeats a finished model call when resumed after a crash, and rebuilds the topics', async () => {
    const store = createMemoryStore();
    let hang = true;
    let executions = 0;
    const model = scriptedModel({ writer: [{ text: 'the draft' }] });
    const writer = agent({ name: 'writer', instructions: 'Write.', model });
    const checker = workflow({ name: 'checker' }, async (ctx, draft: string) =>
      ctx.step('check', async () => {
        executions++;
        if (hang) await new Promise(() => undefined);
        return `checked ${draft}`;
      }),
    );
    const team = eventDriven({
      name: 'crashy',
      subscribers: [
        { member: writer, topics: ['input'], publishes: 'draft' },
        { member: checker, topics: ['draft'], publishes: 'done' },
      ],
      until: 'done',
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(team, 'topic');
    while (executions === 0) await tick();
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [team] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('checked the draft');
    expect(model.calls).toHaveLength(1);
    expect(executions).toBe(2);
    const names = (await second.journal(handle.runId)).map((entry) => entry.name);
    expect(names.filter((name) => name === 'publish:draft')).toHaveLength(1);
    expect(names.filter((name) => name.startsWith('publish:'))).toEqual([
      'publish:input',
      'publish:draft',
      'publish:done',
    ]);
    await second.close();
  });

  it('emits pattern-start, a topic-event per publish and pattern-end', async () => {
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const team = eventDriven({
      name: 'observed',
      subscribers: [{ member: worker('echo', (input) => input), topics: ['input'], publishes: 'out' }],
      until: 'out',
    });
    expect(await (await rt.start(team, 'hello')).result()).toBe('hello');
    const pattern = events.filter((event) => event.type === 'pattern-start' || event.type === 'pattern-end');
    expect(pattern.map((event) => event.type)).toEqual(['pattern-start', 'pattern-end']);
    expect(pattern[1]).toMatchObject({ outcome: 'event on "out"' });
    const published = events.flatMap((event) =>
      event.type === 'custom' && event.name === 'topic-event' ? [event.data] : [],
    );
    expect(published).toEqual([
      { topic: 'input', offset: 0, data: 'hello' },
      { topic: 'out', offset: 0, data: 'hello', from: 'echo' },
    ]);
    await rt.close();
  });

  it('fails the run naming the subscriber and event when a member fails', async () => {
    const rt = runtime();
    const broken = workflow({ name: 'broken' }, async () => {
      throw new Error('disk full');
    });
    const team = eventDriven({ name: 'fragile', subscribers: [{ member: broken, topics: ['input'] }] });
    const error = (await (
      await rt.start(team, 'x')
    )
      .result()
      .catch((caught: unknown) => caught)) as BatonError;
    expect(error.code).toBe('SUBSCRIBER_FAILED');
    expect(error.message).toBe(
      'eventDriven("fragile"): subscriber "broken" failed on event 0 of "input": disk full',
    );
    await rt.close();
  });

  it('offers a journaled bus to workflow code through createTopicBus', async () => {
    const rt = runtime();
    const flow = workflow({ name: 'bus-user' }, async (ctx, input: string) => {
      const bus = createTopicBus(ctx, { name: 'mine' });
      const seen: number[] = [];
      const off = bus.subscribe('raw', (event) => seen.push(event.offset));
      await bus.publish('raw', input);
      off();
      await bus.publish('raw', `${input}!`);
      return { seen, all: (await bus.read('raw', 1)).map((event) => event.data), topics: bus.topics() };
    });
    const handle = await rt.start(flow, 'x');
    expect(await handle.result()).toEqual({ seen: [0], all: ['x!'], topics: ['raw'] });
    expect(
      (await readTopic(rt, handle.runId, 'raw', 0, { name: 'mine' })).map((event) => event.data),
    ).toEqual(['x', 'x!']);
    await rt.close();
  });

  it('rejects bad definitions with errors naming the field', () => {
    const echo = worker('echo', (input) => input);
    const model = scriptedModel([]);
    const clashing = agent({
      name: 'clash',
      instructions: 'x',
      model,
      tools: [
        tool({
          name: 'publish',
          description: 'Publishes a blog post',
          input: z.object({}),
          execute: () => 'ok',
        }),
      ],
    });
    expect(() => eventDriven({ name: 'e', subscribers: [] })).toThrow(
      /subscribers must be a non-empty array/,
    );
    expect(() => eventDriven({ name: 'e', subscribers: [{ member: echo, topics: ['other'] }] })).toThrow(
      /no subscriber listens to the start topic "input"/,
    );
    expect(() => eventDriven({ name: 'e', subscribers: [{ member: echo, topics: [] }] })).toThrow(
      /subscribers\[0\]\.topics must be a non-empty array/,
    );
    expect(() => eventDriven({ name: 'e', subscribers: [{ member: echo, topics: ['has space'] }] })).toThrow(
      /subscribers\[0\]\.topics\[0\] "has space" is not a topic name/,
    );
    expect(() =>
      eventDriven({
        name: 'e',
        subscribers: [
          { member: echo, topics: ['input'] },
          { member: echo, topics: ['x'] },
        ],
      }),
    ).toThrow(/two subscribers are "echo"/);
    expect(() =>
      eventDriven({ name: 'e', subscribers: [{ member: {} as never, topics: ['input'] }] }),
    ).toThrow(/subscribers\[0\]\.member is not an agent, workflow or pattern/);
    expect(() =>
      eventDriven({ name: 'e', subscribers: [{ member: echo, topics: ['input'] }], until: 'input' }),
    ).toThrow(/until and start are both "input"/);
    expect(() =>
      eventDriven({ name: 'e', subscribers: [{ member: echo, topics: ['input'] }], maxEvents: 0 }),
    ).toThrow(/maxEvents must be an integer >= 1/);
    expect(() => eventDriven({ name: 'e', subscribers: [{ member: clashing, topics: ['input'] }] })).toThrow(
      /has its own tool named "publish"/,
    );
  });
});

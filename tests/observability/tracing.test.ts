import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createMemoryStore,
  createRuntime,
  handoff,
  magentic,
  type Runtime,
  redactPii,
  supervisor,
  tool,
  transfer,
  workflow,
} from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

function tracing() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  return { exporter, provider };
}

/** A span as `name` with its children, in start order (what the tests compare). */
interface Tree {
  name: string;
  children?: Tree[];
}

function treeOf(spans: readonly ReadableSpan[]): Tree[] {
  const byParent = new Map<string | undefined, ReadableSpan[]>();
  const ids = new Set(spans.map((span) => span.spanContext().spanId));
  for (const span of spans) {
    const parent = span.parentSpanContext?.spanId;
    const key = parent !== undefined && ids.has(parent) ? parent : undefined;
    byParent.set(key, [...(byParent.get(key) ?? []), span]);
  }
  const build = (parent: string | undefined): Tree[] =>
    (byParent.get(parent) ?? [])
      .sort((a, b) => compareTime(a.startTime, b.startTime))
      .map((span) => {
        const children = build(span.spanContext().spanId);
        return children.length > 0 ? { name: span.name, children } : { name: span.name };
      });
  return build(undefined);
}

function compareTime(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}

const named = (spans: readonly ReadableSpan[], name: string): ReadableSpan => {
  const found = spans.find((span) => span.name === name);
  if (found === undefined)
    throw new Error(`no span ${name} among ${spans.map((span) => span.name).join(', ')}`);
  return found;
};

const add = tool({
  name: 'add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number() }),
  execute: async ({ a, b }) => a + b,
});

let runtime: Runtime | undefined;
afterEach(async () => {
  await runtime?.close();
  runtime = undefined;
  trace.disable();
  context.disable();
});

describe('tracing', () => {
  it('traces an agent run as invoke_workflow > invoke_agent > chat / execute_tool, by the GenAI conventions', async () => {
    const { exporter, provider } = tracing();
    const scripted = scriptedModel([
      { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }], usage: { inputTokens: 11, outputTokens: 4 } },
      { text: '5', usage: { inputTokens: 20, outputTokens: 1 } },
    ]);
    let streamed = 0;
    const model = new Proxy(scripted, {
      get(target, property, receiver) {
        if (property === 'doStream') streamed += 1;
        return Reflect.get(target, property, receiver);
      },
    });
    const calc = agent({ name: 'calc', model, instructions: 'Add.', tools: [add] });
    runtime = createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: provider } });
    const handle = await runtime.start(calc, 'What is 2 + 3?', { threadId: 'thread-7' });
    expect(await handle.result()).toBe('5');
    const spans = exporter.getFinishedSpans();
    // The thread's load and append are steps of their own (the run has a threadId).
    expect(treeOf(spans)).toEqual([
      {
        name: 'invoke_workflow calc',
        children: [
          { name: 'step thread:load' },
          {
            name: 'invoke_agent calc',
            children: [{ name: 'chat scripted' }, { name: 'execute_tool add' }, { name: 'chat scripted' }],
          },
          { name: 'step thread:append' },
        ],
      },
    ]);
    const run = named(spans, 'invoke_workflow calc');
    expect(run.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_workflow',
      'baton.run.id': handle.runId,
      'gen_ai.conversation.id': 'thread-7',
      'baton.run.status': 'completed',
      'gen_ai.usage.input_tokens': 31,
      'gen_ai.usage.output_tokens': 5,
    });
    expect(named(spans, 'invoke_agent calc').attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'calc',
      'gen_ai.conversation.id': 'thread-7',
    });
    const [firstChat, secondChat] = spans.filter((span) => span.name === 'chat scripted');
    expect(firstChat?.kind).toBe(2); // SpanKind.CLIENT
    expect(firstChat?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'scripted',
      'gen_ai.response.model': 'scripted',
      'gen_ai.usage.input_tokens': 11,
      'gen_ai.usage.output_tokens': 4,
      'gen_ai.response.finish_reasons': ['tool-calls'],
      'baton.step.key': 'r#1',
    });
    expect(secondChat?.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
    const toolSpan = named(spans, 'execute_tool add');
    expect(toolSpan.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'add',
      'gen_ai.tool.call.id': 'call_calc_1',
    });
    // Content is off by default.
    expect(toolSpan.attributes['gen_ai.tool.call.arguments']).toBeUndefined();
    expect(toolSpan.attributes['gen_ai.tool.call.result']).toBeUndefined();
    // One trace.
    expect(new Set(spans.map((span) => span.spanContext().traceId)).size).toBe(1);
    // Tracing does not make the model stream: it was called with doGenerate, as without tracing.
    expect(scripted.calls).toHaveLength(2);
    expect(streamed).toBe(0);
  });

  it('records tool arguments, results and outputs only when captureContent is set', async () => {
    const { exporter, provider } = tracing();
    const model = scriptedModel([{ toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }] }, { text: '5' }]);
    const calc = agent({ name: 'calc', model, instructions: 'Add.', tools: [add] });
    runtime = createRuntime({
      store: createMemoryStore(),
      tracing: { tracerProvider: provider, captureContent: true },
    });
    await (await runtime.start(calc, 'What is 2 + 3?')).result();
    const spans = exporter.getFinishedSpans();
    expect(named(spans, 'execute_tool add').attributes).toMatchObject({
      'gen_ai.tool.call.arguments': '{"a":2,"b":3}',
      'gen_ai.tool.call.result': '5',
    });
    expect(named(spans, 'invoke_agent calc').attributes['baton.agent.output']).toBe('5');
  });

  it('puts journaled prompts on chat spans, and every content as the agent’s guardrails left it', async () => {
    const { exporter, provider } = tracing();
    const lookup = tool({
      name: 'lookup',
      description: 'Finds a customer.',
      input: z.object({ id: z.number() }),
      execute: async ({ id }) => ({ id, email: 'jane.doe@example.com' }),
    });
    const model = scriptedModel([
      { toolCalls: [{ tool: 'lookup', input: { id: 7 } }] },
      { text: 'Reach Jane at jane.doe@example.com.' },
    ]);
    const crm = agent({
      name: 'crm',
      model,
      instructions: 'Help.',
      tools: [lookup],
      guardrails: [redactPii()],
    });
    runtime = createRuntime({
      store: createMemoryStore(),
      journalPrompts: true,
      tracing: { tracerProvider: provider, captureContent: true },
    });
    await (await runtime.start(crm, 'Customer 7? I am boss@corp.example')).result();
    const spans = exporter.getFinishedSpans();
    const chats = spans.filter((span) => span.name === 'chat scripted');
    expect(chats).toHaveLength(2);
    expect(JSON.parse(String(chats[0]?.attributes['gen_ai.input.messages']))).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Help.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Customer 7? I am [REDACTED:email]' }] },
    ]);
    expect(JSON.parse(String(chats[1]?.attributes['gen_ai.input.messages'])).at(-1)).toEqual({
      role: 'tool',
      parts: [
        { type: 'tool_call_response', id: 'call_crm_1', response: '{"id":7,"email":"[REDACTED:email]"}' },
      ],
    });
    const everything = JSON.stringify(spans.map((span) => [span.attributes, span.events]));
    expect(everything).not.toContain('jane.doe@example.com');
    expect(everything).not.toContain('boss@corp.example');
    // Without journalPrompts, chat spans carry no messages.
    const second = tracing();
    const plain = createRuntime({
      store: createMemoryStore(),
      tracing: { tracerProvider: second.provider, captureContent: true },
    });
    const again = agent({
      name: 'crm',
      model: scriptedModel([{ text: 'Hi.' }]),
      instructions: 'Help.',
      guardrails: [redactPii()],
    });
    await (await plain.start(again, 'Hello')).result();
    await plain.close();
    const chat = second.exporter.getFinishedSpans().find((span) => span.name === 'chat scripted');
    expect(chat?.attributes['gen_ai.input.messages']).toBeUndefined();
  });

  it('nests a handoff team: both agents under the pattern, the handoff as a span event', async () => {
    const { exporter, provider } = tracing();
    const model = scriptedModel({
      triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
      billing: [{ text: 'Refunded.' }],
    });
    const billing = agent({ name: 'billing', model, instructions: 'Refund.' });
    const triage = agent({ name: 'triage', model, instructions: 'Route.', handoffs: [transfer(billing)] });
    runtime = createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: provider } });
    const team = handoff({ name: 'support', entry: triage, agents: [triage, billing] });
    expect(await (await runtime.start(team, 'I was charged twice.')).result()).toBe('Refunded.');
    const spans = exporter.getFinishedSpans();
    expect(treeOf(spans)).toEqual([
      {
        name: 'invoke_workflow support',
        children: [
          {
            name: 'invoke_workflow support',
            children: [
              { name: 'invoke_agent triage', children: [{ name: 'chat scripted' }] },
              { name: 'invoke_agent billing', children: [{ name: 'chat scripted' }] },
            ],
          },
        ],
      },
    ]);
    const pattern = spans.find((span) => span.attributes['baton.pattern'] === 'handoff');
    expect(pattern?.attributes['baton.pattern.outcome']).toBeDefined();
    expect(
      pattern?.events.map((event) => [
        event.name,
        event.attributes?.['baton.from'],
        event.attributes?.['baton.to'],
      ]),
    ).toEqual([['baton.handoff', 'triage', 'billing']]);
  });

  it('nests a supervisor: each delegation is a child step under the manager, with the worker inside', async () => {
    const { exporter, provider } = tracing();
    const model = scriptedModel(({ agent: name, turn }) => {
      if (name === 'researcher') return { text: 'X is 42' };
      if (turn === 0) return { toolCalls: [{ tool: 'researcher', input: { input: 'find X' } }] };
      return { text: 'Report: 42' };
    });
    const researcher = agent({ name: 'researcher', model, instructions: 'Research.' });
    const manager = agent({ name: 'manager', model, instructions: 'Delegate.' });
    runtime = createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: provider } });
    const team = supervisor({ name: 'team', manager, workers: [researcher] });
    expect(await (await runtime.start(team, 'Find X.')).result()).toBe('Report: 42');
    const spans = exporter.getFinishedSpans();
    expect(treeOf(spans)).toEqual([
      {
        name: 'invoke_workflow team',
        children: [
          {
            name: 'invoke_workflow team',
            children: [
              {
                name: 'invoke_agent manager',
                children: [
                  { name: 'chat scripted' },
                  {
                    name: 'child run:researcher',
                    children: [{ name: 'invoke_agent researcher', children: [{ name: 'chat scripted' }] }],
                  },
                  { name: 'chat scripted' },
                ],
              },
            ],
          },
        ],
      },
    ]);
    const delegation = named(spans, 'child run:researcher');
    expect(delegation.attributes).toMatchObject({
      'gen_ai.tool.name': 'researcher',
      'baton.step.kind': 'child',
    });
    expect(delegation.attributes['gen_ai.tool.call.id']).toBeTypeOf('string');
    const pattern = spans.find((span) => span.attributes['baton.pattern'] === 'supervisor');
    expect(pattern?.events.map((event) => event.name)).toContain('baton.speaker-selected');
  });

  it('nests a magentic run: manager and member turns, ledger steps, ledger updates as span events', async () => {
    const { exporter, provider } = tracing();
    const ledger = (satisfied: boolean) =>
      JSON.stringify({
        requestSatisfied: { answer: satisfied, reason: satisfied ? 'done' : 'not started' },
        inLoop: { answer: false, reason: 'first pass' },
        progressBeingMade: { answer: true, reason: 'started' },
        nextSpeaker: { answer: 'member', reason: 'plan step 1' },
        instruction: { answer: 'Do it.', reason: 'plan' },
      });
    const model = scriptedModel({
      manager: [
        {
          text: JSON.stringify({
            facts: { given: ['the task'], toLookUp: [], toDerive: [], guesses: [] },
            plan: ['member: do it'],
          }),
        },
        { text: ledger(false) },
        { text: ledger(true) },
        { text: 'Final answer.' },
      ],
      member: [{ text: 'member ok' }],
    });
    const manager = agent({ name: 'manager', model, instructions: 'Manage.' });
    const member = agent({ name: 'member', model, instructions: 'Work.' });
    runtime = createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: provider } });
    const team = magentic({ name: 'research', manager, members: [member] });
    const output = (await (await runtime.start(team, 'Do the task.')).result()) as { answer: string };
    expect(output.answer).toBe('Final answer.');
    const spans = exporter.getFinishedSpans();
    const [root] = treeOf(spans);
    const pattern = root?.children?.[0];
    expect(pattern?.name).toBe('invoke_workflow research');
    expect(pattern?.children?.map((child) => child.name)).toEqual([
      'invoke_agent manager',
      'step ledger:task',
      'invoke_agent manager',
      'step ledger:progress',
      'invoke_agent member',
      'invoke_agent manager',
      'step ledger:progress',
      'invoke_agent manager',
    ]);
    const patternSpan = spans.find((span) => span.attributes['baton.pattern'] === 'magentic');
    const eventNames = patternSpan?.events.map((event) => event.name) ?? [];
    expect(eventNames.filter((name) => name === 'baton.ledger-update')).toHaveLength(3);
    expect(eventNames).toContain('baton.speaker-selected');
    // Ledger data is content: left out unless captureContent.
    const update = patternSpan?.events.find((event) => event.name === 'baton.ledger-update');
    expect(update?.attributes?.['baton.data']).toBeUndefined();
    expect(update?.attributes?.['baton.ledger']).toBe('task');
  });

  it('keeps a run that suspends and resumes in another runtime one trace; replayed steps make no span', async () => {
    const { exporter, provider } = tracing();
    const store = createMemoryStore();
    let executions = 0;
    const approval = workflow({ name: 'approval' }, async (ctx) => {
      executions += 1;
      const drafted = await ctx.step('draft', () => 'draft 1');
      const answer = await ctx.waitFor<{ ok: boolean }>('approve');
      const sent = await ctx.step('send', () => `${drafted} sent: ${answer.ok}`);
      return sent;
    });
    const first = createRuntime({ store, workflows: [approval], tracing: { tracerProvider: provider } });
    const handle = await first.start(approval, {});
    const runId = handle.runId;
    await expect.poll(async () => (await first.get(runId))?.status).toBe('suspended');
    await first.close();
    runtime = createRuntime({ store, workflows: [approval], tracing: { tracerProvider: provider } });
    await runtime.signal(runId, 'approve', { ok: true });
    const resumed = await runtime.resume(runId);
    expect(await resumed.result()).toBe('draft 1 sent: true');
    expect(executions).toBe(2);

    const spans = exporter.getFinishedSpans();
    const runs = spans.filter((span) => span.name === 'invoke_workflow approval');
    expect(runs).toHaveLength(2);
    const [origin, later] = runs as [ReadableSpan, ReadableSpan];
    expect(origin.attributes['baton.run.status']).toBe('suspended');
    expect(origin.events.map((event) => event.name)).toEqual(['baton.suspended']);
    expect(later.spanContext().traceId).toBe(origin.spanContext().traceId);
    expect(later.parentSpanContext?.spanId).toBe(origin.spanContext().spanId);
    expect(later.links.map((link) => link.context.spanId)).toEqual([origin.spanContext().spanId]);
    expect(later.attributes).toMatchObject({ 'baton.run.resumed': true, 'baton.run.status': 'completed' });
    expect((await runtime.get(runId))?.trace).toBe(
      `00-${origin.spanContext().traceId}-${origin.spanContext().spanId}-01`,
    );
    // 'draft' ran once, in the first execution: its replay made no span.
    expect(treeOf(spans)).toEqual([
      {
        name: 'invoke_workflow approval',
        children: [
          { name: 'step draft' },
          { name: 'invoke_workflow approval', children: [{ name: 'step send' }] },
        ],
      },
    ]);
  });

  it('joins the trace of the span active at runtime.start', async () => {
    const { exporter, provider } = tracing();
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const hello = workflow({ name: 'hello' }, async (ctx) => ctx.step('greet', () => 'hi'));
    runtime = createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: provider } });
    const outer = provider.getTracer('app').startSpan('POST /runs');
    const started = await context.with(trace.setSpan(context.active(), outer), () =>
      runtime?.start(hello, {}),
    );
    outer.end();
    expect(await started?.result()).toBe('hi');
    const spans = exporter.getFinishedSpans();
    const run = named(spans, 'invoke_workflow hello');
    expect(run.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(run.spanContext().traceId).toBe(outer.spanContext().traceId);
  });

  it('traces through the global provider an SDK registered, and not at all with tracing: false', async () => {
    const { exporter, provider } = tracing();
    trace.setGlobalTracerProvider(provider);
    const hello = workflow({ name: 'hello' }, async (ctx) => ctx.step('greet', () => 'hi'));
    runtime = createRuntime({ store: createMemoryStore() });
    await (await runtime.start(hello, {})).result();
    expect(exporter.getFinishedSpans().map((span) => span.name)).toEqual([
      'step greet',
      'invoke_workflow hello',
    ]);
    await runtime.close();
    exporter.reset();
    runtime = createRuntime({ store: createMemoryStore(), tracing: false });
    await (await runtime.start(hello, {})).result();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('builds no span, event or trace context while no provider is registered', async () => {
    const store = createMemoryStore();
    const model = scriptedModel([{ text: 'hi' }]);
    const greeter = agent({ name: 'greeter', model, instructions: 'Greet.' });
    runtime = createRuntime({ store });
    const handle = await runtime.start(greeter, 'hello');
    expect(await handle.result()).toBe('hi');
    expect((await runtime.get(handle.runId))?.trace).toBeUndefined();
  });

  it('marks failed steps and runs with ERROR status and error.type', async () => {
    const { exporter, provider } = tracing();
    const failing = workflow({ name: 'failing' }, async (ctx) =>
      ctx.step('boom', () => {
        throw new Error('the tool broke');
      }),
    );
    runtime = createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: provider } });
    await expect((await runtime.start(failing, {})).result()).rejects.toThrow('the tool broke');
    const spans = exporter.getFinishedSpans();
    for (const name of ['step boom', 'invoke_workflow failing']) {
      const span = named(spans, name);
      expect(span.status).toMatchObject({ code: 2, message: 'the tool broke' });
      expect(span.attributes['error.type']).toBe('Error');
    }
  });

  it('refuses a malformed tracing option with a message that names it', () => {
    expect(() =>
      createRuntime({ store: createMemoryStore(), tracing: { captureContnet: true } as never }),
    ).toThrow('tracing.captureContnet is not an option');
    expect(() =>
      createRuntime({ store: createMemoryStore(), tracing: { tracerProvider: {} } as never }),
    ).toThrow('tracing.tracerProvider must be an OpenTelemetry TracerProvider');
  });
});

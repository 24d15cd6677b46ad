import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  createMemoryStore,
  createRuntime,
  handoff,
  type Runtime,
  tool,
  transfer,
  workflow,
} from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

/** A reader the test collects from when it wants. */
class CollectingReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

function metering() {
  const reader = new CollectingReader();
  const provider = new MeterProvider({ readers: [reader] });
  return { reader, provider };
}

interface Point {
  attributes: Record<string, unknown>;
  value: number | { count: number; sum?: number };
}

/** The data points of metric `name` from one collection. */
async function pointsOf(reader: MetricReader, name: string): Promise<Point[]> {
  const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
  const found = resourceMetrics.scopeMetrics
    .flatMap((scope) => scope.metrics)
    .find((metric) => metric.descriptor.name === name);
  return (found?.dataPoints ?? []) as unknown as Point[];
}

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
  metrics.disable();
});

describe('metrics', () => {
  it('records the GenAI client histograms per model call, by model and token type', async () => {
    const { reader, provider } = metering();
    const model = scriptedModel([
      { toolCalls: [{ tool: 'add', input: { a: 2, b: 3 } }], usage: { inputTokens: 11, outputTokens: 4 } },
      { text: '5', usage: { inputTokens: 20, outputTokens: 1 } },
    ]);
    const calc = agent({ name: 'calc', model, instructions: 'Add.', tools: [add] });
    runtime = createRuntime({ store: createMemoryStore(), metrics: { meterProvider: provider } });
    await (await runtime.start(calc, 'What is 2 + 3?')).result();

    const tokens = await pointsOf(reader, 'gen_ai.client.token.usage');
    const byType = Object.fromEntries(
      tokens.map((point) => [
        point.attributes['gen_ai.token.type'],
        point.value as { count: number; sum: number },
      ]),
    );
    expect(byType.input).toMatchObject({ count: 2, sum: 31 });
    expect(byType.output).toMatchObject({ count: 2, sum: 5 });
    expect(tokens[0]?.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.provider.name': 'scripted',
      'gen_ai.request.model': 'scripted',
    });
    const durations = await pointsOf(reader, 'gen_ai.client.operation.duration');
    expect(durations.map((point) => (point.value as { count: number }).count)).toEqual([2]);
    const runs = await pointsOf(reader, 'baton.runs');
    expect(runs.map((point) => [point.attributes['baton.run.status'], point.value])).toEqual([
      ['completed', 1],
    ]);
    const steps = await pointsOf(reader, 'baton.step.duration');
    expect(
      Object.fromEntries(
        steps.map((point) => [point.attributes['baton.step.kind'], (point.value as { count: number }).count]),
      ),
    ).toEqual({ model: 2, tool: 1 });
  });

  it('counts runs by final status, errors by type and fault, handoffs and waits', async () => {
    const { reader, provider } = metering();
    runtime = createRuntime({ store: createMemoryStore(), metrics: { meterProvider: provider } });
    const failing = workflow({ name: 'failing' }, async (ctx) =>
      ctx.step('boom', () => {
        throw new Error('broke');
      }),
    );
    await expect((await runtime.start(failing, {})).result()).rejects.toThrow('broke');
    const waiting = workflow({ name: 'waiting' }, async (ctx) => ctx.waitFor('go'));
    const handle = await runtime.start(waiting, {});
    await expect.poll(async () => (await runtime?.get(handle.runId))?.status).toBe('suspended');
    const model = scriptedModel({
      triage: [{ toolCalls: [{ tool: 'transfer_to_billing', input: {} }] }],
      billing: [{ text: 'Refunded.' }],
    });
    const billing = agent({ name: 'billing', model, instructions: 'Refund.' });
    const triage = agent({ name: 'triage', model, instructions: 'Route.', handoffs: [transfer(billing)] });
    await (
      await runtime.start(handoff({ name: 'support', entry: triage, agents: [triage, billing] }), 'Hi')
    ).result();

    const runs = await pointsOf(reader, 'baton.runs');
    expect(
      runs
        .map((point) => [
          point.attributes['baton.run.target'],
          point.attributes['baton.run.status'],
          point.value,
        ])
        .sort(),
    ).toEqual([
      ['failing', 'failed', 1],
      ['support', 'completed', 1],
    ]);
    const errors = await pointsOf(reader, 'baton.errors');
    expect(
      errors
        .map((point) => [point.attributes['baton.step.kind'], point.attributes['error.type'], point.value])
        .sort(),
    ).toEqual([
      ['run', 'Error', 1],
      ['step', 'Error', 1],
    ]);
    const handoffs = await pointsOf(reader, 'baton.handoffs');
    expect(
      handoffs.map((point) => [
        point.attributes['baton.handoff.from'],
        point.attributes['baton.handoff.to'],
        point.value,
      ]),
    ).toEqual([['triage', 'billing', 1]]);
    const waits = await pointsOf(reader, 'baton.waits');
    expect(waits.map((point) => [point.attributes['baton.wait.kind'], point.value])).toEqual([['signal', 1]]);
  });

  it('records through the global meter provider an SDK registered, and nothing with metrics: false', async () => {
    const { reader, provider } = metering();
    metrics.setGlobalMeterProvider(provider);
    const hello = workflow({ name: 'hello' }, async (ctx) => ctx.step('greet', () => 'hi'));
    runtime = createRuntime({ store: createMemoryStore(), tracing: false });
    await (await runtime.start(hello, {})).result();
    expect((await pointsOf(reader, 'baton.runs')).map((point) => point.value)).toEqual([1]);
    await runtime.close();
    runtime = createRuntime({ store: createMemoryStore(), metrics: false });
    await (await runtime.start(hello, {})).result();
    expect((await pointsOf(reader, 'baton.runs')).map((point) => point.value)).toEqual([1]);
  });

  it('refuses a malformed metrics option with a message that names it', () => {
    expect(() =>
      createRuntime({ store: createMemoryStore(), metrics: { meterprovider: {} } as never }),
    ).toThrow('metrics.meterprovider is not an option; metrics takes meterProvider.');
  });
});

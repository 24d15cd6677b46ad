import { MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agent,
  type BatonEvent,
  createMemoryStore,
  createRuntime,
  registerPrices,
  tool,
} from '../../src/index.js';
import { scriptedModel } from '../../src/testing/index.js';

const noop = tool({ name: 'noop', description: 'Does nothing.', input: z.object({}), execute: () => 'ok' });

class CollectingReader extends MetricReader {
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

describe('budget alerts', () => {
  it('emits one budget-alert per limit as a call crosses alertAt, then stops at the limit as before', async () => {
    // Each turn: 60 tokens. With alertAt 0.5, tokens alert on the second turn (120 >= 100), turns on
    // the third (3 >= 3); the fourth stops the run (240 > 200).
    const turn = { text: '', toolCalls: [], usage: { inputTokens: 50, outputTokens: 10 } };
    const model = scriptedModel(({ turn: index }) =>
      index < 5
        ? { toolCalls: [{ tool: 'noop', input: {} }], usage: turn.usage }
        : { text: 'done', usage: turn.usage },
    );
    const spender = agent({
      name: 'spender',
      model,
      instructions: 'Spend.',
      tools: [noop],
      budget: { maxTokens: 200, maxTurns: 6, alertAt: 0.5 },
    });
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const reader = new CollectingReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const runtime = createRuntime({
      store: createMemoryStore(),
      tracing: { tracerProvider },
      metrics: { meterProvider },
    });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    const handle = await runtime.start(spender, 'go');
    await handle.result().catch(() => undefined);
    expect((await handle.status()).status).toBe('budget-exceeded');
    const alerts = events.filter((event) => event.type === 'budget-alert');
    expect(
      alerts.map(
        (event) => event.type === 'budget-alert' && [event.limit, event.budget, event.spent, event.max],
      ),
    ).toEqual([
      ['tokens', 'agent', 120, 200],
      ['turns', 'agent', 3, 6],
    ]);
    const agentSpan = exporter.getFinishedSpans().find((span) => span.name === 'invoke_agent spender');
    expect(
      agentSpan?.events
        .filter((event) => event.name === 'baton.budget-alert')
        .map((event) => event.attributes?.['baton.limit']),
    ).toEqual(['tokens', 'turns']);
    const { resourceMetrics } = (await reader.collect()) as { resourceMetrics: ResourceMetrics };
    const metric = resourceMetrics.scopeMetrics
      .flatMap((scope) => scope.metrics)
      .find((found) => found.descriptor.name === 'baton.budget.alerts');
    expect(
      metric?.dataPoints.map((point) => [point.attributes['baton.budget.limit'], point.value]).sort(),
    ).toEqual([
      ['tokens', 1],
      ['turns', 1],
    ]);
    await runtime.close();
  });

  it('alerts on cost crossing its share, and refuses alertAt outside (0, 1)', async () => {
    registerPrices({ 'scripted:priced': { input: 1000, output: 1000 } });
    const model = scriptedModel(
      ({ turn }) =>
        turn < 3
          ? { toolCalls: [{ tool: 'noop', input: {} }], usage: { inputTokens: 100, outputTokens: 0 } }
          : { text: 'ok', usage: { inputTokens: 100, outputTokens: 0 } },
      { modelId: 'priced' },
    );
    const spender = agent({
      name: 'payer',
      model,
      instructions: 'Pay.',
      tools: [noop],
    });
    const runtime = createRuntime({ store: createMemoryStore() });
    const events: BatonEvent[] = [];
    runtime.on((event) => events.push(event));
    // $0.10 a call; the run budget of $1 alerts at $0.25: on the third call.
    const handle = await runtime.start(spender, 'go', { budget: { maxCostUsd: 1, alertAt: 0.25 } });
    await handle.result();
    const alerts = events.filter((event) => event.type === 'budget-alert');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ limit: 'cost', budget: 'run', max: 1, alertAt: 0.25 });
    expect((alerts[0] as { spent: number }).spent).toBeCloseTo(0.3);
    const refused = await runtime.start(spender, 'go', { budget: { maxCostUsd: 1, alertAt: 1.2 } });
    await expect(refused.result()).rejects.toThrow(
      'budget.alertAt must be a share of each limit between 0 and 1 (0.8 alerts at 80%), got 1.2.',
    );
    await runtime.close();
  });
});

/**
 * OpenTelemetry metrics of runs: the GenAI client histograms and Baton's own counters, recorded
 * from each execution's events. Like tracing, nothing is loaded or recorded while no meter
 * provider is registered (ADR 0014).
 */

import type { Attributes, Counter, Histogram, Meter, MeterProvider } from '@opentelemetry/api';
import type { BatonEvent } from '../core/events.js';
import type { ExecutionWatch } from '../core/run-observer.js';
import type { RunRecord } from '../core/store.js';
import { globalRegistered, modelParts, otelApi } from './otel-api.js';

/** Options of metrics (`createRuntime({ metrics })`). */
export interface MetricsOptions {
  /** Where measurements go. Default: the provider an OpenTelemetry SDK registered globally; none, none recorded. */
  meterProvider?: MeterProvider;
}

/** The instruments, made once per meter. */
interface Instruments {
  tokenUsage: Histogram;
  operationDuration: Histogram;
  runs: Counter;
  runDuration: Histogram;
  stepDuration: Histogram;
  errors: Counter;
  handoffs: Counter;
  budgetStops: Counter;
  budgetAlerts: Counter;
  breakerChanges: Counter;
  waits: Counter;
  retries: Counter;
  guardrailTrips: Counter;
}

/** Bucket bounds (seconds) the GenAI conventions advise for `gen_ai.client.operation.duration`. */
const durationBuckets = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];
/** Bucket bounds the GenAI conventions advise for `gen_ai.client.token.usage`. */
const tokenBuckets = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

function instrumentsOf(meter: Meter): Instruments {
  return {
    tokenUsage: meter.createHistogram('gen_ai.client.token.usage', {
      description: 'Tokens used per model call, by token type.',
      unit: '{token}',
      advice: { explicitBucketBoundaries: tokenBuckets },
    }),
    operationDuration: meter.createHistogram('gen_ai.client.operation.duration', {
      description: 'Duration of model calls.',
      unit: 's',
      advice: { explicitBucketBoundaries: durationBuckets },
    }),
    runs: meter.createCounter('baton.runs', {
      description: 'Runs that ended, by final status and target.',
      unit: '{run}',
    }),
    runDuration: meter.createHistogram('baton.run.duration', {
      description: 'Time from a run’s creation to its end.',
      unit: 's',
      advice: { explicitBucketBoundaries: durationBuckets },
    }),
    stepDuration: meter.createHistogram('baton.step.duration', {
      description: 'Duration of journaled steps, by kind and status.',
      unit: 's',
      advice: { explicitBucketBoundaries: durationBuckets },
    }),
    errors: meter.createCounter('baton.errors', {
      description: 'Failed steps and runs, by error type and fault class.',
      unit: '{error}',
    }),
    handoffs: meter.createCounter('baton.handoffs', {
      description: 'Handoffs between agents.',
      unit: '{handoff}',
    }),
    budgetStops: meter.createCounter('baton.budget.stops', {
      description: 'Runs stopped by their budget.',
      unit: '{run}',
    }),
    budgetAlerts: meter.createCounter('baton.budget.alerts', {
      description: 'Budgets whose soft threshold (alertAt) a run crossed, by limit.',
      unit: '{alert}',
    }),
    breakerChanges: meter.createCounter('baton.breaker.changes', {
      description: 'Circuit breaker state changes, by breaker and new state.',
      unit: '{change}',
    }),
    waits: meter.createCounter('baton.waits', {
      description: 'Suspensions, by what the run waits for (approval, person, signal, timer).',
      unit: '{wait}',
    }),
    retries: meter.createCounter('baton.retries', {
      description: 'Model and tool calls retried.',
      unit: '{retry}',
    }),
    guardrailTrips: meter.createCounter('baton.guardrail.trips', {
      description: 'Guardrails that stopped or rewrote text.',
      unit: '{trip}',
    }),
  };
}

/** Makes the watch that records one execution's metrics, while a meter provider is registered. */
export class MetricsRecorder {
  readonly #provider: MeterProvider | undefined;
  #instruments: Instruments | undefined;

  constructor(options: MetricsOptions) {
    this.#provider = options.meterProvider;
  }

  /** The instruments, or undefined while no meter provider is registered (nothing is loaded then). */
  #current(): Instruments | undefined {
    if (this.#instruments !== undefined) return this.#instruments;
    if (this.#provider === undefined && !globalRegistered('metrics')) return undefined;
    const provider = this.#provider ?? otelApi().metrics.getMeterProvider();
    this.#instruments = instrumentsOf(provider.getMeter('batonjs'));
    return this.#instruments;
  }

  watch(run: RunRecord): ExecutionWatch | undefined {
    const instruments = this.#current();
    return instruments === undefined ? undefined : new MetricsWatch(instruments, run);
  }
}

/** Kinds of wait a suspension names, from the wait's name. */
function waitKind(name: string): string {
  if (name.startsWith('approval')) return 'approval';
  if (name.startsWith('human') || name.startsWith('reply')) return 'person';
  if (name.startsWith('child:')) return 'child';
  return 'signal';
}

class MetricsWatch implements ExecutionWatch {
  readonly #instruments: Instruments;
  readonly #run: RunRecord;

  constructor(instruments: Instruments, run: RunRecord) {
    this.#instruments = instruments;
    this.#run = run;
  }

  event(event: BatonEvent): void {
    const instruments = this.#instruments;
    switch (event.type) {
      case 'step-end': {
        const seconds = event.durationMs / 1000;
        const attributes: Attributes = { 'baton.step.kind': event.kind, 'baton.step.status': event.status };
        if (event.error !== undefined) {
          attributes['error.type'] = event.error.code ?? event.error.name;
          instruments.errors.add(1, {
            'error.type': event.error.code ?? event.error.name,
            'baton.error.fault': event.error.fault ?? 'unknown',
            'baton.step.kind': event.kind,
          });
        }
        instruments.stepDuration.record(seconds, attributes);
        if (event.kind === 'model') this.#modelCall(event, seconds);
        return;
      }
      case 'run-end': {
        const attributes: Attributes = {
          'baton.run.status': event.status,
          'baton.run.target': this.#run.target,
        };
        instruments.runs.add(1, attributes);
        instruments.runDuration.record(event.durationMs / 1000, attributes);
        if (event.status === 'budget-exceeded')
          instruments.budgetStops.add(1, { 'baton.run.target': this.#run.target });
        if (event.error !== undefined && event.status === 'failed') {
          instruments.errors.add(1, {
            'error.type': event.error.code ?? event.error.name,
            'baton.error.fault': event.error.fault ?? 'unknown',
            'baton.step.kind': 'run',
          });
        }
        return;
      }
      case 'run-suspended': {
        for (const name of event.waitingFor) instruments.waits.add(1, { 'baton.wait.kind': waitKind(name) });
        if (event.waitingFor.length === 0 && event.wakeAt !== undefined)
          instruments.waits.add(1, { 'baton.wait.kind': 'timer' });
        return;
      }
      case 'budget-alert':
        instruments.budgetAlerts.add(1, {
          'baton.budget': event.budget,
          'baton.budget.limit': event.limit,
          'baton.run.target': this.#run.target,
        });
        return;
      case 'handoff':
        instruments.handoffs.add(1, { 'baton.handoff.from': event.from, 'baton.handoff.to': event.to });
        return;
      case 'breaker-state':
        instruments.breakerChanges.add(1, {
          'baton.breaker': event.breaker,
          'baton.breaker.name': event.name,
          'baton.breaker.state': event.state,
        });
        return;
      case 'call-retry':
        instruments.retries.add(1, { 'baton.retry.target': event.target, 'baton.retry.name': event.name });
        return;
      case 'guardrail':
        instruments.guardrailTrips.add(1, {
          'baton.guardrail': event.guardrail,
          'baton.guardrail.action': event.action,
          'baton.guardrail.stage': event.stage,
        });
        return;
      default:
    }
  }

  #modelCall(event: Extract<BatonEvent, { type: 'step-end' }>, seconds: number): void {
    const meta = event.meta;
    const attributes: Attributes = { 'gen_ai.operation.name': 'chat' };
    const model = typeof meta?.model === 'string' ? modelParts(meta.model) : undefined;
    if (model !== undefined) {
      attributes['gen_ai.request.model'] = model.model;
      attributes['gen_ai.response.model'] = model.model;
      if (model.provider !== undefined) attributes['gen_ai.provider.name'] = model.provider;
    }
    if (event.error !== undefined) attributes['error.type'] = event.error.code ?? event.error.name;
    this.#instruments.operationDuration.record(seconds, attributes);
    const usage = meta?.usage;
    if (usage === undefined || event.error !== undefined) return;
    this.#instruments.tokenUsage.record(usage.inputTokens, { ...attributes, 'gen_ai.token.type': 'input' });
    this.#instruments.tokenUsage.record(usage.outputTokens, { ...attributes, 'gen_ai.token.type': 'output' });
  }

  end(): void {}
}

/** The run observer the package's `createRuntime` installs: OpenTelemetry traces and metrics of every run. */

import type { SerializedError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import type { ExecutionWatch, RunObserver } from '../core/run-observer.js';
import type { RunRecord, RunStatus } from '../core/store.js';
import { type MetricsOptions, MetricsRecorder } from './metrics.js';
import { TracingObserver, type TracingOptions } from './tracing.js';

/** What to observe; `false` turns a signal off. */
export interface TelemetryOptions {
  tracing?: TracingOptions | false;
  metrics?: MetricsOptions | false;
}

/**
 * A run observer for OpenTelemetry traces and metrics (docs/observability.md). While no SDK
 * registered a provider (and none was passed), it watches nothing and loads nothing.
 *
 * @example
 * ```ts
 * import { createRuntime } from 'batonjs';
 * const runtime = createRuntime({ tracing: { tracerProvider }, metrics: { meterProvider } });
 * ```
 */
export function createTelemetryObserver(options: TelemetryOptions = {}): RunObserver {
  const tracing = options.tracing === false ? undefined : new TracingObserver(options.tracing ?? {});
  const metrics = options.metrics === false ? undefined : new MetricsRecorder(options.metrics ?? {});
  return {
    created: (run) => tracing?.created(run),
    handedOff: (run, error) => tracing?.handedOff(run, error),
    watch(run: RunRecord, resumed: boolean): ExecutionWatch | undefined {
      const spans = tracing?.watch(run, resumed);
      const measures = metrics?.watch(run);
      if (spans === undefined) return measures;
      if (measures === undefined) return spans;
      return {
        event(event: BatonEvent) {
          spans.event(event);
          measures.event(event);
        },
        end(status: RunStatus | 'released', error?: SerializedError) {
          spans.end(status, error);
          measures.end(status, error);
        },
      };
    },
  };
}

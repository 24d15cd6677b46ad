/** createRuntime as the package exports it: the kernel's runtime with SQLite as its default store, or Postgres from a URL. */

import { BatonError, ConfigError } from './core/errors.js';
import type { RunObserver } from './core/run-observer.js';
import { createKernelRuntime, type Runtime, type RuntimeOptions } from './core/runtime.js';
import type { Store } from './core/store.js';
import type { MetricsOptions } from './observability/metrics.js';
import { createTelemetryObserver } from './observability/telemetry.js';
import type { TracingOptions } from './observability/tracing.js';

/** Options of the package's `createRuntime`: the kernel's, with `store` also taking a `postgres://` URL. */
export interface PackageRuntimeOptions extends Omit<RuntimeOptions, 'store'> {
  /**
   * Where runs live: a Store, or a `postgres://` (`postgresql://`) URL for the Postgres store
   * (`batonjs/postgres`, loaded on first use; needs the `pg` package). Default: SQLite at
   * `.baton/baton.db`.
   */
  store?: Store | string;
  /**
   * OpenTelemetry traces of every run (docs/observability.md): on by default, and free until an
   * OpenTelemetry SDK registers a tracer provider; `{ tracerProvider, captureContent }` to choose
   * the provider or record content; `false` for none.
   */
  tracing?: boolean | TracingOptions;
  /**
   * OpenTelemetry metrics (`gen_ai.client.token.usage`, `gen_ai.client.operation.duration`,
   * `baton.runs`, ...; docs/observability.md): on by default, and free until an SDK registers a
   * meter provider; `{ meterProvider }` to choose the provider; `false` for none.
   */
  metrics?: boolean | MetricsOptions;
}

/** Checks that `value` is a boolean or an object with only `names` (and `provider`, when set, has `method`). */
function checkTelemetryOption(
  option: 'tracing' | 'metrics',
  value: unknown,
  names: readonly string[],
  provider: string,
  method: string,
): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ConfigError(
      `createRuntime(): ${option} must be true, false or { ${names.join(', ')} }; got ${JSON.stringify(value)}.`,
      { code: 'INVALID_OPTION' },
    );
  for (const key of Object.keys(value)) {
    if (!names.includes(key))
      throw new ConfigError(
        `createRuntime(): ${option}.${key} is not an option; ${option} takes ${names.join(' and ')}.`,
        { code: 'INVALID_OPTION' },
      );
  }
  const given = (value as Record<string, unknown>)[provider] as Record<string, unknown> | undefined;
  if (given !== undefined && typeof given?.[method] !== 'function')
    throw new ConfigError(
      `createRuntime(): ${option}.${provider} must be an OpenTelemetry ${provider === 'tracerProvider' ? 'TracerProvider' : 'MeterProvider'} (with ${method}()).`,
      { code: 'INVALID_OPTION' },
    );
}

/** The observer `tracing` and `metrics` ask for (the caller's own `observer` wins); checks their shapes. */
function observerFor(options: PackageRuntimeOptions): RunObserver | undefined {
  const { tracing, metrics, observer } = options;
  checkTelemetryOption(
    'tracing',
    tracing,
    ['tracerProvider', 'captureContent'],
    'tracerProvider',
    'getTracer',
  );
  checkTelemetryOption('metrics', metrics, ['meterProvider'], 'meterProvider', 'getMeter');
  if (observer !== undefined || (tracing === false && metrics === false)) return observer;
  return createTelemetryObserver({
    tracing: tracing === false ? false : tracing === true || tracing === undefined ? {} : tracing,
    metrics: metrics === false ? false : metrics === true || metrics === undefined ? {} : metrics,
  });
}

/** Opens the default store, `.baton/baton.db`, loading the SQLite adapter only when it is needed. */
function openDefaultStore(): Promise<Store> {
  return import('./stores/sqlite/index.js').then(({ createSqliteStore }) => createSqliteStore());
}

/**
 * True for a `postgres://` or `postgresql://` URL, the form that selects the Postgres store.
 *
 * @example
 * ```ts
 * isPostgresUrl('postgres://localhost/baton'); // true
 * isPostgresUrl('.baton/baton.db'); // false
 * ```
 */
export function isPostgresUrl(value: string): boolean {
  return /^postgres(ql)?:\/\//i.test(value);
}

/** Opens the Postgres store on `url`, loading its adapter (and `pg`) only now. */
function openPostgresStore(url: string): Promise<Store> {
  return import('./stores/postgres/index.js').then(({ createPostgresStore }) =>
    createPostgresStore({ connectionString: url }),
  );
}

/**
 * Creates a runtime. Without a `store`, runs live in SQLite at `.baton/baton.db` (opened on
 * first use); a `postgres://` URL opens the Postgres store on first use; pass `store` for
 * anything else (`createMemoryStore()`, `createSqliteStore({ path })`, `createPostgresStore()`).
 *
 * With a store that announces changes (`store.subscribe`, as the Postgres store does through
 * `LISTEN/NOTIFY`), a signal another process stores for a suspended run wakes the run here at
 * once instead of at the next recovery poll.
 *
 * @example
 * ```ts
 * import { createRuntime, createMemoryStore } from 'batonjs';
 * const runtime = createRuntime({ store: createMemoryStore(), workflows: [supportTeam] });
 * const handle = await runtime.start('support', 'Where is my order?');
 * console.log(await handle.result());
 * await runtime.close();
 * // Postgres: createRuntime({ store: 'postgres://baton@db.internal/baton', workflows: [supportTeam] })
 * ```
 */
export function createRuntime(options: PackageRuntimeOptions = {}): Runtime {
  const { store, tracing: _tracing, metrics: _metrics, ...others } = options;
  const observer = observerFor(options);
  const rest = observer === undefined ? others : { ...others, observer };
  if (typeof store !== 'string') {
    const runtime = createKernelRuntime(store === undefined ? rest : { ...rest, store }, openDefaultStore);
    if (store !== undefined) wakeOnSignals(runtime, store, options.recover !== false);
    return runtime;
  }
  if (!isPostgresUrl(store)) {
    throw new ConfigError(
      `createRuntime(): store ${JSON.stringify(store)} is not a postgres:// URL. Pass a Store object ` +
        "(createSqliteStore({ path }) from 'batonjs/sqlite' for a file) or a postgres:// (postgresql://) URL.",
      { code: 'INVALID_OPTION' },
    );
  }
  let runtime: Runtime | undefined;
  const open = () =>
    openPostgresStore(store).then((opened) => {
      if (runtime !== undefined) wakeOnSignals(runtime, opened, options.recover !== false);
      return opened;
    });
  runtime = createKernelRuntime(rest, open);
  return runtime;
}

/**
 * Resumes a suspended run as soon as the store announces a signal for it (when the runtime
 * recovers runs); unsubscribes when the runtime closes. A run this runtime cannot resume (another
 * workflow, another version, leased elsewhere) is left for the runtime that can.
 */
function wakeOnSignals(runtime: Runtime, store: Store, recover: boolean): void {
  if (!recover || store.subscribe === undefined) return;
  const unsubscribe = store.subscribe((change) => {
    if (change.kind !== 'signal' || change.local) return; // this process's own signal() resumes it
    runtime.resume(change.runId).catch((error: unknown) => {
      if (BatonError.isInstance(error)) return; // not ours to run, or already running elsewhere
      process.stderr.write(
        `baton: could not resume run ${change.runId} after its signal: ${String(error)}\n`,
      );
    });
  });
  const close = runtime.close.bind(runtime);
  runtime.close = () => {
    unsubscribe();
    return close();
  };
}

/**
 * Exporting traces over OTLP/HTTP from the CLI (`BATON_OTLP_ENDPOINT`): an OpenTelemetry SDK
 * tracer provider with a batch exporter, registered globally so every runtime's runs are traced.
 * The SDK packages are optional peers, loaded only when the variable is set.
 */

import { ConfigError } from '../core/errors.js';

/** What `startOtlpTracing` started: flush and stop it before the process exits. */
export interface OtlpTracing {
  /** Where spans go (`<endpoint>/v1/traces`). */
  readonly url: string;
  /** Exports what is buffered and stops the provider. */
  shutdown(): Promise<void>;
}

const sdkPackages = [
  '@opentelemetry/sdk-trace-base',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/resources',
];

/**
 * The traces URL of an OTLP/HTTP endpoint: a base (`http://localhost:4318`) gets `/v1/traces`,
 * a URL that already ends with it is kept. Throws a `ConfigError` for anything but http(s).
 *
 * @example
 * ```ts
 * otlpTracesUrl('http://localhost:4318'); // 'http://localhost:4318/v1/traces'
 * ```
 */
export function otlpTracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new ConfigError(
      `BATON_OTLP_ENDPOINT ${JSON.stringify(endpoint)} is not a URL; set it to an OTLP/HTTP endpoint such as http://localhost:4318.`,
      { code: 'INVALID_OPTION' },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `BATON_OTLP_ENDPOINT ${JSON.stringify(endpoint)} must be an http:// or https:// URL (OTLP over HTTP).`,
      { code: 'INVALID_OPTION' },
    );
  }
  const base = url.href.replace(/\/+$/, '');
  return base.endsWith('/v1/traces') ? base : `${base}/v1/traces`;
}

/**
 * Registers a global tracer provider that exports to `endpoint` over OTLP/HTTP (JSON), with
 * `service.name` from `OTEL_SERVICE_NAME` or `baton`. Throws a `ConfigError` naming the packages
 * to install when the OpenTelemetry SDK is missing.
 *
 * @example
 * ```ts
 * const tracing = await startOtlpTracing('http://localhost:4318');
 * // ... run things ...
 * await tracing.shutdown();
 * ```
 */
export async function startOtlpTracing(
  endpoint: string,
  serviceName = process.env.OTEL_SERVICE_NAME ?? 'baton',
): Promise<OtlpTracing> {
  const url = otlpTracesUrl(endpoint);
  let modules: [
    typeof import('@opentelemetry/sdk-trace-base'),
    typeof import('@opentelemetry/exporter-trace-otlp-http'),
    typeof import('@opentelemetry/resources'),
    typeof import('@opentelemetry/api'),
  ];
  try {
    modules = await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/api'),
    ]);
  } catch (error) {
    throw new ConfigError(
      `BATON_OTLP_ENDPOINT is set, but the OpenTelemetry SDK is not installed: npm install ${sdkPackages
        .map((name) => `${name}@^2`)
        .join(' ')
        .replace(
          'exporter-trace-otlp-http@^2',
          'exporter-trace-otlp-http@^0.223',
        )} (${error instanceof Error ? error.message : String(error)}).`,
      { code: 'PACKAGE_MISSING' },
    );
  }
  const [sdk, exporterModule, resources, api] = modules;
  const provider = new sdk.BasicTracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': serviceName }),
    spanProcessors: [new sdk.BatchSpanProcessor(new exporterModule.OTLPTraceExporter({ url }))],
  });
  api.trace.setGlobalTracerProvider(provider);
  return {
    url,
    async shutdown() {
      await provider.forceFlush();
      await provider.shutdown();
      api.trace.disable();
    },
  };
}

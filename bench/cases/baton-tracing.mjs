// Tracing's cost: the baton-memory agent with tracing on and no OpenTelemetry SDK registered (the
// default), against `tracing: false`, and with an SDK (a batch span processor) against both.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { baton, createBatonAgent, timeSequential } from '../lib/baton-agent.mjs';
import { median } from '../lib/measure.mjs';

export const name = 'baton-tracing';
export const kind = 'subject';
export const description =
  'The baton-memory agent with tracing on and no OpenTelemetry SDK registered (the default; reported per run), against the same agent with tracing: false and with an SDK tracer provider (BatchSpanProcessor, an exporter that counts and drops spans), timed interleaved in the same process.';
export const importSpecifiers = ['../../dist/index.js'];
export const packages = [];

/** Tracing with no SDK may cost at most this share more per run than no tracing (issue 12). */
export const NO_SDK_LIMIT = 1.03;

const rootRequire = createRequire(new URL('../../package.json', import.meta.url));
const load = (specifier) => import(pathToFileURL(rootRequire.resolve(specifier)).href);

export async function setup() {
  const sdk = await load('@opentelemetry/sdk-trace-base');
  let exported = 0;
  const exporter = {
    export(spans, done) {
      exported += spans.length;
      done({ code: 0 });
    },
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  const provider = new sdk.BasicTracerProvider({
    spanProcessors: [
      new sdk.BatchSpanProcessor(exporter, { maxQueueSize: 65_536, maxExportBatchSize: 2048 }),
    ],
  });
  const noSdk = createBatonAgent(baton.createMemoryStore());
  const off = createBatonAgent(baton.createMemoryStore(), { runtime: { tracing: false } });
  const traced = createBatonAgent(baton.createMemoryStore(), {
    runtime: { tracing: { tracerProvider: provider } },
  });
  return {
    runOnce: noSdk.runOnce,
    toolCalls: noSdk.toolCalls,
    modelCalls: noSdk.modelCalls,
    metrics: async () => {
      // Warm the traced agent too, then count the spans of a known number of runs.
      for (let index = 0; index < 2000; index++) await traced.runOnce();
      await provider.forceFlush();
      const before = exported;
      for (let index = 0; index < 1000; index++) await traced.runOnce();
      await provider.forceFlush();
      const spansPerRun = (exported - before) / 1000;
      if (spansPerRun < 5)
        throw new Error(`baton-tracing: ${spansPerRun} spans per traced run, expected at least 5`);
      const samples = { off: [], noSdk: [], traced: [] };
      for (let round = 0; round < 7; round++) {
        samples.off.push(await timeSequential(off.runOnce, 3000, 1));
        samples.noSdk.push(await timeSequential(noSdk.runOnce, 3000, 1));
        samples.traced.push(await timeSequential(traced.runOnce, 3000, 1));
        await provider.forceFlush();
      }
      const offUs = median(samples.off);
      const noSdkUs = median(samples.noSdk);
      const tracedUs = median(samples.traced);
      return {
        'tracing: false, µs per run': offUs,
        'tracing on, no SDK, µs per run': noSdkUs,
        'tracing on, no SDK ÷ tracing: false': noSdkUs / offUs,
        'with an SDK (batch span processor), µs per run': tracedUs,
        'with an SDK ÷ tracing: false': tracedUs / offUs,
        'spans per traced run': spansPerRun,
      };
    },
    close: async () => {
      await noSdk.runtime.close();
      await off.runtime.close();
      await traced.runtime.close();
      await provider.shutdown();
    },
  };
}

export const targets = ({ metrics }) => [
  {
    label: 'tracing on with no SDK registered ÷ tracing: false, per run',
    value: metrics['tracing on, no SDK ÷ tracing: false'],
    limit: NO_SDK_LIMIT,
    unit: '×',
  },
];

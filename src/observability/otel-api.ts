/** Loading `@opentelemetry/api` only when an SDK is there, and the naming shared by spans and metrics. */

import { createRequire } from 'node:module';

export type OtelApi = typeof import('@opentelemetry/api');

/** The OpenTelemetry API's global registry (`Symbol.for('opentelemetry.js.api.1')`), shared by every copy of the API. */
const globalKey = Symbol.for('opentelemetry.js.api.1');

let loadedApi: OtelApi | undefined;

/** `@opentelemetry/api`, loaded on first use (synchronously: it is a CommonJS package). */
export function otelApi(): OtelApi {
  loadedApi ??= createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
  return loadedApi;
}

/**
 * True when an SDK registered a global provider of this signal (`trace` or `metrics`), read from
 * the API's global registry without loading the API.
 */
export function globalRegistered(signal: 'trace' | 'metrics'): boolean {
  const registry = (globalThis as Record<symbol, Record<string, unknown> | undefined>)[globalKey];
  return registry?.[signal] !== undefined;
}

/**
 * Provider names by the first part of an AI SDK provider id (`openai.chat` → `openai`), as the
 * GenAI conventions spell them where they differ.
 */
const providerNames: Record<string, string> = {
  google: 'gcp.gemini',
  'google-vertex': 'gcp.vertex_ai',
  vertex: 'gcp.vertex_ai',
  bedrock: 'aws.bedrock',
  'amazon-bedrock': 'aws.bedrock',
  azure: 'azure.ai.openai',
  mistral: 'mistral_ai',
  xai: 'x_ai',
};

/**
 * The provider (as the GenAI conventions name it) and model of a `provider:model` name.
 *
 * @example
 * ```ts
 * modelParts('openai.chat:gpt-4o-mini'); // { provider: 'openai', model: 'gpt-4o-mini' }
 * ```
 */
export function modelParts(name: string): { provider: string | undefined; model: string } {
  const colon = name.indexOf(':');
  if (colon < 0) return { provider: undefined, model: name };
  const family = name.slice(0, colon).split('.')[0] as string;
  return { provider: providerNames[family] ?? family, model: name.slice(colon + 1) };
}

/** Turns `"provider:model"` strings into AI SDK language models, loading provider packages on demand. */

import type { LanguageModelV3 } from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';

/** A model: an AI SDK `LanguageModelV3`, or a `"provider:model"` string such as `"openai:gpt-4o-mini"`. */
export type ModelSpec = LanguageModelV3 | string;

/**
 * An agent's model, or a fallback chain tried in order when a model fails with a transient
 * error after its retries (or its provider's breaker is open).
 *
 * @example
 * ```ts
 * const chain: ModelChain = ['openai:gpt-4o', 'anthropic:claude-sonnet-4-5', 'ollama:llama3.1'];
 * ```
 */
export type ModelChain = ModelSpec | readonly ModelSpec[];

/** Makes a model for a provider prefix; register your own with `registerModelProvider`. */
export type ModelFactory = (modelId: string) => LanguageModelV3 | Promise<LanguageModelV3>;

const factories = new Map<string, ModelFactory>();
const cache = new Map<string, Promise<LanguageModelV3>>();

/**
 * Adds (or replaces) a provider prefix for model strings.
 *
 * @example
 * ```ts
 * registerModelProvider('local', (id) => createOpenAICompatible({ name: 'local', baseURL: 'http://127.0.0.1:8080/v1' }).chatModel(id));
 * agent({ name: 'a', instructions: '...', model: 'local:qwen2.5' });
 * ```
 */
export function registerModelProvider(prefix: string, factory: ModelFactory): void {
  factories.set(prefix, factory);
  for (const key of cache.keys()) if (key.startsWith(`${prefix}:`)) cache.delete(key);
}

async function load<T>(packageName: string, provider: string): Promise<T> {
  try {
    return (await import(packageName)) as T;
  } catch (error) {
    throw new ConfigError(
      `Model provider "${provider}" needs the package ${packageName}: run \`npm install ${packageName}\`.`,
      {
        cause: error,
        code: 'PROVIDER_MISSING',
      },
    );
  }
}

type ProviderModule = Record<
  string,
  (settings?: Record<string, unknown>) => (modelId: string) => LanguageModelV3
>;

const builtIn: Record<string, ModelFactory> = {
  openai: async (id) => (await load<ProviderModule>('@ai-sdk/openai', 'openai')).createOpenAI!()(id),
  anthropic: async (id) =>
    (await load<ProviderModule>('@ai-sdk/anthropic', 'anthropic')).createAnthropic!()(id),
  google: async (id) =>
    (await load<ProviderModule>('@ai-sdk/google', 'google')).createGoogleGenerativeAI!()(id),
  ollama: async (id) =>
    compatible('ollama', process.env.OLLAMA_BASE_URL ?? 'http://127.0.0.1:11434/v1', undefined, id),
  'openai-compatible': async (id) => {
    const baseURL = process.env.OPENAI_COMPATIBLE_BASE_URL;
    if (baseURL === undefined) {
      throw new ConfigError(
        'Model "openai-compatible:…" needs OPENAI_COMPATIBLE_BASE_URL (and OPENAI_COMPATIBLE_API_KEY if the server wants one).',
      );
    }
    return compatible('openai-compatible', baseURL, process.env.OPENAI_COMPATIBLE_API_KEY, id);
  },
};

async function compatible(
  name: string,
  baseURL: string,
  apiKey: string | undefined,
  modelId: string,
): Promise<LanguageModelV3> {
  const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
  return createOpenAICompatible({
    name,
    baseURL,
    includeUsage: true,
    ...(apiKey === undefined ? {} : { apiKey }),
  }).chatModel(modelId);
}

/**
 * Resolves a model spec. Strings are `provider:model` with provider one of `openai`,
 * `anthropic`, `google`, `ollama` (env `OLLAMA_BASE_URL`), `openai-compatible` (env
 * `OPENAI_COMPATIBLE_BASE_URL`) or a prefix added with `registerModelProvider`.
 *
 * @example
 * ```ts
 * const model = await resolveModel('anthropic:claude-sonnet-4-5');
 * ```
 */
export function resolveModel(spec: ModelSpec): LanguageModelV3 | Promise<LanguageModelV3> {
  if (typeof spec !== 'string') {
    if (spec === null || typeof spec !== 'object' || typeof spec.doGenerate !== 'function') {
      throw new ConfigError(
        'A model must be an AI SDK LanguageModel (specification v3) or a "provider:model" string.',
      );
    }
    return spec;
  }
  let model = cache.get(spec);
  if (model === undefined) {
    const separator = spec.indexOf(':');
    if (separator <= 0 || separator === spec.length - 1) {
      throw new ConfigError(
        `Model "${spec}" is not of the form "provider:model" (for example "openai:gpt-4o-mini").`,
      );
    }
    const prefix = spec.slice(0, separator);
    const factory = factories.get(prefix) ?? builtIn[prefix];
    if (factory === undefined) {
      const known = [...new Set([...Object.keys(builtIn), ...factories.keys()])].join(', ');
      throw new ConfigError(
        `Unknown model provider "${prefix}" in "${spec}". Known: ${known}. Add one with registerModelProvider().`,
      );
    }
    model = Promise.resolve(factory(spec.slice(separator + 1)));
    model.catch(() => cache.delete(spec));
    cache.set(spec, model);
  }
  return model;
}

const names = new WeakMap<LanguageModelV3, string>();

/** The `provider:model` name of a model, as used by the price table and in traces. */
export function modelName(model: LanguageModelV3): string {
  let name = names.get(model);
  if (name === undefined) {
    name = `${model.provider.split('.')[0] ?? model.provider}:${model.modelId}`;
    names.set(model, name);
  }
  return name;
}

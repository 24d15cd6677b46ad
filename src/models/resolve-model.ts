/** Turns `"provider:model"` (or `"provider/model"`) strings into AI SDK language models, loading provider packages on demand. */

import type { LanguageModelV3 } from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';

/**
 * A model: an AI SDK `LanguageModelV3`, or a `"provider:model"` string such as
 * `"openai:gpt-4o-mini"` (`"openai/gpt-4o-mini"`, the AI SDK gateway's spelling, means the same).
 */
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

/**
 * What makes language models by id: an AI SDK provider (`createOpenAI({ apiKey })`) or a
 * provider registry (`createProviderRegistry({ openai, anthropic })`, ids `provider:model`).
 */
export interface LanguageModelSource {
  languageModel(modelId: string): LanguageModelV3;
}

const factories = new Map<string, ModelFactory>();
/** Provider registries, newest first; asked for prefixes no factory names. */
const registries: LanguageModelSource[] = [];
const cache = new Map<string, Promise<LanguageModelV3>>();

/**
 * Adds (or replaces) a provider prefix for model strings: a function or an AI SDK provider that
 * makes its models. Or, given an AI SDK provider registry alone, makes every provider of the
 * registry usable by its prefix (`"local:qwen2.5"` asks the registry for `local:qwen2.5`);
 * a prefix the registry does not know falls back to the built-in providers. Registrations apply
 * to the whole process.
 *
 * @example
 * ```ts
 * registerModelProvider('local', (id) => createOpenAICompatible({ name: 'local', baseURL: 'http://127.0.0.1:8080/v1' }).chatModel(id));
 * registerModelProvider('work', createOpenAI({ apiKey: process.env.WORK_OPENAI_KEY }));
 * registerModelProvider(createProviderRegistry({ anthropic: createAnthropic({ apiKey }) }));
 * agent({ name: 'a', instructions: '...', model: 'local:qwen2.5' });
 * ```
 */
export function registerModelProvider(prefix: string, factory: ModelFactory | LanguageModelSource): void;
export function registerModelProvider(registry: LanguageModelSource): void;
export function registerModelProvider(
  first: string | LanguageModelSource,
  factory?: ModelFactory | LanguageModelSource,
): void {
  if (typeof first !== 'string') {
    if (typeof first?.languageModel !== 'function')
      throw new ConfigError(
        'registerModelProvider(registry): the registry must be an AI SDK provider registry (createProviderRegistry from "ai"), or pass a prefix and a factory.',
      );
    registries.unshift(first);
    cache.clear();
    return;
  }
  if (!/^[\w.-]+$/.test(first))
    throw new ConfigError(
      `registerModelProvider(${JSON.stringify(first)}): a prefix is letters, digits, '_', '.' or '-' (it comes before ':' or '/' in model strings).`,
    );
  let made: ModelFactory;
  if (typeof factory === 'function') made = factory;
  else if (typeof factory?.languageModel === 'function') {
    const provider = factory;
    made = (id) => provider.languageModel(id);
  } else
    throw new ConfigError(
      `registerModelProvider(${JSON.stringify(first)}): give a function (modelId) => model or an AI SDK provider.`,
    );
  factories.set(first, made);
  for (const key of cache.keys()) if (key.startsWith(`${first}:`)) cache.delete(key);
}

/**
 * A model string in Baton's spelling, `provider:model`: `provider/model` (the AI SDK gateway's
 * spelling) becomes `provider:model`; the separator is whichever of `:` and `/` comes first, so
 * `ollama/llama3.1:8b` is `ollama:llama3.1:8b` and `openai-compatible:org/model` stays as it is.
 * Models that are not strings pass unchanged.
 *
 * @example
 * ```ts
 * canonicalModelSpec('anthropic/claude-sonnet-4-5'); // 'anthropic:claude-sonnet-4-5'
 * ```
 */
export function canonicalModelSpec<SPEC extends ModelSpec>(spec: SPEC): SPEC {
  if (typeof spec !== 'string') return spec;
  const slash = spec.indexOf('/');
  if (slash < 0) return spec;
  const colon = spec.indexOf(':');
  if (colon >= 0 && colon < slash) return spec;
  return `${spec.slice(0, slash)}:${spec.slice(slash + 1)}` as SPEC;
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
  // Ollama and OpenAI-compatible servers take `response_format: json_schema`: an agent's output
  // schema goes to the server (which constrains the answer) instead of only a JSON-mode hint.
  return createOpenAICompatible({
    name,
    baseURL,
    includeUsage: true,
    supportsStructuredOutputs: true,
    ...(apiKey === undefined ? {} : { apiKey }),
  }).chatModel(modelId);
}

/**
 * Resolves a model spec. Strings are `provider:model` (or `provider/model`) with provider one of
 * `openai`, `anthropic`, `google`, `ollama` (env `OLLAMA_BASE_URL`), `openai-compatible` (env
 * `OPENAI_COMPATIBLE_BASE_URL`), a prefix added with `registerModelProvider`, or one known to a
 * registered provider registry. Models must implement the AI SDK's v3 language model
 * specification (AI SDK 6 providers).
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
    const version: unknown = spec.specificationVersion;
    if (version !== undefined && version !== 'v3') throw unsupportedVersion(spec, version);
    return spec;
  }
  const key = canonicalModelSpec(spec);
  let model = cache.get(key);
  if (model === undefined) {
    const separator = key.indexOf(':');
    if (separator <= 0 || separator === key.length - 1) {
      throw new ConfigError(
        `Model "${spec}" is not of the form "provider:model" (for example "openai:gpt-4o-mini" or "openai/gpt-4o-mini").`,
      );
    }
    const prefix = key.slice(0, separator);
    const modelId = key.slice(separator + 1);
    const factory = factories.get(prefix) ?? fromRegistries(key) ?? builtIn[prefix];
    if (factory === undefined) throw unknownProvider(spec, prefix);
    model = Promise.resolve(factory(modelId)).then((made) => resolveModel(made));
    model.catch(() => cache.delete(key));
    cache.set(key, model);
  }
  return model;
}

/** A factory from the first registered registry that knows the spec's provider. */
function fromRegistries(key: string): ModelFactory | undefined {
  for (const registry of registries) {
    let made: LanguageModelV3;
    try {
      made = registry.languageModel(key);
    } catch (error) {
      if ((error as { name?: unknown } | null)?.name === 'AI_NoSuchProviderError') continue;
      throw new ConfigError(`Model "${key}": the provider registry could not make it: ${String(error)}`, {
        cause: error,
      });
    }
    return () => made;
  }
  return undefined;
}

function unknownProvider(spec: string, prefix: string): ConfigError {
  const known = [...new Set([...Object.keys(builtIn), ...factories.keys()])].join(', ');
  const inRegistries = new Set<string>();
  for (const registry of registries) {
    try {
      registry.languageModel(`${prefix}:?`);
    } catch (error) {
      for (const name of ((error as { availableProviders?: unknown }).availableProviders as
        | string[]
        | undefined) ?? [])
        inRegistries.add(name);
    }
  }
  const registered =
    registries.length === 0
      ? ''
      : ` Registered provider registries know: ${[...inRegistries].join(', ') || 'none'}.`;
  return new ConfigError(
    `Unknown model provider "${prefix}" in "${spec}". Known: ${known}.${registered} Add one with registerModelProvider().`,
  );
}

function unsupportedVersion(model: LanguageModelV3, version: unknown): ConfigError {
  const name = `${String(model.provider)}:${String(model.modelId)}`;
  const advice =
    version === 'v2'
      ? 'it comes from an AI SDK 5 provider package: upgrade it to the release for AI SDK 6 (@ai-sdk/* 3.x).'
      : 'Baton runs on AI SDK 6, whose providers implement specification v3 (@ai-sdk/* 3.x); use that release of the provider package.';
  return new ConfigError(
    `Model ${name} implements the AI SDK language model specification ${String(version)}, and Baton calls models through v3: ${advice}`,
  );
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

/** Model providers of one runtime: prefixes (and their credentials) no other runtime sees, over the process's. */

import type { LanguageModelV3 } from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';
import type { RunContext, Tenant } from '../core/run-context.js';
import { canonicalModelSpec, type ModelFactory, type ModelSpec, resolveModel } from './resolve-model.js';

declare module '../core/run-context.js' {
  interface Tenant {
    /** Model provider prefixes of this runtime (`createRuntime({ models: createModelProviders(...) })`). */
    readonly models: ModelProviders | undefined;
  }
}

declare module '../core/runtime-options.js' {
  interface RuntimeOptions {
    /**
     * This runtime's model provider prefixes, made with `createModelProviders` (a tenant's own API
     * keys, say): seen by its runs only. Other model strings resolve as `resolveModel` does.
     * Default: none of its own (the built-in providers and `registerModelProvider`'s).
     */
    models?: ModelProviders;
  }
}

/**
 * Provider prefixes of one runtime (`createRuntime({ models })`): a model string whose prefix
 * is registered here is made by this runtime's factory (with this tenant's API key, say) and
 * cached here; any other model is resolved as `resolveModel` does (built-in providers and those
 * of `registerModelProvider`).
 *
 * @example
 * ```ts
 * const models = createModelProviders({ acme: (id) => createOpenAI({ apiKey: acmeKey })(id) });
 * const runtime = createRuntime({ models });
 * await models.resolve('acme:gpt-4o-mini'); // made with acmeKey, for this runtime only
 * ```
 */
export class ModelProviders {
  readonly #factories = new Map<string, ModelFactory>();
  readonly #models = new Map<string, Promise<LanguageModelV3>>();
  /** Model strings whose prefix is not registered here (resolved by the process), so each is parsed once. */
  readonly #elsewhere = new Set<string>();

  /** Adds (or replaces) a provider prefix of this runtime. */
  register(prefix: string, factory: ModelFactory, where = 'ModelProviders.register()'): void {
    if (typeof prefix !== 'string' || prefix === '' || prefix.includes(':'))
      throw new ConfigError(
        `${where}: a provider prefix is a non-empty string without ':', got ${JSON.stringify(prefix)}.`,
      );
    if (typeof factory !== 'function')
      throw new ConfigError(`${where}: the provider "${prefix}" needs a function (modelId) => model.`);
    this.#factories.set(prefix, factory);
    for (const key of this.#models.keys()) if (key.startsWith(`${prefix}:`)) this.#models.delete(key);
    this.#elsewhere.clear();
  }

  /** A model for `spec`: from this runtime's providers when its prefix is one of them, else as `resolveModel`. */
  resolve(model: ModelSpec): LanguageModelV3 | Promise<LanguageModelV3> {
    // `acme/model` (the AI SDK's spelling) names the same model as `acme:model`.
    const spec = canonicalModelSpec(model);
    if (typeof spec !== 'string' || this.#elsewhere.has(spec)) return resolveModel(spec);
    const cached = this.#models.get(spec);
    if (cached !== undefined) return cached;
    const separator = spec.indexOf(':');
    const factory = separator > 0 ? this.#factories.get(spec.slice(0, separator)) : undefined;
    if (factory === undefined || separator === spec.length - 1) {
      this.#elsewhere.add(spec);
      return resolveModel(spec);
    }
    const made = Promise.resolve(factory(spec.slice(separator + 1)));
    made.catch(() => this.#models.delete(spec));
    this.#models.set(spec, made);
    return made;
  }
}

/**
 * A runtime's own model providers: pass them as `createRuntime({ models })`. Prefixes given
 * here are seen by that runtime's runs only; `registerModelProvider` (the process's) does not
 * reach into them, and they do not reach other runtimes.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({
 *   models: createModelProviders({ local: (id) => createOpenAICompatible({ name: 'local', baseURL }).chatModel(id) }),
 * });
 * ```
 */
export function createModelProviders(providers: Readonly<Record<string, ModelFactory>> = {}): ModelProviders {
  const registry = new ModelProviders();
  for (const [prefix, factory] of Object.entries(providers))
    registry.register(prefix, factory, 'createModelProviders()');
  return registry;
}

/**
 * Resolves a model for the run behind `ctx`: with its runtime's providers, else as `resolveModel`.
 *
 * @example
 * ```ts
 * const model = await resolveRunModel(ctx, 'acme:gpt-4o-mini');
 * ```
 */
export function resolveRunModel(
  ctx: RunContext,
  spec: ModelSpec,
): LanguageModelV3 | Promise<LanguageModelV3> {
  return resolveTenantModel(ctx.services.tenant, spec);
}

/** Resolves a model with a runtime's providers (its tenant state), else as `resolveModel`. */
export function resolveTenantModel(
  tenant: Tenant,
  spec: ModelSpec,
): LanguageModelV3 | Promise<LanguageModelV3> {
  const models = tenant.models;
  return models === undefined ? resolveModel(spec) : models.resolve(spec);
}

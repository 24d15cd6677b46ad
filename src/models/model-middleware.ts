/** An agent's AI SDK middleware stack: checked when the agent is defined, wrapped around each model it calls, once per model. */

import type { LanguageModelV3, LanguageModelV3Middleware } from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';

/** Wraps a resolved model in an agent's middleware; the same model object always gets the same wrapped one. */
export type ModelWrapper = (model: LanguageModelV3) => LanguageModelV3 | Promise<LanguageModelV3>;

const hooks = [
  'transformParams',
  'wrapGenerate',
  'wrapStream',
  'overrideProvider',
  'overrideModelId',
  'overrideSupportedUrls',
] as const;

/**
 * Checks an agent's `middleware` option: a list of AI SDK `LanguageModelMiddleware` objects
 * (`specificationVersion: 'v3'`, any of `transformParams`, `wrapGenerate`, `wrapStream`,
 * `override*`). Returns it frozen, or an empty list.
 *
 * @example
 * ```ts
 * checkMiddleware('agent("support")', [defaultSettingsMiddleware({ settings: { temperature: 0 } })]);
 * ```
 */
export function checkMiddleware(
  where: string,
  middleware: readonly LanguageModelV3Middleware[] | undefined,
): readonly LanguageModelV3Middleware[] {
  if (middleware === undefined) return noMiddleware;
  if (!Array.isArray(middleware))
    throw new ConfigError(
      `${where}: middleware must be a list of AI SDK LanguageModelMiddleware objects ([{ specificationVersion: 'v3', transformParams() {...} }]).`,
    );
  middleware.forEach((entry: unknown, index) => {
    if (entry === null || typeof entry !== 'object')
      throw new ConfigError(
        `${where}: middleware[${index}] must be an AI SDK LanguageModelMiddleware object.`,
      );
    const version = (entry as { specificationVersion?: unknown }).specificationVersion;
    if (version !== 'v3')
      throw new ConfigError(
        `${where}: middleware[${index}] has specificationVersion ${JSON.stringify(version)}; Baton calls models through the v3 specification (AI SDK 6), so its middleware must say specificationVersion: 'v3'.`,
      );
    for (const hook of hooks) {
      const value = (entry as Record<string, unknown>)[hook];
      if (value !== undefined && typeof value !== 'function')
        throw new ConfigError(`${where}: middleware[${index}].${hook} must be a function.`);
    }
  });
  return middleware.length === 0 ? noMiddleware : Object.freeze([...middleware]);
}

const noMiddleware: readonly LanguageModelV3Middleware[] = Object.freeze([]);

/** The AI SDK, loaded on first need (agents without middleware never load it). A module is immutable code: sharing it shares no state. */
let aiSdk: Promise<typeof import('ai')> | undefined;

/**
 * A wrapper applying `middleware` (first entry outermost, as `wrapLanguageModel` does) to a
 * model, or undefined for an empty list. Wrapped models are kept per base model in the
 * wrapper's own `WeakMap`: a runtime's providers make its own model objects, so each runtime
 * gets its own wrapped model, built on its first call and reused for every later turn.
 *
 * @example
 * ```ts
 * const wrap = middlewareWrapper([logParams]);
 * const wrapped = await wrap?.(model);
 * ```
 */
export function middlewareWrapper(
  middleware: readonly LanguageModelV3Middleware[],
): ModelWrapper | undefined {
  if (middleware.length === 0) return undefined;
  const wrapped = new WeakMap<LanguageModelV3, LanguageModelV3>();
  const wrap = (ai: typeof import('ai'), model: LanguageModelV3): LanguageModelV3 => {
    let made = wrapped.get(model);
    if (made === undefined) {
      made = ai.wrapLanguageModel({ model, middleware: [...middleware] });
      wrapped.set(model, made);
    }
    return made;
  };
  let loaded: typeof import('ai') | undefined;
  return (model) => {
    if (loaded !== undefined) return wrap(loaded, model);
    aiSdk ??= import('ai');
    return aiSdk.then((ai) => {
      loaded = ai;
      return wrap(ai, model);
    });
  };
}

/** Context-window sizes (in tokens) of known models: a small table users can extend, then the price catalogue. */

import { ConfigError } from '../core/errors.js';
import { catalogueContextWindow } from '../models/price-catalogue.js';
import { modelIdOf, type TokenModel } from './tokens.js';

interface WindowRule {
  match: RegExp | string;
  tokens: number;
}

/** First match wins on the model id (the part after `provider:`), from providers' model pages. */
const builtInWindows: WindowRule[] = [
  { match: /^gpt-4\.1/, tokens: 1_047_576 },
  { match: /^gpt-5/, tokens: 400_000 },
  { match: /^(o1|o3|o4)/, tokens: 200_000 },
  { match: /^(gpt-4o|chatgpt-4o|gpt-4-turbo|gpt-4-1106|gpt-4-0125|gpt-4\.5|gpt-oss)/, tokens: 128_000 },
  { match: /^gpt-4-32k/, tokens: 32_768 },
  { match: /^gpt-4/, tokens: 8_192 },
  { match: /^gpt-3\.5-turbo/, tokens: 16_385 },
  { match: /claude/, tokens: 200_000 },
  { match: /gemini-1\.5-pro/, tokens: 2_097_152 },
  { match: /gemini/, tokens: 1_048_576 },
  { match: /llama-?3\.[123]|llama3\.[123]/, tokens: 128_000 },
  { match: /mistral-large|mistral-small|mistral-medium/, tokens: 128_000 },
];
const userWindows: WindowRule[] = [];

/**
 * Declares the context window (in tokens) of models whose id matches: a string matches the model
 * id (after `provider:`) exactly or as a prefix. Checked before the built-in table.
 *
 * @example
 * ```ts
 * registerContextWindow('qwen2.5', 32_768);
 * registerContextWindow(/^my-finetune/, 16_000);
 * ```
 */
export function registerContextWindow(match: RegExp | string, tokens: number): void {
  if (!Number.isInteger(tokens) || tokens < 1)
    throw new ConfigError(`registerContextWindow(): tokens must be a positive integer, got ${tokens}.`);
  userWindows.unshift({ match, tokens });
  windowCache.clear();
  modelWindows = new WeakMap();
}

const windowCache = new Map<string, number | undefined>();
/** By AI SDK model object (asked every turn): skips lower-casing its id. Replaced when a window is registered. */
let modelWindows = new WeakMap<object, number | undefined>();

function matches(rule: RegExp | string, id: string): boolean {
  return typeof rule === 'string'
    ? id === rule.toLowerCase() || id.startsWith(rule.toLowerCase())
    : rule.test(id);
}

/**
 * The context window of a model in tokens, or undefined when Baton does not know it (then the
 * guard only enforces an agent's own `context.contextWindow` or `maxTokens`): from
 * `registerContextWindow`, then Baton's table of model families, then the price catalogue
 * (`@pydantic/genai-prices`, loaded on first need).
 *
 * @example
 * ```ts
 * contextWindowOf('openai:gpt-4o'); // 128000
 * ```
 */
export function contextWindowOf(model: TokenModel): number | undefined {
  if (typeof model === 'object' && model !== null) {
    if (modelWindows.has(model)) return modelWindows.get(model);
    const tokens = windowOfId(modelIdOf(model), `${model.provider.split('.')[0]}:${model.modelId}`);
    modelWindows.set(model, tokens);
    return tokens;
  }
  return windowOfId(modelIdOf(model), model);
}

/** From the user's rules, then the built-in table, then the price catalogue (`provider:model` as `name`). */
function windowOfId(id: string, name: string): number | undefined {
  if (windowCache.has(name)) return windowCache.get(name);
  const tokens =
    userWindows.find((rule) => matches(rule.match, id))?.tokens ??
    builtInWindows.find((rule) => matches(rule.match, id))?.tokens ??
    catalogueWindow(name);
  windowCache.set(name, tokens);
  return tokens;
}

/**
 * A window from the price catalogue, for `provider:model` names the tables do not list. Skipped
 * for Baton's scripted models and bare ids, so the catalogue is loaded only for real unknown models.
 */
function catalogueWindow(name: string): number | undefined {
  if (!name.includes(':') || name.startsWith('scripted:')) return undefined;
  return catalogueContextWindow(name);
}

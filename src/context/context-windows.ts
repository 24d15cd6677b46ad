/** Context-window sizes (in tokens) of known models: a table per runtime (or the process's) over Baton's own, then the price catalogue. */

import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
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

function matches(rule: RegExp | string, id: string): boolean {
  return typeof rule === 'string'
    ? id === rule.toLowerCase() || id.startsWith(rule.toLowerCase())
    : rule.test(id);
}

function checkTokens(where: string, tokens: number): void {
  if (!Number.isInteger(tokens) || tokens < 1)
    throw new ConfigError(`${where}: tokens must be a positive integer, got ${tokens}.`);
}

/**
 * Context windows (in tokens) by model: rules of its own, checked first, then Baton's table of
 * model families, then the price catalogue. A runtime given one (`createRuntime({ contextWindows })`)
 * sizes its runs' prompts with it alone; the others share the process table that
 * `registerContextWindow` fills.
 *
 * @example
 * ```ts
 * const windows = createContextWindows({ 'qwen2.5': 32_768 });
 * windows.windowOf('ollama:qwen2.5-coder'); // 32768
 * ```
 */
export class ContextWindows {
  /** Newest first. */
  readonly #rules: WindowRule[] = [];
  /** By `provider:model` name, misses included; cleared when a rule is added. */
  readonly #byName = new Map<string, number | undefined>();
  /** By AI SDK model object (asked every turn): skips lower-casing its id. Replaced when a rule is added. */
  #byModel = new WeakMap<object, number | undefined>();

  /** Declares the window of models whose id matches (see `registerContextWindow`), before earlier rules. */
  register(match: RegExp | string, tokens: number, where = 'registerContextWindow()'): void {
    checkTokens(where, tokens);
    this.#rules.unshift({ match, tokens });
    this.#byName.clear();
    this.#byModel = new WeakMap();
  }

  /** The window of a model in tokens, or undefined when unknown; see `contextWindowOf`. */
  windowOf(model: TokenModel): number | undefined {
    if (typeof model === 'object' && model !== null) {
      if (this.#byModel.has(model)) return this.#byModel.get(model);
      const tokens = this.#windowOfId(modelIdOf(model), `${model.provider.split('.')[0]}:${model.modelId}`);
      this.#byModel.set(model, tokens);
      return tokens;
    }
    return this.#windowOfId(modelIdOf(model), model);
  }

  /** From this table's rules, then the built-in table, then the price catalogue (`provider:model` as `name`). */
  #windowOfId(id: string, name: string): number | undefined {
    if (this.#byName.has(name)) return this.#byName.get(name);
    const tokens =
      this.#rules.find((rule) => matches(rule.match, id))?.tokens ??
      builtInWindows.find((rule) => matches(rule.match, id))?.tokens ??
      catalogueWindow(name);
    this.#byName.set(name, tokens);
    return tokens;
  }
}

/**
 * A runtime's own context windows: pass them as `createRuntime({ contextWindows })`. Keys match
 * the model id (after `provider:`) exactly or as a prefix; add regular expressions with
 * `register`. `registerContextWindow` does not reach them, and they reach no other runtime.
 *
 * @example
 * ```ts
 * const windows = createContextWindows({ 'qwen2.5': 32_768 });
 * windows.register(/^my-finetune/, 16_000);
 * const runtime = createRuntime({ contextWindows: windows });
 * ```
 */
export function createContextWindows(windows: Readonly<Record<string, number>> = {}): ContextWindows {
  const table = new ContextWindows();
  for (const [match, tokens] of Object.entries(windows))
    table.register(match, tokens, 'createContextWindows()');
  return table;
}

/** The process table: windows of runtimes created without their own `contextWindows`. */
const processWindows = new ContextWindows();

/**
 * Declares the context window (in tokens) of models whose id matches, in the process table (used
 * by every runtime created without its own `contextWindows`, and by `agent()` when it checks a
 * `context` option): a string matches the model id (after `provider:`) exactly or as a prefix.
 * Checked before the built-in table.
 *
 * @example
 * ```ts
 * registerContextWindow('qwen2.5', 32_768);
 * registerContextWindow(/^my-finetune/, 16_000);
 * ```
 */
export function registerContextWindow(match: RegExp | string, tokens: number): void {
  processWindows.register(match, tokens);
}

/**
 * The context window of a model in tokens by the process table, or undefined when Baton does not
 * know it (then the guard only enforces an agent's own `context.contextWindow` or `maxTokens`):
 * from `registerContextWindow`, then Baton's table of model families, then the price catalogue
 * (`@pydantic/genai-prices`, loaded on first need).
 *
 * @example
 * ```ts
 * contextWindowOf('openai:gpt-4o'); // 128000
 * ```
 */
export function contextWindowOf(model: TokenModel): number | undefined {
  return processWindows.windowOf(model);
}

/**
 * The context windows that apply to the run behind `ctx`: its runtime's, else the process table.
 *
 * @example
 * ```ts
 * const window = contextWindowsOf(ctx).windowOf(agent.model);
 * ```
 */
export function contextWindowsOf(ctx: RunContext): ContextWindows {
  return ctx.services.tenant.contextWindows ?? processWindows;
}

/**
 * A window from the price catalogue, for `provider:model` names the tables do not list. Skipped
 * for Baton's scripted models and bare ids, so the catalogue is loaded only for real unknown models.
 */
function catalogueWindow(name: string): number | undefined {
  if (!name.includes(':') || name.startsWith('scripted:')) return undefined;
  return catalogueContextWindow(name);
}

// The kernel carries a runtime's tables without naming this layer: the option and the tenant
// field are declared here, merged into the kernel's interfaces (docs/decisions/0008-per-run-slot.md).
declare module '../core/runtime-options.js' {
  interface RuntimeOptions {
    /**
     * This runtime's context windows, made with `createContextWindows`: its runs fit prompts to
     * these windows (then Baton's table and the catalogue) and never see `registerContextWindow`
     * or another runtime's table. Default: the process table that `registerContextWindow` fills.
     */
    contextWindows?: ContextWindows;
  }
}
declare module '../core/run-context.js' {
  interface Tenant {
    /** Context windows of this runtime (`createRuntime({ contextWindows: createContextWindows(...) })`). */
    readonly contextWindows?: ContextWindows | undefined;
  }
}

/** Token counting with a real BPE tokenizer (gpt-tokenizer), chosen per model family, loaded lazily. */

import { createRequire } from 'node:module';
import type {
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
} from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { ModelSpec } from '../models/resolve-model.js';

/** The BPE encodings Baton can count with (both ship with gpt-tokenizer). */
export type TokenEncoding = 'o200k_base' | 'cl100k_base';

/**
 * How a model family's tokens are counted: with `encoding`, then multiplied by `margin` (1 for
 * OpenAI models, whose tokenizer this is; above 1 for others, counted with the closest encoding).
 *
 * @example
 * ```ts
 * const tokenizer: TokenizerInfo = { encoding: 'o200k_base', margin: 1.25, exact: false };
 * ```
 */
export interface TokenizerInfo {
  encoding: TokenEncoding;
  margin: number;
  /** True when `encoding` is the model's own tokenizer (counts are exact, not estimates). */
  exact: boolean;
}

interface FamilyRule {
  match: RegExp | string;
  info: TokenizerInfo;
}

/**
 * Families, first match wins on the model id (the part after `provider:`). OpenAI models use their
 * own encodings. Others are counted with o200k_base and a safety margin: Anthropic's tokenizer
 * yields noticeably more tokens than o200k on English and code (×1.3); Gemini, Llama 3, Mistral
 * and Qwen use large vocabularies close to o200k/cl100k (×1.15); anything unknown gets ×1.2.
 */
const builtInFamilies: FamilyRule[] = [
  { match: /^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4)/, info: exact('o200k_base') },
  { match: /^(gpt-4|gpt-3\.5|text-embedding-(ada|3))/, info: exact('cl100k_base') },
  { match: /claude/, info: { encoding: 'o200k_base', margin: 1.3, exact: false } },
  {
    match: /gemini|gemma|llama|mistral|mixtral|qwen|deepseek|phi/,
    info: { encoding: 'o200k_base', margin: 1.15, exact: false },
  },
];
const unknownFamily: TokenizerInfo = { encoding: 'o200k_base', margin: 1.2, exact: false };

function exact(encoding: TokenEncoding): TokenizerInfo {
  return { encoding, margin: 1, exact: true };
}

/** A model as the token helpers accept it: a spec, or a `provider:model` or bare model id string. */
export type TokenModel = ModelSpec | string;

/** The model id (after `provider:`), lower-cased, for the family and window tables. */
export function modelIdOf(model: TokenModel): string {
  if (typeof model === 'string') {
    const separator = model.indexOf(':');
    return (separator < 0 ? model : model.slice(separator + 1)).toLowerCase();
  }
  return String(model.modelId).toLowerCase();
}

function matches(rule: RegExp | string, id: string): boolean {
  return typeof rule === 'string'
    ? id === rule.toLowerCase() || id.startsWith(rule.toLowerCase())
    : rule.test(id);
}

/** How a tokenizer is declared: an encoding, and a margin >= 1 for models it only approximates. */
export interface TokenizerRule {
  encoding: TokenEncoding;
  margin?: number;
}

/**
 * Which tokenizer counts a model's tokens: rules of its own, checked first, then Baton's families.
 * A runtime given one (`createRuntime({ tokenizers })`) counts its runs' prompts with it alone;
 * the others share the process table that `registerTokenizer` fills.
 *
 * @example
 * ```ts
 * const tokenizers = createTokenizers({ 'my-finetune': { encoding: 'cl100k_base', margin: 1.1 } });
 * tokenizers.tokenizerFor('local:my-finetune-v2'); // { encoding: 'cl100k_base', margin: 1.1, exact: false }
 * ```
 */
export class Tokenizers {
  /** Newest first. */
  readonly #rules: FamilyRule[] = [];
  /** By lower-cased model id; cleared when a rule is added. */
  readonly #byId = new Map<string, TokenizerInfo>();

  /** Declares how models whose id matches are counted (see `registerTokenizer`), before earlier rules. */
  register(match: RegExp | string, tokenizer: TokenizerRule, where = 'registerTokenizer()'): void {
    if (tokenizer?.encoding !== 'o200k_base' && tokenizer?.encoding !== 'cl100k_base')
      throw new ConfigError(
        `${where}: encoding must be "o200k_base" or "cl100k_base", got ${String(tokenizer?.encoding)}.`,
      );
    const margin = tokenizer.margin ?? 1;
    if (!(margin >= 1)) throw new ConfigError(`${where}: margin must be a number >= 1, got ${margin}.`);
    this.#rules.unshift({ match, info: { encoding: tokenizer.encoding, margin, exact: margin === 1 } });
    this.#byId.clear();
  }

  /** The tokenizer a model's tokens are counted with; see `tokenizerFor`. */
  tokenizerFor(model: TokenModel): TokenizerInfo {
    const id = modelIdOf(model);
    let info = this.#byId.get(id);
    if (info === undefined) {
      info =
        this.#rules.find((rule) => matches(rule.match, id))?.info ??
        builtInFamilies.find((rule) => matches(rule.match, id))?.info ??
        unknownFamily;
      this.#byId.set(id, info);
    }
    return info;
  }
}

/**
 * A runtime's own tokenizer rules: pass them as `createRuntime({ tokenizers })`. Keys match the
 * model id (after `provider:`) exactly or as a prefix; add regular expressions with `register`.
 * `registerTokenizer` does not reach them, and they reach no other runtime.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ tokenizers: createTokenizers({ 'my-finetune': { encoding: 'cl100k_base' } }) });
 * ```
 */
export function createTokenizers(rules: Readonly<Record<string, TokenizerRule>> = {}): Tokenizers {
  const tokenizers = new Tokenizers();
  for (const [match, rule] of Object.entries(rules)) tokenizers.register(match, rule, 'createTokenizers()');
  return tokenizers;
}

/** The process table: tokenizers of runtimes created without their own `tokenizers`. */
const processTokenizers = new Tokenizers();

/**
 * Tells Baton how to count tokens for models whose id matches, in the process table (used by
 * every runtime created without its own `tokenizers`): checked before the built-in families; a
 * string matches the model id exactly or as a prefix.
 *
 * @example
 * ```ts
 * registerTokenizer(/^my-finetune/, { encoding: 'cl100k_base', margin: 1.1 });
 * ```
 */
export function registerTokenizer(match: RegExp | string, tokenizer: TokenizerRule): void {
  processTokenizers.register(match, tokenizer);
}

/**
 * The tokenizer Baton counts a model's tokens with, by the process table.
 *
 * @example
 * ```ts
 * tokenizerFor('openai:gpt-4o'); // { encoding: 'o200k_base', margin: 1, exact: true }
 * tokenizerFor('anthropic:claude-sonnet-4-5'); // { encoding: 'o200k_base', margin: 1.3, exact: false }
 * ```
 */
export function tokenizerFor(model: TokenModel): TokenizerInfo {
  return processTokenizers.tokenizerFor(model);
}

/**
 * The tokenizers that apply to the run behind `ctx`: its runtime's, else the process table.
 *
 * @example
 * ```ts
 * const { encoding, margin } = tokenizersOf(ctx).tokenizerFor(agent.model);
 * ```
 */
export function tokenizersOf(ctx: RunContext): Tokenizers {
  return ctx.services.tenant.tokenizers ?? processTokenizers;
}

type Encoder = { countTokens: (text: string, options: { disallowedSpecial: Set<string> }) => number };
/** User text that looks like a special token (`<|endoftext|>`) is counted as text instead of throwing. */
const plainText = { disallowedSpecial: new Set<string>() };
/**
 * Loaded encodings, shared by every runtime of the process: an encoding is gpt-tokenizer's
 * immutable code and merge tables (nothing a runtime registers reaches it), so sharing it
 * shares no tenant state. Which encoding a model gets is the runtime's (`Tokenizers`).
 */
const encoders = new Map<TokenEncoding, Encoder>();
const require = createRequire(import.meta.url);

/** Loads one encoding on first use only (each costs ~150-300 ms and several MB to load). */
function encoder(encoding: TokenEncoding): Encoder {
  let loaded = encoders.get(encoding);
  if (loaded === undefined) {
    loaded = require(`gpt-tokenizer/cjs/encoding/${encoding}`) as Encoder;
    encoders.set(encoding, loaded);
  }
  return loaded;
}

/** Tokens of `text` in `encoding`, without a margin; special-token text is counted as plain text. */
export function encodingTokens(text: string, encoding: TokenEncoding): number {
  if (text.length === 0) return 0;
  return encoder(encoding).countTokens(text, plainText);
}

/**
 * Tokens of a text for a model: exact for OpenAI families, an upward-rounded estimate
 * (closest encoding × margin) for others.
 *
 * @example
 * ```ts
 * countTokens('Where is my order A-1001?', 'openai:gpt-4o'); // 9
 * ```
 */
export function countTokens(text: string, model: TokenModel): number {
  const info = tokenizerFor(model);
  return Math.ceil(encodingTokens(text, info.encoding) * info.margin);
}

/** Per-message framing tokens (role markers, separators) added by chat formats; OpenAI documents 3. */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens priming the reply, added once per prompt. */
export const PROMPT_OVERHEAD_TOKENS = 3;

/**
 * Raw (margin-free) counts per message and encoding: history messages are stable objects, so each
 * is counted once. A pure memo (the message and the encoding decide the count alone), so runtimes
 * may share it; the same holds for the system-prompt and tool counts below.
 */
const messageCounts = new WeakMap<object, Map<TokenEncoding, number>>();

/** The text a message stands for when counted: its text parts, tool names, arguments and results. */
export function messageText(message: LanguageModelV3Message): string {
  if (message.role === 'system') return message.content;
  let text = '';
  for (const part of message.content) {
    switch (part.type) {
      case 'text':
      case 'reasoning':
        text += `${part.text}\n`;
        break;
      case 'tool-call':
        text += `${part.toolName} ${typeof part.input === 'string' ? part.input : JSON.stringify(part.input)}\n`;
        break;
      case 'tool-result':
        text += `${part.toolName} ${toolOutputText(part.output)}\n`;
        break;
      case 'file':
        // Images and files are billed by the provider's own rules; count their reference, not their bytes.
        text += `[file ${part.mediaType}]\n`;
        break;
      default:
        text += `${JSON.stringify(part)}\n`;
    }
  }
  return text;
}

/** The text of a tool result's output as `messageText` writes it. */
export function toolOutputText(output: { type: string; value?: unknown; reason?: string }): string {
  if (output.type === 'text' || output.type === 'error-text') return String(output.value);
  if (output.type === 'execution-denied') return output.reason ?? 'denied';
  return JSON.stringify(output.value) ?? '';
}

/**
 * Raw counts of system prompts by text and encoding: the system message is a new object every
 * turn (built from the agent's instructions), but its text rarely changes. Bounded: cleared when full.
 */
const systemCounts = new Map<TokenEncoding, Map<string, number>>();
const maxSystemCounts = 256;

function systemPromptTokens(content: string, encoding: TokenEncoding): number {
  let perText = systemCounts.get(encoding);
  if (perText === undefined) {
    perText = new Map();
    systemCounts.set(encoding, perText);
  }
  let tokens = perText.get(content);
  if (tokens === undefined) {
    tokens = encodingTokens(content, encoding) + MESSAGE_OVERHEAD_TOKENS;
    if (perText.size >= maxSystemCounts) perText.clear();
    perText.set(content, tokens);
  }
  return tokens;
}

/** A message's raw tokens in `encoding`, including the framing overhead; cached per message object (system prompts by text). */
export function messageTokens(message: LanguageModelV3Message, encoding: TokenEncoding): number {
  if (message.role === 'system') return systemPromptTokens(message.content, encoding);
  let perEncoding = messageCounts.get(message);
  if (perEncoding === undefined) {
    perEncoding = new Map();
    messageCounts.set(message, perEncoding);
  }
  let tokens = perEncoding.get(encoding);
  if (tokens === undefined) {
    tokens = encodingTokens(messageText(message), encoding) + MESSAGE_OVERHEAD_TOKENS;
    perEncoding.set(encoding, tokens);
  }
  return tokens;
}

const toolCounts = new WeakMap<object, Map<TokenEncoding, number>>();

function toolTokens(tool: LanguageModelV3FunctionTool, encoding: TokenEncoding): number {
  let perEncoding = toolCounts.get(tool);
  if (perEncoding === undefined) {
    perEncoding = new Map();
    toolCounts.set(tool, perEncoding);
  }
  let tokens = perEncoding.get(encoding);
  if (tokens === undefined) {
    const text = `${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.inputSchema)}`;
    tokens = encodingTokens(text, encoding) + MESSAGE_OVERHEAD_TOKENS;
    perEncoding.set(encoding, tokens);
  }
  return tokens;
}

/**
 * Tokens a prompt (system, messages and, when given, the tool definitions) takes for a model:
 * each message's text, tool calls and results, plus per-message framing. Exact text counts for
 * OpenAI families (the framing is an upper estimate), closest encoding × margin for others.
 * Counts per message are cached, so counting a growing conversation each turn is incremental.
 * The tokenizer is chosen by `tokenizers` (default: the process table; a run's is `tokenizersOf(ctx)`).
 *
 * @example
 * ```ts
 * const tokens = countPromptTokens([{ role: 'system', content: 'Be brief.' }, userMessage('Hi')], 'openai:gpt-4o');
 * ```
 */
export function countPromptTokens(
  prompt: LanguageModelV3Prompt,
  model: TokenModel,
  tools?: readonly LanguageModelV3FunctionTool[],
  tokenizers: Tokenizers = processTokenizers,
): number {
  const info = tokenizers.tokenizerFor(model);
  let raw = PROMPT_OVERHEAD_TOKENS;
  for (const message of prompt) raw += messageTokens(message, info.encoding);
  if (tools !== undefined) for (const tool of tools) raw += toolTokens(tool, info.encoding);
  return Math.ceil(raw * info.margin);
}

declare module '../core/runtime-options.js' {
  interface RuntimeOptions {
    /**
     * This runtime's tokenizer rules, made with `createTokenizers`: its runs count prompt tokens
     * with them (then Baton's families) and never see `registerTokenizer` or another runtime's.
     * Default: the process table that `registerTokenizer` fills.
     */
    tokenizers?: Tokenizers;
  }
}
declare module '../core/run-context.js' {
  interface Tenant {
    /** Tokenizer rules of this runtime (`createRuntime({ tokenizers: createTokenizers(...) })`). */
    readonly tokenizers?: Tokenizers | undefined;
  }
}

/** Prompt sizes for the guard: cached token counts of system prompts and tool lists, and cheap byte bounds. */

import type { LanguageModelV3FunctionTool, LanguageModelV3Message } from '@ai-sdk/provider';
import { MESSAGE_OVERHEAD_TOKENS, messageTokens, type TokenEncoding, toolOutputText } from './tokens.js';

/** Tokens of system texts per encoding (system messages are rebuilt each turn; their text repeats). */
const systemCounts = new Map<string, number>();

/** Raw tokens of a system message, cached by its text. */
export function systemTokens(message: LanguageModelV3Message, encoding: TokenEncoding): number {
  const key = `${encoding}\u0000${message.role === 'system' ? message.content : ''}`;
  let tokens = systemCounts.get(key);
  if (tokens === undefined) {
    tokens = messageTokens(message, encoding);
    if (systemCounts.size > 512) systemCounts.clear();
    systemCounts.set(key, tokens);
  }
  return tokens;
}

const byteCounts = new WeakMap<object, number>();

/** Messages at least this long (in UTF-16 units) keep their byte count; shorter ones are counted again, which is cheaper than a cache entry. */
const CACHED_MESSAGE_LENGTH = 2048;

/**
 * An upper bound of a message's tokens in any byte-level BPE (every token is at least one
 * byte): the UTF-8 bytes of `messageText(message)` plus the per-message overhead, counted part
 * by part without building the text. Long messages keep their count (history is measured
 * again every turn).
 */
export function messageBytes(message: LanguageModelV3Message): number {
  if (message.role === 'system') return Buffer.byteLength(message.content) + MESSAGE_OVERHEAD_TOKENS;
  let bytes = byteCounts.get(message);
  if (bytes !== undefined) return bytes;
  let length = 0;
  bytes = MESSAGE_OVERHEAD_TOKENS;
  for (const part of message.content) {
    // Each part is `<text>\n` in messageText, tool parts `<toolName> <text>\n`; see there.
    let text: string;
    switch (part.type) {
      case 'text':
      case 'reasoning':
        text = part.text;
        break;
      case 'tool-call':
        bytes += Buffer.byteLength(part.toolName) + 1;
        text = typeof part.input === 'string' ? part.input : JSON.stringify(part.input);
        break;
      case 'tool-result':
        bytes += Buffer.byteLength(part.toolName) + 1;
        text = toolOutputText(part.output);
        break;
      case 'file':
        text = `[file ${part.mediaType}]`;
        break;
      default:
        text = JSON.stringify(part);
    }
    length += text.length;
    bytes += Buffer.byteLength(text) + 1;
  }
  if (length >= CACHED_MESSAGE_LENGTH) byteCounts.set(message, bytes);
  return bytes;
}

/**
 * An upper bound of a whole prompt's tokens in any byte-level BPE, from `messageBytes`.
 *
 * @example
 * ```ts
 * const bound = promptBytes(prompt); // >= the tokens of every message, per-message overhead included
 * ```
 */
export function promptBytes(prompt: readonly LanguageModelV3Message[]): number {
  let bytes = 0;
  for (const message of prompt) bytes += messageBytes(message);
  return bytes;
}

const toolByteCounts = new WeakMap<object, number>();
const toolTokenCounts = new WeakMap<object, Map<TokenEncoding, number>>();

function toolText(tool: LanguageModelV3FunctionTool): string {
  return `${tool.name} ${tool.description ?? ''} ${JSON.stringify(tool.inputSchema)}`;
}

/** An upper bound of a tool list's tokens (UTF-8 bytes of names, descriptions and schemas). */
export function toolBytes(tools: readonly LanguageModelV3FunctionTool[]): number {
  let bytes = toolByteCounts.get(tools);
  if (bytes === undefined) {
    bytes = 0;
    for (const tool of tools) bytes += Buffer.byteLength(toolText(tool)) + MESSAGE_OVERHEAD_TOKENS;
    toolByteCounts.set(tools, bytes);
  }
  return bytes;
}

/** Raw tokens of a tool list in `encoding`, cached per list. */
export function toolTokensOf(tools: readonly LanguageModelV3FunctionTool[], encoding: TokenEncoding): number {
  let perEncoding = toolTokenCounts.get(tools);
  if (perEncoding === undefined) {
    perEncoding = new Map();
    toolTokenCounts.set(tools, perEncoding);
  }
  let tokens = perEncoding.get(encoding);
  if (tokens === undefined) {
    tokens = 0;
    for (const tool of tools) tokens += messageTokens({ role: 'system', content: toolText(tool) }, encoding);
    perEncoding.set(encoding, tokens);
  }
  return tokens;
}

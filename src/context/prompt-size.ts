/** Prompt sizes for the guard: cached token counts of system prompts and tool lists, and cheap byte bounds. */

import type { LanguageModelV3FunctionTool, LanguageModelV3Message } from '@ai-sdk/provider';
import { MESSAGE_OVERHEAD_TOKENS, messageText, messageTokens, type TokenEncoding } from './tokens.js';

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

/** An upper bound of a message's tokens in any byte-level BPE (every token is at least one byte). */
export function messageBytes(message: LanguageModelV3Message): number {
  let bytes = byteCounts.get(message);
  if (bytes === undefined) {
    bytes = Buffer.byteLength(messageText(message)) + MESSAGE_OVERHEAD_TOKENS;
    byteCounts.set(message, bytes);
  }
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

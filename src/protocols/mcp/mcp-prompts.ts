/** An MCP server's prompts for agents: list them, and get one as Baton messages (a run's input) and as text (instructions). */

import { ConfigError, ToolError } from '../../core/errors.js';
import type { Message } from '../../index.js';
import type { McpConnection } from './mcp-connection.js';

/**
 * A prompt an MCP server offers (`prompts/list`), with the arguments it takes.
 *
 * @example
 * ```ts
 * const review: McpPrompt = { name: 'code_review', arguments: [{ name: 'code', required: true }] };
 * ```
 */
export interface McpPrompt {
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  arguments: { name: string; description?: string | undefined; required: boolean }[];
}

/**
 * A prompt filled in by its server (`prompts/get`): its messages in Baton's format, ready as a
 * run's input (`{ messages }`), and their text joined, ready as instructions.
 *
 * @example
 * ```ts
 * const prompt: McpPromptMessages = await source.getPrompt('code_review', { code });
 * await runtime.start(reviewer, { messages: prompt.messages });
 * ```
 */
export interface McpPromptMessages {
  description?: string | undefined;
  /** User and assistant messages: text parts, and file parts for images, audio and binary resources. */
  messages: Message[];
  /** The text of every message, joined by blank lines (embedded resources' text included). */
  text: string;
}

/** The prompt operations of one source (internal; `McpToolSet` exposes them). */
export interface McpPrompts {
  listPrompts(options?: { signal?: AbortSignal }): Promise<McpPrompt[]>;
  getPrompt(
    name: string,
    args?: Readonly<Record<string, string>>,
    options?: { signal?: AbortSignal },
  ): Promise<McpPromptMessages>;
}

type PromptContent =
  | { type: 'text'; text: string }
  | { type: 'image' | 'audio'; data: string; mimeType: string }
  | {
      type: 'resource';
      resource: { uri: string; mimeType?: string | undefined; text?: string; blob?: string };
    }
  | { type: 'resource_link'; uri: string; name: string; description?: string | undefined };

/** The prompts of the server behind `connection`. */
export function mcpPrompts(connection: McpConnection, label: string): McpPrompts {
  const offered = () => connection.serverCapabilities?.prompts !== undefined;

  const listPrompts = async (signal?: AbortSignal): Promise<McpPrompt[]> => {
    if (!offered()) return [];
    const all: McpPrompt[] = [];
    let cursor: string | undefined;
    do {
      const page = await connection.request(
        { tool: 'prompts/list' },
        signal,
        'request prompts/list',
        (client, options) => client.listPrompts(cursor === undefined ? {} : { cursor }, options),
      );
      for (const prompt of page.prompts)
        all.push({
          name: prompt.name,
          ...(prompt.title === undefined ? {} : { title: prompt.title }),
          ...(prompt.description === undefined ? {} : { description: prompt.description }),
          arguments: (prompt.arguments ?? []).map((argument) => ({
            name: argument.name,
            ...(argument.description === undefined ? {} : { description: argument.description }),
            required: argument.required === true,
          })),
        });
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  };

  return {
    listPrompts: (options = {}) => listPrompts(options.signal),
    async getPrompt(name, args = {}, options = {}) {
      const where = `getPrompt(${JSON.stringify(name)}) of MCP server "${label}"`;
      if (!offered())
        throw new ToolError(`${where}: the server offers no prompts.`, {
          tool: 'prompts/get',
          code: 'MCP_CALL_FAILED',
        });
      for (const [key, value] of Object.entries(args))
        if (typeof value !== 'string')
          throw new ConfigError(
            `${where}: argument "${key}" must be a string (MCP prompt arguments are text).`,
          );
      const result = await connection.request(
        { tool: 'prompts/get' },
        options.signal,
        `request prompts/get of ${name}`,
        (client, requestOptions) => client.getPrompt({ name, arguments: { ...args } }, requestOptions),
      );
      const messages = result.messages.map(
        (message) =>
          ({
            role: message.role,
            content: [partOf(message.content as PromptContent)],
          }) as Message,
      );
      const text = result.messages
        .map((message) => textOf(message.content as PromptContent))
        .filter((part) => part !== '')
        .join('\n\n');
      return {
        ...(result.description === undefined ? {} : { description: result.description }),
        messages,
        text,
      };
    },
  };
}

/** An MCP content block as a prompt part: text stays text; images, audio and binary resources become files. */
function partOf(
  content: PromptContent,
): { type: 'text'; text: string } | { type: 'file'; data: string; mediaType: string } {
  switch (content.type) {
    case 'text':
      return { type: 'text', text: content.text };
    case 'image':
    case 'audio':
      return { type: 'file', data: content.data, mediaType: content.mimeType };
    case 'resource':
      if (content.resource.text !== undefined) return { type: 'text', text: textOf(content) };
      return {
        type: 'file',
        data: content.resource.blob ?? '',
        mediaType: content.resource.mimeType ?? 'application/octet-stream',
      };
    case 'resource_link':
      return { type: 'text', text: textOf(content) };
  }
}

function textOf(content: PromptContent): string {
  switch (content.type) {
    case 'text':
      return content.text;
    case 'resource':
      return content.resource.text === undefined
        ? ''
        : `Resource ${content.resource.uri}:\n${content.resource.text}`;
    case 'resource_link':
      return `Resource ${content.uri} (${content.name})${content.description === undefined ? '' : `: ${content.description}`}`;
    default:
      return '';
  }
}

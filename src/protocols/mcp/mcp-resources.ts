/** An MCP server's resources for agents: list, templates and read, as a user message (context in a run's input) or as the tools list_resources and read_resource. */

import { z } from 'zod';
import { ToolError } from '../../core/errors.js';
import type { Message } from '../../index.js';
import type { Tool } from '../../tools/tool.js';
import type { McpConnection } from './mcp-connection.js';
import type { McpCallSite } from './mcp-errors.js';

/**
 * A resource an MCP server lists (`resources/list`).
 *
 * @example
 * ```ts
 * const readme: McpResource = { uri: 'file:///repo/README.md', name: 'README.md', mimeType: 'text/markdown' };
 * ```
 */
export interface McpResource {
  uri: string;
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  mimeType?: string | undefined;
  /** Size in bytes, when the server says. */
  size?: number | undefined;
}

/**
 * A family of resources an MCP server can read, by URI template (RFC 6570): fill in the variables
 * and read the URI.
 *
 * @example
 * ```ts
 * const issue: McpResourceTemplate = { uriTemplate: 'github://issues/{number}', name: 'issue' };
 * ```
 */
export interface McpResourceTemplate {
  uriTemplate: string;
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  mimeType?: string | undefined;
}

/**
 * One part of what reading a resource gives: text, or binary data (`blob`, base64).
 *
 * @example
 * ```ts
 * const part: McpResourceContent = { uri: 'file:///repo/README.md', mimeType: 'text/markdown', text: '# Repo' };
 * ```
 */
export interface McpResourceContent {
  uri: string;
  mimeType?: string | undefined;
  text?: string | undefined;
  /** Base64 of binary content. */
  blob?: string | undefined;
}

/**
 * Options of `resourceTools()`.
 *
 * @example
 * ```ts
 * const options: McpResourceToolsOptions = { maxChars: 8000 };
 * ```
 */
export interface McpResourceToolsOptions {
  /** The longest text `read_resource` returns; longer text is cut, saying how much is left out. Default 20000. */
  maxChars?: number;
  /** Most resources `list_resources` returns (the first ones the server lists). Default 100. */
  maxResources?: number;
}

type McpTool = Tool<Record<string, unknown>, unknown>;

/** The resource operations of one source (internal; `McpToolSet` exposes them). */
export interface McpResources {
  listResources(options?: { signal?: AbortSignal }): Promise<McpResource[]>;
  listResourceTemplates(options?: { signal?: AbortSignal }): Promise<McpResourceTemplate[]>;
  readResource(uri: string, options?: { signal?: AbortSignal }): Promise<McpResourceContent[]>;
  resourceMessage(uri: string, options?: { signal?: AbortSignal }): Promise<Message>;
  resourceTools(options?: McpResourceToolsOptions): McpTool[];
}

/** The resources of the server behind `connection`; tool names get `prefix`. */
export function mcpResources(connection: McpConnection, label: string, prefix: string): McpResources {
  const offered = () => connection.serverCapabilities?.resources !== undefined;
  const refuse = (site: McpCallSite, what: string) =>
    new ToolError(
      `MCP server "${label}" offers no resources (it declares ${Object.keys(connection.serverCapabilities ?? {}).join(', ') || 'nothing'}), so ${what} cannot run.`,
      {
        tool: site.tool,
        code: 'MCP_CALL_FAILED',
        ...(site.runId === undefined ? {} : { runId: site.runId }),
      },
    );

  const listResources = async (signal?: AbortSignal, site: McpCallSite = { tool: 'resources/list' }) => {
    if (!offered()) return [];
    const all: McpResource[] = [];
    let cursor: string | undefined;
    do {
      const page = await connection.request(site, signal, 'request resources/list', (client, options) =>
        client.listResources(cursor === undefined ? {} : { cursor }, options),
      );
      all.push(...page.resources.map(resourceView));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  };

  const listResourceTemplates = async (
    signal?: AbortSignal,
    site: McpCallSite = { tool: 'resources/templates/list' },
  ) => {
    if (!offered()) return [];
    const all: McpResourceTemplate[] = [];
    let cursor: string | undefined;
    do {
      const page = await connection.request(
        site,
        signal,
        'request resources/templates/list',
        (client, options) => client.listResourceTemplates(cursor === undefined ? {} : { cursor }, options),
      );
      all.push(
        ...page.resourceTemplates.map((template) =>
          compact({
            uriTemplate: template.uriTemplate,
            name: template.name,
            title: template.title,
            description: template.description,
            mimeType: template.mimeType,
          }),
        ),
      );
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return all;
  };

  const readResource = async (
    uri: string,
    signal?: AbortSignal,
    site: McpCallSite = { tool: 'resources/read' },
  ): Promise<McpResourceContent[]> => {
    if (!offered()) throw refuse(site, `reading ${uri}`);
    const result = await connection.request(
      site,
      signal,
      `request resources/read of ${uri}`,
      (client, options) => client.readResource({ uri }, options),
    );
    return result.contents.map((part) =>
      compact({
        uri: part.uri,
        mimeType: part.mimeType,
        text: 'text' in part && typeof part.text === 'string' ? part.text : undefined,
        blob: 'blob' in part && typeof part.blob === 'string' ? part.blob : undefined,
      }),
    );
  };

  return {
    listResources: (options = {}) => listResources(options.signal),
    listResourceTemplates: (options = {}) => listResourceTemplates(options.signal),
    readResource: (uri, options = {}) => readResource(uri, options.signal),
    async resourceMessage(uri, options = {}) {
      const contents = await readResource(uri, options.signal);
      return { role: 'user', content: contents.map(resourcePart) };
    },
    resourceTools(options = {}) {
      const maxChars = options.maxChars ?? 20_000;
      const maxResources = options.maxResources ?? 100;
      const listName = `${prefix}list_resources`;
      const readName = `${prefix}read_resource`;
      const list: McpTool = {
        kind: 'tool',
        name: listName,
        description: `Lists the resources (documents, files, records) the MCP server "${label}" offers: their URIs, names and descriptions, and URI templates to fill in. Read one with ${readName}.`,
        inputSchema: z.object({}).strict() as never,
        jsonSchema: { type: 'object', properties: {}, additionalProperties: false },
        idempotent: true,
        capabilities: ['read'],
        timeoutMs: undefined,
        async execute(_input, context) {
          const site = { tool: listName, agent: context.agent, runId: context.runId };
          const [resources, templates] = await Promise.all([
            listResources(context.signal, site),
            listResourceTemplates(context.signal, site),
          ]);
          return {
            resources: resources.slice(0, maxResources),
            ...(resources.length > maxResources ? { more: resources.length - maxResources } : {}),
            templates,
          };
        },
      };
      const read: McpTool = {
        kind: 'tool',
        name: readName,
        description: `Reads a resource of the MCP server "${label}" by URI (one ${listName} lists, or a template filled in) and returns its text.`,
        inputSchema: z.object({ uri: z.string().min(1) }).strict() as never,
        jsonSchema: {
          type: 'object',
          properties: { uri: { type: 'string', description: 'The resource URI.' } },
          required: ['uri'],
          additionalProperties: false,
        },
        idempotent: true,
        capabilities: ['read'],
        timeoutMs: undefined,
        async execute(input, context) {
          const uri = String(input.uri);
          const site = { tool: readName, agent: context.agent, runId: context.runId };
          const contents = await readResource(uri, context.signal, site);
          return clip(contents.map(partText).join('\n\n'), maxChars);
        },
      };
      return [list, read];
    },
  };
}

function resourceView(resource: {
  uri: string;
  name: string;
  title?: string | undefined;
  description?: string | undefined;
  mimeType?: string | undefined;
  size?: number | undefined;
}): McpResource {
  return compact({
    uri: resource.uri,
    name: resource.name,
    title: resource.title,
    description: resource.description,
    mimeType: resource.mimeType,
    size: resource.size,
  }) as McpResource;
}

/** A part of a resource as a prompt part: text with its URI, or a file. */
function resourcePart(part: McpResourceContent): Message['content'][number] & { type: 'text' | 'file' } {
  if (part.text !== undefined) return { type: 'text', text: `Resource ${part.uri}:\n${part.text}` };
  return { type: 'file', data: part.blob ?? '', mediaType: part.mimeType ?? 'application/octet-stream' };
}

/** A part of a resource as text for the model. */
function partText(part: McpResourceContent): string {
  if (part.text !== undefined) return part.text;
  const bytes = Math.floor(((part.blob ?? '').length * 3) / 4);
  return `[${part.uri}: binary content, ${part.mimeType ?? 'unknown type'}, about ${bytes} bytes; not shown]`;
}

function clip(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  return `${text.slice(0, maxChars)}\n[… ${text.length - maxChars} more characters not shown]`;
}

function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, entry]) => entry !== undefined)) as T;
}

/** Capability routing: offer the model only the few tools of a large registry that fit the latest messages (BM25), plus `search_tools`. */

import type {
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3ToolResultOutput,
} from '@ai-sdk/provider';
import { ConfigError } from '../core/errors.js';
import { loadZod } from '../core/load-zod.js';
import type { RunContext } from '../core/run-context.js';
import { type Tool, tool } from './tool.js';
import type { ToolEmbedder, ToolEmbeddingOptions } from './tool-embeddings.js';
import { buildIndex, rank, schemaText, tokenize } from './tool-index.js';

// biome-ignore lint/suspicious/noExplicitAny: a registry mixes input types; each is checked by its own schema.
type AnyTool = Tool<any, any>;

/** Options of an agent's `toolRouting`. */
export interface ToolRoutingOptions {
  /** Tools of the registry offered per turn, besides `search_tools` and tools found with it. Default 8. */
  maxTools?: number;
  /** Tools offered on every turn whatever the query (by name). */
  alwaysOffer?: readonly string[];
  /** Results `search_tools` returns per search. Default 5. */
  searchLimit?: number;
  /** Name of the search tool. Default `search_tools`. */
  searchToolName?: string;
  /**
   * Rank with an embedding model too (fused with BM25). Each turn's choice then runs as a
   * journaled step `tools:<agent>`, so a replay offers what was recorded.
   */
  embedding?: ToolEmbeddingOptions;
}

/** What routing with embeddings needs to journal its choice. */
export interface RouteJournal {
  ctx: RunContext;
  /** The agent whose turn it is; names the step `tools:<agent>`. */
  agent: string;
}

/** One search hit. */
export interface ToolMatch {
  name: string;
  description: string;
  score: number;
}

/** The tools of one turn, for the model and for running the calls. */
export interface RoutedOffer {
  /** What the model is offered: the chosen registry tools, `search_tools`, and anything that is not in the registry (handoffs, extra tools). */
  tools: LanguageModelV3FunctionTool[];
  /** Every tool a call may run: the whole registry plus `search_tools`. */
  own: readonly AnyTool[];
  /** Names of the registry tools offered, in offer order (recorded on the model step as `offeredTools`). */
  offered: readonly string[];
}

/** Picks the tools to offer per turn from a registry. */
export interface ToolRouter {
  /** The tool the model calls to find tools that were not offered. */
  readonly searchTool: Tool<{ query: string }, { tools: ToolMatch[] }>;
  readonly maxTools: number;
  /** Registry tools ranked for a free-text query (BM25 over names, descriptions and schema properties). */
  search(query: string, limit?: number): ToolMatch[];
  /**
   * The tools for the next model call, computed from the conversation alone (so a replay picks
   * the same): up to `maxTools` best matches for the messages since the last assistant message
   * (and the last user message), plus tools named in `alwaysOffer` and tools found with
   * `search_tools` earlier in the conversation. With `embedding`, the ranking is a journaled
   * step and `journal` is required; the result is then a promise.
   */
  route(
    base: { own: readonly AnyTool[]; tools: readonly LanguageModelV3FunctionTool[] },
    messages: readonly LanguageModelV3Message[],
    journal?: RouteJournal,
  ): RoutedOffer | Promise<RoutedOffer>;
}

/**
 * Builds a router over a tool registry (the index is built once, here).
 *
 * @example
 * ```ts
 * const router = createToolRouter(registry, { maxTools: 8 });
 * router.search('refund a duplicate charge', 3); // [{ name: 'refund_payment', ... }, ...]
 * // Usually through an agent: agent({ name, model, instructions, tools: registry, toolRouting: { maxTools: 8 } })
 * ```
 */
export function createToolRouter(
  registry: readonly AnyTool[],
  options: ToolRoutingOptions = {},
  where = 'createToolRouter',
): ToolRouter {
  const maxTools = options.maxTools ?? 8;
  if (!Number.isInteger(maxTools) || maxTools < 1)
    throw new ConfigError(`${where}: toolRouting.maxTools must be an integer >= 1, got ${options.maxTools}.`);
  const searchLimit = options.searchLimit ?? 5;
  if (!Number.isInteger(searchLimit) || searchLimit < 1)
    throw new ConfigError(
      `${where}: toolRouting.searchLimit must be an integer >= 1, got ${options.searchLimit}.`,
    );
  const searchName = options.searchToolName ?? 'search_tools';
  const byName = new Map(registry.map((entry) => [entry.name, entry]));
  if (byName.has(searchName))
    throw new ConfigError(
      `${where}: a tool is named "${searchName}", which toolRouting uses for its search tool; set toolRouting.searchToolName.`,
    );
  for (const name of options.alwaysOffer ?? []) {
    if (!byName.has(name))
      throw new ConfigError(
        `${where}: toolRouting.alwaysOffer names "${name}", which is not one of its tools.`,
      );
  }
  const index = buildIndex(registry);
  const embedder: ToolEmbedder | undefined =
    options.embedding === undefined
      ? undefined
      : lazyEmbedder(
          options.embedding,
          registry.map((entry) => `${entry.name}: ${entry.description} ${schemaText(entry.jsonSchema)}`),
        );
  const lexical = (query: string) => rank(index, tokenize(query));

  const search = (query: string, limit = searchLimit): ToolMatch[] =>
    lexical(query)
      .slice(0, limit)
      .map(({ position, score }) => {
        const found = registry[position]!;
        return { name: found.name, description: found.description, score: Math.round(score * 1000) / 1000 };
      });
  const searchWith = async (query: string, signal: AbortSignal) => {
    if (embedder === undefined) return { tools: search(query) };
    const positions = await embedder.rank(
      query,
      lexical(query).map((hit) => hit.position),
      searchLimit,
      signal,
    );
    return {
      tools: positions.map((position, order) => ({
        name: registry[position]!.name,
        description: registry[position]!.description,
        score: order + 1,
      })),
    };
  };

  const { z } = loadZod();
  const searchTool = tool({
    name: searchName,
    description:
      'Searches all available tools by what they do. Use it when none of the offered tools fits; the tools it finds can be called from the next turn on.',
    input: z.object({ query: z.string().describe('What the tool should do, in a few words') }),
    execute: ({ query }, context) => searchWith(query, context.signal),
    idempotent: true,
    // Searching the tool registry acts on nothing outside the run: allowed under any capability allow-list.
    capabilities: [],
  });
  const own = [...registry, searchTool];
  const searchFunction: LanguageModelV3FunctionTool = {
    type: 'function',
    name: searchTool.name,
    description: searchTool.description,
    inputSchema: searchTool.jsonSchema,
  };

  return {
    searchTool,
    maxTools,
    search,
    route(base, messages, journal) {
      const pinned = new Set<string>(options.alwaysOffer ?? []);
      for (const name of foundTools(messages, searchName)) if (byName.has(name)) pinned.add(name);
      const query = queryOf(messages);
      const offer = (ranking: readonly string[]) => build(base, pinned, ranking);
      if (embedder === undefined) return offer(lexical(query).map((hit) => registry[hit.position]!.name));
      if (journal === undefined)
        throw new ConfigError(`${where}: toolRouting.embedding needs a run context to journal its choice.`);
      return journal.ctx
        .step(
          `tools:${journal.agent}`,
          async (step) =>
            (
              await embedder.rank(
                query,
                lexical(query).map((hit) => hit.position),
                maxTools + pinned.size,
                step.signal,
              )
            ).map((position) => registry[position]!.name),
          { meta: { agent: journal.agent } },
        )
        .then(offer);
    },
  };

  function build(
    base: { own: readonly AnyTool[]; tools: readonly LanguageModelV3FunctionTool[] },
    pinned: ReadonlySet<string>,
    ranking: readonly string[],
  ): RoutedOffer {
    const chosen = new Set(pinned);
    let ranked = 0;
    for (const name of ranking) {
      if (ranked >= maxTools) break;
      if (chosen.has(name)) continue;
      chosen.add(name);
      ranked++;
    }
    const offered = registry.filter((entry) => chosen.has(entry.name)).map((entry) => entry.name);
    const tools = base.tools.filter((entry) => !byName.has(entry.name) || chosen.has(entry.name));
    tools.push(searchFunction);
    const extra = base.own.filter((entry) => !byName.has(entry.name));
    return { tools, own: extra.length === 0 ? own : [...own, ...extra], offered };
  }
}

/** The text routing searches with: the messages since the last assistant message, and the last user message. */
function queryOf(messages: readonly LanguageModelV3Message[]): string {
  const parts: string[] = [];
  let position = messages.length - 1;
  let sawUser = false;
  for (; position >= 0 && messages[position]!.role !== 'assistant'; position--) {
    sawUser ||= messages[position]!.role === 'user';
    parts.push(messageText(messages[position]!));
  }
  if (!sawUser) {
    const lastUser = messages.findLast((message) => message.role === 'user');
    if (lastUser !== undefined) parts.push(messageText(lastUser));
  }
  return parts.join(' ');
}

function messageText(message: LanguageModelV3Message): string {
  if (message.role === 'system') return '';
  const parts: string[] = [];
  for (const part of message.content) {
    if (part.type === 'text') parts.push(part.text);
    else if (part.type === 'tool-result') parts.push(outputText(part.output));
  }
  return parts.join(' ');
}

function outputText(output: LanguageModelV3ToolResultOutput): string {
  if (output.type === 'text' || output.type === 'error-text') return output.value;
  if (output.type === 'json' || output.type === 'error-json') return JSON.stringify(output.value);
  return '';
}

/** Names returned by earlier `search_tools` calls in the conversation. */
function foundTools(messages: readonly LanguageModelV3Message[], searchName: string): string[] {
  const names: string[] = [];
  for (const message of messages) {
    if (message.role !== 'tool') continue;
    for (const part of message.content) {
      if (part.type !== 'tool-result' || part.toolName !== searchName || part.output.type !== 'json')
        continue;
      const found = (part.output.value as { tools?: { name?: unknown }[] } | null)?.tools;
      if (!Array.isArray(found)) continue;
      for (const entry of found) if (typeof entry?.name === 'string') names.push(entry.name);
    }
  }
  return names;
}

/** An embedder whose module (tool-embeddings.ts) loads with its first ranking, not with the package. */
function lazyEmbedder(options: ToolEmbeddingOptions, documents: readonly string[]): ToolEmbedder {
  let embedder: Promise<ToolEmbedder> | undefined;
  return {
    rank(query, lexical, limit, signal) {
      embedder ??= import('./tool-embeddings.js').then(({ createToolEmbedder }) =>
        createToolEmbedder(options, documents),
      );
      return embedder.then((loaded) => loaded.rank(query, lexical, limit, signal));
    },
  };
}

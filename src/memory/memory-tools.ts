/** memoryTools(): the `remember` and `recall` tools that give an agent long-term memory in one scope. */

import { ConfigError } from '../core/errors.js';
import { loadZod } from '../core/load-zod.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import { type Tool, type ToolContext, tool } from '../tools/tool.js';
import type { Memory } from './memory.js';
import { type MemoryScope, scopeKey } from './memory-index.js';

/**
 * Which scope the tools read and write: `thread` (the run's thread; a run without one fails the
 * call), `agent` (the calling agent's name), or a fixed scope such as `{ user: 'u1' }`.
 */
export type MemoryToolScope = 'thread' | 'agent' | MemoryScope;

/** Options of `memoryTools`. */
export interface MemoryToolsOptions {
  /** Default `agent`. */
  scope?: MemoryToolScope;
  /** Memories `recall` returns. Default 5. */
  limit?: number;
}

const memoryToolsOptionNames = optionNames<MemoryToolsOptions>({ scope: true, limit: true });

/** The two memory tools. */
export interface MemoryTools {
  remember: Tool<{ text: string }, { remembered: string }>;
  recall: Tool<{ query: string }, { memories: { text: string; score: number }[] }>;
}

function resolveScope(scope: MemoryToolScope, context: ToolContext): MemoryScope {
  if (scope === 'agent') return { agent: context.agent };
  if (scope === 'thread') {
    if (context.threadId === undefined)
      throw new ConfigError(
        'The memory tools are scoped to the thread, but this run has no thread: start it with runtime.start(target, input, { threadId }).',
        { code: 'NO_THREAD', runId: context.runId },
      );
    return { thread: context.threadId };
  }
  return scope;
}

/**
 * The `remember` and `recall` tools over a memory, for an agent's `tools`. Each call is a
 * journaled tool step (a replay returns the recorded result); `remember` stores its memory under
 * the call's idempotency key, so a call re-run after a crash replaces rather than duplicates it.
 *
 * @example
 * ```ts
 * const memory = createMemory({ index: createSqliteMemoryIndex() });
 * const { remember, recall } = memoryTools(memory, { scope: 'thread' });
 * const assistant = agent({ name: 'assistant', model, instructions: '...', tools: [remember, recall] });
 * ```
 */
export function memoryTools(memory: Memory, options: MemoryToolsOptions = {}): MemoryTools {
  checkOptionNames('memoryTools()', options, memoryToolsOptionNames);
  const scope = options.scope ?? 'agent';
  const limit = options.limit ?? 5;
  // A fixed scope is checked when defining, not on the first call.
  if (typeof scope !== 'string') scopeKey(scope);
  else if (scope !== 'agent' && scope !== 'thread')
    throw new ConfigError(
      `memoryTools(): scope must be 'thread', 'agent' or a scope object, got "${scope}".`,
      {
        code: 'INVALID_MEMORY_SCOPE',
      },
    );
  if (!Number.isInteger(limit) || limit < 1)
    throw new ConfigError(`memoryTools(): limit must be a positive integer, got ${limit}.`, {
      code: 'INVALID_OPTION',
    });
  const { z } = loadZod();
  return {
    remember: tool({
      name: 'remember',
      description:
        'Stores a fact worth keeping for later conversations (a preference, a decision, a detail about the user). One fact per call, stated so it makes sense on its own.',
      input: z.object({ text: z.string().min(1).describe('The fact to remember, as a full sentence') }),
      idempotent: true,
      // The agent's own long-term memory: no capability needed.
      capabilities: [],
      execute: async ({ text }, context) => {
        const item = await memory.remember(text, {
          scope: resolveScope(scope, context),
          id: context.idempotencyKey,
          metadata: { runId: context.runId, agent: context.agent },
          abortSignal: context.signal,
        });
        return { remembered: item.id };
      },
    }),
    recall: tool({
      name: 'recall',
      description:
        'Searches long-term memory for facts stored in earlier conversations. Returns the best matches first.',
      input: z.object({ query: z.string().min(1).describe('What to look for, in a few words') }),
      idempotent: true,
      capabilities: [],
      execute: async ({ query }, context) => {
        const hits = await memory.recall(query, {
          scope: resolveScope(scope, context),
          limit,
          abortSignal: context.signal,
        });
        return { memories: hits.map((hit) => ({ text: hit.text, score: hit.score })) };
      },
    }),
  };
}

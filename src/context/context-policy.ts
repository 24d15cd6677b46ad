/** An agent's context policy: the `context` option of `agent()`, checked when the agent is defined. */

import { ConfigError } from '../core/errors.js';
import type { ModelChain, ModelSpec } from '../models/resolve-model.js';
import { contextWindowOf } from './context-windows.js';

/**
 * How older turns are summarized by `history: 'compact'`.
 *
 * @example
 * ```ts
 * const compaction: CompactionOptions = { model: 'openai:gpt-4o-mini', triggerRatio: 0.7, keepRecentTokens: 2_000 };
 * ```
 */
export interface CompactionOptions {
  /** The model that writes the summary; default the agent's own model. */
  model?: ModelSpec;
  /** Compact once the prompt passes this share of the token limit. Default 0.8. */
  triggerRatio?: number;
  /** Tokens of the most recent messages kept verbatim. Default 30% of the token limit. */
  keepRecentTokens?: number;
  /** The summarizer's instructions; a default asks for key facts, decisions and open questions. */
  instructions?: string;
}

/**
 * Pruning of tool-call details and intermediate reasoning in what the model is sent (the run's
 * history itself keeps everything).
 *
 * @example
 * ```ts
 * const prune: PruneOptions = { toolResults: 'truncate', keepToolTurns: 2, toolResultTokens: 100, reasoning: 'drop' };
 * ```
 */
export interface PruneOptions {
  /** Older tool results: `truncate` to `toolResultTokens`, `drop` the call/result pairs, or `keep`. Default `truncate`. */
  toolResults?: 'keep' | 'truncate' | 'drop';
  /** The most recent tool turns (assistant tool calls with their results) left untouched. Default 2. */
  keepToolTurns?: number;
  /** About how many tokens of an older tool result `truncate` keeps. Default 100. */
  toolResultTokens?: number;
  /** Reasoning parts of assistant messages before the last user message: `drop` (default) or `keep`. */
  reasoning?: 'keep' | 'drop';
}

/**
 * The `context` option of `agent()`: how the conversation is fitted into the model's window.
 *
 * @example
 * ```ts
 * agent({
 *   name: 'support', model: 'openai:gpt-4o', instructions: 'Help the customer.',
 *   context: { history: 'compact', prune: { toolResults: 'truncate' }, scope: ['customer.id', 'order'] },
 * });
 * ```
 */
export interface ContextOptions {
  /**
   * `full` (default): the whole conversation, trimmed by the guard only when it would not fit;
   * `window`: the most recent messages that fit `maxTokens`; `compact`: older turns summarized
   * into key facts by a model (a journaled step) once the prompt passes `compaction.triggerRatio`.
   */
  history?: 'full' | 'window' | 'compact';
  /** Token limit of a prompt (system, messages, tools). Default: the model's window minus `reserveOutputTokens`. */
  maxTokens?: number;
  /** The model's context window, when Baton does not know it (see `registerContextWindow`) or to override. */
  contextWindow?: number;
  /** Tokens kept free for the answer. Default: `settings.maxOutputTokens`, else min(4096, window / 4). */
  reserveOutputTokens?: number;
  compaction?: CompactionOptions;
  prune?: PruneOptions;
  /**
   * Dotted paths of the run's structured context (`{ messages, context }` input) this agent sees,
   * e.g. `['customer.id', 'order']`. Without `scope` the agent sees the whole object; `[]` none.
   */
  scope?: readonly string[];
}

/** A context policy with its defaults filled in. */
export interface ContextPolicy {
  readonly history: 'full' | 'window' | 'compact';
  readonly maxTokens: number | undefined;
  readonly contextWindow: number | undefined;
  readonly reserveOutputTokens: number | undefined;
  readonly compaction: Required<Omit<CompactionOptions, 'model' | 'keepRecentTokens'>> &
    Pick<CompactionOptions, 'model' | 'keepRecentTokens'>;
  readonly prune: Required<PruneOptions> | undefined;
  readonly scope: readonly string[] | undefined;
  /** True when the policy is the default (full history, no limits, no pruning, no scope). */
  readonly isDefault: boolean;
}

/** The summarizer's default instructions. */
export const DEFAULT_COMPACTION_INSTRUCTIONS =
  'Summarize the conversation below for the assistant that continues it. Keep every fact it may need: names, ids, amounts, dates, decisions taken, tool results that matter, and open questions. Write short bullet points; no preamble.';

const defaultCompaction = Object.freeze({
  triggerRatio: 0.8,
  instructions: DEFAULT_COMPACTION_INSTRUCTIONS,
});

/** The policy of agents that set no `context` option. */
export const DEFAULT_CONTEXT_POLICY: ContextPolicy = Object.freeze({
  history: 'full',
  maxTokens: undefined,
  contextWindow: undefined,
  reserveOutputTokens: undefined,
  compaction: defaultCompaction,
  prune: undefined,
  scope: undefined,
  isDefault: true,
});

function positive(where: string, field: string, value: number | undefined, minimum = 1): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < minimum)
    throw new ConfigError(`${where}: context.${field} must be an integer >= ${minimum}, got ${value}.`);
  return value;
}

/**
 * Checks an agent's `context` option and fills in defaults; throws `ConfigError` naming the field.
 *
 * @example
 * ```ts
 * const policy = resolveContextPolicy('agent("support")', { history: 'window', maxTokens: 8_000 }, 'openai:gpt-4o');
 * ```
 */
export function resolveContextPolicy(
  where: string,
  options: ContextOptions | undefined,
  model: ModelChain,
): ContextPolicy {
  if (options === undefined) return DEFAULT_CONTEXT_POLICY;
  if (options === null || typeof options !== 'object')
    throw new ConfigError(
      `${where}: context must be an object such as { history: 'window', maxTokens: 8000 }.`,
    );
  const history = options.history ?? 'full';
  if (history !== 'full' && history !== 'window' && history !== 'compact')
    throw new ConfigError(
      `${where}: context.history must be "full", "window" or "compact", got ${JSON.stringify(history)}.`,
    );
  const maxTokens = positive(where, 'maxTokens', options.maxTokens);
  const contextWindow = positive(where, 'contextWindow', options.contextWindow);
  const reserveOutputTokens = positive(where, 'reserveOutputTokens', options.reserveOutputTokens, 0);
  const known =
    contextWindow ??
    (Array.isArray(model) ? model : [model as ModelSpec])
      .map(contextWindowOf)
      .find((window) => window !== undefined);
  if (history !== 'full' && maxTokens === undefined && known === undefined)
    throw new ConfigError(
      `${where}: context.history "${history}" needs a token limit, and the window of this model is unknown: set context.maxTokens or context.contextWindow (or registerContextWindow()).`,
    );
  const compactionOptions = options.compaction ?? {};
  const triggerRatio = compactionOptions.triggerRatio ?? defaultCompaction.triggerRatio;
  if (!(triggerRatio > 0 && triggerRatio <= 1))
    throw new ConfigError(
      `${where}: context.compaction.triggerRatio must be in (0, 1], got ${triggerRatio}.`,
    );
  const keepRecentTokens = positive(
    where,
    'compaction.keepRecentTokens',
    compactionOptions.keepRecentTokens,
    0,
  );
  const compaction = {
    triggerRatio,
    instructions: compactionOptions.instructions ?? defaultCompaction.instructions,
    ...(compactionOptions.model === undefined ? {} : { model: compactionOptions.model }),
    ...(keepRecentTokens === undefined ? {} : { keepRecentTokens }),
  };
  let prune: Required<PruneOptions> | undefined;
  if (options.prune !== undefined) {
    const toolResults = options.prune.toolResults ?? 'truncate';
    if (toolResults !== 'keep' && toolResults !== 'truncate' && toolResults !== 'drop')
      throw new ConfigError(
        `${where}: context.prune.toolResults must be "keep", "truncate" or "drop", got ${JSON.stringify(toolResults)}.`,
      );
    const reasoning = options.prune.reasoning ?? 'drop';
    if (reasoning !== 'keep' && reasoning !== 'drop')
      throw new ConfigError(
        `${where}: context.prune.reasoning must be "keep" or "drop", got ${JSON.stringify(reasoning)}.`,
      );
    prune = {
      toolResults,
      reasoning,
      keepToolTurns: positive(where, 'prune.keepToolTurns', options.prune.keepToolTurns, 0) ?? 2,
      toolResultTokens: positive(where, 'prune.toolResultTokens', options.prune.toolResultTokens) ?? 100,
    };
  }
  let scope: readonly string[] | undefined;
  if (options.scope !== undefined) {
    if (!Array.isArray(options.scope))
      throw new ConfigError(
        `${where}: context.scope must be an array of dotted paths such as ['customer.id'].`,
      );
    for (const [index, path] of options.scope.entries()) {
      if (typeof path !== 'string' || !/^[^.\s]+(\.[^.\s]+)*$/.test(path))
        throw new ConfigError(
          `${where}: context.scope[${index}] must be a dotted path such as "customer.id", got ${JSON.stringify(path)}.`,
        );
    }
    scope = Object.freeze([...options.scope]);
  }
  return Object.freeze({
    history,
    maxTokens,
    contextWindow,
    reserveOutputTokens,
    compaction,
    prune,
    scope,
    isDefault: false,
  });
}

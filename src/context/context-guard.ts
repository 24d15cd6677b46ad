/** The context-window guard: applies an agent's context policy before every model call and never sends an over-long prompt. */

import type {
  LanguageModelV3FunctionTool,
  LanguageModelV3Message,
  LanguageModelV3Prompt,
} from '@ai-sdk/provider';
import { BatonError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { StepMeta } from '../core/store.js';
import type { ModelChain, ModelSpec } from '../models/resolve-model.js';
import { compactHistory, isSummaryMessage } from './compaction.js';
import { type ContextPolicy, DEFAULT_CONTEXT_POLICY } from './context-policy.js';
import { type ContextWindows, contextWindowsOf } from './context-windows.js';
import { fitToLimit, isUserRequest } from './fit-to-limit.js';
import type { AgentInput, Message } from './messages.js';
import { messageBytes, systemTokens, toolBytes, toolTokensOf } from './prompt-size.js';
import { pruneMessages } from './pruning.js';
import { type StructuredContext, withScopedContext } from './scoped-context.js';
import {
  messageTokens,
  PROMPT_OVERHEAD_TOKENS,
  type TokenEncoding,
  type Tokenizers,
  tokenizersOf,
} from './tokens.js';

/**
 * A prompt that cannot fit the model's window even at its minimum: the system prompt (with
 * tools) and the last user message. Code `CONTEXT_OVERFLOW`, fault `user`.
 *
 * @example
 * ```ts
 * await handle.result().catch((error) => { if (error.code === 'CONTEXT_OVERFLOW') console.log(error.minimumTokens, error.limit); });
 * ```
 */
export class ContextOverflowError extends BatonError {
  readonly agent: string;
  readonly minimumTokens: number;
  readonly limit: number;
  constructor(
    message: string,
    options: { agent: string; minimumTokens: number; limit: number; runId?: string },
  ) {
    super(message, { code: 'CONTEXT_OVERFLOW', fault: 'user', runId: options.runId });
    this.name = 'ContextOverflowError';
    this.agent = options.agent;
    this.minimumTokens = options.minimumTokens;
    this.limit = options.limit;
  }
}

/**
 * What the guard did for one model call: recorded on the model step's meta (`context`) and sent
 * as a `context-trimmed` event when anything was left out.
 *
 * @example
 * ```ts
 * runtime.on((event) => { if (event.type === 'context-trimmed') console.log(event.droppedMessages, event.promptTokens); });
 * ```
 */
export interface ContextReport {
  /** Tokens of the prompt sent (system, messages, tools), as counted for the agent's model. */
  promptTokens: number;
  /** The most the prompt may take: min(`maxTokens`, window − reserved output tokens). */
  limit: number;
  /** What was done: `compacted`, `pruned`, `trimmed` (messages dropped or shortened to fit). */
  actions: string[];
  droppedMessages: number;
  droppedTokens: number;
  truncatedToolResults: number;
  compactedMessages: number;
}

/** What the context layer reads of an agent (an `Agent` has all of it). */
export interface ContextAgent {
  readonly name: string;
  readonly model: ModelSpec;
  readonly models: readonly ModelSpec[];
  readonly settings: { readonly maxOutputTokens?: number | undefined };
  readonly context: ContextPolicy;
}

/** Per-run state of the context layer inside one `runAgent` call. */
export interface ContextState {
  /** The run's structured context (`{ messages, context }` input), if any. */
  readonly structured: StructuredContext | undefined;
  /** Compactions so far per agent (the summarizer's deterministic turn number); made on the first one. */
  compactions: Map<string, number> | undefined;
}

/**
 * The context state for an agent input: its structured `context` object, if any.
 *
 * @example
 * ```ts
 * const state = createContextState({ messages: [userMessage('Refund A-1')], context: { order: { id: 'A-1' } } });
 * ```
 */
export function createContextState(input: AgentInput): ContextState {
  return { structured: structuredContextOf(input), compactions: undefined };
}

/** The structured `context` object of an agent input, if any. */
function structuredContextOf(input: AgentInput): StructuredContext | undefined {
  const structured =
    typeof input === 'object' && input !== null && 'context' in input ? input.context : undefined;
  return structured !== null && typeof structured === 'object' ? structured : undefined;
}

/** The models of a spec or fallback chain. */
function modelsOf(model: ModelChain): readonly ModelSpec[] {
  return Array.isArray(model) ? model : [model as ModelSpec];
}

/** A fallback chain's prompt must fit every model in it: the smallest window the run's runtime knows. */
function windowOfChain(windows: ContextWindows, chain: readonly ModelSpec[]): number | undefined {
  let smallest: number | undefined;
  for (const model of chain) {
    const window = windows.windowOf(model);
    if (window !== undefined && (smallest === undefined || window < smallest)) smallest = window;
  }
  return smallest;
}

/** The first model's encoding, with the largest margin of the chain (so the count holds for every model). */
function tokenizerOfChain(
  tokenizers: Tokenizers,
  chain: readonly ModelSpec[],
): { encoding: TokenEncoding; margin: number } {
  const first = tokenizers.tokenizerFor(chain[0] as ModelSpec);
  let margin = first.margin;
  for (const model of chain) margin = Math.max(margin, tokenizers.tokenizerFor(model).margin);
  return { encoding: first.encoding, margin };
}

const reports = new WeakMap<LanguageModelV3Prompt, ContextReport>();

/**
 * Adds the guard's report for a prompt it built (if any) to the model step's meta, as `context`.
 *
 * @example
 * ```ts
 * const meta = contextMeta(prompt, modelMeta);
 * ```
 */
export function contextMeta(prompt: LanguageModelV3Prompt, meta: StepMeta): StepMeta {
  const report = reports.get(prompt);
  if (report !== undefined) meta.context = report;
  return meta;
}

/**
 * Whether the guard has nothing to do for this agent and run (default policy, a window the run's
 * runtime does not know, no structured context): the context hook is then left out of the turn.
 *
 * @example
 * ```ts
 * if (!contextGuardIdle(ctx, agent, input)) prompt = await applyContext(ctx, agent, history, prompt, tools, state);
 * ```
 */
export function contextGuardIdle(ctx: RunContext, agent: ContextAgent, input: AgentInput): boolean {
  const policy: ContextPolicy = agent.context ?? DEFAULT_CONTEXT_POLICY;
  return (
    policy.isDefault &&
    structuredContextOf(input) === undefined &&
    (policy.contextWindow ?? windowOfChain(contextWindowsOf(ctx), agent.models)) === undefined
  );
}

/**
 * Applies the agent's context policy to the conversation and returns the prompt to send:
 * scoped context in the system prompt, compaction (a journaled step that rewrites `history`),
 * pruning, then the window guard, which drops the oldest turns (summaries last), then shortens
 * tool results of the current turn, then drops its oldest tool turns, until the prompt fits;
 * throws `ContextOverflowError` when the system prompt and the last user message alone do not.
 *
 * @example
 * ```ts
 * const prompt = await applyContext(ctx, agent, history, preparePrompt(agent, history, ctx.runId, payload), tools, state);
 * ```
 */
export function applyContext(
  ctx: RunContext,
  agent: ContextAgent,
  history: Message[],
  prepared: LanguageModelV3Prompt,
  tools: readonly LanguageModelV3FunctionTool[],
  state: ContextState,
): LanguageModelV3Prompt | Promise<LanguageModelV3Prompt> {
  const policy: ContextPolicy = agent.context ?? DEFAULT_CONTEXT_POLICY;
  const chain = agent.models;
  const window = policy.contextWindow ?? windowOfChain(contextWindowsOf(ctx), chain);
  // Nothing to do (default policy, unknown window, no structured context): the prompt as is, no promise.
  if (policy.isDefault && window === undefined && state.structured === undefined) return prepared;
  return guardContext(ctx, agent, history, prepared, tools, state, policy, chain, window);
}

async function guardContext(
  ctx: RunContext,
  agent: ContextAgent,
  history: Message[],
  prepared: LanguageModelV3Prompt,
  tools: readonly LanguageModelV3FunctionTool[],
  state: ContextState,
  policy: ContextPolicy,
  chain: readonly ModelSpec[],
  window: number | undefined,
): Promise<LanguageModelV3Prompt> {
  let system = prepared[0] as LanguageModelV3Message;
  if (state.structured !== undefined && system.role === 'system') {
    const content = withScopedContext(system.content, state.structured, policy.scope);
    if (content !== system.content) system = { role: 'system', content };
  }
  const reserve =
    policy.reserveOutputTokens ??
    agent.settings.maxOutputTokens ??
    (window === undefined ? 0 : Math.min(4096, Math.floor(window / 4)));
  const limit = Math.min(
    policy.maxTokens ?? Number.POSITIVE_INFINITY,
    window === undefined ? Number.POSITIVE_INFINITY : window - reserve,
  );
  const report: ContextReport = {
    promptTokens: 0,
    limit,
    actions: [],
    droppedMessages: 0,
    droppedTokens: 0,
    truncatedToolResults: 0,
    compactedMessages: 0,
  };
  const { encoding, margin } = tokenizerOfChain(tokenizersOf(ctx), chain);
  const fixedBytes = PROMPT_OVERHEAD_TOKENS + messageBytes(system) + toolBytes(tools);

  if (policy.history === 'compact' && Number.isFinite(limit)) {
    const compacted = await maybeCompact(
      ctx,
      agent,
      policy,
      history,
      system,
      tools,
      limit,
      encoding,
      margin,
      state,
    );
    if (compacted > 0) {
      report.actions.push('compacted');
      report.compactedMessages = compacted;
    }
  }

  let messages: readonly Message[] = history;
  if (policy.prune !== undefined) {
    const pruned = pruneMessages(history, policy.prune);
    messages = pruned.messages;
    const { truncatedToolResults, droppedMessages, droppedReasoning } = pruned.report;
    if (truncatedToolResults + droppedMessages + droppedReasoning > 0) report.actions.push('pruned');
    report.truncatedToolResults += truncatedToolResults;
    report.droppedMessages += droppedMessages;
  }

  if (!Number.isFinite(limit)) {
    if (report.actions.length > 0) {
      let raw = PROMPT_OVERHEAD_TOKENS + systemTokens(system, encoding) + toolTokensOf(tools, encoding);
      for (const message of messages) raw += messageTokens(message, encoding);
      report.promptTokens = Math.ceil(raw * margin);
    }
    return finish(ctx, agent, [system, ...messages], report, undefined);
  }

  // Cheap bound first: a prompt whose bytes fit never needs the tokenizer.
  let bytes = fixedBytes;
  for (const message of messages) bytes += messageBytes(message);
  if (Math.ceil(bytes * margin) <= limit && report.actions.length === 0 && messages[0]?.role !== 'tool')
    return finish(ctx, agent, [system, ...messages], report, undefined);

  const fixed = PROMPT_OVERHEAD_TOKENS + systemTokens(system, encoding) + toolTokensOf(tools, encoding);
  const fitted = fitToLimit(messages, fixed, Math.floor(limit / margin), encoding);
  if (fitted.minimumExceeded) {
    const minimumTokens = Math.ceil(fitted.minimum * margin);
    throw new ContextOverflowError(
      `Agent "${agent.name}": the prompt cannot fit the token limit of ${limit} (window ${window ?? 'unknown'} minus ${reserve} reserved for the answer${policy.maxTokens === undefined ? '' : `, context.maxTokens ${policy.maxTokens}`}): the system prompt, tools and last user message alone take ${minimumTokens} tokens. Shorten the instructions or the message, or raise context.maxTokens / context.contextWindow, or lower context.reserveOutputTokens.`,
      { agent: agent.name, minimumTokens, limit, runId: ctx.runId },
    );
  }
  if (fitted.droppedMessages + fitted.truncated > 0) report.actions.push('trimmed');
  report.droppedMessages += fitted.droppedMessages;
  report.droppedTokens = Math.ceil(fitted.droppedTokens * margin);
  report.truncatedToolResults += fitted.truncated;
  report.promptTokens = Math.ceil(fitted.tokens * margin);
  return finish(ctx, agent, [system, ...fitted.messages], report, report.promptTokens);
}

function finish(
  ctx: RunContext,
  agent: ContextAgent,
  prompt: LanguageModelV3Prompt,
  report: ContextReport,
  promptTokens: number | undefined,
): LanguageModelV3Prompt {
  if (promptTokens === undefined && report.actions.length === 0) return prompt;
  reports.set(prompt, report);
  if (report.actions.length > 0 && ctx.observed) {
    ctx.emitEvent({ type: 'context-trimmed', scope: ctx.scope, agent: agent.name, ...report });
  }
  return prompt;
}

/** Compacts when the prompt passes the trigger; returns how many messages were summarized. */
async function maybeCompact(
  ctx: RunContext,
  agent: ContextAgent,
  policy: ContextPolicy,
  history: Message[],
  system: LanguageModelV3Message,
  tools: readonly LanguageModelV3FunctionTool[],
  limit: number,
  encoding: TokenEncoding,
  margin: number,
  state: ContextState,
): Promise<number> {
  const trigger = Math.floor((limit * policy.compaction.triggerRatio) / margin);
  let bytes = PROMPT_OVERHEAD_TOKENS + messageBytes(system) + toolBytes(tools);
  for (const message of history) bytes += messageBytes(message);
  if (bytes <= trigger) return 0;
  const fixed = PROMPT_OVERHEAD_TOKENS + systemTokens(system, encoding) + toolTokensOf(tools, encoding);
  const counts = history.map((message) => messageTokens(message, encoding));
  const total = counts.reduce((sum, count) => sum + count, fixed);
  if (total <= trigger) return 0;
  const keepRecent = Math.floor((policy.compaction.keepRecentTokens ?? Math.floor(limit * 0.3)) / margin);
  let lastUser = -1;
  for (let index = history.length - 1; index >= 0; index--) {
    if (isUserRequest(history[index])) {
      lastUser = index;
      break;
    }
  }
  // The cut is a unit start (never between a tool call and its result), at most the last user message.
  let cut = history.length;
  let kept = 0;
  for (let index = history.length - 1; index >= 0; index--) {
    kept += counts[index] ?? 0;
    if (kept > keepRecent) break;
    if (history[index]?.role !== 'tool') cut = index;
  }
  while (cut > 0 && history[cut]?.role === 'tool') cut--;
  // The last user message is never summarized: in a long tool loop it stays first, before the summary.
  const keptUser = lastUser >= 0 && lastUser < cut ? lastUser : -1;
  let tokens = 0;
  let summarized = 0;
  let onlySummaries = true;
  for (let index = 0; index < cut; index++) {
    if (index === keptUser) continue;
    tokens += counts[index] ?? 0;
    summarized++;
    if (!isSummaryMessage(history[index] as Message)) onlySummaries = false;
  }
  // Nothing older to summarize, or only the previous summary.
  if (summarized === 0 || onlySummaries) return 0;
  state.compactions ??= new Map();
  const turn = state.compactions.get(agent.name) ?? 0;
  state.compactions.set(agent.name, turn + 1);
  const record = await compactHistory(
    ctx,
    agent.name,
    modelsOf(agent.model)[0] as ModelSpec,
    policy,
    history,
    cut,
    keptUser,
    Math.ceil(tokens * margin),
    turn,
  );
  return record.messages;
}

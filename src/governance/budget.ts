/** Budgets: limits on turns, tokens, cost (USD) and wall time per run and per agent, checked around every model call. */

import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { promptBytes } from '../context/prompt-size.js';
import { countPromptTokens, PROMPT_OVERHEAD_TOKENS } from '../context/tokens.js';
import { BatonError, ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { runGovernance } from '../core/run-execution.js';
import type { ModelResponse } from '../models/call-model.js';
import { costOf } from '../models/pricing.js';
import type { ModelSpec } from '../models/resolve-model.js';

/**
 * Limits on what a run (`runtime.start(target, input, { budget })`) or an agent
 * (`agent({ budget })`) may spend. Every field is optional; an absent field is no limit.
 *
 * @example
 * ```ts
 * const researcher = agent({ name: 'researcher', instructions: '...', model, budget: { maxTokens: 20_000 } });
 * await runtime.start(team, 'Summarize the report', { budget: { maxCostUsd: 0.5, maxWallTimeMs: 120_000 } });
 * ```
 */
export interface Budget {
  /** Model calls (turns), across every agent for a run budget. */
  maxTurns?: number;
  /** Input plus output tokens, as providers report them. */
  maxTokens?: number;
  /** Cost in US dollars, from the model price table (models without a price count 0). */
  maxCostUsd?: number;
  /** Milliseconds since the run started (run budget) or since the agent's first model call (agent budget). */
  maxWallTimeMs?: number;
}

/** Which limit of a budget stopped the run. */
export type BudgetLimit = 'turns' | 'tokens' | 'cost' | 'wall-time';

/** What was spent so far. */
export interface Spend {
  turns: number;
  tokens: number;
  costUsd: number;
}

/**
 * What a run stopped by a budget had produced: stored as the run's `output` (status
 * `budget-exceeded`) and carried by the `BudgetExceededError` as `partial`.
 *
 * @example
 * ```ts
 * const record = await runtime.get(runId);
 * if (record.status === 'budget-exceeded') console.log((record.output as BudgetPartialResult).text);
 * ```
 */
export interface BudgetPartialResult {
  /** The agent that was working when the budget ran out. */
  agent: string;
  /** The last non-empty assistant text of that agent's conversation ('' when it had said nothing yet). */
  text: string;
  /** Model turns taken by that agent loop. */
  turns: number;
  /** Spend of the budget that ran out (run or agent). */
  spend: Spend;
}

/**
 * A budget ran out: the run ends with status `budget-exceeded` and `partial` as its output.
 *
 * @example
 * ```ts
 * await handle.result().catch((error) => {
 *   if (BudgetExceededError.isInstance(error) && error.code === 'BUDGET_EXCEEDED') console.log(error.partial);
 * });
 * ```
 */
export class BudgetExceededError extends BatonError {
  readonly limit: BudgetLimit;
  /** `run` for the budget given to `runtime.start`, `agent` for an agent's own budget. */
  readonly budgetScope: 'run' | 'agent';
  readonly agent: string;
  readonly partial: BudgetPartialResult;
  constructor(
    message: string,
    options: {
      limit: BudgetLimit;
      budgetScope: 'run' | 'agent';
      agent: string;
      partial: BudgetPartialResult;
      runId?: string;
    },
  ) {
    super(message, { code: 'BUDGET_EXCEEDED', fault: 'user', runId: options.runId });
    this.name = 'BudgetExceededError';
    this.limit = options.limit;
    this.budgetScope = options.budgetScope;
    this.agent = options.agent;
    this.partial = options.partial;
  }
}

const budgetFields = ['maxTurns', 'maxTokens', 'maxCostUsd', 'maxWallTimeMs'] as const;

/**
 * Checks a budget when it is defined; throws a `ConfigError` naming the bad field.
 *
 * @example
 * ```ts
 * checkBudget({ maxTokens: 1000 }, 'agent("writer")'); // returns it
 * checkBudget({ maxTokens: -1 }, 'agent("writer")'); // throws: budget.maxTokens must be a number > 0
 * ```
 */
export function checkBudget(budget: unknown, where: string): Budget | undefined {
  if (budget === undefined) return undefined;
  if (typeof budget !== 'object' || budget === null || Array.isArray(budget))
    throw new ConfigError(`${where}: budget must be an object like { maxTokens: 10000 }.`, {
      code: 'INVALID_OPTION',
    });
  for (const key of Object.keys(budget)) {
    if (!(budgetFields as readonly string[]).includes(key))
      throw new ConfigError(`${where}: unknown budget field "${key}". Use ${budgetFields.join(', ')}.`, {
        code: 'INVALID_OPTION',
      });
    const value = (budget as Record<string, unknown>)[key];
    if (value !== undefined && (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)))
      throw new ConfigError(`${where}: budget.${key} must be a finite number > 0, got ${String(value)}.`, {
        code: 'INVALID_OPTION',
      });
  }
  return budget as Budget;
}

/** Spend of one run: the whole run and each agent. Rebuilt on replay from the journaled model responses. */
interface RunSpend {
  run: Spend;
  agents: Map<string, Spend & { startedAt?: number }>;
}

/** Spend kept for contexts outside a runtime execution (tests that build their own context). */
const detached = new WeakMap<RunContext, RunSpend>();

function spendOf(ctx: RunContext): RunSpend {
  const governance = runGovernance(ctx);
  if (governance === undefined) {
    let spend = detached.get(ctx);
    if (spend === undefined) {
      spend = { run: emptySpend(), agents: new Map() };
      detached.set(ctx, spend);
    }
    return spend;
  }
  governance.spend ??= { run: emptySpend(), agents: new Map() } satisfies RunSpend;
  return governance.spend as RunSpend;
}

function emptySpend(): Spend {
  return { turns: 0, tokens: 0, costUsd: 0 };
}

/**
 * A prompt's size in tokens: counted with the model family's tokenizer (`countPromptTokens`)
 * when a model is given, else estimated at one token per four characters of text and tool data.
 *
 * @example
 * ```ts
 * estimatePromptTokens([{ role: 'user', content: [{ type: 'text', text: 'Hello there' }] }]); // 3
 * estimatePromptTokens(prompt, 'openai:gpt-4o'); // the tokenizer's count
 * ```
 */
export function estimatePromptTokens(
  prompt: LanguageModelV3Prompt,
  model?: ModelSpec | readonly ModelSpec[],
): number {
  const first = Array.isArray(model) ? (model[0] as ModelSpec | undefined) : (model as ModelSpec | undefined);
  if (first !== undefined) return countPromptTokens(prompt, first);
  let characters = 0;
  for (const message of prompt) {
    if (typeof message.content === 'string') {
      characters += message.content.length;
      continue;
    }
    for (const part of message.content) {
      if (part.type === 'text' || part.type === 'reasoning') characters += part.text.length;
      else if (part.type === 'tool-call') characters += JSON.stringify(part.input ?? null).length;
      else if (part.type === 'tool-result') characters += JSON.stringify(part.output ?? null).length;
    }
  }
  return Math.ceil(characters / 4);
}

/** What the agent loop tells the budget about one model call. */
export interface BudgetCall {
  /** `model` may be a fallback chain; the first model prices the estimate. */
  agent: { name: string; model: ModelSpec | readonly ModelSpec[]; budget?: Budget | undefined };
  /** Builds the partial result if the budget stops the run. */
  partial: () => Omit<BudgetPartialResult, 'spend'>;
}

function modelId(spec: ModelSpec | readonly ModelSpec[]): string {
  const model = (Array.isArray(spec) ? spec[0] : spec) as ModelSpec | undefined;
  if (model === undefined) return '';
  return typeof model === 'string'
    ? model
    : `${model.provider.split('.')[0] ?? model.provider}:${model.modelId}`;
}

interface Limits {
  scope: 'run' | 'agent';
  budget: Budget;
  spend: Spend & { startedAt?: number };
}

function limitsOf(ctx: RunContext, call: BudgetCall): Limits[] {
  const runBudget = checkBudget(runGovernance(ctx)?.budget, 'runtime.start()');
  const agentBudget = call.agent.budget;
  if (runBudget === undefined && agentBudget === undefined) return [];
  const spend = spendOf(ctx);
  const limits: Limits[] = [];
  if (runBudget !== undefined) limits.push({ scope: 'run', budget: runBudget, spend: spend.run });
  if (agentBudget !== undefined) {
    let agentSpend = spend.agents.get(call.agent.name);
    if (agentSpend === undefined) {
      agentSpend = emptySpend();
      spend.agents.set(call.agent.name, agentSpend);
    }
    limits.push({ scope: 'agent', budget: agentBudget, spend: agentSpend });
  }
  return limits;
}

/**
 * A bound no estimate exceeds: every BPE token covers at least one UTF-8 byte, so the bytes of
 * each message's text plus the overheads bound its tokens, and 1.5 covers the largest family
 * margin (1.3). Far cheaper than tokenizing (the context guard counts the same bytes).
 */
function promptTokenUpperBound(prompt: LanguageModelV3Prompt): number {
  return Math.ceil((PROMPT_OVERHEAD_TOKENS + promptBytes(prompt)) * 1.5);
}

/** True when even `upper` tokens stay within the limit's token and cost budgets (so no exact count is needed). */
function fitsUpperBound(
  limit: { budget: Budget; spend: Spend },
  upper: number,
  model: ModelSpec | readonly ModelSpec[],
): boolean {
  const { budget, spend } = limit;
  if (budget.maxTokens !== undefined && spend.tokens + upper > budget.maxTokens) return false;
  if (budget.maxCostUsd !== undefined) {
    // An unpriced model costs nothing here, as in the exact check.
    const cost = costOf(modelId(model), { inputTokens: upper, outputTokens: 0, totalTokens: upper }) ?? 0;
    if (spend.costUsd + cost > budget.maxCostUsd) return false;
  }
  return true;
}

/**
 * Before a model call: stops the run when the call would exceed a run or agent budget
 * (turns, tokens with the estimated prompt size, cost of those tokens, wall time). Wall time
 * is read from the runtime's clock without a journal entry, and not while the run replays
 * (the call being replayed passed the check). No-op without budgets.
 *
 * @example
 * ```ts
 * await checkBudgetBeforeCall(ctx, prompt, { agent, partial: () => ({ agent: agent.name, text: '', turns }) });
 * ```
 */
export async function checkBudgetBeforeCall(
  ctx: RunContext,
  prompt: LanguageModelV3Prompt,
  call: BudgetCall,
): Promise<void> {
  const limits = limitsOf(ctx, call);
  if (limits.length === 0) return;
  let estimate: number | undefined;
  let upper: number | undefined;
  let now: number | undefined;
  for (const limit of limits) {
    const { budget, spend } = limit;
    if (budget.maxTurns !== undefined && spend.turns + 1 > budget.maxTurns)
      exceed(ctx, call, limit, 'turns', `it has taken ${spend.turns} of ${budget.maxTurns} turns`);
    const tokenLimited = budget.maxTokens !== undefined || budget.maxCostUsd !== undefined;
    if (tokenLimited) upper ??= promptTokenUpperBound(prompt);
    if (tokenLimited && !fitsUpperBound(limit, upper as number, call.agent.model)) {
      estimate ??= estimatePromptTokens(prompt, call.agent.model);
      if (budget.maxTokens !== undefined && spend.tokens + estimate > budget.maxTokens)
        exceed(
          ctx,
          call,
          limit,
          'tokens',
          `${spend.tokens} tokens spent + about ${estimate} for the next prompt would pass ${budget.maxTokens}`,
        );
      if (budget.maxCostUsd !== undefined) {
        const next =
          costOf(modelId(call.agent.model), {
            inputTokens: estimate,
            outputTokens: 0,
            totalTokens: estimate,
          }) ?? 0;
        if (spend.costUsd + next > budget.maxCostUsd)
          exceed(
            ctx,
            call,
            limit,
            'cost',
            `$${spend.costUsd.toFixed(6)} spent + about $${next.toFixed(6)} for the next prompt would pass $${budget.maxCostUsd}`,
          );
      }
    }
    // Wall time is read from the clock, not journaled: a replayed call passed this check when it
    // was made, so a replay skips it (and a resumed run is measured against the real time).
    if (budget.maxWallTimeMs !== undefined && !ctx.replaying) {
      now ??= runGovernance(ctx)?.clock.now() ?? Date.now();
      const startedAt =
        limit.scope === 'run' ? (runGovernance(ctx)?.startedAt ?? now) : limit.spend.startedAt;
      if (limit.scope === 'agent' && startedAt === undefined) limit.spend.startedAt = now;
      else if (startedAt !== undefined && now - startedAt > budget.maxWallTimeMs)
        exceed(
          ctx,
          call,
          limit,
          'wall-time',
          `${now - startedAt} ms have passed of ${budget.maxWallTimeMs} ms`,
        );
    }
  }
}

/**
 * After a model call: adds its actual usage and cost (from the journaled response, so a replay
 * counts the same) to the run and agent spend. When `continuing` (the model asked for tools), a
 * spend past a limit stops the run before the tools run; a final answer is kept.
 *
 * @example
 * ```ts
 * recordBudgetSpend(ctx, response, { agent, partial }, response.toolCalls.length > 0);
 * ```
 */
export function recordBudgetSpend(
  ctx: RunContext,
  response: ModelResponse,
  call: BudgetCall,
  continuing: boolean,
): void {
  const limits = limitsOf(ctx, call);
  if (limits.length === 0) return;
  const cost = costOf(response.model, response.usage, response.cachedInputTokens) ?? 0;
  const tokens = response.usage.totalTokens;
  const seen = new Set<Spend>();
  for (const limit of limits) {
    if (seen.has(limit.spend)) continue;
    seen.add(limit.spend);
    limit.spend.turns++;
    limit.spend.tokens += tokens;
    limit.spend.costUsd += cost;
  }
  if (!continuing) return;
  for (const limit of limits) {
    const { budget, spend } = limit;
    if (budget.maxTokens !== undefined && spend.tokens > budget.maxTokens)
      exceed(ctx, call, limit, 'tokens', `${spend.tokens} tokens spent of ${budget.maxTokens}`);
    if (budget.maxCostUsd !== undefined && spend.costUsd > budget.maxCostUsd)
      exceed(ctx, call, limit, 'cost', `$${spend.costUsd.toFixed(6)} spent of $${budget.maxCostUsd}`);
  }
}

function exceed(ctx: RunContext, call: BudgetCall, limit: Limits, which: BudgetLimit, detail: string): never {
  const partial: BudgetPartialResult = {
    ...call.partial(),
    spend: { turns: limit.spend.turns, tokens: limit.spend.tokens, costUsd: limit.spend.costUsd },
  };
  const owner = limit.scope === 'run' ? `The run's budget` : `Agent "${call.agent.name}"'s budget`;
  throw new BudgetExceededError(
    `${owner} ran out (${which}): ${detail}. The run stopped at agent "${call.agent.name}" with status ` +
      'budget-exceeded; its partial result is the run output. Raise the budget or narrow the task.',
    { limit: which, budgetScope: limit.scope, agent: call.agent.name, partial, runId: ctx.runId },
  );
}

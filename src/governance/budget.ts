/** Budgets: limits on turns, tokens, cost (USD) and wall time per run and per agent, checked around every model call. */

import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { promptBytes } from '../context/prompt-size.js';
import {
  countPromptTokens,
  PROMPT_OVERHEAD_TOKENS,
  type Tokenizers,
  tokenizersOf,
} from '../context/tokens.js';
import type { Budget } from '../core/budget-limits.js';
import { BatonError, ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { JournalEntry } from '../core/store.js';
import type { ModelResponse } from '../models/call-model.js';
import { type PriceTable, priceOf, pricesOf } from '../models/pricing.js';
import type { ModelSpec } from '../models/resolve-model.js';

export type { Budget };

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

const budgetFields = [
  'maxTurns',
  'maxTokens',
  'maxCostUsd',
  'maxWallTimeMs',
  'allowUnpricedModels',
  'alertAt',
] as const;

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
    if (key === 'allowUnpricedModels') {
      if (value !== undefined && typeof value !== 'boolean')
        throw new ConfigError(
          `${where}: budget.allowUnpricedModels must be true or false, got ${String(value)}.`,
          {
            code: 'INVALID_OPTION',
          },
        );
      continue;
    }
    if (key === 'alertAt') {
      if (value !== undefined && (typeof value !== 'number' || !(value > 0 && value < 1)))
        throw new ConfigError(
          `${where}: budget.alertAt must be a share of each limit between 0 and 1 (0.8 alerts at 80%), got ${String(value)}.`,
          { code: 'INVALID_OPTION' },
        );
      continue;
    }
    if (value !== undefined && (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)))
      throw new ConfigError(`${where}: budget.${key} must be a finite number > 0, got ${String(value)}.`, {
        code: 'INVALID_OPTION',
      });
  }
  return budget as Budget;
}

/**
 * Under a cost limit, throws a `ConfigError` (code `UNPRICED_MODEL`) naming the first model of
 * `model` (one or a fallback chain) that has no price, and how to fix it; nothing without
 * `maxCostUsd` or with `allowUnpricedModels`. Prices come from `prices` (a run's runtime table)
 * or, without it, the process table (`registerPrices`).
 *
 * @example
 * ```ts
 * checkPricedModels({ maxCostUsd: 1 }, 'ollama:llama3', 'agent("local")'); // throws: model "ollama:llama3" has no price ...
 * ```
 */
export function checkPricedModels(
  budget: Budget | undefined,
  model: ModelSpec | readonly ModelSpec[],
  where: string,
  runId?: string,
  prices?: PriceTable,
): void {
  if (budget?.maxCostUsd === undefined || budget.allowUnpricedModels === true) return;
  const models = Array.isArray(model) ? (model as readonly ModelSpec[]) : [model as ModelSpec];
  for (const candidate of models) {
    const name = modelId(candidate);
    if ((prices === undefined ? priceOf(name) : prices.priceOf(name)) !== undefined) continue;
    throw new ConfigError(
      `${where}: model "${name}" has no price, so under budget.maxCostUsd ($${budget.maxCostUsd}) its calls would count $0 and the cost limit could never stop them. ` +
        `Give it a price with registerPrices({ '${name}': { input: <USD per million input tokens>, output: <USD per million output tokens> } }) (0 and 0 for a free local model), ` +
        'or set allowUnpricedModels: true in the budget to let unpriced models run uncounted.',
      { code: 'UNPRICED_MODEL', ...(runId === undefined ? {} : { runId }) },
    );
  }
}

/** What one budget (the run's, or an agent's) has spent, and what model calls in flight hold of it. */
interface Account {
  /** Settled: the usage and cost of the model responses counted so far. */
  spent: Spend;
  /** Held by calls that passed the check and have not returned yet (parallel branches). */
  reserved: Spend;
  /** An agent budget's wall-time start: its first live model call in this execution. */
  startedAt?: number;
}

/**
 * Spend of one run: the whole run and each agent. Rebuilt on replay from the journaled model
 * responses (and, for a recorded child run a replay skips, from its journal entries).
 */
interface RunSpend {
  run: Account;
  agents: Map<string, Account>;
}

/**
 * True when the run behind `ctx` (read from `ctx.services`, which a pattern's view of `ctx` passes on) was started with a budget.
 *
 * @example
 * ```ts
 * if (agent.budget !== undefined || hasRunBudget(ctx)) reserveBudget(ctx, prompt, call);
 * ```
 */
export function hasRunBudget(ctx: RunContext): boolean {
  return ctx.services.governance.budget !== undefined;
}

function spendOf(ctx: RunContext): RunSpend {
  const governance = ctx.services.governance;
  governance.spend ??= { run: emptyAccount(), agents: new Map() } satisfies RunSpend;
  const spend = governance.spend as RunSpend;
  const skipped = governance.skippedModelEntries;
  if (skipped.length > 0) for (const entry of skipped.splice(0)) countSkipped(spend, entry);
  return spend;
}

/**
 * Counts an agent model call inside a recorded child run that a replay returned without running
 * it again: the same turn, usage and cost its response added when it was made.
 */
function countSkipped(spend: RunSpend, entry: JournalEntry): void {
  const meta = entry.meta;
  if (entry.status !== 'completed' || meta?.usage === undefined || meta.compaction !== undefined) return;
  if (!entry.name.startsWith('model:')) return;
  const accounts = [spend.run];
  if (meta.agent !== undefined) accounts.push(accountOf(spend, meta.agent));
  for (const account of accounts) {
    account.spent.turns++;
    account.spent.tokens += meta.usage.totalTokens;
    account.spent.costUsd += meta.costUsd ?? 0;
  }
}

function accountOf(spend: RunSpend, agent: string): Account {
  let account = spend.agents.get(agent);
  if (account === undefined) {
    account = emptyAccount();
    spend.agents.set(agent, account);
  }
  return account;
}

function emptySpend(): Spend {
  return { turns: 0, tokens: 0, costUsd: 0 };
}

function emptyAccount(): Account {
  return { spent: emptySpend(), reserved: emptySpend() };
}

/**
 * A prompt's size in tokens: counted with the model family's tokenizer (`countPromptTokens`)
 * when a model is given (with `tokenizers`, default the process table's), else estimated at one
 * token per four characters of text and tool data.
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
  tokenizers?: Tokenizers,
): number {
  const first = Array.isArray(model) ? (model[0] as ModelSpec | undefined) : (model as ModelSpec | undefined);
  if (first !== undefined) return countPromptTokens(prompt, first, undefined, tokenizers);
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
  agent: {
    name: string;
    model: ModelSpec | readonly ModelSpec[];
    /** The whole fallback chain, when there is one: every model in it must have a price under a cost limit. */
    models?: readonly ModelSpec[] | undefined;
    budget?: Budget | undefined;
  };
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
  account: Account;
}

function limitsOf(ctx: RunContext, call: BudgetCall): Limits[] {
  const runBudget = checkBudget(ctx.services.governance.budget, 'runtime.start()');
  const agentBudget = call.agent.budget;
  if (runBudget === undefined && agentBudget === undefined) return [];
  const spend = spendOf(ctx);
  const limits: Limits[] = [];
  if (runBudget !== undefined) limits.push({ scope: 'run', budget: runBudget, account: spend.run });
  if (agentBudget !== undefined)
    limits.push({ scope: 'agent', budget: agentBudget, account: accountOf(spend, call.agent.name) });
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

/** The price of `tokens` prompt tokens of the call's (first) model; 0 when it has no price. */
function promptCost(prices: PriceTable, model: ModelSpec | readonly ModelSpec[], tokens: number): number {
  return prices.costOf(modelId(model), { inputTokens: tokens, outputTokens: 0, totalTokens: tokens }) ?? 0;
}

/** True when even `upper` more tokens stay within the limit's token and cost budgets (so no exact count is needed). */
function fitsUpperBound(
  limit: Limits,
  upper: number,
  model: ModelSpec | readonly ModelSpec[],
  prices: PriceTable,
): boolean {
  const { budget, account } = limit;
  const { spent, reserved } = account;
  if (budget.maxTokens !== undefined && spent.tokens + reserved.tokens + upper > budget.maxTokens)
    return false;
  if (
    budget.maxCostUsd !== undefined &&
    spent.costUsd + reserved.costUsd + promptCost(prices, model, upper) > budget.maxCostUsd
  )
    return false;
  return true;
}

/**
 * What a model call holds of the budgets it passed, from the check before the call until
 * `recordBudgetSpend` settles it with the real usage (or `releaseBudget` gives it back when the
 * call failed). Parallel branches see each other's holds, so they cannot all pass at once.
 */
export interface BudgetReservation {
  readonly turns: number;
  readonly tokens: number;
  readonly costUsd: number;
}

/** The budgets each reservation still holds; a settled or released one is gone. */
const holds = new WeakMap<BudgetReservation, readonly Account[]>();

/** " (and 2 more in calls still running)" when calls in flight hold some of the limit. */
function inFlight(reserved: number, unit: string): string {
  return reserved > 0 ? ` (and ${reserved}${unit} held by calls still running)` : '';
}

/**
 * Before a model call: stops the run when the call would exceed a run or agent budget
 * (turns, tokens with the estimated prompt size, cost of those tokens, wall time), counting what
 * calls still in flight hold; otherwise reserves the turn, the prompt's tokens and their price
 * until `recordBudgetSpend` (or `releaseBudget`). Synchronous, so parallel branches pass it one
 * at a time. Wall time is read from the runtime's clock without a journal entry, and not while
 * the run replays (the call being replayed passed the check). Undefined without budgets.
 *
 * @example
 * ```ts
 * const reservation = reserveBudget(ctx, prompt, { agent, partial: () => ({ agent: agent.name, text: '', turns }) });
 * ```
 */
export function reserveBudget(
  ctx: RunContext,
  prompt: LanguageModelV3Prompt,
  call: BudgetCall,
): BudgetReservation | undefined {
  const limits = limitsOf(ctx, call);
  if (limits.length === 0) return undefined;
  let estimate: number | undefined;
  let upper: number | undefined;
  let now: number | undefined;
  for (const limit of limits) {
    const { budget, account } = limit;
    const { spent, reserved } = account;
    if (budget.maxCostUsd !== undefined)
      checkPricedModels(
        budget,
        call.agent.models ?? call.agent.model,
        limit.scope === 'run'
          ? `The run's budget (agent "${call.agent.name}")`
          : `agent("${call.agent.name}")`,
        ctx.runId,
        pricesOf(ctx),
      );
    if (budget.maxTurns !== undefined && spent.turns + reserved.turns + 1 > budget.maxTurns)
      exceed(
        ctx,
        call,
        limit,
        'turns',
        `it has taken ${spent.turns} of ${budget.maxTurns} turns${inFlight(reserved.turns, '')}`,
      );
    const tokenLimited = budget.maxTokens !== undefined || budget.maxCostUsd !== undefined;
    if (tokenLimited) upper ??= promptTokenUpperBound(prompt);
    if (tokenLimited && !fitsUpperBound(limit, upper as number, call.agent.model, pricesOf(ctx))) {
      estimate ??= estimatePromptTokens(prompt, call.agent.model, tokenizersOf(ctx));
      if (budget.maxTokens !== undefined && spent.tokens + reserved.tokens + estimate > budget.maxTokens)
        exceed(
          ctx,
          call,
          limit,
          'tokens',
          `${spent.tokens} tokens spent${inFlight(reserved.tokens, ' tokens')} + about ${estimate} for the next prompt would pass ${budget.maxTokens}`,
        );
      if (budget.maxCostUsd !== undefined) {
        const next = promptCost(pricesOf(ctx), call.agent.model, estimate);
        if (spent.costUsd + reserved.costUsd + next > budget.maxCostUsd)
          exceed(
            ctx,
            call,
            limit,
            'cost',
            `$${spent.costUsd.toFixed(6)} spent${reserved.costUsd > 0 ? ` (and $${reserved.costUsd.toFixed(6)} held by calls still running)` : ''} + about $${next.toFixed(6)} for the next prompt would pass $${budget.maxCostUsd}`,
          );
      }
    }
    // Wall time is read from the clock, not journaled: a replayed call passed this check when it
    // was made, so a replay skips it (and a resumed run is measured against the real time).
    if (budget.maxWallTimeMs !== undefined && !ctx.replaying) {
      const governance = ctx.services.governance;
      now ??= governance.clock.now();
      const startedAt = limit.scope === 'run' ? governance.startedAt : account.startedAt;
      if (limit.scope === 'agent' && startedAt === undefined) account.startedAt = now;
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
  // Every limit passed: hold the turn and the prompt's tokens (the exact estimate when one was
  // needed, else the cheap upper bound) and their price, once per budget.
  const tokens = estimate ?? upper ?? 0;
  const costUsd = tokens > 0 ? promptCost(pricesOf(ctx), call.agent.model, tokens) : 0;
  const accounts = [...new Set(limits.map((limit) => limit.account))];
  for (const account of accounts) {
    account.reserved.turns++;
    account.reserved.tokens += tokens;
    account.reserved.costUsd += costUsd;
  }
  const reservation: BudgetReservation = { turns: 1, tokens, costUsd };
  holds.set(reservation, accounts);
  return reservation;
}

/**
 * Gives back what a model call held when the call failed (nothing was spent that the budget
 * can count). Safe to call twice, and after `recordBudgetSpend`.
 *
 * @example
 * ```ts
 * const response = await callModel(model, options).catch((error) => { releaseBudget(reservation); throw error; });
 * ```
 */
export function releaseBudget(reservation: BudgetReservation | undefined): void {
  if (reservation === undefined) return;
  const accounts = holds.get(reservation);
  if (accounts === undefined) return;
  holds.delete(reservation);
  for (const account of accounts) {
    account.reserved.turns -= reservation.turns;
    account.reserved.tokens -= reservation.tokens;
    account.reserved.costUsd -= reservation.costUsd;
  }
}

/**
 * After a model call: replaces what it held by its actual usage and cost (from the journaled
 * response, so a replay counts the same) in the run and agent spend. When `continuing` (the
 * model asked for tools), a spend past a limit stops the run before the tools run; a final
 * answer is kept.
 *
 * @example
 * ```ts
 * recordBudgetSpend(ctx, response, { agent, partial }, response.toolCalls.length > 0, reservation);
 * ```
 */
export function recordBudgetSpend(
  ctx: RunContext,
  response: ModelResponse,
  call: BudgetCall,
  continuing: boolean,
  reservation?: BudgetReservation,
): void {
  releaseBudget(reservation);
  const limits = limitsOf(ctx, call);
  if (limits.length === 0) return;
  const cost = pricesOf(ctx).costOf(response.model, response.usage, response.cachedInputTokens) ?? 0;
  const tokens = response.usage.totalTokens;
  const seen = new Set<Account>();
  for (const { account } of limits) {
    if (seen.has(account)) continue;
    seen.add(account);
    account.spent.turns++;
    account.spent.tokens += tokens;
    account.spent.costUsd += cost;
  }
  if (ctx.observed) {
    for (const limit of limits) {
      if (limit.budget.alertAt !== undefined) alertCrossings(ctx, call, limit, tokens, cost);
    }
  }
  if (!continuing) return;
  for (const limit of limits) {
    const { budget, account } = limit;
    if (budget.maxTokens !== undefined && account.spent.tokens > budget.maxTokens)
      exceed(ctx, call, limit, 'tokens', `${account.spent.tokens} tokens spent of ${budget.maxTokens}`);
    if (budget.maxCostUsd !== undefined && account.spent.costUsd > budget.maxCostUsd)
      exceed(ctx, call, limit, 'cost', `$${account.spent.costUsd.toFixed(6)} spent of $${budget.maxCostUsd}`);
  }
}

/**
 * True when `error` is a budget stop (a `BudgetExceededError`, or one rebuilt from the journal
 * with code `BUDGET_EXCEEDED`). Patterns let it through unchanged, so the run ends
 * `budget-exceeded` with its partial result instead of a pattern's own failure.
 *
 * @example
 * ```ts
 * catch (error) { if (isBudgetStop(error)) throw error; ... }
 * ```
 */
export function isBudgetStop(error: unknown): boolean {
  return BatonError.isInstance(error) && error.code === 'BUDGET_EXCEEDED';
}

/** Emits a `budget-alert` for each of turns, tokens and cost that this call's spend took across `alertAt` of its limit. */
function alertCrossings(
  ctx: RunContext,
  call: BudgetCall,
  limit: Limits,
  tokens: number,
  cost: number,
): void {
  const { budget, account, scope } = limit;
  const share = budget.alertAt as number;
  const dimensions: Array<['turns' | 'tokens' | 'cost', number | undefined, number, number]> = [
    ['turns', budget.maxTurns, account.spent.turns, 1],
    ['tokens', budget.maxTokens, account.spent.tokens, tokens],
    ['cost', budget.maxCostUsd, account.spent.costUsd, cost],
  ];
  for (const [which, max, spent, added] of dimensions) {
    if (max === undefined) continue;
    const threshold = max * share;
    if (spent - added < threshold && spent >= threshold) {
      ctx.emitEvent({
        type: 'budget-alert',
        scope: ctx.scope,
        agent: call.agent.name,
        budget: scope,
        limit: which,
        spent,
        max,
        alertAt: share,
      });
    }
  }
}

function exceed(ctx: RunContext, call: BudgetCall, limit: Limits, which: BudgetLimit, detail: string): never {
  const { spent } = limit.account;
  const partial: BudgetPartialResult = {
    ...call.partial(),
    spend: { turns: spent.turns, tokens: spent.tokens, costUsd: spent.costUsd },
  };
  const owner = limit.scope === 'run' ? `The run's budget` : `Agent "${call.agent.name}"'s budget`;
  throw new BudgetExceededError(
    `${owner} ran out (${which}): ${detail}. The run stopped at agent "${call.agent.name}" with status ` +
      'budget-exceeded; its partial result is the run output. Raise the budget or narrow the task.',
    { limit: which, budgetScope: limit.scope, agent: call.agent.name, partial, runId: ctx.runId },
  );
}

/** Governance checks of one agent turn (input/output/tool guardrails, budgets, tool-call loop detection); the agent's built-in hook sets call them. */

import type { LanguageModelV3Prompt, LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import type { RunContext } from '../core/run-context.js';
import type { ModelResponse, ModelToolCall } from '../models/call-model.js';
import {
  type Budget,
  type BudgetCall,
  type BudgetReservation,
  hasRunBudget,
  recordBudgetSpend,
  reserveBudget,
} from './budget.js';
import { type Guardrail, type GuardrailStage, guardNow, runGuardrailsNow } from './guardrails.js';
import { type LoopDetectionOptions, respondToLoop, ToolCallLoopDetector } from './loop-detection.js';

/** The parts of an agent the hooks read (kept structural so governance does not import the agents layer). */
export interface GovernedAgent {
  name: string;
  model: BudgetCall['agent']['model'];
  models?: BudgetCall['agent']['models'];
  budget: Budget | undefined;
  guardrails: readonly Guardrail[];
  loopDetection: Required<LoopDetectionOptions> | undefined;
}

type TextPart = { type: 'text'; text: string };
type AnyMessage = { role: string; content: unknown };

/** Whether any of the agent's guardrails runs at `stage`. */
export function hasStage(agent: GovernedAgent, stage: GuardrailStage): boolean {
  const guardrails = agent.guardrails;
  // No guardrails (the default) costs no closure.
  return guardrails.length > 0 && guardrails.some((guard) => guard.stages.includes(stage));
}

function textParts(message: AnyMessage | undefined): TextPart[] {
  if (message === undefined || !Array.isArray(message.content)) return [];
  return (message.content as { type: string }[]).filter((part): part is TextPart => part.type === 'text');
}

/** The last non-empty assistant text of a conversation. */
function lastAssistantText(history: readonly AnyMessage[]): string {
  for (let index = history.length - 1; index >= 0; index--) {
    const message = history[index];
    if (message?.role !== 'assistant') continue;
    const text = textParts(message)
      .map((part) => part.text)
      .join('');
    if (text.length > 0) return text;
  }
  return '';
}

/**
 * Input guardrails on the incoming user messages (each text part), rewriting them in place;
 * undefined (nothing to wait for) when the agent has none.
 *
 * @example
 * ```ts
 * await guardInput(ctx, agent, history);
 * ```
 */
export function guardInput(
  ctx: RunContext,
  agent: GovernedAgent,
  history: AnyMessage[],
): Promise<void> | undefined {
  if (!hasStage(agent, 'input')) return undefined;
  return guardInputFrom(ctx, agent, history, 0, 0);
}

/**
 * Input guardrails from text part `partStart` of message `start` on: synchronous while every
 * check passes at once (no promise then), a promise from the first one that does not.
 */
function guardInputFrom(
  ctx: RunContext,
  agent: GovernedAgent,
  history: AnyMessage[],
  start: number,
  partStart: number,
): Promise<void> | undefined {
  for (let index = start; index < history.length; index++) {
    const message = history[index] as AnyMessage;
    if (message.role !== 'user' || !Array.isArray(message.content)) continue;
    const content = message.content as { type: string }[];
    for (let partIndex = index === start ? partStart : 0; partIndex < content.length; partIndex++) {
      const part = content[partIndex] as { type: string };
      if (part.type !== 'text') continue;
      const text = (part as TextPart).text;
      const guarded = guardNow(ctx, agent.guardrails, {
        stage: 'input',
        text,
        agent: agent.name,
        runId: ctx.runId,
      });
      if (typeof guarded === 'string') {
        if (guarded !== text) rewritePart(history, index, partIndex, guarded);
        continue;
      }
      return guarded.then((result) => {
        if (result !== text) rewritePart(history, index, partIndex, result);
        return guardInputFrom(ctx, agent, history, index, partIndex + 1);
      });
    }
  }
  return undefined;
}

/** Replaces a text part's text in a copy of the message (the message and its content are never changed). */
function rewritePart(history: AnyMessage[], index: number, partIndex: number, text: string): void {
  const message = history[index] as AnyMessage;
  const content = [...(message.content as { type: string }[])] as TextPart[];
  content[partIndex] = { ...(content[partIndex] as TextPart), text };
  history[index] = { ...message, content };
}

/**
 * Output guardrails on a final answer; a rewrite also replaces the answer in the conversation.
 * Returns the text itself (no promise) when the agent has no output guardrail.
 *
 * @example
 * ```ts
 * const text = await guardOutput(ctx, agent, response.text, history);
 * ```
 */
export function guardOutput(
  ctx: RunContext,
  agent: GovernedAgent,
  text: string,
  history: AnyMessage[],
): string | Promise<string> {
  if (!hasStage(agent, 'output')) return text;
  const guarded = guardNow(ctx, agent.guardrails, {
    stage: 'output',
    text,
    agent: agent.name,
    runId: ctx.runId,
  });
  if (typeof guarded === 'string') return replaceAnswer(text, guarded, history);
  return guarded.then((result) => replaceAnswer(text, result, history));
}

/** A rewritten answer also replaces the last assistant message. */
function replaceAnswer(text: string, guarded: string, history: AnyMessage[]): string {
  const last = history.at(-1);
  if (guarded !== text && last?.role === 'assistant')
    history[history.length - 1] = { ...last, content: [{ type: 'text', text: guarded }] };
  return guarded;
}

/**
 * Tool-input guardrails on one call's validated arguments (synchronous); returns the arguments
 * to run with (parsed from a rewrite's JSON) or throws `GuardrailTrippedError`.
 *
 * @example
 * ```ts
 * const input = guardToolInput(ctx, agent, tool.name, parsed.value);
 * ```
 */
export function guardToolInput(ctx: RunContext, agent: GovernedAgent, tool: string, input: unknown): unknown {
  if (!hasStage(agent, 'tool-input')) return input;
  const text = JSON.stringify(input ?? null);
  const guarded = runGuardrailsNow(ctx, agent.guardrails, {
    stage: 'tool-input',
    text,
    agent: agent.name,
    runId: ctx.runId,
    tool,
  });
  return guarded === text ? input : JSON.parse(guarded);
}

/**
 * Tool-output guardrails on one result (not a handoff's): the output to use instead, undefined
 * when it passes unchanged, or a promise of either (a journaled judge).
 *
 * @example
 * ```ts
 * const guarded = guardToolOutput(ctx, agent, call.toolName, output);
 * ```
 */
export function guardToolOutput(
  ctx: RunContext,
  agent: GovernedAgent,
  toolName: string,
  output: LanguageModelV3ToolResultOutput,
): LanguageModelV3ToolResultOutput | undefined | Promise<LanguageModelV3ToolResultOutput | undefined> {
  let text: string;
  if (output.type === 'text' || output.type === 'error-text') text = output.value;
  else if (output.type === 'json' || output.type === 'error-json') text = JSON.stringify(output.value);
  else return undefined;
  const guarded = guardNow(ctx, agent.guardrails, {
    stage: 'tool-output',
    text,
    agent: agent.name,
    runId: ctx.runId,
    tool: toolName,
  });
  if (typeof guarded === 'string') return guarded === text ? undefined : rewrittenOutput(output, guarded);
  return guarded.then((result) => (result === text ? undefined : rewrittenOutput(output, result)));
}

function rewrittenOutput(
  output: LanguageModelV3ToolResultOutput,
  text: string,
): LanguageModelV3ToolResultOutput {
  return { type: output.type.startsWith('error') ? 'error-text' : 'text', value: text };
}

/**
 * The budget hook's view of a turn: the agent and how to build the partial result.
 *
 * @example
 * ```ts
 * const reservation = reserveBudget(ctx, prompt, budgetCall(agent, history, () => turns));
 * ```
 */
export function budgetCall(
  agent: GovernedAgent,
  history: readonly AnyMessage[],
  turns: () => number,
): BudgetCall {
  return {
    agent,
    partial: () => ({ agent: agent.name, text: lastAssistantText(history), turns: turns() }),
  };
}

/**
 * Before a model call: the budget check with the prompt about to be sent; throws
 * `BudgetExceededError`, or reserves the call's share until `budgetAfterModel` (or
 * `releaseBudget` when the call fails). Undefined when no budget applies.
 *
 * @example
 * ```ts
 * const reservation = budgetBeforeModel(ctx, agent, prompt, history, () => turns);
 * ```
 */
export function budgetBeforeModel(
  ctx: RunContext,
  agent: GovernedAgent,
  prompt: LanguageModelV3Prompt,
  history: readonly AnyMessage[],
  turns: () => number,
): BudgetReservation | undefined {
  if (agent.budget === undefined && !hasRunBudget(ctx)) return undefined;
  return reserveBudget(ctx, prompt, budgetCall(agent, history, turns));
}

/**
 * After a model call (its assistant message already in `history`): adds its usage to the
 * spend; stops the run when over budget and the model wants to continue with tools.
 *
 * @example
 * ```ts
 * budgetAfterModel(ctx, agent, response, history, () => turns, reservation);
 * ```
 */
export function budgetAfterModel(
  ctx: RunContext,
  agent: GovernedAgent,
  response: ModelResponse,
  history: readonly AnyMessage[],
  turns: () => number,
  reservation: BudgetReservation | undefined,
): void {
  if (agent.budget === undefined && reservation === undefined && !hasRunBudget(ctx)) return;
  recordBudgetSpend(
    ctx,
    response,
    budgetCall(agent, history, turns),
    response.toolCalls.length > 0,
    reservation,
  );
}

/** Per-`runAgent` state of the loop detector, one detector per agent. */
export type ToolLoopState = Map<string, ToolCallLoopDetector>;

/**
 * Counts a turn's tool calls for the agent's `loopDetection`; on a loop, stops (throws), waits
 * for a human (escalate) or returns a warning to add as a user message after the tool results.
 * Undefined (nothing to wait for) without `loopDetection` or when the turn completes no loop.
 *
 * @example
 * ```ts
 * const note = await detectToolLoop(ctx, agent, loops, response.toolCalls, inputs);
 * ```
 */
export function detectToolLoop(
  ctx: RunContext,
  agent: GovernedAgent,
  state: ToolLoopState,
  calls: readonly ModelToolCall[],
  inputs: readonly ({ ok: true; value: unknown } | { ok: false; error: string })[],
): Promise<string | undefined> | undefined {
  const options = agent.loopDetection;
  if (options === undefined) return undefined;
  return detectToolLoopNow(ctx, agent, options, state, calls, inputs);
}

function detectToolLoopNow(
  ctx: RunContext,
  agent: GovernedAgent,
  options: Required<LoopDetectionOptions>,
  state: ToolLoopState,
  calls: readonly ModelToolCall[],
  inputs: readonly ({ ok: true; value: unknown } | { ok: false; error: string })[],
): Promise<string | undefined> | undefined {
  let detector = state.get(agent.name);
  if (detector === undefined) {
    detector = new ToolCallLoopDetector(options.maxRepeats);
    state.set(agent.name, detector);
  }
  const observed: { toolName: string; input: unknown }[] = [];
  for (const [index, call] of calls.entries()) {
    const parsed = inputs[index];
    observed.push({ toolName: call.toolName, input: parsed?.ok === true ? parsed.value : call.input });
  }
  const found = detector.observe(observed);
  // No loop (every turn but the last of one): nothing to wait for.
  if (found === undefined) return undefined;
  return respondToLoop(ctx, agent.name, options, found, detector);
}

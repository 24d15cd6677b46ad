/** The agent loop: prepare context -> model step -> tool steps -> handoff or finish, until an answer or a limit. */

import type { AgentInput, Message } from '../context/messages.js';
import type { RunContext } from '../core/run-context.js';
import type { ModelResponse } from '../models/call-model.js';
import type { Agent, AnyTool } from './agent.js';
import { toPromptInput } from './agent-input.js';
import { AgentLoop } from './agent-turns.js';
import type { Transfer } from './handoff.js';
import type { BeforeToolCall } from './tool-steps.js';

/** Everything an agent run produced, for patterns that need more than the output. */
export interface AgentRunResult<OUTPUT> {
  output: OUTPUT;
  /** The final answer's text. */
  text: string;
  /** The agent that gave the final answer (differs from the first one after handoffs). */
  agent: string;
  messages: Message[];
  /** Model turns taken, across all agents of the run. */
  turns: number;
}

/** Options of `runAgent`. */
export interface RunAgentOptions {
  /** Extra handoffs per agent (patterns add edges this way). */
  extraHandoffs?: (agent: Agent<unknown>) => readonly Transfer[];
  /**
   * Called when control moves, in order, on every execution and replay (so it must be
   * deterministic). May throw to stop the handoff (loop guards), or return a transfer to send
   * control there instead of to `to` (a fallback agent); the handoff payload goes along. May
   * return a promise, to wait durably (`ctx.waitFor`) before deciding.
   */
  onHandoff?: (
    from: Agent<unknown>,
    to: Agent<unknown>,
    payload: unknown,
    // biome-ignore lint/suspicious/noConfusingVoidType: guards written as `() => void` (they only throw) must stay assignable.
  ) => Transfer | void | Promise<Transfer | undefined>;
  /** Extra tools per agent, offered after its own (patterns add delegation tools this way). */
  extraTools?: (agent: Agent<unknown>) => readonly AnyTool[];
  /** Checks each tool call before it runs; a returned string denies it and goes to the model as the error. */
  beforeToolCall?: BeforeToolCall;
  /**
   * Model turns taken so far per agent name, read and updated by this call. Share one map across
   * the `runAgent` calls of a pattern so an agent that speaks again continues its turn numbering
   * (scripted models and replays rely on it). Calls sharing a map must run one after another.
   */
  turnCounter?: Map<string, number>;
  /**
   * Nothing runs after this call but the end of the run (the agent is the run itself): the
   * final answer's model step is then stored with the run's end, in one write (one transaction
   * on SQLite). Set by the agent's own `execute`; leave it unset when code follows the call.
   */
  endsRun?: boolean;
}

const noOptions: RunAgentOptions = Object.freeze({});

/**
 * Runs an agent (and whoever it hands off to) inside a run context until a final answer.
 * Every model call and tool call is its own journaled step.
 *
 * @example
 * ```ts
 * const flow = workflow({ name: 'answer' }, async (ctx) => {
 *   const result = await runAgent(ctx, researcher, 'What changed in v2?');
 *   return { answer: result.output, answeredBy: result.agent };
 * });
 * ```
 */
export function runAgent<OUTPUT>(
  ctx: RunContext,
  start: Agent<OUTPUT>,
  input: AgentInput,
  options: RunAgentOptions = noOptions,
): Promise<AgentRunResult<OUTPUT>> {
  return drive(ctx, start as Agent<unknown>, input, options, false) as Promise<AgentRunResult<OUTPUT>>;
}

/**
 * `runAgent(...).output`, without a promise layer for taking the output (the agent's own
 * `execute`: one layer fewer held per run in flight).
 *
 * @example
 * ```ts
 * const answer = await runAgentOutput(ctx, researcher, 'What changed in v2?');
 * ```
 */
export function runAgentOutput<OUTPUT>(
  ctx: RunContext,
  start: Agent<OUTPUT>,
  input: AgentInput,
  options: RunAgentOptions = noOptions,
): Promise<OUTPUT> {
  return drive(ctx, start as Agent<unknown>, input, options, true) as Promise<OUTPUT>;
}

/** Makes the loop's state (`AgentLoop`) and drives it: `turns`. */
function drive(
  ctx: RunContext,
  start: Agent<unknown>,
  input: AgentInput,
  options: RunAgentOptions,
  outputOnly: boolean,
): Promise<unknown> {
  try {
    // Converted once per agent run (not per turn); a string or prompt-format messages cost nothing.
    if (typeof input !== 'string')
      return toPromptInput(input).then((prepared) =>
        turns(new AgentLoop(ctx, start, prepared, options), outputOnly),
      );
    return turns(new AgentLoop(ctx, start, input, options), outputOnly);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * The loop's awaits, and nothing else: its state lives in one `AgentLoop` object and each phase
 * is a method that answers at once unless a hook (or the model, or a tool) makes it wait. An
 * async function keeps its whole register file (its parameters included) for as long as it
 * waits (for the model, per run in flight), so this one holds only a handful.
 */
async function turns(loop: AgentLoop, outputOnly: boolean): Promise<unknown> {
  const starting = loop.begin();
  if (starting !== undefined) await starting;
  for (;;) {
    const preparing = loop.prepare();
    if (preparing !== undefined) await preparing;
    let response: ModelResponse;
    try {
      response = await loop.callModel();
    } catch (error) {
      response = await loop.modelFailed(error);
    }
    const noting = loop.afterModel(response);
    if (noting !== undefined) await noting;
    if (response.toolCalls.length === 0) {
      const answering = loop.answer(response.text);
      const answer = answering instanceof Promise ? await answering : answering;
      if (answer !== undefined) return outputOnly ? answer.output : answer;
      continue;
    }
    const handing = loop.afterTools(response, await loop.toolSteps(response));
    if (handing !== undefined) await handing;
  }
}

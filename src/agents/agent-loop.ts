/** runAgent as the package exports it: the agent loop (run-agent.ts and the steps it uses) loads with the first agent run, not with the package. */

import type { AgentInput } from '../context/messages.js';
import type { RunContext } from '../core/run-context.js';
import type { Agent } from './agent.js';
import type { AgentRunResult, RunAgentOptions } from './run-agent.js';

/**
 * The loaded loop module. It is the module system's own instance (no per-runtime state), kept
 * here only so that every run after the first calls it without a promise in between.
 */
let loop: typeof import('./run-agent.js') | undefined;

/**
 * Runs an agent (and whoever it hands off to) inside a run context until a final answer.
 * Every model call and tool call is its own journaled step. The first call loads the agent
 * loop (model, tool and context steps); importing the package does not.
 *
 * @example
 * ```ts
 * const flow = workflow({ name: 'answer' }, async (ctx, question: string) => {
 *   const result = await runAgent(ctx, researcher, question);
 *   return { answer: result.output, answeredBy: result.agent };
 * });
 * ```
 */
export function runAgent<OUTPUT>(
  ctx: RunContext,
  start: Agent<OUTPUT>,
  input: AgentInput,
  options?: RunAgentOptions,
): Promise<AgentRunResult<OUTPUT>> {
  if (loop !== undefined) return loop.runAgent(ctx, start, input, options);
  return import('./run-agent.js').then((loaded) => {
    loop = loaded;
    return loaded.runAgent(ctx, start, input, options);
  });
}

/** `runAgent(...).output` with no promise layer for taking it (what an agent's own `execute` runs). */
export function runAgentOutput<OUTPUT>(
  ctx: RunContext,
  start: Agent<OUTPUT>,
  input: AgentInput,
  options?: RunAgentOptions,
): Promise<OUTPUT> {
  if (loop !== undefined) return loop.runAgentOutput(ctx, start, input, options);
  return import('./run-agent.js').then((loaded) => {
    loop = loaded;
    return loaded.runAgentOutput(ctx, start, input, options);
  });
}

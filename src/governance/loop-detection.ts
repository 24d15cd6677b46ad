/** Loop detection: repeated tool calls, handoff cycles and repeated chat messages; respond by stopping, warning the model or asking a human. */

import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { canonicalJson } from './audit.js';

/**
 * What a loop detector does when it sees a loop, the same for the three kinds of loop (an
 * agent's repeated tool calls, a `handoff()` cycle, a `groupChat()` repeating itself):
 * `stop` ends it, `warn` tells the model and stops if the loop comes back, `escalate` waits
 * durably for a human on the signal `loop:<agent or pattern name>` (a `LoopEscalationReply`).
 *
 * @example
 * ```ts
 * const response: LoopResponse = 'escalate';
 * const chat = groupChat({ name: 'debate', members: [optimist, skeptic], loopDetection: { response } });
 * ```
 */
export type LoopResponse = 'stop' | 'warn' | 'escalate';

/**
 * Options of an agent's or a group chat's `loopDetection`.
 *
 * @example
 * ```ts
 * const searcher = agent({ name: 'searcher', instructions: '...', model, tools: [search], loopDetection: { maxRepeats: 3, response: 'warn' } });
 * const debate = groupChat({ name: 'debate', members: [optimist, skeptic], loopDetection: { maxRepeats: 3, response: 'stop' } });
 * ```
 */
export interface LoopDetectionOptions {
  /**
   * Repeats that count as a loop: identical tool calls (same tool, same arguments) in one agent
   * loop, or identical messages (case and whitespace folded) in a group chat. Default 3.
   */
  maxRepeats?: number;
  /**
   * `stop`: an agent fails with `LOOP_DETECTED`; a group chat ends with `stoppedBy: 'loop: ...'`.
   * `warn` (default): tell the model (a user message; in a group chat, a message from the chat);
   * if it repeats `maxRepeats` more times, stop. `escalate`: wait durably for the signal
   * `loop:<agent>` (`loop:<chat>` in a group chat) with `{ action: 'continue' | 'stop', message? }`
   * (a `message` goes to the model).
   */
  response?: LoopResponse;
}

const loopResponses: readonly LoopResponse[] = ['stop', 'warn', 'escalate'];

/**
 * Checks a loop response option (`loopDetection.response`, a handoff's `loopResponse`) with a
 * `ConfigError` naming it; the default when absent.
 *
 * @example
 * ```ts
 * const response = checkLoopResponse(options.loopResponse, 'handoff("support")', 'loopResponse', 'stop');
 * ```
 */
export function checkLoopResponse(
  value: unknown,
  where: string,
  field: string,
  fallback: LoopResponse,
): LoopResponse {
  if (value === undefined) return fallback;
  if (!loopResponses.includes(value as LoopResponse))
    throw new ConfigError(
      `${where}: ${field} must be 'stop', 'warn' or 'escalate', got ${JSON.stringify(value) ?? String(value)}.`,
      { code: 'INVALID_OPTION' },
    );
  return value as LoopResponse;
}

/**
 * The loop detector stopped the run (code `LOOP_DETECTED`); `repeated` names what repeated.
 *
 * @example
 * ```ts
 * await handle.result().catch((error) => error.code === 'LOOP_DETECTED' && console.log(error.repeated));
 * ```
 */
export class LoopDetectedError extends ModelBehaviorError {
  readonly repeated: string;
  constructor(agent: string, repeated: string, count: number, runId?: string) {
    super(
      `Agent "${agent}" is looping: ${repeated} was repeated ${count} times. ` +
        'Tighten its instructions, give the tool a better answer for this case, or raise loopDetection.maxRepeats.',
      { agent, code: 'LOOP_DETECTED', ...(runId === undefined ? {} : { runId }) },
    );
    this.name = 'LoopDetectedError';
    this.repeated = repeated;
  }
}

/**
 * Checks an agent's `loopDetection` option when the agent is defined.
 *
 * @example
 * ```ts
 * checkLoopDetection({ maxRepeats: 2, response: 'stop' }, 'agent("a")');
 * ```
 */
export function checkLoopDetection(
  options: unknown,
  where: string,
): Required<LoopDetectionOptions> | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== 'object' || Array.isArray(options))
    throw new ConfigError(`${where}: loopDetection must be an object { maxRepeats?, response? }.`, {
      code: 'INVALID_OPTION',
    });
  const value = options as LoopDetectionOptions;
  const maxRepeats = value.maxRepeats ?? 3;
  if (!Number.isInteger(maxRepeats) || maxRepeats < 2)
    throw new ConfigError(
      `${where}: loopDetection.maxRepeats must be an integer >= 2, got ${String(maxRepeats)}.`,
      {
        code: 'INVALID_OPTION',
      },
    );
  const response = checkLoopResponse(value.response, where, 'loopDetection.response', 'warn');
  return { maxRepeats, response };
}

/**
 * Counts identical tool calls (same tool, same arguments in any key order) in one agent loop.
 *
 * @example
 * ```ts
 * const detector = new ToolCallLoopDetector(2);
 * detector.observe([{ toolName: 'search', input: { q: 'x' } }]); // undefined
 * detector.observe([{ toolName: 'search', input: { q: 'x' } }]); // { repeated: 'the tool call search({"q":"x"})', count: 2 }
 * ```
 */
export class ToolCallLoopDetector {
  readonly #counts = new Map<string, number>();
  readonly #maxRepeats: number;
  constructor(maxRepeats: number) {
    this.#maxRepeats = maxRepeats;
  }

  /** Counts one turn's calls; returns the first call that reached `maxRepeats` (and its count), if any. */
  observe(
    calls: readonly { toolName: string; input: unknown }[],
  ): { repeated: string; count: number } | undefined {
    let found: { repeated: string; count: number } | undefined;
    for (const call of calls) {
      // Keys sorted, so `{a, b}` and `{b, a}` are the same call.
      const signature = `${call.toolName}(${canonicalJson(call.input)})`;
      const count = (this.#counts.get(signature) ?? 0) + 1;
      this.#counts.set(signature, count);
      if (found === undefined && count % this.#maxRepeats === 0)
        found = {
          repeated: `the tool call ${signature.length > 200 ? `${signature.slice(0, 200)}…` : signature}`,
          count,
        };
    }
    return found;
  }

  /** Forgets what was counted (after a human said to continue). */
  reset(): void {
    this.#counts.clear();
  }
}

/**
 * The first text that appears `maxRepeats` times in `texts` (trimmed, case and whitespace
 * folded), for group chats whose members keep saying the same thing.
 *
 * @example
 * ```ts
 * findRepeatedText(['ok', 'Looks good.', 'looks  good.', 'LOOKS GOOD.'], 3); // 'Looks good.'
 * ```
 */
export function findRepeatedText(texts: readonly string[], maxRepeats = 3): string | undefined {
  const counts = new Map<string, { first: string; count: number }>();
  for (const text of texts) {
    const key = foldText(text);
    if (key === '') continue;
    const seen = counts.get(key) ?? { first: text.trim(), count: 0 };
    seen.count++;
    counts.set(key, seen);
    if (seen.count >= maxRepeats) return seen.first;
  }
  return undefined;
}

/**
 * A text as `findRepeatedText` compares it: trimmed, whitespace runs as one space, lower case.
 *
 * @example
 * ```ts
 * foldText('  Looks   GOOD. '); // 'looks good.'
 * ```
 */
export function foldText(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * What a human answers on `loop:<agent>` (an agent's tool calls) or `loop:<pattern>` (a
 * `handoff()` cycle, a `groupChat()` repeating itself). Anything but `continue` stops.
 *
 * @example
 * ```ts
 * await runtime.signal(runId, 'loop:support', { action: 'continue', message: 'The refund is approved; tell the customer.' } satisfies LoopEscalationReply);
 * ```
 */
export interface LoopEscalationReply {
  action: 'continue' | 'stop';
  /** Passed to the model (an agent's user message, a chat message) when continuing. */
  message?: string;
}

/** What a detector found: a description of what repeated, and how many times. */
export interface LoopFound {
  /** `the tool call search({"q":"x"})`, `the handoff cycle a -> b -> a`, `the message "ok"`. */
  repeated: string;
  count: number;
}

/**
 * Emits `loop-detected` (only when someone listens). `agent` is the agent that looped: the one
 * repeating a tool call, handing control around a cycle, or saying the repeated chat message.
 *
 * @example
 * ```ts
 * announceLoop(ctx, 'billing', { repeated: 'the handoff cycle triage -> billing -> triage', count: 2 }, 'warn');
 * ```
 */
export function announceLoop(ctx: RunContext, agent: string, found: LoopFound, response: LoopResponse): void {
  if (ctx.observed)
    ctx.emitEvent({
      type: 'loop-detected',
      scope: ctx.scope,
      agent,
      repeated: found.repeated,
      count: found.count,
      response,
    });
}

/**
 * Waits durably (journaled, survives restarts) for a human's answer on `signal` and normalizes
 * it: anything but `{ action: 'continue' }` is a stop; an empty or non-string message is dropped.
 *
 * @example
 * ```ts
 * const reply = await waitForLoopDecision(ctx, 'loop:support');
 * if (reply.action === 'stop') throw new Error('stopped by a human');
 * ```
 */
export async function waitForLoopDecision(ctx: RunContext, signal: string): Promise<LoopEscalationReply> {
  const reply = await ctx.waitFor<LoopEscalationReply | null>(signal);
  if (reply?.action !== 'continue') return { action: 'stop' };
  return typeof reply.message === 'string' && reply.message.trim() !== ''
    ? { action: 'continue', message: reply.message }
    : { action: 'continue' };
}

/**
 * Responds to a detected loop: throws `LoopDetectedError` (stop, or warn a second time), returns
 * a warning for the model (warn), or waits durably for `loop:<agent>` (escalate) and returns
 * the human's message, if any. Deterministic on replay (the wait is journaled).
 *
 * @example
 * ```ts
 * const note = await respondToLoop(ctx, 'searcher', { maxRepeats: 3, response: 'warn' }, found);
 * if (note !== undefined) history.push(userMessage(note));
 * ```
 */
export async function respondToLoop(
  ctx: RunContext,
  agent: string,
  options: Required<LoopDetectionOptions>,
  found: LoopFound,
  detector?: ToolCallLoopDetector,
): Promise<string | undefined> {
  const secondTime = found.count >= options.maxRepeats * 2;
  const response: LoopResponse = options.response === 'warn' && secondTime ? 'stop' : options.response;
  announceLoop(ctx, agent, found, response);
  if (response === 'stop') throw new LoopDetectedError(agent, found.repeated, found.count, ctx.runId);
  if (response === 'warn')
    return (
      `Loop warning: you have made ${found.repeated} ${found.count} times with the same arguments and it will not give a different result. ` +
      'Do not call it again with these arguments; use what you have, try something different, or give your final answer.'
    );
  const reply = await waitForLoopDecision(ctx, `loop:${agent}`);
  if (reply.action !== 'continue') throw new LoopDetectedError(agent, found.repeated, found.count, ctx.runId);
  detector?.reset();
  return reply.message;
}

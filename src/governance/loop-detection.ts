/** Loop detection: the same tool call repeated, the same text repeated; respond by stopping, warning the model or asking a human. */

import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { canonicalJson } from './audit.js';

/** What the detector does when it sees a loop. */
export type LoopResponse = 'stop' | 'warn' | 'escalate';

/**
 * Options of an agent's `loopDetection`.
 *
 * @example
 * ```ts
 * const searcher = agent({ name: 'searcher', instructions: '...', model, tools: [search], loopDetection: { maxRepeats: 3, response: 'warn' } });
 * ```
 */
export interface LoopDetectionOptions {
  /** Identical tool calls (same tool, same arguments) in one agent loop that count as a loop. Default 3. */
  maxRepeats?: number;
  /**
   * `stop`: fail with `LOOP_DETECTED`. `warn` (default): tell the model in a user message; if it
   * repeats the call `maxRepeats` more times, stop. `escalate`: wait durably for the signal
   * `loop:<agent>` with `{ action: 'continue' | 'stop', message? }` (a `message` goes to the model).
   */
  response?: LoopResponse;
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
  const value = options as LoopDetectionOptions;
  const maxRepeats = value?.maxRepeats ?? 3;
  if (!Number.isInteger(maxRepeats) || maxRepeats < 2)
    throw new ConfigError(
      `${where}: loopDetection.maxRepeats must be an integer >= 2, got ${String(maxRepeats)}.`,
      {
        code: 'INVALID_OPTION',
      },
    );
  const response = value?.response ?? 'warn';
  if (!['stop', 'warn', 'escalate'].includes(response))
    throw new ConfigError(`${where}: loopDetection.response must be 'stop', 'warn' or 'escalate'.`, {
      code: 'INVALID_OPTION',
    });
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
    const key = text.trim().replace(/\s+/g, ' ').toLowerCase();
    if (key === '') continue;
    const seen = counts.get(key) ?? { first: text.trim(), count: 0 };
    seen.count++;
    counts.set(key, seen);
    if (seen.count >= maxRepeats) return seen.first;
  }
  return undefined;
}

/** What a human answers on `loop:<agent>`. */
export interface LoopEscalationReply {
  action: 'continue' | 'stop';
  /** Passed to the model as a user message when continuing. */
  message?: string;
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
  found: { repeated: string; count: number },
  detector?: ToolCallLoopDetector,
): Promise<string | undefined> {
  const secondTime = found.count >= options.maxRepeats * 2;
  const response: LoopResponse = options.response === 'warn' && secondTime ? 'stop' : options.response;
  if (ctx.observed)
    ctx.emitEvent({
      type: 'loop-detected',
      scope: ctx.scope,
      agent,
      repeated: found.repeated,
      count: found.count,
      response,
    });
  if (response === 'stop') throw new LoopDetectedError(agent, found.repeated, found.count, ctx.runId);
  if (response === 'warn')
    return (
      `Loop warning: you have made ${found.repeated} ${found.count} times with the same arguments and it will not give a different result. ` +
      'Do not call it again with these arguments; use what you have, try something different, or give your final answer.'
    );
  const reply = await ctx.waitFor<LoopEscalationReply | null>(`loop:${agent}`);
  if (reply?.action !== 'continue')
    throw new LoopDetectedError(agent, found.repeated, found.count, ctx.runId);
  detector?.reset();
  return typeof reply.message === 'string' && reply.message.length > 0 ? reply.message : undefined;
}

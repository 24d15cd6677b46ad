/** The `escalate` route: a durable wait for a human who answers `retry` or `fail`. */

import { BatonError, type ErrorClass, errorMessage } from '../../core/errors.js';
import { isInterruption } from '../../core/interruption.js';
import type { RunContext } from '../../core/run-context.js';

/**
 * What a human sends to an escalated run with `runtime.signal(runId, 'escalation:<agent>', decision)`:
 * `retry` runs the failed call again (as a new step), `fail` fails the run with the note.
 *
 * @example
 * ```ts
 * await runtime.signal(runId, 'escalation:billing', { action: 'retry', note: 'ledger unlocked' } satisfies EscalationDecision);
 * ```
 */
export interface EscalationDecision {
  action: 'retry' | 'fail';
  note?: string;
}

/** The class a failed step recorded on its error (journaled, so replays route the same way). */
export function errorClassOf(error: unknown): ErrorClass | undefined {
  const value = (error as { errorClass?: unknown } | null)?.errorClass;
  return typeof value === 'string' ? (value as ErrorClass) : undefined;
}

/**
 * Runs `call` (one or more journaled steps); when it fails with class `escalate`, emits an
 * `escalation` event, waits durably for the signal `escalation:<agent>` and retries or fails.
 */
export function withEscalation<T>(
  ctx: RunContext,
  agent: string,
  tool: string | undefined,
  call: () => Promise<T>,
): Promise<T> {
  // The common case (no failure) adds nothing but one `catch`.
  return call().catch((error: unknown) => escalated(ctx, agent, tool, call, error));
}

/**
 * `withEscalation` for a call already made and failed with `first`: a caller that makes its
 * first call itself (`call(...).catch((error) => escalated(ctx, agent, tool, () => call(...), error))`)
 * allocates the retrying closure only once a call failed.
 */
export async function escalated<T>(
  ctx: RunContext,
  agent: string,
  tool: string | undefined,
  call: () => Promise<T>,
  first: unknown,
): Promise<T> {
  let failure: { error: unknown } | undefined = { error: first };
  for (;;) {
    try {
      if (failure !== undefined) {
        const { error } = failure;
        failure = undefined;
        throw error;
      }
      return await call();
    } catch (error) {
      if (isInterruption(error, ctx) || errorClassOf(error) !== 'escalate') throw error;
      const signal = `escalation:${agent}`;
      const text = errorMessage(error);
      if (ctx.observed)
        ctx.emitEvent({
          type: 'escalation',
          scope: ctx.scope,
          agent,
          ...(tool === undefined ? {} : { tool }),
          signal,
          error: text,
        });
      const decision = await ctx.waitFor<EscalationDecision | undefined>(signal);
      if (decision?.action === 'retry') continue;
      throw Object.assign(
        new BatonError(
          `Escalated failure${tool === undefined ? '' : ` of tool ${tool}`} in agent ${agent} was not resolved: ${text}${
            decision?.note === undefined ? '' : ` (human: ${decision.note})`
          }. Send { action: 'retry' } to the signal ${signal} to try again instead.`,
          { code: 'ESCALATION_FAILED', fault: 'user', runId: ctx.runId, cause: error },
        ),
        { errorClass: 'fatal' as const },
      );
    }
  }
}

/** magentic()'s plan review: a person approves, rejects or edits each plan through the `plan-review` signal. */

import { BatonError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { lazySchema } from '../core/load-zod.js';
import type { RunContext } from '../core/run-context.js';
import type { TaskLedger } from './magentic-ledger.js';
import { recordDecision } from './shared.js';

const PATTERN = 'magentic';
const REVIEW_SIGNAL = 'plan-review';

/** Options of `reviewPlan`: a person approves, rejects or edits every plan before the team works on it. */
export interface PlanReviewOptions {
  /** Proceed with the plan as it is if no review arrives within this long. Default: wait forever. */
  timeoutMs?: number;
  /** Rejections in a row the manager may answer with a new plan before the run fails with `PLAN_REJECTED`. Default 3. */
  maxRevisions?: number;
}

/**
 * The payload of the `plan-review` signal.
 *
 * @example
 * ```ts
 * await runtime.signal(runId, 'plan-review', { approve: false, feedback: 'Check the 2023 figures first.' });
 * ```
 */
export type PlanReview = { approve: true } | { approve: false; feedback: string } | { plan: string[] };

/** The checked `reviewPlan` options. */
export interface PlanReviewSettings {
  timeoutMs: number | undefined;
  maxRevisions: number;
}

/** What the review asks of the run: journal a plan the reviewer edited, and have the manager revise a rejected one. */
export interface PlanReviewSteps {
  edited(ledger: TaskLedger): Promise<TaskLedger>;
  revise(ledger: TaskLedger, why: string): Promise<TaskLedger>;
}

const reviewSchema = lazySchema((z) =>
  z.union([
    z.object({ plan: z.array(z.string().min(1)).min(1) }),
    z.object({ approve: z.literal(true) }),
    z.object({ approve: z.literal(false), feedback: z.string().optional() }),
  ]),
);

/**
 * Waits for `plan-review` signals until the plan is approved, edited, or the wait times out. A
 * rejection has the manager revise the plan (through `steps.revise`), which is reviewed again.
 */
export async function reviewPlan(
  ctx: RunContext,
  team: { name: string; where: string },
  round: number,
  proposed: TaskLedger,
  options: PlanReviewSettings,
  steps: PlanReviewSteps,
): Promise<TaskLedger> {
  const { name, where } = team;
  let ledger = proposed;
  let revisions = 0;
  const decide = (decision: string, reasons: string[]) =>
    recordDecision(ctx, { pattern: PATTERN, name, decision, reasons, data: { round } });
  for (;;) {
    const request = {
      pattern: PATTERN,
      name,
      round,
      signal: REVIEW_SIGNAL,
      facts: ledger.facts,
      plan: ledger.plan,
    };
    // Emitted inside a step: once, when the review is first requested, never again on replay.
    await ctx.step(
      'review:plan',
      () => {
        ctx.emit({ name: 'plan-review-requested', data: request });
        return request;
      },
      { meta: { pattern: PATTERN, review: 'plan', round } },
    );
    let payload: unknown;
    try {
      payload = await ctx.waitFor(
        REVIEW_SIGNAL,
        options.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs },
      );
    } catch (error) {
      if (isInterruption(error, ctx)) throw error;
      if (BatonError.isInstance(error) && error.code === 'WAIT_TIMEOUT') {
        await decide('plan-review-timeout', [
          `no review within ${options.timeoutMs} ms; proceeding with the plan`,
        ]);
        return ledger;
      }
      throw error;
    }
    const review = reviewSchema().safeParse(payload);
    if (!review.success) {
      ctx.emit({
        name: 'plan-review-invalid',
        data: {
          pattern: PATTERN,
          name,
          round,
          payload,
          expected: '{ approve: true } | { approve: false, feedback } | { plan: string[] }',
        },
      });
      continue;
    }
    const verdict = review.data;
    if ('plan' in verdict) {
      await decide('plan-edited', ['the reviewer replaced the plan']);
      return steps.edited({ facts: ledger.facts, plan: verdict.plan });
    }
    if (verdict.approve) {
      await decide('plan-approved', []);
      return ledger;
    }
    const feedback = verdict.feedback?.trim() || '(no reason given)';
    if (revisions >= options.maxRevisions)
      throw new BatonError(
        `${where}: the reviewer rejected the plan ${revisions + 1} times (reviewPlan.maxRevisions is ${options.maxRevisions}); last feedback: ${feedback}`,
        { code: 'PLAN_REJECTED', fault: 'user', runId: ctx.runId },
      );
    revisions++;
    await decide('plan-rejected', [feedback]);
    const why = `A reviewer rejected the plan with this feedback: ${feedback}\nRevise the plan to address it.`;
    ledger = await steps.revise(ledger, why);
  }
}

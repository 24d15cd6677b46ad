/** Budget: the limits of a run or an agent (turns, tokens, cost, wall time); the kernel stores them, governance enforces them. */

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
  /**
   * Cost in US dollars, from registered prices (`registerPrices`) or the maintained price
   * catalogue. A model without a price would count $0 and never be stopped, so under a cost
   * limit it is an error (`UNPRICED_MODEL`) unless `allowUnpricedModels` is set.
   */
  maxCostUsd?: number;
  /** Milliseconds since the run started (run budget) or since the agent's first model call (agent budget). */
  maxWallTimeMs?: number;
  /**
   * With `maxCostUsd`: let models without a price run, counted at $0 (for example a local model
   * you do not want to price). Default false: such a model is refused before its first call.
   */
  allowUnpricedModels?: boolean;
  /**
   * A soft threshold, as a share of each limit (0.8: at 80%): when a model call's spend takes
   * turns, tokens or cost across it, the run emits a `budget-alert` event (a span event and the
   * `baton.budget.alerts` metric when observed) and goes on; the hard stop stays at the limit.
   */
  alertAt?: number;
}

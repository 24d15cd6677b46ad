/** Resilience of model and tool calls: classification, retries, timeouts, breakers, bulkheads, fallbacks, escalation. */

export type { AgentResilience } from './agent-model.js';
export { classifyError, isErrorClass, retryAfterMs } from './classify.js';
export type { EscalationDecision } from './escalation.js';
export {
  type AdaptiveTimeoutOptions,
  type BreakerOptions,
  type BreakerState,
  breakerState,
  configureResilience,
  createResilience,
  type LatencyStats,
  type LimitOptions,
  latencyStats,
  type ProviderResilience,
  type Resilience,
  type ResilienceConfig,
  type RetryOptions,
  resetResilience,
  type ToolResilience,
} from './registry.js';

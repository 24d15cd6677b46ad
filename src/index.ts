/** Baton's public root API: the kernel, agents, tools, models, patterns and the in-memory store. */

export type { Agent, AgentOptions, AnyTool, InstructionContext, ModelSettings } from './agents/agent.js';
export { agent } from './agents/agent.js';
export type { AgentHooks, AgentRun, MaybePromise, ToolCallInfo } from './agents/agent-hooks.js';
export { runAgent } from './agents/agent-loop.js';
export type { InputFilter, Transfer, TransferOptions } from './agents/handoff.js';
export { handoffFilters, transfer } from './agents/handoff.js';
export type { AgentRunResult, RunAgentOptions } from './agents/run-agent.js';
export type { BeforeToolCall } from './agents/tool-steps.js';
export type { ContextReport } from './context/context-guard.js';
export { ContextOverflowError } from './context/context-guard.js';
export type { CompactionOptions, ContextOptions, PruneOptions } from './context/context-policy.js';
export type { ContextWindows } from './context/context-windows.js';
export { contextWindowOf, createContextWindows, registerContextWindow } from './context/context-windows.js';
export type { AgentInput, InputMessage, Message } from './context/messages.js';
export { userMessage } from './context/messages.js';
export type { StructuredContext } from './context/scoped-context.js';
export type { TokenEncoding, TokenizerInfo, TokenizerRule, Tokenizers } from './context/tokens.js';
export { countPromptTokens, countTokens, createTokenizers, registerTokenizer } from './context/tokens.js';
export type { Clock } from './core/clock.js';
export type { BatonErrorCode } from './core/error-codes.js';
export type { BatonErrorOptions, ErrorClass, ErrorCode, Fault, SerializedError } from './core/errors.js';
export {
  BatonError,
  ConfigError,
  ModelBehaviorError,
  ModelCallError,
  NonDeterminismError,
  RunCancelledError,
  RunLeasedError,
  RunNotFoundError,
  ToolError,
  VersionMismatchError,
  WaitTimeoutError,
} from './core/errors.js';
export type { BatonEvent, BatonEventType, EventListener } from './core/events.js';
export type { SealedAudit } from './core/execution-host.js';
export { isInterruption } from './core/interruption.js';
export type { RetryOptions } from './core/retry-options.js';
export type {
  ChildRunOptions,
  CustomEvent,
  RunContext,
  RunGovernance,
  RunServices,
  StepContext,
  StepOptions,
  Tenant,
  WaitOptions,
} from './core/run-context.js';
export type { ExecutionWatch, RunObserver } from './core/run-observer.js';
export type { ReplayReport } from './core/run-replay.js';
export type { AnyRunnable, Runnable, Workflow, WorkflowOptions } from './core/runnable.js';
export { workflow } from './core/runnable.js';
export type {
  ForkOptions,
  ForkOrigin,
  RunHandle,
  Runtime,
  RuntimeOptions,
  StartOptions,
} from './core/runtime.js';
export type {
  JournalEntry,
  JournalEntryKind,
  ReadRecordsOptions,
  RunFilter,
  RunPatch,
  RunRecord,
  RunStatus,
  SignalRecord,
  StepMeta,
  Store,
  StoredRecord,
  StreamRecord,
  Usage,
} from './core/store.js';
export type { OpenWait } from './core/wait-payload.js';
export { checkSignalPayload, waitsStream } from './core/wait-payload.js';
export type { PendingRequest } from './governance/approval-inbox.js';
export { listPending, pendingRequests } from './governance/approval-inbox.js';
export type {
  ApprovalContext,
  ApprovalDecision,
  ApprovalDuration,
  ApprovalEscalation,
  ApprovalPolicy,
  ApprovalPredicate,
  ApprovalRequest,
  ApprovalRule,
  ApprovalTimeoutAction,
} from './governance/approvals.js';
export { approvalSignal, argumentsHash } from './governance/approvals.js';
export type {
  AuditChain,
  AuditEntry,
  AuditEntryType,
  AuditedExecution,
  AuditWriter,
} from './governance/audit.js';
export { auditKeyStream, createAuditWriter, readAudit } from './governance/audit.js';
export type { AuditProblem, AuditReport } from './governance/audit-verify.js';
export { verifyAudit } from './governance/audit-verify.js';
export type { Budget, BudgetLimit, BudgetPartialResult, Spend } from './governance/budget.js';
export { BudgetExceededError, estimatePromptTokens } from './governance/budget.js';
export type { BuiltinGuardrailOptions } from './governance/builtin-guardrails.js';
export {
  detectInjection,
  findInjectionMarkers,
  findPii,
  findSecrets,
  neutralizeInjection,
  redactPii,
  redactSecrets,
} from './governance/builtin-guardrails.js';
export {
  guardedJournal,
  guardedMessages,
  settledLength,
  withGuardedInput,
} from './governance/guarded-journal.js';
export type {
  Guardrail,
  GuardrailContext,
  GuardrailOptions,
  GuardrailStage,
  GuardrailSubject,
  GuardrailVerdict,
  ModelJudgeOptions,
} from './governance/guardrails.js';
export { GuardrailTrippedError, guardrail, modelJudge } from './governance/guardrails.js';
export type { LoopDetectionOptions, LoopEscalationReply, LoopResponse } from './governance/loop-detection.js';
export { findRepeatedText, LoopDetectedError } from './governance/loop-detection.js';
export type { Capability, Permissions } from './governance/permissions.js';
export { permissionDenial } from './governance/permissions.js';
export type {
  Blackboard,
  BlackboardChange,
  BlackboardOptions,
  BlackboardRevision,
  BlackboardSnapshot,
} from './memory/blackboard.js';
export { blackboard } from './memory/blackboard.js';
export type { InMemoryIndexOptions } from './memory/in-memory-index.js';
export { createInMemoryIndex } from './memory/in-memory-index.js';
export type { JsonPatchOperation } from './memory/json-patch.js';
export type { Memory, MemoryOptions, RecallMode, RecallOptions, RememberOptions } from './memory/memory.js';
export { createMemory } from './memory/memory.js';
export type { MemoryHit, MemoryIndex, MemoryItem, MemoryScope, MemorySearch } from './memory/memory-index.js';
export type { MemoryToolScope, MemoryTools, MemoryToolsOptions } from './memory/memory-tools.js';
export { memoryTools } from './memory/memory-tools.js';
export { createStoreMemoryIndex } from './memory/store-memory-index.js';
export type { ThreadRunResult, ThreadTurn } from './memory/threads.js';
export {
  appendThread,
  clearThread,
  listThreadRuns,
  loadThreadMessages,
  readThread,
  readThreadTurns,
  saveThreadMessages,
  withThread,
} from './memory/threads.js';
export type { DeltaListener, ModelResponse, ModelToolCall } from './models/call-model.js';
export type { ModelProviders } from './models/model-providers.js';
export { createModelProviders } from './models/model-providers.js';
export type { ModelPrice, PriceTable } from './models/pricing.js';
export { costOf, createPriceTable, priceOf, registerPrices } from './models/pricing.js';
export type {
  AdaptiveTimeoutOptions,
  AgentResilience,
  BreakerOptions,
  BreakerState,
  EscalationDecision,
  LatencyStats,
  LimitOptions,
  ProviderResilience,
  Resilience,
  ResilienceConfig,
  ToolResilience,
} from './models/resilience/index.js';
export {
  breakerState,
  classifyError,
  configureResilience,
  createResilience,
  latencyStats,
  resetResilience,
} from './models/resilience/index.js';
export type { LanguageModelSource, ModelChain, ModelFactory, ModelSpec } from './models/resolve-model.js';
export { registerModelProvider } from './models/resolve-model.js';
export type {
  CachedModelResponse,
  MemoryResponseCacheOptions,
  ResolvedResponseCache,
  ResponseCacheOptions,
  ResponseCacheStore,
} from './models/response-cache.js';
export { createMemoryResponseCache, responseCacheKey } from './models/response-cache.js';
export type { StoreResponseCacheOptions } from './models/store-response-cache.js';
export { createStoreResponseCache } from './models/store-response-cache.js';
export type { MetricsOptions } from './observability/metrics.js';
export type {
  RunStats,
  RunStatsOptions,
  StatsBucket,
  StatsDimension,
  StatsRow,
} from './observability/run-stats.js';
export { runStats } from './observability/run-stats.js';
export type { TracingOptions } from './observability/tracing.js';
export type {
  AdaptiveOptions,
  AdaptivePolicy,
  PatternChoice,
  PolicyDecision,
  TaskInput,
} from './patterns/adaptive.js';
export { adaptive, defaultAdaptivePolicy } from './patterns/adaptive.js';
export type {
  AggregateInfo,
  Aggregator,
  ConcurrentOptions,
  ConsistencyMeasure,
  LowConsistencyReport,
  UnitResult,
  VoteResult,
  VoteTally,
  WeightedVote,
} from './patterns/concurrent.js';
export { concurrent } from './patterns/concurrent.js';
export type {
  EventDrivenOptions,
  EventDrivenResult,
  Subscriber,
  TopicBus,
  TopicBusOptions,
  TopicEvent,
} from './patterns/event-driven.js';
export { createTopicBus, eventDriven, readTopic } from './patterns/event-driven.js';
export type {
  CandidateStats,
  ChoiceMode,
  EvolvingOptions,
  OutcomeInfo,
  PolicyOutcome,
} from './patterns/evolving.js';
export { evolving, policyStats } from './patterns/evolving.js';
export type {
  GroupChatOptions,
  GroupChatResult,
  LlmSelection,
  SpeakerSelection,
} from './patterns/group-chat.js';
export { groupChat } from './patterns/group-chat.js';
export type { HandoffOptions } from './patterns/handoff.js';
export { handoff } from './patterns/handoff.js';
export type { Human, HumanOptions, HumanRequest } from './patterns/human.js';
export { human } from './patterns/human.js';
export type { Evaluation, Evaluator, LoopIteration, LoopOptions, LoopResult } from './patterns/loop.js';
export { loop } from './patterns/loop.js';
export type {
  MagenticMember,
  MagenticOptions,
  MagenticResult,
  MagenticStop,
  PlanReview,
  PlanReviewOptions,
  TaskLedgerReason,
} from './patterns/magentic.js';
export { magentic } from './patterns/magentic.js';
export type { LedgerAnswer, ProgressLedger, TaskFacts, TaskLedger } from './patterns/magentic-ledger.js';
export type { MakerCheckerOptions, MakerCheckerResult, Verdict } from './patterns/maker-checker.js';
export { makerChecker } from './patterns/maker-checker.js';
export type { SequentialOptions, Stage } from './patterns/sequential.js';
export { sequential } from './patterns/sequential.js';
export type { SupervisorOptions, SupervisorWorker } from './patterns/supervisor.js';
export { supervisor } from './patterns/supervisor.js';
export type {
  GraphFeatures,
  GraphTask,
  ParsedTaskGraph,
  ParseTaskGraphOptions,
  TaskGraph,
} from './patterns/task-graph.js';
export { graphFeatures, parseTaskGraph } from './patterns/task-graph.js';
export type { ChatMessage, ChatState, TerminationCondition } from './patterns/termination.js';
export {
  allOf,
  anyOf,
  approvedBy,
  maxRounds,
  terminateWhen,
  textMention,
  timeLimit,
  tokenBudget,
} from './patterns/termination.js';
export type { PackageRuntimeOptions } from './runtime.js';
export { createRuntime } from './runtime.js';
export { createMemoryStore } from './stores/memory/index.js';
export type { AiSdkToolOptions } from './tools/ai-sdk-tool.js';
export { fromAiSdkTool } from './tools/ai-sdk-tool.js';
export type { RunnableToolOptions, Tool, ToolContext, ToolOptions } from './tools/tool.js';
export { runnableTool, tool } from './tools/tool.js';
export type { ToolEmbeddingOptions } from './tools/tool-embeddings.js';
export type {
  RoutedOffer,
  RouteJournal,
  ToolMatch,
  ToolRouter,
  ToolRoutingOptions,
} from './tools/tool-router.js';
export { createToolRouter } from './tools/tool-router.js';

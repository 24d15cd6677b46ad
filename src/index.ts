/** Baton's public root API: the kernel, agents, tools, models, patterns and the in-memory store. */

export type { Agent, AgentOptions, AnyTool, InstructionContext, ModelSettings } from './agents/agent.js';
export { agent } from './agents/agent.js';
export type { InputFilter, Transfer, TransferOptions } from './agents/handoff.js';
export { handoffFilters, transfer } from './agents/handoff.js';
export type { AgentInput, Message } from './agents/messages.js';
export { userMessage } from './agents/messages.js';
export type { AgentRunResult, RunAgentOptions } from './agents/run-agent.js';
export { runAgent } from './agents/run-agent.js';
export type { BeforeToolCall } from './agents/tool-steps.js';
export type { Clock } from './core/clock.js';
export { systemClock } from './core/clock.js';
export type { BatonErrorOptions, Fault, SerializedError } from './core/errors.js';
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
export type { CustomEvent, RunContext, StepContext, StepOptions, WaitOptions } from './core/run-context.js';
export { isInterruption } from './core/run-execution.js';
export type { AnyRunnable, Runnable, Workflow, WorkflowOptions } from './core/runnable.js';
export { workflow } from './core/runnable.js';
export type { RunHandle, Runtime, RuntimeOptions, StartOptions } from './core/runtime.js';
export { createRuntime } from './core/runtime.js';
export type { DeltaListener, ModelResponse, ModelToolCall } from './models/call-model.js';
export { callModel } from './models/call-model.js';
export type { ModelPrice } from './models/pricing.js';
export { costOf, priceOf, registerPrices } from './models/pricing.js';
export type { ModelFactory, ModelSpec } from './models/resolve-model.js';
export { registerModelProvider, resolveModel } from './models/resolve-model.js';
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
export { human, isHuman } from './patterns/human.js';
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
export { graphFeatures, graphLevels, parseTaskGraph, topologicalOrder } from './patterns/task-graph.js';
export type { ChatMessage, ChatState, TerminationCondition } from './patterns/termination.js';
export {
  allOf,
  anyOf,
  approvedBy,
  custom,
  maxRounds,
  textMention,
  timeout,
  tokenBudget,
} from './patterns/termination.js';
export { createMemoryStore } from './stores/memory/index.js';
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
  Usage,
} from './stores/store.js';
export type { RunnableToolOptions, Tool, ToolContext, ToolOptions } from './tools/tool.js';
export { runnableTool, tool } from './tools/tool.js';

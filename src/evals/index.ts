/** `batonjs/evals`: scorers, datasets and `runEval()` (what `baton eval` runs). */

export type {
  ContainsOptions,
  ExactMatchOptions,
  OutputSchema,
  ToolCallsOptions,
} from './builtin-scorers.js';
export {
  contains,
  exactMatch,
  matchesSchema,
  maxCost,
  maxLatency,
  maxTokens,
  toolCalls,
} from './builtin-scorers.js';
export type { CaseChange, Change, EvalComparison } from './compare.js';
export { compareEvals } from './compare.js';
export type { DatasetOptions, EvalDataset } from './dataset.js';
export { dataset, isDataset, loadDatasetFile, parseJsonl, scorersForCase } from './dataset.js';
export type { JudgeOptions } from './judge.js';
export { judge } from './judge.js';
export { outcomeScore } from './outcome-score.js';
export type { CaseResult, EvalOptions, EvalRecord, EvalReport, EvalSummary } from './run-eval.js';
export { EvalIncompleteError, evalHistory, evalStream, runEval, toolCallsOf } from './run-eval.js';
export type {
  EvalCase,
  EvalSubject,
  ExpectedToolCall,
  Score,
  ScoreContext,
  Scorer,
  ScorerOptions,
  ToolCallSeen,
} from './scorer.js';
export { scorer } from './scorer.js';

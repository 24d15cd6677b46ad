/** Human-in-the-loop approvals of tool calls: rules, the durable wait before a gated call, and the inbox of pending requests. */

import type { LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import { BatonError, ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { JournalEntry, Store } from '../stores/store.js';
import { type ApprovalContext, type ApprovalRule, checkApprovalRule } from '../tools/tool-policy.js';

export { type ApprovalContext, type ApprovalRule, checkApprovalRule };

/**
 * What a gated call journals (step `approval:<tool>`) before it waits, and what `baton inbox`
 * lists: the tool, its arguments, the agent, and the signal that answers.
 *
 * @example
 * ```ts
 * const request: ApprovalRequest = { kind: 'approval', signal: 'approval:call_1', runId, agent: 'billing',
 *   tool: 'refund', toolCallId: 'call_1', input: { amount: 129 } };
 * ```
 */
export interface ApprovalRequest {
  kind: 'approval';
  /** The signal that answers it: `approval:<toolCallId>`. */
  signal: string;
  runId: string;
  agent: string;
  tool: string;
  toolCallId: string;
  input: unknown;
}

/**
 * The answer to an approval request: the payload of the signal `approval:<toolCallId>`.
 * `true` and `false` are accepted as short forms.
 *
 * @example
 * ```ts
 * await runtime.signal(runId, 'approval:call_1', { approved: false, reason: 'over the refund limit', by: 'ana' });
 * ```
 */
export interface ApprovalDecision {
  approved: boolean;
  /** Why; a rejection's reason is what the model sees (`rejected: <reason>`). */
  reason?: string;
  /** Who decided, for the audit log. */
  by?: string;
}

/**
 * The signal that answers the approval of one tool call.
 *
 * @example
 * ```ts
 * await runtime.signal(runId, approvalSignal('call_1'), { approved: true });
 * ```
 */
export function approvalSignal(toolCallId: string): string {
  return `approval:${toolCallId}`;
}

/**
 * Checks an agent's `approvals` option (tool name -> rule) and returns a frozen copy.
 *
 * @example
 * ```ts
 * checkApprovals('agent("billing")', { refund: (input) => input.amount > 100 });
 * ```
 */
export function checkApprovals(
  where: string,
  value: unknown,
): Readonly<Record<string, ApprovalRule>> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(`${where}: approvals must map tool names to rules, e.g. { refund: 'always' }.`);
  const rules: Record<string, ApprovalRule> = {};
  for (const [name, rule] of Object.entries(value)) {
    const checked = checkApprovalRule(where, `approvals.${name}`, rule);
    if (checked !== undefined) rules[name] = checked;
  }
  return Object.freeze(rules);
}

/**
 * True when this call must wait for a person: the agent's rule for the tool wins over the
 * tool's own rule.
 *
 * @example
 * ```ts
 * needsApproval(billing, refund, { amount: 500 }, { runId, agent: 'billing', tool: 'refund', toolCallId: 'call_1' });
 * ```
 */
export function needsApproval(
  agent: { readonly approvals?: Readonly<Record<string, ApprovalRule>> | undefined },
  tool: { readonly name: string; readonly approval?: ApprovalRule | undefined },
  input: unknown,
  context: ApprovalContext,
): boolean {
  const rule = agent.approvals?.[tool.name] ?? tool.approval;
  if (rule === undefined || rule === 'never') return false;
  if (rule === 'always') return true;
  try {
    return rule(input, context) === true;
  } catch {
    return true;
  }
}

/**
 * Runs a gated tool call: journals the request (step `approval:<tool>`, emitted once as the
 * custom event `approval-requested`), waits durably for the signal `approval:<toolCallId>`
 * (the run suspends with nothing in memory; any later process resumes it), then runs the
 * tool through `run` on approval or returns `rejected: <reason>` to the model.
 *
 * The call gets its own scope (one sequence number of `ctx`, taken synchronously), so the
 * keys of the other calls of the turn stay deterministic however long the wait takes.
 *
 * @example
 * ```ts
 * const output = await runWithApproval(ctx, 'billing', 'refund', 'call_1', input, (scoped) => runTool(scoped));
 * ```
 */
export function runWithApproval(
  ctx: RunContext,
  agent: string,
  tool: string,
  toolCallId: string,
  input: unknown,
  run: (scoped: RunContext) => Promise<LanguageModelV3ToolResultOutput>,
): Promise<LanguageModelV3ToolResultOutput> {
  const signal = approvalSignal(toolCallId);
  return ctx
    .parallel([
      async (scoped: RunContext): Promise<LanguageModelV3ToolResultOutput> => {
        await scoped.step(
          `approval:${tool}`,
          () => {
            const request: ApprovalRequest = {
              kind: 'approval',
              signal,
              runId: scoped.runId,
              agent,
              tool,
              toolCallId,
              input,
            };
            // Inside the step: emitted once, when the request is first made, never on replay.
            scoped.emit({ name: 'approval-requested', data: { agent, tool, toolCallId, input, signal } });
            return request;
          },
          { meta: { agent, tool, toolCallId, approval: 'requested' } },
        );
        const decision = approvalDecision(await scoped.waitFor(signal), signal, scoped.runId);
        if (scoped.observed)
          scoped.emit({ name: 'approval-decided', data: { agent, tool, toolCallId, ...decision } });
        if (!decision.approved)
          return { type: 'error-text', value: `rejected: ${rejectionReason(decision)}` };
        return run(scoped);
      },
    ])
    .then(([output]) => output);
}

/**
 * Journals a denied call as the step `denied:<tool>` (so `baton show` and the audit log
 * record it) and resolves with the denial text.
 *
 * @example
 * ```ts
 * await recordDenial(ctx, 'reader', 'delete_account', 'call_2', {}, 'Permission denied: ...');
 * ```
 */
export function recordDenial(
  ctx: RunContext,
  agent: string,
  tool: string,
  toolCallId: string,
  input: unknown,
  reason: string,
): Promise<string> {
  return ctx
    .step(
      `denied:${tool}`,
      () => {
        // Inside the step: emitted once, when the call is denied, never on replay.
        ctx.emit({ name: 'tool-denied', data: { agent, tool, toolCallId, reason } });
        return { kind: 'denial', agent, tool, toolCallId, input, reason };
      },
      { meta: { agent, tool, toolCallId, denied: true } },
    )
    .then(() => reason);
}

/**
 * Reads an approval signal's payload: `true`, `false`, or `{ approved, reason?, by? }`.
 * Anything else is an `INVALID_SIGNAL_PAYLOAD` error that says how to send it.
 *
 * @example
 * ```ts
 * approvalDecision({ approved: false, reason: 'too much' }, 'approval:call_1', runId);
 * ```
 */
export function approvalDecision(payload: unknown, signal: string, runId?: string): ApprovalDecision {
  if (payload === true || payload === false) return { approved: payload };
  if (typeof payload === 'object' && payload !== null) {
    const { approved, reason, by } = payload as Record<string, unknown>;
    if (
      typeof approved === 'boolean' &&
      (reason === undefined || typeof reason === 'string') &&
      (by === undefined || typeof by === 'string')
    ) {
      const decision: ApprovalDecision = { approved };
      if (reason !== undefined) decision.reason = reason;
      if (by !== undefined) decision.by = by;
      return decision;
    }
  }
  throw new BatonError(
    `The "${signal}" signal must carry { approved: boolean, reason?: string }, got ${JSON.stringify(payload) ?? String(payload)}. ` +
      `Send it with baton approve ${runId ?? '<runId>'} [--reject "why"], or runtime.signal(runId, '${signal}', { approved: true }).`,
    { code: 'INVALID_SIGNAL_PAYLOAD', fault: 'user', runId },
  );
}

function rejectionReason(decision: ApprovalDecision): string {
  const reason = decision.reason?.trim();
  return reason === undefined || reason === '' ? 'no reason given' : reason;
}

/**
 * One request a suspended run waits on: a tool call's approval or a human member's answer.
 *
 * @example
 * ```ts
 * for (const request of await listPending(store)) console.log(request.runId, request.signal, request.tool);
 * ```
 */
export interface PendingRequest {
  kind: 'approval' | 'human';
  runId: string;
  /** The run's target (workflow, agent or pattern name). */
  target: string;
  /** The signal that answers: `approval:<toolCallId>` or `human:<member>`. */
  signal: string;
  /** The journal key of the request step. */
  key: string;
  /** Since when it waits (ms since the epoch). */
  since: number;
  agent?: string;
  tool?: string;
  toolCallId?: string;
  /** The tool's arguments (approval) or the turn's input (human). */
  input?: unknown;
  /** A human member's name. */
  member?: string;
  /** The question shown to a human member. */
  prompt?: string;
  /** True when the answer is already stored and the run only needs resuming. */
  answered: boolean;
}

/**
 * The approvals and human answers pending in a run's journal, in journal order. A request
 * step at `scope#n` is pending while no completed wait is recorded at `scope#(n+1)`.
 *
 * @example
 * ```ts
 * const pending = pendingRequests(await runtime.journal(runId), run, await store.listSignals(runId));
 * ```
 */
export function pendingRequests(
  journal: readonly JournalEntry[],
  run: { id: string; target: string },
  signals: readonly { id: number; name: string }[] = [],
): PendingRequest[] {
  const byKey = new Map(journal.map((entry) => [entry.key, entry]));
  const consumed = new Set<number>();
  for (const entry of journal) {
    const signalId = (entry.result as { signalId?: unknown } | undefined)?.signalId;
    if (entry.kind === 'signal' && typeof signalId === 'number') consumed.add(signalId);
  }
  const pending: PendingRequest[] = [];
  for (const entry of journal) {
    if (entry.status !== 'completed' || entry.kind !== 'step') continue;
    const request = requestOf(entry, run);
    if (request === undefined) continue;
    const hash = entry.key.lastIndexOf('#');
    const sequence = Number(entry.key.slice(hash + 1));
    if (!Number.isInteger(sequence)) continue;
    if (byKey.has(`${entry.key.slice(0, hash)}#${sequence + 1}`)) continue;
    request.answered = signals.some((signal) => signal.name === request.signal && !consumed.has(signal.id));
    pending.push(request);
  }
  return pending;
}

function requestOf(entry: JournalEntry, run: { id: string; target: string }): PendingRequest | undefined {
  const result = entry.result as Record<string, unknown> | undefined;
  if (result === undefined || result === null || typeof result !== 'object') return undefined;
  const base = { runId: run.id, target: run.target, key: entry.key, since: entry.startedAt, answered: false };
  if (entry.name.startsWith('approval:') && result.kind === 'approval') {
    const request = result as unknown as ApprovalRequest;
    return {
      kind: 'approval',
      ...base,
      signal: request.signal,
      agent: request.agent,
      tool: request.tool,
      toolCallId: request.toolCallId,
      input: request.input,
    };
  }
  if (entry.name.startsWith('ask:') && typeof result.signal === 'string') {
    const found: PendingRequest = { kind: 'human', ...base, signal: result.signal, input: result.input };
    if (typeof result.member === 'string') found.member = result.member;
    if (typeof result.prompt === 'string') found.prompt = result.prompt;
    return found;
  }
  return undefined;
}

/**
 * Every pending approval and human answer across the suspended runs of a store, oldest first.
 *
 * @example
 * ```ts
 * const inbox = await listPending(createSqliteStore({ path: '.baton/baton.db' }));
 * ```
 */
export async function listPending(store: Store, options: { runId?: string } = {}): Promise<PendingRequest[]> {
  const runs =
    options.runId === undefined
      ? await store.listRuns({ status: 'suspended' })
      : [await store.getRun(options.runId)].filter((run) => run !== undefined);
  const all: PendingRequest[] = [];
  for (const run of runs) {
    if (run.status !== 'suspended') continue;
    const [journal, signals] = await Promise.all([store.loadJournal(run.id), store.listSignals(run.id)]);
    all.push(...pendingRequests(journal, run, signals));
  }
  return all.sort((left, right) => left.since - right.since);
}

/**
 * Like `Promise.all`, but waits for every promise to settle before rejecting with the first
 * failure: when one tool call suspends the run (an approval), the calls running beside it
 * still finish and journal their results, so a resumed run does not run them again.
 *
 * @example
 * ```ts
 * const outputs = await settleAll(calls.map((call) => runCall(call)));
 * ```
 */
export async function settleAll<T>(values: readonly (T | Promise<T>)[]): Promise<T[]> {
  if (values.every((value) => !(value instanceof Promise))) return values as T[];
  const settled = await Promise.allSettled(values);
  const failed = settled.find((outcome) => outcome.status === 'rejected');
  if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<T>).value);
}

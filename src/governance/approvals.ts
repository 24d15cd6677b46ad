/** Human-in-the-loop approvals of tool calls: rules, deadlines, and the durable wait before a gated call (the inbox is in approval-inbox.ts). */

import type { LanguageModelV3ToolResultOutput } from '@ai-sdk/provider';
import { BatonError, ConfigError } from '../core/errors.js';
import { lazySchema } from '../core/load-zod.js';
import { nodeCrypto } from '../core/node-crypto.js';
import type { RunContext } from '../core/run-context.js';
import {
  type ApprovalContext,
  type ApprovalDuration,
  type ApprovalEscalation,
  type ApprovalPolicy,
  type ApprovalPredicate,
  type ApprovalRule,
  type ApprovalTimeoutAction,
  checkApprovalRule,
  formatApprovalDuration,
} from '../tools/tool-policy.js';
import { canonicalJson } from './canonical-json.js';

export {
  type ApprovalContext,
  type ApprovalDuration,
  type ApprovalEscalation,
  type ApprovalPolicy,
  type ApprovalPredicate,
  type ApprovalRule,
  type ApprovalTimeoutAction,
  checkApprovalRule,
};

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
  /** sha256 (hex) of the canonical JSON of `input` (`argumentsHash`): the call runs only with arguments of this hash. */
  inputHash?: string;
  /** How long this request waits (ms) before its timeout action applies; absent: no limit. */
  timeoutMs?: number;
  /** What decides when `timeoutMs` passes: `'reject'`, `'approve'`, or the approver it escalates to. */
  onTimeout?: 'reject' | 'approve' | { escalateTo: string };
  /** Set on the re-issued request of an escalation: who it is for. */
  escalatedTo?: string;
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
  /** Who decided, for the audit log; `'timeout'` when the deadline passed and `onTimeout` decided. */
  by?: string;
  /**
   * The `inputHash` of the request the approver saw (`baton approve` sends it): the call runs
   * only if its arguments still have this hash.
   */
  inputHash?: string;
}

/**
 * What the signal `approval:<toolCallId>` must carry; the wait declares it, so `runtime.signal`
 * refuses anything else (a typo like `{ "approve": true }`) before storing it. Built on first use,
 * so importing the package does not load zod.
 *
 * @example
 * ```ts
 * approvalAnswerSchema().safeParse({ approved: true, by: 'ana' }).success; // true
 * ```
 */
export const approvalAnswerSchema = lazySchema((z) =>
  z.union([
    z.boolean(),
    z.strictObject({
      approved: z.boolean(),
      reason: z.string().optional(),
      by: z.string().optional(),
      inputHash: z.string().optional(),
    }),
  ]),
);

/**
 * The hash an approval binds a tool call's arguments with: sha256 (hex) of their canonical
 * JSON (keys sorted), so the same arguments always give the same hash.
 *
 * @example
 * ```ts
 * argumentsHash({ amount: 129, orderId: 'A-1' }) === argumentsHash({ orderId: 'A-1', amount: 129 }); // true
 * ```
 */
export function argumentsHash(input: unknown): string {
  return nodeCrypto().hash('sha256', canonicalJson(input ?? null), 'hex');
}

/**
 * How a gated call waits, resolved from its rule: the deadline of the first request and what
 * happens when it passes. `undefined` fields mean no limit.
 *
 * @example
 * ```ts
 * const gate: ApprovalGate = { timeoutMs: 1_800_000, onTimeout: { escalateTo: 'oncall-lead', timeoutMs: 3_600_000 } };
 * ```
 */
export interface ApprovalGate {
  timeoutMs?: number;
  onTimeout?: 'reject' | 'approve' | { escalateTo: string; timeoutMs?: number };
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
  return approvalGate(agent, tool, input, context) !== undefined;
}

/**
 * How this call must wait for a person, or `undefined` when it needs no approval: the agent's
 * rule for the tool wins over the tool's own rule; a predicate that throws means approval.
 *
 * @example
 * ```ts
 * const gate = approvalGate(billing, refund, input, { runId, agent: 'billing', tool: 'refund', toolCallId: 'call_1' });
 * if (gate !== undefined) return runWithApproval(ctx, 'billing', 'refund', 'call_1', input, run, gate);
 * ```
 */
export function approvalGate(
  agent: { readonly approvals?: Readonly<Record<string, ApprovalRule>> | undefined },
  tool: { readonly name: string; readonly approval?: ApprovalRule | undefined },
  input: unknown,
  context: ApprovalContext,
): ApprovalGate | undefined {
  const rule = agent.approvals?.[tool.name] ?? tool.approval;
  if (rule === undefined || rule === 'never') return undefined;
  if (rule === 'always') return noDeadline;
  if (typeof rule === 'function') return applies(rule, input, context) ? noDeadline : undefined;
  const when = rule.when ?? 'always';
  if (when === 'never' || (when !== 'always' && !applies(when, input, context))) return undefined;
  return gateOf(rule);
}

const noDeadline: ApprovalGate = Object.freeze({});

function applies(predicate: ApprovalPredicate, input: unknown, context: ApprovalContext): boolean {
  try {
    return predicate(input, context) === true;
  } catch {
    return true;
  }
}

/** Checked policies (`checkApprovalRule`) and their gates are frozen: the gate is made once per policy. */
const gates = new WeakMap<ApprovalPolicy, ApprovalGate>();

function gateOf(policy: ApprovalPolicy): ApprovalGate {
  let gate = gates.get(policy);
  if (gate !== undefined) return gate;
  // Unchecked policies (built by hand) get the same checks and defaults as tool() and agent() apply.
  const checked = checkApprovalRule('approval rule', 'approval', policy) as ApprovalPolicy;
  gate = {};
  if (typeof checked.timeout === 'number') {
    gate.timeoutMs = checked.timeout;
    const onTimeout = checked.onTimeout ?? 'reject';
    if (typeof onTimeout === 'string') gate.onTimeout = onTimeout;
    else {
      const escalation: { escalateTo: string; timeoutMs?: number } = { escalateTo: onTimeout.escalateTo };
      if (typeof onTimeout.timeout === 'number') escalation.timeoutMs = onTimeout.timeout;
      gate.onTimeout = escalation;
    }
  }
  Object.freeze(gate);
  gates.set(policy, gate);
  return gate;
}

/**
 * Runs a gated tool call: journals the request (step `approval:<tool>`, emitted once as the
 * custom event `approval-requested`), waits durably for the signal `approval:<toolCallId>`
 * (the run suspends with nothing in memory; any later process resumes it), then runs the
 * tool through `run` on approval or returns `rejected: <reason>` to the model.
 *
 * With a deadline (`gate.timeoutMs`, a durable timer that survives restarts), a wait that
 * passes it without an answer is decided by `gate.onTimeout`: `'reject'` (the default) and
 * `'approve'` journal the step `approval-timeout:<tool>` with `by: 'timeout'`; an escalation
 * journals a second `approval:<tool>` request with `escalatedTo` that waits on the same signal
 * (for its own timeout, if any) and is rejected by timeout after that. Every decision is
 * emitted as the custom event `approval-decided`.
 *
 * The call gets its own scope (one sequence number of `ctx`, taken synchronously), so the
 * keys of the other calls of the turn stay deterministic however long the wait takes.
 *
 * @example
 * ```ts
 * const output = await runWithApproval(ctx, 'billing', 'refund', 'call_1', input, (scoped) => runTool(scoped), {
 *   timeoutMs: 1_800_000,
 *   onTimeout: { escalateTo: 'oncall-lead' },
 * });
 * ```
 */
export function runWithApproval(
  ctx: RunContext,
  agent: string,
  tool: string,
  toolCallId: string,
  input: unknown,
  run: (scoped: RunContext) => Promise<LanguageModelV3ToolResultOutput>,
  gate: ApprovalGate = noDeadline,
): Promise<LanguageModelV3ToolResultOutput> {
  const call: GatedCall = { agent, tool, toolCallId, input, signal: approvalSignal(toolCallId) };
  return ctx
    .parallel([
      async (scoped: RunContext): Promise<LanguageModelV3ToolResultOutput> => {
        const { decision, request: asked } = await decide(scoped, call, gate);
        if (!decision.approved)
          return { type: 'error-text', value: `rejected: ${rejectionReason(decision)}` };
        checkApprovedArguments(scoped.runId, call, asked, decision);
        return run(scoped);
      },
    ])
    .then(([output]) => output);
}

interface GatedCall {
  agent: string;
  tool: string;
  toolCallId: string;
  input: unknown;
  signal: string;
}

/**
 * Refuses to run a call whose arguments are not the ones approved: their hash must be the one
 * the journaled request recorded and, when the answer carries one, the one the approver saw.
 * A difference means the journal was edited while the call waited.
 */
function checkApprovedArguments(
  runId: string,
  call: GatedCall,
  asked: ApprovalRequest,
  decision: ApprovalDecision,
): void {
  const actual = argumentsHash(call.input);
  const requested = asked.inputHash ?? actual;
  const approved = decision.inputHash ?? requested;
  const shown = argumentsHash(asked.input);
  if (
    actual === requested &&
    approved === requested &&
    (asked.inputHash === undefined || shown === requested)
  )
    return;
  throw new BatonError(
    `Run ${runId}: ${call.tool} (call ${call.toolCallId}) was not run: its arguments ${JSON.stringify(call.input)} ` +
      `are not the ones approved (arguments hash ${actual}; the request recorded ${requested}, ` +
      `showed arguments hashing to ${shown}${decision.inputHash === undefined ? '' : `, the approver answered for ${decision.inputHash}`}). ` +
      "The run's journal was changed after the approval was asked; inspect it with baton show and baton audit verify.",
    { code: 'APPROVAL_MISMATCH', fault: 'system', runId },
  );
}

/** Requests, waits and, past the deadlines, applies the timeout action: the decision that stands and the request it answers. */
async function decide(
  scoped: RunContext,
  call: GatedCall,
  gate: ApprovalGate,
): Promise<{ decision: ApprovalDecision; request: ApprovalRequest }> {
  const { timeoutMs, onTimeout = 'reject' } = gate;
  const first = await request(
    scoped,
    call,
    timeoutMs,
    timeoutMs === undefined ? undefined : publicAction(onTimeout),
  );
  const answered = await answer(scoped, call, timeoutMs, undefined);
  if (answered !== undefined) return { decision: answered, request: first };
  const waited = formatApprovalDuration(timeoutMs as number);
  if (typeof onTimeout === 'string') {
    const decision = await decideByTimeout(
      scoped,
      call,
      onTimeout === 'approve',
      `no decision within ${waited}`,
    );
    return { decision, request: first };
  }
  const { escalateTo, timeoutMs: escalationMs } = onTimeout;
  const second = await request(
    scoped,
    call,
    escalationMs,
    escalationMs === undefined ? undefined : 'reject',
    escalateTo,
  );
  const escalated = await answer(scoped, call, escalationMs, escalateTo);
  if (escalated !== undefined) return { decision: escalated, request: second };
  const decision = await decideByTimeout(
    scoped,
    call,
    false,
    `no decision within ${waited}, nor within ${formatApprovalDuration(escalationMs as number)} of escalation to ${escalateTo}`,
  );
  return { decision, request: second };
}

function publicAction(onTimeout: NonNullable<ApprovalGate['onTimeout']>): ApprovalRequest['onTimeout'] {
  return typeof onTimeout === 'string' ? onTimeout : { escalateTo: onTimeout.escalateTo };
}

/** Journals a request step `approval:<tool>` (the first, or the re-issued one of an escalation). */
function request(
  scoped: RunContext,
  call: GatedCall,
  timeoutMs: number | undefined,
  onTimeout: ApprovalRequest['onTimeout'],
  escalatedTo?: string,
): Promise<ApprovalRequest> {
  const { agent, tool, toolCallId, input, signal } = call;
  return scoped.step(
    `approval:${tool}`,
    () => {
      const extra: Pick<ApprovalRequest, 'timeoutMs' | 'onTimeout' | 'escalatedTo'> = {};
      if (timeoutMs !== undefined) extra.timeoutMs = timeoutMs;
      if (onTimeout !== undefined) extra.onTimeout = onTimeout;
      if (escalatedTo !== undefined) extra.escalatedTo = escalatedTo;
      // Inside the step: emitted once, when the request is first made, never on replay.
      scoped.emit({ name: 'approval-requested', data: { agent, tool, toolCallId, input, signal, ...extra } });
      const made: ApprovalRequest = {
        kind: 'approval',
        signal,
        runId: scoped.runId,
        agent,
        tool,
        toolCallId,
        input,
        inputHash: argumentsHash(input),
      };
      return Object.assign(made, extra);
    },
    {
      meta:
        escalatedTo === undefined
          ? { agent, tool, toolCallId, approval: 'requested' }
          : { agent, tool, toolCallId, approval: 'escalated', escalatedTo },
    },
  );
}

/** Waits for the signal; `undefined` when the deadline passed first (also when that is replayed). */
async function answer(
  scoped: RunContext,
  call: GatedCall,
  timeoutMs: number | undefined,
  escalatedTo: string | undefined,
): Promise<ApprovalDecision | undefined> {
  let payload: unknown;
  try {
    payload = await (timeoutMs === undefined
      ? scoped.waitFor(call.signal, { schema: approvalAnswerSchema() })
      : scoped.waitFor(call.signal, { timeoutMs, schema: approvalAnswerSchema() }));
  } catch (error) {
    // A replayed timeout comes back as a BatonError with the same code.
    if (BatonError.isInstance(error) && error.code === 'WAIT_TIMEOUT') return undefined;
    throw error;
  }
  const decision = approvalDecision(payload, call.signal, scoped.runId);
  if (scoped.observed) {
    const { agent, tool, toolCallId } = call;
    scoped.emit({
      name: 'approval-decided',
      data: { agent, tool, toolCallId, ...decision, ...(escalatedTo === undefined ? {} : { escalatedTo }) },
    });
  }
  return decision;
}

/**
 * Journals the decision the timeout action made (step `approval-timeout:<tool>`, with
 * `by: 'timeout'`), emitted once as `approval-decided`.
 */
function decideByTimeout(
  scoped: RunContext,
  call: GatedCall,
  approved: boolean,
  reason: string,
): Promise<ApprovalDecision> {
  const { agent, tool, toolCallId, signal } = call;
  const decision: ApprovalDecision = { approved, reason, by: 'timeout' };
  return scoped
    .step(
      `approval-timeout:${tool}`,
      () => {
        // Inside the step: emitted once, when the deadline is first found passed, never on replay.
        scoped.emit({ name: 'approval-decided', data: { agent, tool, toolCallId, ...decision } });
        return { kind: 'approval-decision', signal, agent, tool, toolCallId, ...decision };
      },
      { meta: { agent, tool, toolCallId, approval: approved ? 'approved' : 'rejected', by: 'timeout' } },
    )
    .then((recorded) => ({ approved: recorded.approved, reason: recorded.reason ?? reason, by: 'timeout' }));
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
    const { approved, reason, by, inputHash } = payload as Record<string, unknown>;
    if (
      typeof approved === 'boolean' &&
      (reason === undefined || typeof reason === 'string') &&
      (by === undefined || typeof by === 'string') &&
      (inputHash === undefined || typeof inputHash === 'string')
    ) {
      const decision: ApprovalDecision = { approved };
      if (reason !== undefined) decision.reason = reason;
      if (by !== undefined) decision.by = by;
      if (inputHash !== undefined) decision.inputHash = inputHash;
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

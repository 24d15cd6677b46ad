/** The inbox: every wait of a suspended run a person can answer (approvals, human answers, plain waitFor signals), read from its journal and its recorded waits. */

import { RunNotFoundError } from '../core/errors.js';
import type { JournalEntry, RunRecord, Store } from '../core/store.js';
import { newestWaits, payloadProblem, waitsStream } from '../core/wait-payload.js';
import type { ApprovalRequest } from './approvals.js';

/**
 * One request a suspended run waits on: a tool call's approval, a human member's answer, or
 * the signal of a plain `ctx.waitFor(name)` (`kind: 'signal'`, answered with `runtime.signal`
 * or `baton signal`).
 *
 * @example
 * ```ts
 * for (const request of await listPending(store)) console.log(request.runId, request.signal, request.tool);
 * ```
 */
export interface PendingRequest {
  kind: 'approval' | 'human' | 'signal';
  runId: string;
  /** The run's target (workflow, agent or pattern name). */
  target: string;
  /** The signal that answers: `approval:<toolCallId>`, `human:<member>`, or a `waitFor`'s name. */
  signal: string;
  /** The journal key of the request step; absent for a plain `waitFor` (it journals nothing until answered). */
  key?: string;
  /** What the payload must be (JSON Schema), when the wait declared a `schema`. */
  schema?: Record<string, unknown>;
  /** Since when it waits (ms since the epoch). */
  since: number;
  agent?: string;
  tool?: string;
  toolCallId?: string;
  /** The tool's arguments (approval) or the turn's input (human). */
  input?: unknown;
  /** An approval's `argumentsHash` of `input`: send it back in the answer so only these arguments run. */
  inputHash?: string;
  /** When the request's deadline passes (ms since the epoch), if it has one. */
  deadline?: number;
  /** What decides at the deadline: `'reject'`, `'approve'`, or who it escalates to. */
  onTimeout?: 'reject' | 'approve' | { escalateTo: string };
  /** Set on an escalated approval: who is asked now that the first approver did not answer. */
  escalatedTo?: string;
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
  const consumed = consumedSignals(journal);
  const pending: PendingRequest[] = [];
  for (const entry of journal) {
    if (entry.status !== 'completed' || entry.kind !== 'step') continue;
    const request = requestOf(entry, run);
    if (request === undefined) continue;
    const hash = entry.key.lastIndexOf('#');
    const sequence = Number(entry.key.slice(hash + 1));
    if (!Number.isInteger(sequence)) continue;
    const wait = `${entry.key.slice(0, hash)}#${sequence + 1}`;
    if (byKey.has(wait)) continue;
    const deadline = byKey.get(`${wait}~timer`)?.result;
    if (typeof deadline === 'number') request.deadline = deadline;
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
    const found: PendingRequest = {
      kind: 'approval',
      ...base,
      signal: request.signal,
      agent: request.agent,
      tool: request.tool,
      toolCallId: request.toolCallId,
      input: request.input,
    };
    if (typeof request.inputHash === 'string') found.inputHash = request.inputHash;
    if (request.onTimeout !== undefined) found.onTimeout = request.onTimeout;
    if (request.escalatedTo !== undefined) found.escalatedTo = request.escalatedTo;
    return found;
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
 * Every wait a person can answer across the suspended runs of a store, oldest first: pending
 * approvals and human answers (from the journals), then the other signals each run recorded
 * it waits for when it suspended (plain `ctx.waitFor`). With `runId`, only that run; an
 * unknown id is a `RunNotFoundError`.
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
      : [await runOf(store, options.runId)];
  const all: PendingRequest[] = [];
  for (const run of runs) {
    if (run.status !== 'suspended') continue;
    const [journal, stored, waits] = await Promise.all([
      store.loadJournal(run.id),
      store.listSignals(run.id),
      store.readRecords(waitsStream(run.id)),
    ]);
    const newest = waits.at(-1);
    const open = newestWaits(waits);
    // A stored answer its wait refuses (it got past signal() somehow) answers nothing: the run skips it.
    const signals = stored.filter((signal) => {
      const schema = open.find((wait) => wait.signal === signal.name)?.schema;
      return schema === undefined || payloadProblem(schema, signal.payload) === undefined;
    });
    const requests = pendingRequests(journal, run, signals);
    const consumed = consumedSignals(journal);
    all.push(...requests);
    for (const wait of open) {
      if (requests.some((request) => request.signal === wait.signal)) continue;
      const found: PendingRequest = {
        kind: 'signal',
        runId: run.id,
        target: run.target,
        signal: wait.signal,
        since: newest?.at ?? run.updatedAt,
        answered: signals.some((signal) => signal.name === wait.signal && !consumed.has(signal.id)),
      };
      if (wait.schema !== undefined) found.schema = wait.schema;
      all.push(found);
    }
  }
  return all.sort((left, right) => left.since - right.since);
}

/** The ids of the signals a run's journal records as taken by a `waitFor`. */
function consumedSignals(journal: readonly JournalEntry[]): Set<number> {
  const consumed = new Set<number>();
  for (const entry of journal) {
    const signalId = (entry.result as { signalId?: unknown } | undefined)?.signalId;
    if (entry.kind === 'signal' && typeof signalId === 'number') consumed.add(signalId);
  }
  return consumed;
}

async function runOf(store: Store, runId: string): Promise<RunRecord> {
  const run = await store.getRun(runId);
  if (run === undefined) throw new RunNotFoundError(runId);
  return run;
}

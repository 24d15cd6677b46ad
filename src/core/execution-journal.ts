/**
 * The journal side of a run's execution: replay of recorded entries (with the check that the code
 * asks for what was recorded), ordered appends (awaited or deferred), audit, usage and events.
 */

import type { Budget } from './budget-limits.js';
import type { Clock } from './clock.js';
import { deserializeError, NonDeterminismError } from './errors.js';
import type { BatonEvent } from './events.js';
import type {
  AuditedRun,
  AuditOpener,
  ExecutionHost,
  JournalAuditor,
  SealedAudit,
} from './execution-host.js';
import { LeasedExecution } from './execution-lease.js';
import type { DistributiveOmit, RunGovernance, RunServices } from './run-context.js';
import type { ExecutionWatch } from './run-observer.js';
import type { JournalEntry, JournalEntryKind, RunRecord, Usage } from './store.js';

const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/** Opens an execution's audit chain: the opener's own chain object, or its append function. */
function openAuditor(open: AuditOpener, execution: AuditedRun): JournalAuditor {
  return open.openChain?.(execution) ?? { append: open(execution) };
}

/**
 * The events a run emitted before its handle existed, each as emitted (without `runId` and
 * `at`) followed by its time: `[event, at, event, at, ...]` (no object made per event until a
 * handle asks for them). See `earlyEvents`.
 */
export type EarlyEvents = Array<DistributiveOmit<BatonEvent, 'runId' | 'at'> | number>;

/**
 * The full events of `early` for run `runId`, in order.
 *
 * @example
 * ```ts
 * const events = earlyEvents('run_1', [{ type: 'run-start', target: 't', resumed: false }, 5]);
 * ```
 */
export function earlyEvents(runId: string, early: EarlyEvents): BatonEvent[] {
  const events: BatonEvent[] = [];
  for (let index = 0; index + 1 < early.length; index += 2) {
    const event = early[index] as DistributiveOmit<BatonEvent, 'runId' | 'at'>;
    events.push({ ...event, runId, at: early[index + 1] as number } as BatonEvent);
  }
  return events;
}

/**
 * A run's governance state (`RunGovernance`), one per execution: its start is read from the
 * run's record and the list of skipped model entries is made when there is one (a replay of a
 * child run), so a run that has neither holds no number box and no empty list while in flight.
 */
class Governance implements RunGovernance {
  readonly budget: Budget | undefined;
  readonly clock: Clock;
  spend?: unknown;
  readonly #record: RunRecord;
  #skipped: JournalEntry[] | undefined;

  constructor(budget: Budget | undefined, record: RunRecord, clock: Clock) {
    this.budget = budget;
    this.clock = clock;
    this.#record = record;
  }

  get startedAt(): number {
    return this.#record.createdAt;
  }

  get skippedModelEntries(): JournalEntry[] {
    this.#skipped ??= [];
    return this.#skipped;
  }

  skipModelEntry(entry: JournalEntry): void {
    this.skippedModelEntries.push(entry);
  }
}

/**
 * `early` and then `event` at `at`, as a new list of its exact size: a run keeps a few events
 * until the turn after its handle is handed out (10,000 runs started at once all keep theirs),
 * and pushing onto the empty list left room for 19.
 */
function withEarly(
  early: EarlyEvents,
  event: DistributiveOmit<BatonEvent, 'runId' | 'at'>,
  at: number,
): EarlyEvents {
  return early.concat([event, at]);
}

/** The recorded entries of one execution and the writes it appends; the waits and steps build on it. */
export abstract class JournaledExecution extends LeasedExecution {
  /** Made when a step first counts tokens (or the run's end reads it): none is held before. */
  #usage: Usage | undefined;
  /** The tokens the run's steps used so far. */
  get usage(): Usage {
    this.#usage ??= emptyUsage();
    return this.#usage;
  }
  costUsd = 0;
  /**
   * Recorded entries by key, loaded when the run resumes. A key is looked up once, before it
   * is written, so entries recorded by this execution are never needed here: a fresh run has
   * no map at all.
   */
  protected readonly journal: Map<string, JournalEntry> | undefined;
  protected readonly recordedCount: number;
  protected replayedCount = 0;
  #pendingWrites: Set<Promise<void>> | undefined;
  #auditor: JournalAuditor | undefined;
  protected writeError: unknown;
  /** Signals taken by a `waitFor` of this run: recorded ones (loaded with the journal) and this execution's. */
  protected consumedSignals: Set<number> | undefined;
  readonly governance: Governance;
  /** The slot every context of this run carries (made once per execution, read by each scope). */
  readonly services: RunServices;

  constructor(host: ExecutionHost, record: RunRecord, entries: readonly JournalEntry[], budget?: Budget) {
    super(host, record);
    this.governance = new Governance(budget, record, host.clock);
    this.services = { governance: this.governance, tenant: host.tenant, input: record.input };
    this.journal = entries.length > 0 ? new Map() : undefined;
    for (const entry of entries) {
      this.journal?.set(entry.key, entry);
      this.account(entry);
      if (entry.kind === 'signal' && entry.status === 'completed') {
        this.consume((entry.result as { signalId: number }).signalId);
      }
    }
    this.recordedCount = entries.length;
  }

  /** Under `replayOnly`: the first step the code asked for that the journal does not hold. */
  divergence: NonDeterminismError | undefined;

  /** Under `replayOnly`, refuses a step the journal does not hold (it would run for real). */
  protected refuseLive(key: string, name: string): void {
    if (this.host.replayOnly !== true) return;
    const error = new NonDeterminismError(key, '(nothing: the journal ends before it)', name, this.runId);
    this.divergence ??= error;
    throw error;
  }

  /** How many recorded entries the code has reached again, of how many there are. */
  get replayProgress(): { replayed: number; recorded: number } {
    return { replayed: this.replayedCount, recorded: this.recordedCount };
  }

  /** True while recorded entries remain that the code has not reached again. */
  get replaying(): boolean {
    return this.replayedCount < this.recordedCount;
  }

  /** True when the run's journal was empty as this execution began (a fresh start, nothing to replay or catch up on). */
  get startedEmpty(): boolean {
    return this.recordedCount === 0;
  }

  /** Set when the runtime's observer watches this execution (tracing): it gets every event. */
  watch: ExecutionWatch | undefined;

  /**
   * Set while a run started before its handle existed (`runtime.start` on a store that
   * `createsWithFirstStep`): its events are kept here until the handle's `events()` takes them
   * or the runtime drops them (the turn after `start` resolved).
   */
  early: EarlyEvents | undefined;

  /** True when someone gets this run's events: a listener on the runtime, the observer watching this execution, or the buffer of a run started before its handle. */
  get observed(): boolean {
    return this.host.events.active || this.watch !== undefined || this.early !== undefined;
  }

  /** True when a listener on the runtime wants events as they happen, text deltas included (model calls then stream). */
  get streaming(): boolean {
    return this.host.events.active;
  }

  /** Emits an event for this run unless it is replaying (or `force` is set). */
  emit(event: DistributiveOmit<BatonEvent, 'runId' | 'at'>, force = false): void {
    const bus = this.host.events;
    const watch = this.watch;
    const early = this.early;
    if (!bus.active && watch === undefined) {
      // Kept for a handle that may ask for it (usually none does): the full event is made then.
      if (early !== undefined && (force || !this.replaying))
        this.early = withEarly(early, event, this.host.clock.now());
      return;
    }
    if (!force && this.replaying) return;
    const full = { ...event, runId: this.runId, at: this.host.clock.now() } as BatonEvent;
    if (early !== undefined) this.early = withEarly(early, full, full.at);
    if (bus.active) bus.emit(full);
    if (watch !== undefined) {
      try {
        watch.event(full);
      } catch (error) {
        process.stderr.write(
          `baton: the run observer threw on a ${full.type} event and was skipped: ${String(error)}\n`,
        );
      }
    }
  }

  /** How many recorded entries belong to the child run recorded at `key` (scope `S/n` for key `S#n`). */
  #entriesUnder(key: string): number {
    const hash = key.lastIndexOf('#');
    const scope = `${key.slice(0, hash)}/${key.slice(hash + 1)}`;
    let count = 0;
    for (const [recordedKey, entry] of this.journal ?? []) {
      if (!recordedKey.startsWith(scope)) continue;
      const next = recordedKey.charCodeAt(scope.length);
      // '#' (a step of the child), '/' (a grandchild), '.' (a parallel branch of the child)
      if (next === 35 || next === 47 || next === 46) {
        count++;
        // Skipped model calls still count against budgets.
        if (entry.kind === 'model') this.governance.skipModelEntry(entry);
      }
    }
    return count;
  }

  protected replay(key: string, entry: JournalEntry, name: string): unknown {
    if (entry.name !== name) {
      const error = new NonDeterminismError(key, entry.name, name, this.runId);
      if (this.host.replayOnly === true) this.divergence ??= error;
      throw error;
    }
    this.replayedCount++;
    // A recorded child run returns its output without running again: its own entries count as replayed.
    if (entry.kind === 'child') this.replayedCount += this.#entriesUnder(key);
    if (entry.status === 'failed') {
      throw deserializeError(
        entry.error ?? { name: 'Error', message: 'unknown recorded failure' },
        this.runId,
      );
    }
    return entry.result;
  }

  protected account(entry: JournalEntry): void {
    const usage = entry.meta?.usage;
    if (usage !== undefined) {
      const total = this.usage;
      total.inputTokens += usage.inputTokens;
      total.outputTokens += usage.outputTokens;
      total.totalTokens += usage.totalTokens;
    }
    const cost = entry.meta?.costUsd;
    if (cost !== undefined) this.costUsd += cost;
  }

  /** Appends an entry with its audit records (steps inline the same sequence to save an async frame). */
  protected async append(entry: JournalEntry): Promise<void> {
    if (this.writeError !== undefined) throw this.writeError;
    this.account(entry);
    const sealed = this.sealAudit(entry);
    if (!(await this.appendFenced(entry, undefined, sealed)) && this.host.audit !== undefined)
      await this.audited(this.host.audit, entry);
  }

  /** Audits an appended entry, opening this execution's audit chain on first use. */
  protected audited(open: AuditOpener, entry: JournalEntry): Promise<void> {
    this.#auditor ??= openAuditor(open, this);
    return this.#auditor.append(entry);
  }

  /**
   * The audit records of `entry`, sealed to be stored in the entry's own write; undefined
   * without an audit log, on a store without `appendJournalWith`, or when the chain audits the
   * entry after its append instead.
   */
  protected sealAudit(entry: JournalEntry): SealedAudit | undefined {
    const open = this.host.audit;
    if (open === undefined || this.host.store.appendJournalWith === undefined) return undefined;
    this.#auditor ??= openAuditor(open, this);
    return this.#auditor.seal?.(entry);
  }

  /**
   * Appends without waiting; later awaits and the end of the run wait for it, in order (the
   * store keeps a run's appends in order, so no later entry is stored without this one).
   * `audited`: with its audit records, as `append` does.
   */
  protected appendDeferred(entry: JournalEntry, audited = false): void {
    const write = (audited ? this.append(entry) : this.appendFenced(entry)).then(
      () => {
        this.#pendingWrites?.delete(write);
      },
      (error: unknown) => {
        this.#pendingWrites?.delete(write);
        this.writeError ??= error;
      },
    );
    if (this.#pendingWrites === undefined) this.#pendingWrites = new Set();
    this.#pendingWrites.add(write);
  }

  /** Waits for unawaited appends (`now`, `random`, `uuid`); nothing to wait for (the usual case) costs nothing. */
  protected flushWrites(): Promise<void> | undefined {
    if (this.#pendingWrites !== undefined && this.#pendingWrites.size > 0) {
      return Promise.all(this.#pendingWrites).then(() => {
        if (this.writeError !== undefined) throw this.writeError;
      });
    }
    if (this.writeError !== undefined) return Promise.reject(this.writeError);
    return undefined;
  }

  /** Marks a signal as taken by a `waitFor` of this run. */
  protected consume(signalId: number): void {
    if (this.consumedSignals === undefined) this.consumedSignals = new Set();
    this.consumedSignals.add(signalId);
  }

  protected entry(key: string, name: string, kind: JournalEntryKind, startedAt: number): JournalEntry {
    return {
      runId: this.runId,
      key,
      name,
      kind,
      status: 'completed',
      startedAt,
      endedAt: this.host.clock.now(),
    };
  }
}

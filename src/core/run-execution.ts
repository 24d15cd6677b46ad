/** One execution of a run: replays recorded steps from the journal, runs the rest, records every outcome. */

import { setMaxListeners } from 'node:events';
import type { Budget } from './budget-limits.js';
import type { Clock } from './clock.js';
import {
  BatonError,
  deserializeError,
  InvalidStepResultError,
  LeaseLostError,
  NonDeterminismError,
  RunCancelledError,
  type SerializedError,
  StoreUnavailableError,
  serializeError,
  WaitTimeoutError,
} from './errors.js';
import type { BatonEvent, EventBus } from './events.js';
import { jsonProblem } from './json-value.js';
import type {
  CustomEvent,
  DistributiveOmit,
  RunContext,
  RunGovernance,
  RunServices,
  StepContext,
  StepOptions,
  Tenant,
  WaitOptions,
} from './run-context.js';
import type { Runnable } from './runnable.js';
import type {
  JournalEntry,
  JournalEntryKind,
  LeaseFence,
  RunPatch,
  RunRecord,
  RunStatus,
  SignalRecord,
  Store,
  Usage,
} from './store.js';
import { type OpenWait, payloadProblem, waitSchemaJson, waitsStream } from './wait-payload.js';

const suspensionMarker = Symbol.for('baton.suspension');

/** Thrown through workflow code to unwind it when the run suspends. Never journaled. */
export class Suspension extends Error {
  readonly [suspensionMarker] = true;
  constructor() {
    super('The run is suspended; this error unwinds its code and must not be caught by workflow code.');
    this.name = 'Suspension';
  }
}

/**
 * True when `error` means the run is being suspended, cancelled, shut down or taken over, not
 * that the work failed. Code that catches errors inside a run (patterns, agent loops) must
 * rethrow these instead of handling them.
 *
 * @example
 * ```ts
 * try {
 *   await ctx.run(stage, input);
 * } catch (error) {
 *   if (isInterruption(error, ctx)) throw error;
 *   return fallback;
 * }
 * ```
 */
export function isInterruption(error: unknown, ctx: RunContext): boolean {
  return (
    (typeof error === 'object' &&
      error !== null &&
      (error as Record<symbol, unknown>)[suspensionMarker] === true) ||
    ctx.signal.aborted
  );
}

/** Thrown into running code when its runtime shuts down; the run stays resumable. */
export class ShutdownError extends BatonError {
  constructor(runId: string) {
    super('The runtime is shutting down; the run will be resumed by the next runtime.', {
      code: 'RUNTIME_SHUTDOWN',
      fault: 'system',
      runId,
    });
    this.name = 'ShutdownError';
  }
}

/**
 * Opens the audit chain of one execution of a run: `startedEmpty` is true when the run's journal
 * was empty as the execution began (nothing can be audited yet). Returns the function that
 * audits each journal entry the execution appends.
 */
export type AuditOpener = (execution: {
  readonly runId: string;
  readonly startedEmpty: boolean;
}) => (entry: JournalEntry) => Promise<void>;

/** What the runtime provides to an execution. */
export interface ExecutionHost {
  readonly store: Store;
  readonly clock: Clock;
  /** This process's lease owner id: every journal append and run update is fenced on it. */
  readonly owner: string;
  /** How long a lease lasts; a lease this execution finds expired is renewed for this long. */
  readonly leaseMs: number;
  readonly events: EventBus;
  /** Sleeps and wait timeouts at most this long are waited in memory instead of suspending. */
  readonly inlineWaitMs: number;
  /**
   * Set when the runtime keeps an audit log (`audit: createAuditWriter`): opened once per
   * execution, at its first journal append; the function it returns is called and awaited
   * after every journal append.
   */
  readonly audit?: AuditOpener;
  /** The runtime's own state, carried to every run in `ctx.services.tenant`. */
  readonly tenant: Tenant;
}

/**
 * How an execution ended. `released` means it stopped without a final status (shutdown, lost
 * lease, a failing store); a release by a failing store carries the `STORE_UNAVAILABLE` error.
 */
export interface ExecutionOutcome {
  status: RunStatus | 'released';
  output?: unknown;
  error?: SerializedError;
  /** Set on a release whose lease could not be cleared (the store failed): the runtime clears it later. */
  leaseHeld?: boolean;
  wakeAt?: number;
  /** A signal it waits for is already there: resume at once. */
  wakeNow?: boolean;
}

/** A failed run's outcome; a budget stop (`BUDGET_EXCEEDED`) ends as `budget-exceeded` with its partial result as output. */
function failedOutcome(error: SerializedError): ExecutionOutcome {
  if (error.code !== 'BUDGET_EXCEEDED') return { status: 'failed', error };
  return { status: 'budget-exceeded', error, output: error.data?.partial ?? null };
}

/** Why an execution stopped before its code ended. */
type StopReason = 'cancelled' | 'shutdown' | 'lost-lease' | 'store-failed';

const emptyUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, totalTokens: 0 });

/** Executes (or replays) one run. Created by the runtime; not part of the public API. */
export class RunExecution {
  readonly runId: string;
  readonly record: RunRecord;
  /** Created on first use of `signal`: Node's AbortController is costly and most steps never read it. */
  #controller: AbortController | undefined;
  #stopError: Error | undefined;
  readonly usage: Usage = emptyUsage();
  costUsd = 0;
  readonly #host: ExecutionHost;
  /**
   * Recorded entries by key, loaded when the run resumes. A key is looked up once, before it
   * is written, so entries recorded by this execution are never needed here: a fresh run has
   * no map at all.
   */
  readonly #journal: Map<string, JournalEntry> | undefined;
  readonly #recordedCount: number;
  #replayedCount = 0;
  #suspended = false;
  /** Signal names the run waits for; allocated on first suspension (most runs never wait). */
  #waitingFor: Set<string> | undefined;
  /** What the waits with a `schema` expect (JSON Schema), recorded when the run suspends. */
  #waitSchemas: Map<string, Record<string, unknown>> | undefined;
  /** Stored signals whose payload a wait's schema refused: skipped, never consumed, never a reason to wake. */
  #refusedSignals: Set<number> | undefined;
  #wakeAt: number | undefined;
  #pendingWrites: Set<Promise<void>> | undefined;
  #auditor: ((entry: JournalEntry) => Promise<void>) | undefined;
  #writeError: unknown;
  #signals: SignalRecord[] | undefined;
  #consumedSignals: Set<number> | undefined;
  #stopReason: StopReason | undefined;
  /** Until when this execution knows it holds the lease; a step that starts later checks the store first. */
  #leaseUntil: number;
  readonly governance: RunGovernance;
  /** The slot every context of this run carries (made once per execution, read by each scope). */
  readonly services: RunServices;

  constructor(host: ExecutionHost, record: RunRecord, entries: readonly JournalEntry[], budget?: Budget) {
    this.#host = host;
    this.record = record;
    this.governance = { budget, startedAt: record.createdAt, clock: host.clock, skippedModelEntries: [] };
    this.services = { governance: this.governance, tenant: host.tenant };
    this.runId = record.id;
    this.#leaseUntil = record.leaseExpiresAt ?? 0;
    this.#journal = entries.length > 0 ? new Map() : undefined;
    for (const entry of entries) {
      this.#journal?.set(entry.key, entry);
      this.#account(entry);
      if (entry.kind === 'signal' && entry.status === 'completed') {
        this.#consume((entry.result as { signalId: number }).signalId);
      }
    }
    this.#recordedCount = entries.length;
  }

  /** True while recorded entries remain that the code has not reached again. */
  get replaying(): boolean {
    return this.#replayedCount < this.#recordedCount;
  }

  /** True when the run's journal was empty as this execution began (a fresh start, nothing to replay or catch up on). */
  get startedEmpty(): boolean {
    return this.#recordedCount === 0;
  }

  get observed(): boolean {
    return this.#host.events.active;
  }

  /** Stops the run because it was cancelled. */
  cancel(): void {
    this.#stop('cancelled', new RunCancelledError(this.runId));
  }

  /** Stops the run because the runtime shuts down; it stays resumable. */
  shutdown(): void {
    this.#stop('shutdown', new ShutdownError(this.runId));
  }

  /** Stops the run because another process took it over (or this one stalled past its lease). */
  loseLease(error?: BatonError): void {
    this.#stop('lost-lease', error ?? new LeaseLostError(this.runId, this.#host.owner));
  }

  /** Aborted when the run is cancelled, shut down or taken over. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      // Every step of the run (a fan-out of 100 agents included) listens to this one signal.
      setMaxListeners(0, this.#controller.signal);
      if (this.#stopError !== undefined) this.#controller.abort(this.#stopError);
    }
    return this.#controller.signal;
  }

  /** The store this run is kept in (for steps that keep state outside the journal). */
  get store(): Store {
    return this.#host.store;
  }

  #stop(reason: StopReason, error: Error): void {
    if (this.#stopReason !== undefined) return;
    this.#stopReason = reason;
    this.#stopError = error;
    this.#controller?.abort(error);
  }

  /** Runs the target from the start; recorded steps replay, the rest run for real. */
  async execute(target: Runnable, input: unknown): Promise<ExecutionOutcome> {
    const resumed = this.#recordedCount > 0;
    if (this.#host.events.active) this.emit({ type: 'run-start', target: target.name, resumed }, true);
    let outcome: ExecutionOutcome;
    try {
      const output = await target.execute(new ScopeContext(this, 'r'), input);
      const flushing = this.#flushWrites();
      if (flushing !== undefined) await flushing;
      outcome =
        this.#stopReason !== undefined
          ? this.#stoppedOutcome()
          : this.#suspended
            ? this.#suspendedOutcome()
            : { status: 'completed', output };
    } catch (error) {
      await this.#flushWrites()?.catch(() => undefined);
      if (this.#stopReason !== undefined) outcome = this.#stoppedOutcome();
      else if (this.#suspended) outcome = this.#suspendedOutcome();
      else outcome = failedOutcome(serializeError(this.#attachRunId(error)));
    }
    return this.#persist(outcome);
  }

  #stoppedOutcome(): ExecutionOutcome {
    if (this.#stopReason === 'cancelled')
      return { status: 'cancelled', error: serializeError(new RunCancelledError(this.runId)) };
    if (this.#stopReason === 'store-failed')
      return { status: 'released', error: serializeError(this.#stopError) };
    return { status: 'released' };
  }

  /** The fence every write of this execution carries: this process's lease, as of now. */
  #fence(): LeaseFence {
    return { owner: this.#host.owner, now: this.#host.clock.now() };
  }

  /**
   * What a failed store call means for the run, as an error to throw: a lost lease stops the
   * execution, a journal conflict means another process recorded the key (it took the run
   * over), and any other store failure (locked, full, I/O, connection) releases the run as a
   * crash would, never as the workflow's own failure.
   */
  #storeFailure(error: unknown): Error {
    if (BatonError.isInstance(error)) {
      if (error.code === 'LEASE_LOST' || error.code === 'JOURNAL_CONFLICT') this.loseLease(error);
      else if (error.code === 'STORE_CLOSED')
        this.#stop('store-failed', new StoreUnavailableError(error, this.runId));
      return this.#stopError ?? error;
    }
    this.#stop('store-failed', new StoreUnavailableError(error, this.runId));
    return this.#stopError as Error;
  }

  #suspendedOutcome(): ExecutionOutcome {
    const outcome: ExecutionOutcome = { status: 'suspended' };
    if (this.#wakeAt !== undefined) outcome.wakeAt = this.#wakeAt;
    return outcome;
  }

  /** Stores how the run ended. The common ends (completed, failed) take a short path with no async frame. */
  #persist(outcome: ExecutionOutcome, retried = false): Promise<ExecutionOutcome> {
    if (outcome.status !== 'completed' && outcome.status !== 'failed')
      return this.#persistOther(outcome, retried);
    const now = this.#host.clock.now();
    const patch: RunPatch =
      outcome.status === 'completed'
        ? {
            status: 'completed',
            output: outcome.output,
            usage: this.usage,
            costUsd: this.costUsd,
            endedAt: now,
            wakeAt: null,
            leaseOwner: null,
            leaseExpiresAt: null,
          }
        : {
            status: 'failed',
            error: outcome.error ?? null,
            usage: this.usage,
            costUsd: this.costUsd,
            endedAt: now,
            wakeAt: null,
            leaseOwner: null,
            leaseExpiresAt: null,
          };
    return this.#host.store.updateRun(this.runId, patch, now, this.#fence()).then(
      () => this.#ended(outcome, now),
      (error: unknown) => this.#persistFailed(outcome, error, retried),
    );
  }

  /**
   * The run's end could not be stored. A lease that only expired while still this process's
   * (nobody took the run over) is renewed and the end stored once more; otherwise the run is
   * released (another process holds it, or the store failed) and replays to the same end later.
   */
  async #persistFailed(
    outcome: ExecutionOutcome,
    error: unknown,
    retried: boolean,
  ): Promise<ExecutionOutcome> {
    if (
      !retried &&
      BatonError.isInstance(error) &&
      error.code === 'LEASE_LOST' &&
      this.#stopReason === undefined
    ) {
      const holder = await this.#holdLease().catch(() => undefined);
      if (holder === this.#host.owner) return this.#persist(outcome, true);
    }
    this.#storeFailure(error);
    return this.#release(this.#stoppedOutcome());
  }

  /**
   * Gives the run back without a final status: clears the lease when this process still holds
   * it (a failing store may refuse that too; the outcome then says the lease is still held).
   */
  async #release(outcome: ExecutionOutcome): Promise<ExecutionOutcome> {
    if (this.#stopReason === 'lost-lease') return outcome;
    const now = this.#host.clock.now();
    try {
      await this.#host.store.updateRun(
        this.runId,
        { leaseOwner: null, leaseExpiresAt: null },
        now,
        this.#fence(),
      );
    } catch (error) {
      if (!(BatonError.isInstance(error) && error.code === 'LEASE_LOST')) outcome.leaseHeld = true;
    }
    return outcome;
  }

  async #persistOther(outcome: ExecutionOutcome, retried: boolean): Promise<ExecutionOutcome> {
    if (outcome.status === 'released') return this.#release(outcome);
    try {
      return await this.#persistEnd(outcome);
    } catch (error) {
      return this.#persistFailed(outcome, error, retried);
    }
  }

  async #persistEnd(outcome: ExecutionOutcome): Promise<ExecutionOutcome> {
    const { store, clock } = this.#host;
    const now = clock.now();
    const fence = this.#fence();
    switch (outcome.status) {
      case 'suspended': {
        // Before the status says suspended: a signal() that sees it finds what the waits expect.
        if (this.#waitingFor !== undefined) {
          const waits = [...this.#waitingFor].map((signal): OpenWait => {
            const schema = this.#waitSchemas?.get(signal);
            return schema === undefined ? { signal } : { signal, schema };
          });
          await store.appendRecord(waitsStream(this.runId), { waits }, now);
        }
        await store.updateRun(
          this.runId,
          {
            status: 'suspended',
            usage: this.usage,
            costUsd: this.costUsd,
            wakeAt: outcome.wakeAt ?? null,
            leaseOwner: null,
            leaseExpiresAt: null,
          },
          now,
          fence,
        );
        // A signal may have arrived while the run was still marked running: look once more.
        if (this.#waitingFor !== undefined) {
          const waitingFor = this.#waitingFor;
          const signals = await store.listSignals(this.runId);
          outcome.wakeNow = signals.some(
            (signal) =>
              waitingFor.has(signal.name) &&
              this.#consumedSignals?.has(signal.id) !== true &&
              this.#refusedSignals?.has(signal.id) !== true,
          );
        }
        if (this.#host.events.active)
          this.emit(
            {
              type: 'run-suspended',
              waitingFor: [...(this.#waitingFor ?? [])],
              ...(outcome.wakeAt === undefined ? {} : { wakeAt: outcome.wakeAt }),
            },
            true,
          );
        return outcome;
      }
      case 'budget-exceeded':
        await store.updateRun(
          this.runId,
          {
            status: 'budget-exceeded',
            output: outcome.output ?? null,
            error: outcome.error ?? null,
            usage: this.usage,
            costUsd: this.costUsd,
            endedAt: now,
            wakeAt: null,
            leaseOwner: null,
            leaseExpiresAt: null,
          },
          now,
          fence,
        );
        break;
      case 'cancelled':
        // `runtime.cancel` already stored the status; only the accounting is added here.
        await store.updateRun(
          this.runId,
          { usage: this.usage, costUsd: this.costUsd, leaseOwner: null, leaseExpiresAt: null },
          now,
          fence,
        );
        break;
    }
    return this.#ended(outcome, now);
  }

  /** Announces the end of the run to listeners. */
  #ended(outcome: ExecutionOutcome, now: number): ExecutionOutcome {
    if (this.#host.events.active)
      this.emit(
        {
          type: 'run-end',
          status: outcome.status as RunStatus,
          ...(outcome.output === undefined ? {} : { output: outcome.output }),
          ...(outcome.error === undefined ? {} : { error: outcome.error }),
          usage: this.usage,
          costUsd: this.costUsd,
          durationMs: now - this.record.createdAt,
        },
        true,
      );
    return outcome;
  }

  #attachRunId(error: unknown): unknown {
    if (BatonError.isInstance(error) && error.runId === undefined) error.runId = this.runId;
    return error;
  }

  /** Emits an event for this run unless it is replaying (or `force` is set). */
  emit(event: DistributiveOmit<BatonEvent, 'runId' | 'at'>, force = false): void {
    const bus = this.#host.events;
    if (!bus.active || (!force && this.replaying)) return;
    bus.emit({ ...event, runId: this.runId, at: this.#host.clock.now() } as BatonEvent);
  }

  // ---- journal access -------------------------------------------------------------------

  /** How many recorded entries belong to the child run recorded at `key` (scope `S/n` for key `S#n`). */
  #entriesUnder(key: string): number {
    const hash = key.lastIndexOf('#');
    const scope = `${key.slice(0, hash)}/${key.slice(hash + 1)}`;
    let count = 0;
    for (const [recordedKey, entry] of this.#journal ?? []) {
      if (!recordedKey.startsWith(scope)) continue;
      const next = recordedKey.charCodeAt(scope.length);
      // '#' (a step of the child), '/' (a grandchild), '.' (a parallel branch of the child)
      if (next === 35 || next === 47 || next === 46) {
        count++;
        // Skipped model calls still count against budgets.
        if (entry.kind === 'model') this.governance.skippedModelEntries.push(entry);
      }
    }
    return count;
  }

  #replay(key: string, entry: JournalEntry, name: string): unknown {
    if (entry.name !== name) throw new NonDeterminismError(key, entry.name, name, this.runId);
    this.#replayedCount++;
    // A recorded child run returns its output without running again: its own entries count as replayed.
    if (entry.kind === 'child') this.#replayedCount += this.#entriesUnder(key);
    if (entry.status === 'failed') {
      throw deserializeError(
        entry.error ?? { name: 'Error', message: 'unknown recorded failure' },
        this.runId,
      );
    }
    return entry.result;
  }

  #account(entry: JournalEntry): void {
    const usage = entry.meta?.usage;
    if (usage !== undefined) {
      this.usage.inputTokens += usage.inputTokens;
      this.usage.outputTokens += usage.outputTokens;
      this.usage.totalTokens += usage.totalTokens;
    }
    const cost = entry.meta?.costUsd;
    if (cost !== undefined) this.costUsd += cost;
  }

  /** Appends an entry (steps inline the same sequence to save an async frame). */
  async #append(entry: JournalEntry): Promise<void> {
    if (this.#writeError !== undefined) throw this.#writeError;
    this.#account(entry);
    await this.#appendFenced(entry);
    if (this.#host.audit !== undefined) await this.#audited(this.#host.audit, entry);
  }

  /** Audits an appended entry, opening this execution's audit chain on first use. */
  #audited(open: AuditOpener, entry: JournalEntry): Promise<void> {
    this.#auditor ??= open(this);
    return this.#auditor(entry);
  }

  /** Appends without waiting; later awaits and the end of the run wait for it, in order. */
  #appendDeferred(entry: JournalEntry): void {
    const write = this.#appendFenced(entry).then(
      () => {
        this.#pendingWrites?.delete(write);
      },
      (error: unknown) => {
        this.#pendingWrites?.delete(write);
        this.#writeError ??= error;
      },
    );
    if (this.#pendingWrites === undefined) this.#pendingWrites = new Set();
    this.#pendingWrites.add(write);
  }

  /** Waits for unawaited appends (`now`, `random`, `uuid`); nothing to wait for (the usual case) costs nothing. */
  #flushWrites(): Promise<void> | undefined {
    if (this.#pendingWrites !== undefined && this.#pendingWrites.size > 0) {
      return Promise.all(this.#pendingWrites).then(() => {
        if (this.#writeError !== undefined) throw this.#writeError;
      });
    }
    if (this.#writeError !== undefined) return Promise.reject(this.#writeError);
    return undefined;
  }

  #checkActive(): void {
    if (this.#stopReason !== undefined) throw this.#stopError;
    if (this.#suspended) throw new Suspension();
  }

  /** Marks a signal as taken by a `waitFor` of this run. */
  #consume(signalId: number): void {
    if (this.#consumedSignals === undefined) this.#consumedSignals = new Set();
    this.#consumedSignals.add(signalId);
  }

  #suspend(waitingFor: string | undefined, wakeAt: number | undefined): never {
    this.#suspended = true;
    if (waitingFor !== undefined) {
      if (this.#waitingFor === undefined) this.#waitingFor = new Set();
      this.#waitingFor.add(waitingFor);
    }
    if (wakeAt !== undefined && (this.#wakeAt === undefined || wakeAt < this.#wakeAt)) this.#wakeAt = wakeAt;
    throw new Suspension();
  }

  #entry(key: string, name: string, kind: JournalEntryKind, startedAt: number): JournalEntry {
    return {
      runId: this.runId,
      key,
      name,
      kind,
      status: 'completed',
      startedAt,
      endedAt: this.#host.clock.now(),
    };
  }

  // ---- operations behind RunContext -----------------------------------------------------

  /**
   * Replays a recorded step or runs it. The replay and the checks are synchronous; only a step
   * that really runs enters the async body (its state is allocated on every call).
   */
  step<T>(
    key: string,
    name: string,
    fn: (step: StepContext) => T | Promise<T>,
    options: StepOptions<T> | undefined,
  ): Promise<T> {
    try {
      const recorded = this.#journal?.get(key);
      if (recorded !== undefined) return Promise.resolve(this.#replay(key, recorded, name) as T);
      this.#checkActive();
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#host.clock.now() >= this.#leaseUntil) {
      return this.#confirmLease().then(() =>
        this.#runStep(key, name, fn, options?.kind ?? 'step', options?.meta),
      );
    }
    return this.#runStep(key, name, fn, options?.kind ?? 'step', options?.meta);
  }

  /** Before a step starts past the lease this execution knows of: goes on only while this process holds the lease. */
  async #confirmLease(): Promise<void> {
    const holder = await this.#holdLease();
    this.#checkActive();
    if (holder !== this.#host.owner) {
      this.loseLease(
        new LeaseLostError(
          this.runId,
          this.#host.owner,
          holder === undefined
            ? 'the run no longer has a lease'
            : `it stalled past its lease and ${holder} holds it now`,
        ),
      );
      this.#checkActive();
    }
  }

  /**
   * Reads who holds the run's lease now and returns that owner (`undefined`: nobody, or the
   * run is no longer running). A lease of this process that expired without anyone taking it
   * over (the process stalled, but nobody else recorded anything) is renewed first, so a slow
   * process is not stopped for nothing.
   */
  async #holdLease(): Promise<string | undefined> {
    const { store, clock, owner, leaseMs } = this.#host;
    try {
      let record = await store.getRun(this.runId);
      if (record?.leaseOwner === owner && (record.leaseExpiresAt ?? 0) <= clock.now()) {
        await store.renewLeases(owner, clock.now() + leaseMs);
        record = await store.getRun(this.runId);
      }
      if (record === undefined || record.status !== 'running' || record.leaseOwner === undefined)
        return undefined;
      if (record.leaseOwner === owner) {
        if ((record.leaseExpiresAt ?? 0) <= clock.now()) return undefined;
        this.#leaseUntil = record.leaseExpiresAt ?? 0;
      }
      return record.leaseOwner;
    } catch (error) {
      throw this.#storeFailure(error);
    }
  }

  /**
   * Appends an entry fenced on this process's lease. A write refused only because the lease
   * expired while still this process's (nobody took the run over) renews it and is tried once more.
   */
  async #appendFenced(entry: JournalEntry): Promise<void> {
    try {
      await this.#host.store.appendJournal(entry, this.#fence());
    } catch (error) {
      await this.#appendRefused(entry, error);
    }
  }

  /** After a refused append: tries once more if the lease is still this process's, else stops the execution and throws why. */
  async #appendRefused(entry: JournalEntry, error: unknown): Promise<void> {
    if (!(BatonError.isInstance(error) && error.code === 'LEASE_LOST')) throw this.#storeFailure(error);
    if ((await this.#holdLease()) !== this.#host.owner) throw this.#storeFailure(error);
    try {
      await this.#host.store.appendJournal(entry, this.#fence());
    } catch (retryError) {
      throw this.#storeFailure(retryError);
    }
  }

  async #runStep<T>(
    key: string,
    name: string,
    fn: (step: StepContext) => T | Promise<T>,
    kind: JournalEntryKind,
    meta: StepOptions<T>['meta'],
  ): Promise<T> {
    const startedAt = this.#host.clock.now();
    if (this.#host.events.active) this.emit({ type: 'step-start', key, name, kind });
    let entry: JournalEntry;
    let failure: unknown;
    let failed = false;
    try {
      const result = await fn(new Step(this, key));
      // A value JSON cannot hold would come back as something else on replay (a Date as a
      // string, a Map as {}): the step fails here instead, the same way on every replay.
      const problem = result === undefined ? undefined : jsonProblem(result, 'its result');
      if (problem !== undefined) throw new InvalidStepResultError(name, key, problem, this.runId);
      entry = this.#entry(key, name, kind, startedAt);
      entry.result = result;
      if (meta !== undefined) entry.meta = typeof meta === 'function' ? meta(result) : meta;
    } catch (error) {
      if (error instanceof Suspension || this.#stopReason !== undefined) throw error;
      failed = true;
      failure = error;
      entry = this.#entry(key, name, kind, startedAt);
      entry.status = 'failed';
      entry.error = serializeError(error);
    }
    if (this.#writeError !== undefined) throw this.#writeError;
    this.#account(entry);
    try {
      await this.#host.store.appendJournal(entry, this.#fence());
    } catch (error) {
      await this.#appendRefused(entry, error);
    }
    if (this.#host.audit !== undefined) await this.#audited(this.#host.audit, entry);
    if (this.#host.events.active) this.#announceStepEnd(entry, startedAt);
    if (failed) throw this.#attachRunId(failure);
    return entry.result as T;
  }

  /** Announces the end of a step to listeners. */
  #announceStepEnd(entry: JournalEntry, startedAt: number): void {
    const { key, name, kind, status } = entry;
    const event: DistributiveOmit<BatonEvent, 'runId' | 'at'> = {
      type: 'step-end',
      key,
      name,
      kind,
      durationMs: entry.endedAt - startedAt,
      status,
    };
    if (entry.error !== undefined) event.error = entry.error;
    if (entry.meta !== undefined) event.meta = entry.meta;
    this.emit(event);
  }

  async child<INPUT, OUTPUT>(
    key: string,
    scope: string,
    target: Runnable<INPUT, OUTPUT>,
    input: INPUT,
  ): Promise<OUTPUT> {
    return this.step(key, `run:${target.name}`, () => target.execute(new ScopeContext(this, scope), input), {
      kind: 'child',
    });
  }

  async parallel(
    scope: string,
    branches: ReadonlyArray<(ctx: RunContext) => Promise<unknown>>,
  ): Promise<PromiseSettledResult<unknown>[]> {
    this.#checkActive();
    const settled = await Promise.allSettled(
      branches.map(async (branch, index) => branch(new ScopeContext(this, `${scope}.${index}`))),
    );
    if (this.#stopReason !== undefined) throw this.#stopError;
    if (settled.some((outcome) => outcome.status === 'rejected' && outcome.reason instanceof Suspension))
      throw new Suspension();
    return settled;
  }

  async waitFor<T>(key: string, signalName: string, options: WaitOptions | undefined): Promise<T> {
    const name = `waitFor:${signalName}`;
    const recorded = this.#journal?.get(key);
    if (recorded !== undefined) {
      this.#passTimer(key);
      return (this.#replay(key, recorded, name) as { payload: T }).payload;
    }
    // A wait reached after another one suspended the run (a parallel branch) is open too: it is
    // recorded with the others, so the inbox lists it and signal() checks its payload.
    if (this.#suspended && this.#stopReason === undefined) {
      this.#noteWaitSchema(signalName, options);
      this.#suspend(signalName, undefined);
    }
    this.#checkActive();
    const startedAt = this.#host.clock.now();
    const signal = await this.#nextSignal(signalName, options?.schema);
    if (signal !== undefined) {
      this.#passTimer(key);
      this.#consume(signal.id);
      const entry = this.#entry(key, name, 'signal', startedAt);
      entry.result = { signalId: signal.id, payload: signal.payload };
      await this.#append(entry);
      return signal.payload as T;
    }
    this.#noteWaitSchema(signalName, options);
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs === undefined) this.#suspend(signalName, undefined);
    const deadline = await this.#timer(key, timeoutMs);
    if (this.#host.clock.now() < deadline) this.#suspend(signalName, deadline);
    const error = new WaitTimeoutError(signalName, timeoutMs, this.runId);
    const entry = this.#entry(key, name, 'signal', startedAt);
    entry.status = 'failed';
    entry.error = serializeError(error);
    await this.#append(entry);
    throw error;
  }

  /** Keeps what a suspending wait expects (its schema as JSON Schema), recorded with the run's waits. */
  #noteWaitSchema(signalName: string, options: WaitOptions | undefined): void {
    if (options?.schema === undefined || this.#waitSchemas?.has(signalName) === true) return;
    const schema = waitSchemaJson(options.schema);
    if (schema === undefined) return;
    if (this.#waitSchemas === undefined) this.#waitSchemas = new Map();
    this.#waitSchemas.set(signalName, schema);
  }

  async sleep(key: string, ms: number): Promise<void> {
    const recorded = this.#journal?.get(key);
    if (recorded !== undefined) {
      this.#passTimer(key);
      this.#replay(key, recorded, 'sleep');
      return;
    }
    this.#checkActive();
    const startedAt = this.#host.clock.now();
    const wakeAt = await this.#timer(key, ms);
    const remaining = wakeAt - this.#host.clock.now();
    if (remaining > 0) {
      if (remaining > this.#host.inlineWaitMs) this.#suspend(undefined, wakeAt);
      await this.#waitInMemory(remaining);
    }
    await this.#append(this.#entry(key, 'sleep', 'sleep', startedAt));
  }

  /**
   * Counts the timer an earlier execution recorded for the wait at `key` as replayed when the
   * wait ends without reading it (its own entry is replayed, or a signal answers it): otherwise
   * the run would count as replaying, and stay silent, for the rest of this execution.
   */
  #passTimer(key: string): void {
    if (this.#journal?.has(`${key}~timer`) === true) this.#replayedCount++;
  }

  /** The durable deadline of a timer at `key`: recorded the first time, read back afterwards. */
  async #timer(key: string, ms: number): Promise<number> {
    const timerKey = `${key}~timer`;
    const recorded = this.#journal?.get(timerKey);
    if (recorded !== undefined) {
      this.#replayedCount++;
      return recorded.result as number;
    }
    const now = this.#host.clock.now();
    const entry = this.#entry(timerKey, 'timer', 'timer', now);
    entry.result = now + ms;
    await this.#append(entry);
    return now + ms;
  }

  #waitInMemory(ms: number): Promise<void> {
    const signal = this.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        cancelTimer();
        reject(signal.reason);
      };
      const cancelTimer = this.#host.clock.setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The oldest unconsumed signal `name` whose payload `schema` accepts; refused ones are skipped (and remembered). */
  async #nextSignal(name: string, schema: WaitOptions['schema']): Promise<SignalRecord | undefined> {
    const find = () =>
      this.#signals?.find((signal) => {
        if (signal.name !== name || this.#consumedSignals?.has(signal.id) === true) return false;
        if (schema === undefined || payloadProblem(schema, signal.payload) === undefined) return true;
        if (this.#refusedSignals === undefined) this.#refusedSignals = new Set();
        this.#refusedSignals.add(signal.id);
        return false;
      });
    let found = find();
    if (found === undefined) {
      try {
        this.#signals = await this.#host.store.listSignals(this.runId);
      } catch (error) {
        throw this.#storeFailure(error);
      }
      found = find();
    }
    return found;
  }

  /** Records a value made now (`make` gets the clock's time) and returns it; replays return the recorded one. */
  recordValue<T>(key: string, name: 'now' | 'random' | 'uuid', make: (now: number) => T): T {
    const recorded = this.#journal?.get(key);
    if (recorded !== undefined) return this.#replay(key, recorded, name) as T;
    this.#checkActive();
    const now = this.#host.clock.now();
    const entry = this.#entry(key, name, name, now);
    entry.result = make(now);
    this.#appendDeferred(entry);
    return entry.result as T;
  }
}

/** `r#0` … `r#63`, shared by every run instead of a new string per step. */
const rootKeys: readonly string[] = Array.from({ length: 64 }, (_, sequence) => `r#${sequence}`);

/** What a step's function receives; the signal is made only if the step reads it. */
class Step implements StepContext {
  readonly #execution: RunExecution;
  readonly key: string;
  constructor(execution: RunExecution, key: string) {
    this.#execution = execution;
    this.key = key;
  }
  get runId(): string {
    return this.#execution.runId;
  }
  get idempotencyKey(): string {
    return `${this.#execution.runId}:${this.key}`;
  }
  get signal(): AbortSignal {
    return this.#execution.signal;
  }
  get store(): Store {
    return this.#execution.store;
  }
  get threadId(): string | undefined {
    return this.#execution.record.threadId;
  }
}

/** The `RunContext` of one scope: allocates sequence numbers and delegates to the execution. */
class ScopeContext implements RunContext {
  readonly #execution: RunExecution;
  readonly scope: string;
  readonly services: RunServices;
  #sequence = 0;

  constructor(execution: RunExecution, scope: string) {
    this.#execution = execution;
    this.scope = scope;
    this.services = execution.services;
  }

  get runId(): string {
    return this.#execution.runId;
  }
  get threadId(): string | undefined {
    return this.#execution.record.threadId;
  }
  get signal(): AbortSignal {
    return this.#execution.signal;
  }
  get idempotencyKey(): string {
    return `${this.#execution.runId}:${this.scope}`;
  }
  get replaying(): boolean {
    return this.#execution.replaying;
  }
  get observed(): boolean {
    return this.#execution.observed;
  }

  #next(): number {
    return this.#sequence++;
  }

  /** The next key of this scope; keys of the root scope are interned (every run has them). */
  #key(): string {
    const sequence = this.#sequence++;
    if (this.scope === 'r' && sequence < rootKeys.length) return rootKeys[sequence]!;
    return `${this.scope}#${sequence}`;
  }

  step<T>(name: string, fn: (step: StepContext) => T | Promise<T>, options?: StepOptions<T>): Promise<T> {
    return this.#execution.step(this.#key(), name, fn, options);
  }

  run<INPUT, OUTPUT>(target: Runnable<INPUT, OUTPUT>, input: INPUT): Promise<OUTPUT> {
    const sequence = this.#next();
    return this.#execution.child(`${this.scope}#${sequence}`, `${this.scope}/${sequence}`, target, input);
  }

  async parallel<T extends readonly unknown[]>(
    branches: { [K in keyof T]: (ctx: RunContext) => Promise<T[K]> },
  ): Promise<T> {
    const settled = await this.#execution.parallel(
      `${this.scope}/${this.#next()}`,
      branches as ReadonlyArray<(ctx: RunContext) => Promise<unknown>>,
    );
    const failure = settled.find((outcome) => outcome.status === 'rejected');
    if (failure !== undefined) throw (failure as PromiseRejectedResult).reason;
    return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as unknown as T;
  }

  async parallelSettled<T extends readonly unknown[]>(
    branches: { [K in keyof T]: (ctx: RunContext) => Promise<T[K]> },
  ): Promise<{ [K in keyof T]: PromiseSettledResult<T[K]> }> {
    const settled = await this.#execution.parallel(
      `${this.scope}/${this.#next()}`,
      branches as ReadonlyArray<(ctx: RunContext) => Promise<unknown>>,
    );
    return settled as { [K in keyof T]: PromiseSettledResult<T[K]> };
  }

  waitFor<T = unknown>(name: string, options?: WaitOptions): Promise<T> {
    return this.#execution.waitFor<T>(this.#key(), name, options);
  }

  sleep(ms: number): Promise<void> {
    return this.#execution.sleep(this.#key(), ms);
  }

  now(): number {
    return this.#execution.recordValue(this.#key(), 'now', (now) => now);
  }

  random(): number {
    return this.#execution.recordValue(this.#key(), 'random', () => Math.random());
  }

  uuid(): string {
    return this.#execution.recordValue(this.#key(), 'uuid', () => crypto.randomUUID());
  }

  emit(event: CustomEvent): void {
    this.#execution.emit({ type: 'custom', scope: this.scope, name: event.name, data: event.data });
  }

  emitEvent(event: DistributiveOmit<BatonEvent, 'runId' | 'at'>): void {
    this.#execution.emit(event);
  }
}

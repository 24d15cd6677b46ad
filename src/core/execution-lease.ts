/**
 * The base of a run's execution: the run's lease (every write fenced on it, renewed when it only
 * lapsed) and how an execution stops (cancelled, shut down, taken over, a failing store, suspended).
 */

import { setMaxListeners } from 'node:events';
import type { SpawnChild } from './distributed-child.js';
import { BatonError, LeaseLostError, RunCancelledError, StoreUnavailableError } from './errors.js';
import type { ExecutionHost, ExecutionOutcome, SealedAudit, StopReason } from './execution-host.js';
import { ShutdownError, Suspension } from './interruption.js';
import { type JournalEntry, type LeaseFence, type RunRecord, type Store, storedNow } from './store.js';

/** The lease and the stop state of one execution; `RunExecution` builds on it (journal, waits, steps). */
export abstract class LeasedExecution {
  readonly runId: string;
  readonly record: RunRecord;
  protected readonly host: ExecutionHost;
  /** Created on first use of `signal`: Node's AbortController is costly and most steps never read it. */
  #controller: AbortController | undefined;
  protected stopError: Error | undefined;
  protected stopReason: StopReason | undefined;
  /** Set when a wait suspends the run: every later step unwinds with a `Suspension`. */
  protected suspended = false;
  /** Until when this execution knows it holds the lease; a step that starts later checks the store first. */
  protected leaseUntil: number;

  constructor(host: ExecutionHost, record: RunRecord) {
    this.host = host;
    this.record = record;
    this.runId = record.id;
    this.leaseUntil = record.leaseExpiresAt ?? 0;
  }

  /** Stops the run because it was cancelled. */
  cancel(): void {
    this.stop('cancelled', new RunCancelledError(this.runId));
  }

  /** Stops the run because the runtime shuts down; it stays resumable. */
  shutdown(): void {
    this.stop('shutdown', new ShutdownError(this.runId));
  }

  /** Stops the run because another process took it over (or this one stalled past its lease). */
  loseLease(error?: BatonError): void {
    this.stop('lost-lease', error ?? new LeaseLostError(this.runId, this.host.owner));
  }

  /**
   * Stops a run whose creation failed after it was started (`runtime.start` starts a run while
   * its creation is queued, on a store that `createsWithFirstStep`): nothing more is written for it.
   */
  notCreated(error: Error): void {
    this.stop('not-created', error);
  }

  /** Aborted when the run is cancelled, shut down or taken over. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      // Every step of the run (a fan-out of 100 agents included) listens to this one signal.
      setMaxListeners(0, this.#controller.signal);
      if (this.stopError !== undefined) this.#controller.abort(this.stopError);
    }
    return this.#controller.signal;
  }

  /** The store this run is kept in (for steps that keep state outside the journal). */
  get store(): Store {
    return this.host.store;
  }

  /** How this runtime starts a distributed child run; undefined without a dispatcher. */
  get spawnChild(): SpawnChild | undefined {
    return this.host.spawnChild;
  }

  protected stop(reason: StopReason, error: Error): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.stopError = error;
    this.#controller?.abort(error);
  }

  protected checkActive(): void {
    if (this.stopReason !== undefined) throw this.stopError;
    if (this.suspended) throw new Suspension();
  }

  /** The fence every write of this execution carries: this process's lease, as of now (`now`: the clock, read just before). */
  protected fence(now: number = this.host.clock.now()): LeaseFence {
    return { owner: this.host.owner, now };
  }

  /**
   * What a failed store call means for the run, as an error to throw: a lost lease stops the
   * execution, a journal conflict means another process recorded the key (it took the run
   * over), a run the store does not have (its creation failed) stops it without another write,
   * and any other store failure (locked, full, I/O, connection) releases the run as a crash
   * would, never as the workflow's own failure.
   */
  protected storeFailure(error: unknown): Error {
    if (BatonError.isInstance(error)) {
      if (error.code === 'LEASE_LOST' || error.code === 'JOURNAL_CONFLICT') this.loseLease(error);
      else if (error.code === 'RUN_NOT_FOUND') this.notCreated(error);
      else if (error.code === 'STORE_CLOSED')
        this.stop('store-failed', new StoreUnavailableError(error, this.runId));
      return this.stopError ?? error;
    }
    this.stop('store-failed', new StoreUnavailableError(error, this.runId));
    return this.stopError as Error;
  }

  /** Before a step starts past the lease this execution knows of: goes on only while this process holds the lease. */
  protected async confirmLease(): Promise<void> {
    const holder = await this.holdLease();
    this.checkActive();
    if (holder !== this.host.owner) {
      this.loseLease(
        new LeaseLostError(
          this.runId,
          this.host.owner,
          holder === undefined
            ? 'the run no longer has a lease'
            : `it stalled past its lease and ${holder} holds it now`,
        ),
      );
      this.checkActive();
    }
  }

  /**
   * Reads who holds the run's lease now and returns that owner (`undefined`: nobody, or the
   * run is no longer running). A lease of this process that expired without anyone taking it
   * over (the process stalled, but nobody else recorded anything) is renewed first, so a slow
   * process is not stopped for nothing.
   */
  protected async holdLease(): Promise<string | undefined> {
    const { store, clock, owner, leaseMs } = this.host;
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
        this.leaseUntil = record.leaseExpiresAt ?? 0;
      }
      return record.leaseOwner;
    } catch (error) {
      throw this.storeFailure(error);
    }
  }

  /**
   * Appends an entry fenced on this process's lease (as of `now`, when the clock was just read),
   * with `sealed`'s audit records in the same write when given. A write refused only because the
   * lease expired while still this process's (nobody took the run over) renews it and is tried
   * once more, without the records. Resolves true when the records were stored with the entry.
   */
  protected async appendFenced(entry: JournalEntry, now?: number, sealed?: SealedAudit): Promise<boolean> {
    const { store } = this.host;
    try {
      if (sealed === undefined || store.appendJournalWith === undefined) {
        sealed?.stored(false);
        await store.appendJournal(entry, this.fence(now));
        return false;
      }
      await store.appendJournalWith(entry, this.fence(now), sealed.records);
    } catch (error) {
      sealed?.stored(false);
      await this.appendRefused(entry, error);
      return false;
    }
    sealed.stored(true);
    return true;
  }

  /**
   * Appends an entry without audit records, fenced as `appendFenced` does: undefined when the
   * store stored it before returning (`storedNow`: the memory store), else the write to wait for
   * (a refusal goes through `appendRefused`). The store is called in this turn, as before.
   */
  protected appendPlain(entry: JournalEntry, now: number): Promise<void> | undefined {
    const write = this.startAppend(entry, now);
    if (write === undefined) return undefined;
    return write.then(undefined, (error: unknown) => this.appendRefused(entry, error));
  }

  /**
   * `appendPlain` without its refusal handler: the store's own write (undefined when stored
   * already), for a caller that handles a refusal (`appendRefused`) in its own `then`.
   */
  protected startAppend(entry: JournalEntry, now: number): Promise<void> | undefined {
    let write: Promise<void>;
    try {
      write = this.host.store.appendJournal(entry, this.fence(now));
    } catch (error) {
      return Promise.reject(error);
    }
    return write === storedNow ? undefined : write;
  }

  /** After a refused append: tries once more if the lease is still this process's, else stops the execution and throws why. */
  protected async appendRefused(entry: JournalEntry, error: unknown): Promise<void> {
    if (!(BatonError.isInstance(error) && error.code === 'LEASE_LOST')) throw this.storeFailure(error);
    if ((await this.holdLease()) !== this.host.owner) throw this.storeFailure(error);
    try {
      await this.host.store.appendJournal(entry, this.fence());
    } catch (retryError) {
      throw this.storeFailure(retryError);
    }
  }

  /**
   * Gives the run back without a final status: clears the lease when this process still holds
   * it (a failing store may refuse that too; the outcome then says the lease is still held).
   */
  protected async release(outcome: ExecutionOutcome): Promise<ExecutionOutcome> {
    if (this.stopReason === 'lost-lease' || this.stopReason === 'not-created') return outcome;
    const now = this.host.clock.now();
    try {
      await this.host.store.updateRun(
        this.runId,
        { leaseOwner: null, leaseExpiresAt: null },
        now,
        this.fence(),
      );
    } catch (error) {
      if (!(BatonError.isInstance(error) && error.code === 'LEASE_LOST')) outcome.leaseHeld = true;
    }
    return outcome;
  }

  protected attachRunId(error: unknown): unknown {
    if (BatonError.isInstance(error) && error.runId === undefined) error.runId = this.runId;
    return error;
  }
}

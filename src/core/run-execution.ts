/**
 * One execution of a run: runs its code from the start (recorded steps replay, the rest run for
 * real), records every step and stores how the run ended. It builds on the execution's lease
 * (execution-lease.ts), journal (execution-journal.ts) and waits (execution-waits.ts).
 */

import { BatonError, InvalidStepResultError, RunCancelledError, serializeError } from './errors.js';
import type { BatonEvent } from './events.js';
import { type ExecutionOutcome, failedOutcome } from './execution-host.js';
import { WaitingExecution } from './execution-waits.js';
import { Suspension } from './interruption.js';
import { jsonProblem } from './json-value.js';
import type { RunChange } from './run-changes.js';
import type { DistributiveOmit, RunContext, StepContext, StepOptions } from './run-context.js';
import type { Runnable } from './runnable.js';
import { ScopeContext, Step } from './scope-context.js';
import { type JournalEntry, type RunPatch, type RunStatus, storedNow } from './store.js';

/** What becomes of an execution's outcome (`RunExecution.execute`): the scheduler's launched run. */
export interface ExecutionEnd {
  /** The run ended (or stopped, or suspended) with `outcome`, stored. */
  ended(outcome: ExecutionOutcome): ExecutionOutcome;
  /** Its end could not be stored: `error` (the store failed). */
  thrown(error: unknown): ExecutionOutcome;
}

/** Executes (or replays) one run. Created by the runtime; not part of the public API. */
export class RunExecution extends WaitingExecution {
  /**
   * The journal append of a step that said it ends the run (`endsRun`), not awaited by the step
   * (see `#runStep`): the end of the run is stored right behind it, and a step that still
   * follows waits for it before its function runs.
   */
  #stepWrite: Promise<void> | undefined;

  /** Who takes the outcome of `execute` (the scheduler's launched run), if anyone. */
  #end: ExecutionEnd | undefined;

  /**
   * Runs the target from the start; recorded steps replay, the rest run for real. No async frame
   * waits for the target (one would be held, with its registers, per run in flight). With `end`,
   * the promise settles with what `end` makes of the outcome (its `ended`, or its `thrown` when
   * the end could not be stored): no second promise layer waits for the target meanwhile.
   */
  execute(target: Runnable, input: unknown, end?: ExecutionEnd): Promise<ExecutionOutcome> {
    this.#end = end;
    let running: Promise<unknown>;
    try {
      const resumed = this.recordedCount > 0;
      const observer = this.host.observer;
      if (observer !== undefined) this.watch = observer.watch(this.record, resumed);
      if (this.observed) this.emit({ type: 'run-start', target: target.name, resumed }, true);
      running = target.execute(new ScopeContext(this, 'r'), input);
    } catch (error) {
      running = Promise.reject(error);
    }
    return running.then(
      (output) => this.#ending(true, output),
      (error: unknown) => this.#ending(false, error),
    );
  }

  /** The target returned (`succeeded`) or threw `value`: how the run ends, handed to `#end` when there is one. */
  #ending(succeeded: boolean, value: unknown): ExecutionOutcome | Promise<ExecutionOutcome> {
    const end = this.#end;
    if (end === undefined) return succeeded ? this.#afterOutput(value) : this.#afterFailure(value);
    let outcome: ExecutionOutcome | Promise<ExecutionOutcome>;
    try {
      outcome = succeeded ? this.#afterOutput(value) : this.#afterFailure(value);
    } catch (error) {
      return end.thrown(error);
    }
    if (outcome instanceof Promise)
      return outcome.then(
        (stored) => end.ended(stored),
        (error: unknown) => end.thrown(error),
      );
    return end.ended(outcome);
  }

  /** The target returned `output`: the run completes (or stops or suspends, as its state says). */
  #afterOutput(output: unknown): ExecutionOutcome | Promise<ExecutionOutcome> {
    const flushing = this.#writesBehind();
    if (flushing === undefined) return this.#persist(this.#endWith(output));
    // Writes still in flight (the last step's entry): the run's end is queued right behind
    // them, so a group-committing store stores both in one transaction, and it is reported
    // only once both are stored.
    if (this.writeError === undefined && this.stopReason === undefined && !this.suspended)
      return this.#persist({ status: 'completed', output }, false, flushing);
    return flushing.then(
      () => this.#persist(this.#endWith(output)),
      (error: unknown) => this.#afterFailure(error),
    );
  }

  #endWith(output: unknown): ExecutionOutcome {
    if (this.stopReason !== undefined) return this.#stoppedOutcome();
    return this.suspended ? this.suspendedOutcome() : { status: 'completed', output };
  }

  /** The target (or a write it left behind) failed: the run fails, unless it stopped or suspended. */
  #afterFailure(error: unknown): ExecutionOutcome | Promise<ExecutionOutcome> {
    const behind = this.#writesBehind();
    if (behind === undefined) return this.#persist(this.#failureOf(error));
    return behind.then(
      () => this.#persist(this.#failureOf(error)),
      () => this.#persist(this.#failureOf(error)),
    );
  }

  #failureOf(error: unknown): ExecutionOutcome {
    if (this.stopReason !== undefined) return this.#stoppedOutcome();
    if (this.suspended) return this.suspendedOutcome();
    return failedOutcome(serializeError(this.attachRunId(error)));
  }

  /** Waits for writes not awaited yet (`flushWrites`, and the append of a step that ended the run); undefined when there are none. */
  #writesBehind(): Promise<void> | undefined {
    const stepWrite = this.#stepWrite;
    const others = this.flushWrites();
    if (stepWrite === undefined) return others;
    this.#stepWrite = undefined;
    return (others === undefined ? stepWrite : Promise.all([stepWrite, others])).then(() => {
      if (this.writeError !== undefined) throw this.writeError;
    });
  }

  #stoppedOutcome(): ExecutionOutcome {
    if (this.stopReason === 'cancelled')
      return { status: 'cancelled', error: serializeError(new RunCancelledError(this.runId)) };
    if (this.stopReason === 'store-failed' || this.stopReason === 'not-created')
      return { status: 'released', error: serializeError(this.stopError) };
    return { status: 'released' };
  }

  /**
   * Stores how the run ended. The common ends (completed, failed) take a short path with no
   * async frame. `behind`: journal writes queued before the end and still in flight.
   */
  #persist(
    outcome: ExecutionOutcome,
    retried = false,
    behind?: Promise<void>,
  ): ExecutionOutcome | Promise<ExecutionOutcome> {
    if (outcome.status !== 'completed' && outcome.status !== 'failed')
      return this.#persistOther(outcome, retried);
    const now = this.host.clock.now();
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
    // The change feed's record first, in the same turn: one transaction with the status.
    this.host.changes?.log(this.#change(outcome.status, now));
    const update = this.host.store.updateRun(this.runId, patch, now, this.fence(now));
    if (behind !== undefined) return this.#persistBehind(outcome, behind, update, now);
    if (update === storedNow) return this.#ended(outcome, now);
    return update.then(
      () => this.#ended(outcome, now),
      (error: unknown) => this.#persistFailed(outcome, error, retried),
    );
  }

  /**
   * The end of the run was queued behind writes still in flight: it counts only once they are
   * stored too. When one of them failed (the store failed, the lease was lost), the run ends as
   * that failure decides, as if the writes had been awaited before the end was stored.
   */
  #persistBehind(
    outcome: ExecutionOutcome,
    behind: Promise<void>,
    update: Promise<void>,
    now: number,
  ): Promise<ExecutionOutcome> {
    return behind.then(
      () =>
        update.then(
          () => this.#ended(outcome, now),
          (error: unknown) => this.#persistFailed(outcome, error, false),
        ),
      (error: unknown) => {
        const afterWrites = (): ExecutionOutcome | Promise<ExecutionOutcome> =>
          this.stopReason !== undefined
            ? this.#persist(this.#stoppedOutcome())
            : this.#persist(failedOutcome(serializeError(this.attachRunId(error))));
        return update.then(afterWrites, afterWrites);
      },
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
      this.stopReason === undefined
    ) {
      const holder = await this.holdLease().catch(() => undefined);
      if (holder === this.host.owner) return this.#persist(outcome, true);
    }
    this.storeFailure(error);
    return this.release(this.#stoppedOutcome());
  }

  async #persistOther(outcome: ExecutionOutcome, retried: boolean): Promise<ExecutionOutcome> {
    if (outcome.status === 'released') return this.release(outcome);
    try {
      return await this.#persistEnd(outcome);
    } catch (error) {
      return this.#persistFailed(outcome, error, retried);
    }
  }

  async #persistEnd(outcome: ExecutionOutcome): Promise<ExecutionOutcome> {
    const { store, clock } = this.host;
    const now = clock.now();
    const fence = this.fence(now);
    switch (outcome.status) {
      case 'suspended':
        return this.persistSuspended(outcome, now, fence);
      case 'budget-exceeded':
        this.host.changes?.log(this.#change('budget-exceeded', now));
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

  /** The change feed's record of this run reaching `status` at `now` (run-changes.ts). */
  #change(status: RunStatus, now: number): RunChange {
    return { runId: this.runId, target: this.record.target, status, at: now, owner: this.host.owner };
  }

  /** Announces the end of the run to listeners. */
  #ended(outcome: ExecutionOutcome, now: number): ExecutionOutcome {
    if (this.observed)
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
      const recorded = this.journal?.get(key);
      if (recorded !== undefined) return Promise.resolve(this.replay(key, recorded, name) as T);
      this.refuseLive(key, name);
      this.checkActive();
      if (this.writeError !== undefined) throw this.writeError;
    } catch (error) {
      return Promise.reject(error);
    }
    // A step's side effect starts only once the previous step's entry is stored: a crash never
    // repeats a step that finished before another one started.
    const writing = this.#stepWrite;
    if (writing !== undefined) {
      this.#stepWrite = undefined;
      return writing.then(() => this.step(key, name, fn, options));
    }
    const now = this.host.clock.now();
    if (now >= this.leaseUntil) {
      return this.confirmLease().then(() => this.#runStep(key, name, fn, options, this.host.clock.now()));
    }
    return this.#runStep(key, name, fn, options, now);
  }

  /** Runs a step for real; `startedAt`: the clock, read as the step was let through. */
  #runStep<T>(
    key: string,
    name: string,
    fn: (step: StepContext) => T | Promise<T>,
    options: StepOptions<T> | undefined,
    startedAt: number,
  ): Promise<T> {
    try {
      if (this.observed) this.emit({ type: 'step-start', key, name, kind: options?.kind ?? 'step' });
    } catch (error) {
      return Promise.reject(error);
    }
    let running: T | Promise<T>;
    try {
      running = fn(new Step(this, key));
    } catch (error) {
      running = Promise.reject(error);
    }
    return this.#settle(running, key, name, options, startedAt);
  }

  /**
   * Waits for a step's function, then records its entry: one `then` on the function's promise,
   * the rest synchronous while the store stores at once (`storedNow`), so a step costs no async
   * frame (one would hold its register file while a model call takes minutes, per run in flight).
   */
  #settle<T>(
    running: T | Promise<T>,
    key: string,
    name: string,
    options: StepOptions<T> | undefined,
    startedAt: number,
  ): Promise<T> {
    return Promise.resolve(running).then(
      (result) => this.#recordResult(key, name, options, startedAt, result),
      (error: unknown) => this.#recordFailure(key, name, options, startedAt, error),
    );
  }

  #recordResult<T>(
    key: string,
    name: string,
    options: StepOptions<T> | undefined,
    startedAt: number,
    result: T,
  ): T | Promise<T> {
    let entry: JournalEntry;
    try {
      entry = this.#completedEntry(key, name, options, startedAt, result);
    } catch (error) {
      return this.#recordFailure(key, name, options, startedAt, error);
    }
    return this.#record(entry, options, startedAt, undefined);
  }

  /** The step's function failed (or its result could not be recorded): the failure is recorded, then thrown. */
  #recordFailure<T>(
    key: string,
    name: string,
    options: StepOptions<T> | undefined,
    startedAt: number,
    error: unknown,
  ): T | Promise<T> {
    if (error instanceof Suspension || this.stopReason !== undefined) throw error;
    const entry = this.entry(key, name, options?.kind ?? 'step', startedAt);
    entry.status = 'failed';
    entry.error = serializeError(error);
    return this.#record(entry, options, startedAt, error);
  }

  /** Stores a step's entry (durable before the step returns, unless it ends the run: `#deferred`). */
  #record<T>(
    entry: JournalEntry,
    options: StepOptions<T> | undefined,
    startedAt: number,
    failure: unknown,
  ): T | Promise<T> {
    if (this.#deferred(entry, options)) return entry.result as T;
    const audit = this.host.audit;
    if (audit === undefined) {
      const write = this.startAppend(entry, entry.endedAt);
      if (write === undefined) return this.#stepEnded(entry, startedAt, failure);
      // The write and its refusal in one `then` (a lost lease taken back retries it): one
      // layer waits for the store, per run whose step is being stored.
      return write.then(
        () => this.#stepEnded(entry, startedAt, failure),
        (error: unknown) =>
          this.appendRefused(entry, error).then(() => this.#stepEnded<T>(entry, startedAt, failure)),
      );
    }
    const writing = this.appendFenced(entry, entry.endedAt, this.sealAudit(entry)).then((withRecords) =>
      // Its audit records were not stored with it: they are appended now.
      withRecords ? undefined : this.audited(audit, entry),
    );
    return writing.then(() => this.#stepEnded(entry, startedAt, failure));
  }

  /** The step's entry is stored: announces it, then returns its result or throws its failure. */
  #stepEnded<T>(entry: JournalEntry, startedAt: number, failure: unknown): T {
    if (this.observed) this.#announceStepEnd(entry, startedAt);
    if (entry.status === 'failed') throw this.attachRunId(failure);
    return entry.result as T;
  }

  /** The entry of a step that returned `result`; throws (to fail the step) when JSON cannot hold it or its meta fails. */
  #completedEntry<T>(
    key: string,
    name: string,
    options: StepOptions<T> | undefined,
    startedAt: number,
    result: T,
  ): JournalEntry {
    // A value JSON cannot hold would come back as something else on replay (a Date as a
    // string, a Map as {}): the step fails here instead, the same way on every replay.
    const problem = result === undefined ? undefined : jsonProblem(result, 'its result');
    if (problem !== undefined) throw new InvalidStepResultError(name, key, problem, this.runId);
    const entry = this.entry(key, name, options?.kind ?? 'step', startedAt);
    entry.result = result;
    const meta = options?.meta;
    // Called as a method: options may be an object whose `meta` reads its own fields (a model call).
    if (meta !== undefined) entry.meta = typeof meta === 'function' ? meta.call(options, result) : meta;
    return entry;
  }

  /**
   * Accounts a step's entry; true when it is not awaited (see `#mayDefer`): the step ends the
   * run, so the entry is stored with the run's end (in `execute`), which reports the run only
   * once both are stored. Should a step follow after all, it waits for the entry first (`step`).
   */
  #deferred<T>(entry: JournalEntry, options: StepOptions<T> | undefined): boolean {
    if (this.writeError !== undefined) throw this.writeError;
    this.account(entry);
    if (
      entry.status !== 'completed' ||
      options?.endsRun?.(entry.result as T) !== true ||
      !this.#mayDefer(entry)
    )
      return false;
    const audit = this.host.audit;
    if (audit === undefined) {
      const writing = this.appendPlain(entry, entry.endedAt);
      // Undefined: stored already (`storedNow`), nothing for the run's end to wait for.
      if (writing !== undefined)
        this.#stepWrite = writing.then(undefined, (error: unknown) => {
          this.writeError ??= error;
        });
      return true;
    }
    // Audited: deferred only when its audit records are stored in the entry's own write, so
    // the run's end, queued behind it, is reported only once the entry is audited too.
    const sealed = this.sealAudit(entry);
    if (sealed === undefined) return false;
    this.#stepWrite = this.appendFenced(entry, entry.endedAt, sealed)
      .then((withRecords) => (withRecords ? undefined : this.audited(audit, entry)))
      .then(undefined, (error: unknown) => {
        this.writeError ??= error;
      });
    return true;
  }

  /**
   * Whether a completed step's entry may be stored without awaiting it: not when someone
   * listens (their `step-end` comes after the append, in order), and not when its meta could
   * make the store refuse it (the run must then fail at this step).
   */
  #mayDefer(entry: JournalEntry): boolean {
    if (this.observed) return false;
    return entry.meta === undefined || jsonProblem(entry.meta, 'meta') === undefined;
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
    this.checkActive();
    const settled = await Promise.allSettled(
      branches.map(async (branch, index) => branch(new ScopeContext(this, `${scope}.${index}`))),
    );
    if (this.stopReason !== undefined) throw this.stopError;
    if (settled.some((outcome) => outcome.status === 'rejected' && outcome.reason instanceof Suspension))
      throw new Suspension();
    return settled;
  }

  /** Records a value made now (`make` gets the clock's time) and returns it; replays return the recorded one. */
  recordValue<T>(key: string, name: 'now' | 'random' | 'uuid', make: (now: number) => T): T {
    const recorded = this.journal?.get(key);
    if (recorded !== undefined) return this.replay(key, recorded, name) as T;
    this.refuseLive(key, name);
    this.checkActive();
    const now = this.host.clock.now();
    const entry = this.entry(key, name, name, now);
    entry.result = make(now);
    this.appendDeferred(entry);
    return entry.result as T;
  }
}

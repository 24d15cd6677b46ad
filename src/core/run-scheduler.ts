/**
 * Leases and scheduling of a runtime's runs: claims, launching executions, the lease heartbeat,
 * wake-up timers of suspended runs and the poller that recovers runs of dead processes.
 */

import type { Budget } from './budget-limits.js';
import type { Clock } from './clock.js';
import type { DispatchOptions, DispatchReason } from './dispatch.js';
import { BatonError, RunLeasedError, RunNotFoundError } from './errors.js';
import type { ExecutionHost, ExecutionOutcome } from './execution-host.js';
import { type ExecutionEnd, RunExecution } from './run-execution.js';
import type { RunResults } from './run-handle.js';
import type { Runnable } from './runnable.js';
import { canResume } from './runnable-registry.js';
import {
  type JournalEntry,
  type RunRecord,
  type SignalRecord,
  type Store,
  terminalStatuses,
} from './store.js';

/** A run this process executes now. */
export interface ActiveRun {
  execution: RunExecution;
  done: Promise<ExecutionOutcome>;
  /** Starts a fresh run's execution; idempotent. */
  go: () => void;
}

/** What the scheduler reads of its runtime. */
export interface SchedulerHost {
  readonly clock: Clock;
  /** This process's lease owner id. */
  readonly owner: string;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  /** True once the runtime is closed. */
  readonly closed: boolean;
  /** The runtime's store once it is open (the heartbeat renews nothing before). */
  readonly openedStore: Store | undefined;
  getStore(): Promise<Store>;
  /** The registered definition of that name. */
  definitionNamed(name: string): Runnable | undefined;
  resume(runId: string): Promise<unknown>;
  /** Set when the runtime hands runs to a queue: what comes after an execution is dispatched, not resumed here. */
  readonly dispatch:
    | ((runId: string, reason: DispatchReason, options?: DispatchOptions) => Promise<void>)
    | undefined;
}

/** What the scheduler does once an execution stopped; `storeError`: it threw (its store failed). */
type AfterExecution = (
  execution: RunExecution,
  runId: string,
  outcome: ExecutionOutcome,
  storeError?: unknown,
) => ExecutionOutcome;

/**
 * A launched run: its execution starts at the first `go()`, and `done` settles with what the
 * scheduler made of its end. No async frame waits for the start (one was held per run in flight),
 * and `done` read after `go()` (as `result()` does) is the execution's own promise: a promise
 * made to wait for the start exists only when someone asks before it.
 */
class LaunchedRun implements ActiveRun, ExecutionEnd {
  readonly execution: RunExecution;
  readonly #definition: Runnable;
  readonly #record: RunRecord;
  readonly #after: AfterExecution;
  #started = false;
  #done: Promise<ExecutionOutcome> | undefined;
  /** Set while someone waits on `done` before the start. */
  #resolve: ((outcome: Promise<ExecutionOutcome>) => void) | undefined;

  constructor(execution: RunExecution, definition: Runnable, record: RunRecord, after: AfterExecution) {
    this.execution = execution;
    this.#definition = definition;
    this.#record = record;
    this.#after = after;
  }

  get done(): Promise<ExecutionOutcome> {
    this.#done ??= new Promise((resolve) => {
      this.#resolve = resolve;
    });
    return this.#done;
  }

  go(): void {
    if (this.#started) return;
    this.#started = true;
    // The execution hands its outcome to `ended` (or `thrown`) itself: no promise layer of ours
    // waits for it, per run in flight.
    const settled = this.execution.execute(this.#definition, this.#record.input, this);
    const resolve = this.#resolve;
    if (resolve === undefined) this.#done = settled;
    else {
      this.#resolve = undefined;
      resolve(settled);
    }
  }

  ended(outcome: ExecutionOutcome): ExecutionOutcome {
    return this.#after(this.execution, this.#record.id, outcome);
  }

  thrown(error: unknown): ExecutionOutcome {
    return this.#after(
      this.execution,
      this.#record.id,
      { status: 'released', error: { name: 'Error', message: String(error) } },
      error,
    );
  }
}

/** Schedules the runs of one runtime; owned by it, shared with no other. */
export class RunScheduler {
  readonly #host: SchedulerHost;
  readonly #results: RunResults;
  readonly #active: Map<string, ActiveRun>;
  readonly #timers = new Map<string, () => void>();
  /** Runs released after a store failure whose lease could not be cleared then; the poller clears them. */
  readonly #leasesToClear = new Set<string>();
  /** Runs the poller found due but left for a runtime with their version; each is reported once. */
  readonly #otherVersions = new Set<string>();
  #startScheduled = false;
  /** Dispatches issued after an execution stopped, awaited by `runtime.execute`. */
  readonly #afterDispatch = new Map<string, Promise<void>>();
  #cancelHeartbeat: (() => void) | undefined;
  #cancelPoll: (() => void) | undefined;

  constructor(host: SchedulerHost, active: Map<string, ActiveRun>, results: RunResults) {
    this.#host = host;
    this.#active = active;
    this.#results = results;
  }

  /** Claims a run for this process; `undefined` when it is terminal. Throws when another process holds it. */
  async claim(store: Store, runId: string, force: boolean): Promise<RunRecord | undefined> {
    const claimed = await store.claimRun(
      runId,
      this.#host.owner,
      this.#host.clock.now(),
      this.#host.leaseMs,
      force,
    );
    if (claimed !== undefined) return claimed;
    const current = await store.getRun(runId);
    if (current === undefined) throw new RunNotFoundError(runId);
    if (terminalStatuses.has(current.status)) return undefined;
    throw new RunLeasedError(runId, current.leaseOwner ?? 'another process', current.leaseExpiresAt ?? 0);
  }

  /** Starts executing a run (a fresh one at the latest on the next turn of the event loop). */
  launch(
    host: ExecutionHost,
    definition: Runnable,
    record: RunRecord,
    entries: JournalEntry[],
    fresh: boolean,
    budget?: Budget,
    signals?: SignalRecord[],
  ): void {
    const execution = new RunExecution(host, record, entries, budget);
    if (signals !== undefined) execution.knowSignals(signals);
    const active = new LaunchedRun(execution, definition, record, this.#afterExecution);
    this.#active.set(record.id, active);
    this.#ensureHeartbeat();
    host.changes?.keepFresh();
    if (!fresh) {
      active.go();
      return;
    }
    // A fresh run starts when its handle is first asked for its result or its events (so an
    // event subscriber misses nothing), or at the next turn of the event loop at the latest
    // (starting is idempotent, so that turn simply starts every active run).
    if (!this.#startScheduled) {
      this.#startScheduled = true;
      setImmediate(() => {
        this.#startScheduled = false;
        for (const active of this.#active.values()) active.go();
      });
    }
  }

  /**
   * Starts a new run at once, while its creation is still queued in the store
   * (`Store.createsWithFirstStep`): its first step is then stored in the transaction that creates
   * the run. Its events are kept for its handle (`RunResults.keepEarlyEvents`).
   */
  launchCreating(host: ExecutionHost, definition: Runnable, record: RunRecord, budget?: Budget): ActiveRun {
    const execution = new RunExecution(host, record, [], budget);
    this.#results.keepEarlyEvents(execution);
    const active = new LaunchedRun(execution, definition, record, this.#afterExecution);
    this.#active.set(record.id, active);
    this.#ensureHeartbeat();
    host.changes?.keepFresh();
    active.go();
    return active;
  }

  readonly #afterExecution = (
    execution: RunExecution,
    runId: string,
    outcome: ExecutionOutcome,
    storeError?: unknown,
  ): ExecutionOutcome => {
    outcome.runId = runId;
    // Only its own slot: a later execution of the run may hold it already.
    if (this.#active.get(runId)?.execution === execution) this.#active.delete(runId);
    const watch = execution.watch;
    if (watch !== undefined) {
      execution.watch = undefined;
      try {
        watch.end(outcome.status, outcome.error);
      } catch (error) {
        process.stderr.write(`baton: the run observer threw as run ${runId} stopped: ${String(error)}\n`);
      }
    }
    if (storeError !== undefined) {
      process.stderr.write(`baton: run ${runId} stopped because its store failed: ${String(storeError)}\n`);
    }
    if (outcome.leaseHeld === true) this.#leasesToClear.add(runId);
    // A signal stored while this execution was active may have missed its last look.
    if (execution.signalled && outcome.status === 'suspended') outcome.wakeNow = true;
    if (this.#host.dispatch !== undefined) {
      this.#dispatchNext(this.#host.dispatch, runId, outcome);
    } else if (outcome.status === 'suspended' && !this.#host.closed) {
      if (outcome.wakeNow === true) this.wake(runId, 0);
      else if (outcome.wakeAt !== undefined) this.wake(runId, outcome.wakeAt - this.#host.clock.now());
    }
    this.#results.notifyEnded(runId, execution);
    return outcome;
  };

  /** With a dispatcher: queues what comes after an execution stopped (a wake, a release). */
  #dispatchNext(
    dispatch: NonNullable<SchedulerHost['dispatch']>,
    runId: string,
    outcome: ExecutionOutcome,
  ): void {
    const now = this.#host.clock.now();
    let next: Promise<void> | undefined;
    if (outcome.status === 'suspended') {
      if (outcome.wakeNow === true) next = dispatch(runId, 'signal', { key: `now-${now}` });
      else if (outcome.wakeAt !== undefined)
        next = dispatch(runId, 'timer', { at: outcome.wakeAt, key: String(outcome.wakeAt) });
    } else if (outcome.status === 'released') {
      // A failed store is retried a little later; a drain hands the run over at once.
      const at = outcome.error === undefined ? now : now + 1000;
      next = dispatch(runId, 'released', { at, key: `released-${now}` });
    }
    if (next === undefined) return;
    const tracked = next.finally(() => {
      if (this.#afterDispatch.get(runId) === tracked) this.#afterDispatch.delete(runId);
    });
    this.#afterDispatch.set(runId, tracked);
  }

  /** Resolves once what was dispatched after the run's last execution is queued. */
  afterDispatch(runId: string): Promise<void> | undefined {
    return this.#afterDispatch.get(runId);
  }

  /** Resumes a suspended run in `inMs`, replacing its earlier wake-up timer. */
  wake(runId: string, inMs: number): void {
    this.#timers.get(runId)?.();
    const cancel = this.#host.clock.setTimer(
      () => {
        this.#timers.delete(runId);
        if (this.#host.closed || this.#active.has(runId)) return;
        this.#host.resume(runId).catch((error: unknown) => {
          if (!(BatonError.isInstance(error) && error.code === 'RUN_LEASED')) {
            process.stderr.write(`baton: could not resume run ${runId}: ${String(error)}\n`);
          }
        });
      },
      Math.max(0, inMs),
    );
    this.#timers.set(runId, cancel);
  }

  /** Cancels the wake-up timer of a run. */
  cancelWake(runId: string): void {
    this.#timers.get(runId)?.();
  }

  #ensureHeartbeat(): void {
    if (this.#cancelHeartbeat !== undefined) return;
    const beat = () => {
      // Idle: stop beating; the next launch starts it again. (Stopping it per finished run
      // would set and clear a timer for every run.)
      if (this.#active.size === 0 || this.#host.closed) {
        this.#cancelHeartbeat = undefined;
        return;
      }
      this.#cancelHeartbeat = this.#host.clock.setTimer(beat, this.#host.leaseMs / 3);
      const store = this.#host.openedStore;
      if (store === undefined) return;
      store.renewLeases(this.#host.owner, this.#host.clock.now() + this.#host.leaseMs).then(
        (stopped) => {
          for (const runId of stopped) {
            const active = this.#active.get(runId);
            if (active === undefined) continue;
            store.getRun(runId).then(
              (record) => {
                if (record?.status === 'cancelled') active.execution.cancel();
                else active.execution.loseLease();
              },
              () => undefined,
            );
          }
        },
        (error: unknown) => process.stderr.write(`baton: lease renewal failed: ${String(error)}\n`),
      );
    };
    this.#cancelHeartbeat = this.#host.clock.setTimer(beat, this.#host.leaseMs / 3);
  }

  #stopHeartbeat(): void {
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = undefined;
  }

  /** Looks for runs to recover in `inMs`, then every poll interval until the runtime closes. */
  schedulePoll(inMs: number): void {
    this.#cancelPoll = this.#host.clock.setTimer(() => {
      this.#poll().finally(() => {
        if (!this.#host.closed) this.schedulePoll(this.#host.pollIntervalMs);
      });
    }, inMs);
  }

  async #poll(): Promise<void> {
    try {
      const store = await this.#host.getStore();
      await this.#clearLeases(store);
      const due = await store.findRecoverable(this.#host.clock.now(), 50);
      for (const record of due) {
        if (this.#host.closed) return;
        if (this.#host.dispatch !== undefined) {
          if (this.#active.has(record.id)) continue;
          await this.#host.dispatch(record.id, 'recover', {
            key: `${record.status}-${record.updatedAt}-${record.leaseExpiresAt ?? 0}`,
          });
          continue;
        }
        const definition = this.#host.definitionNamed(record.target);
        if (this.#active.has(record.id) || definition === undefined) continue;
        if (!canResume(definition, record)) {
          this.#reportOtherVersion(record, definition);
          continue;
        }
        await this.#host.resume(record.id).catch((error: unknown) => {
          if (BatonError.isInstance(error) && error.code === 'RUN_LEASED') return;
          process.stderr.write(`baton: could not recover run ${record.id}: ${String(error)}\n`);
        });
      }
    } catch (error) {
      if (!this.#host.closed) process.stderr.write(`baton: recovery poll failed: ${String(error)}\n`);
    }
  }

  /** Says once per run that a due run is left for a runtime with its version. */
  #reportOtherVersion(record: RunRecord, definition: Runnable): void {
    if (this.#otherVersions.has(record.id)) return;
    this.#otherVersions.add(record.id);
    process.stderr.write(
      `baton: run ${record.id} of "${record.target}" started with version ${record.targetVersion}; this runtime has ` +
        `version ${definition.version}, so it leaves the run for a runtime with version ${record.targetVersion} ` +
        `(or list "${record.targetVersion}" in compatibleVersions).\n`,
    );
  }

  /** Clears the leases a failing store kept this process from clearing, so the runs are recovered. */
  async #clearLeases(store: Store): Promise<void> {
    for (const runId of this.#leasesToClear) {
      if (this.#active.has(runId)) {
        this.#leasesToClear.delete(runId);
        continue;
      }
      const now = this.#host.clock.now();
      await store
        .updateRun(runId, { leaseOwner: null, leaseExpiresAt: null }, now, { owner: this.#host.owner, now })
        .then(
          () => this.#leasesToClear.delete(runId),
          (error: unknown) => {
            // Another process holds it (or it expired and was taken): nothing of ours to clear.
            if (BatonError.isInstance(error)) this.#leasesToClear.delete(runId);
            else throw error;
          },
        );
    }
  }

  /** Stops polling and timers, lets active runs stop at their next step (they stay resumable) and waits for them. */
  async close(): Promise<void> {
    this.#cancelPoll?.();
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    const running = [...this.#active.values()];
    for (const { execution } of running) execution.shutdown();
    await Promise.allSettled(running.map(({ done }) => done));
    this.#stopHeartbeat();
  }
}

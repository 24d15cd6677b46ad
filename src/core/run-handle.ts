/** Run handles: `RunHandle`, and `RunResults`, which answers a handle's `result()` and `events()` from the active execution or the store. */

import type { Clock } from './clock.js';
import type { RunEventFeed } from './dispatch.js';
import { deserializeError } from './errors.js';
import type { BatonEvent, EventBus } from './events.js';
import type { ExecutionOutcome } from './execution-host.js';
import { type EarlyEvents, earlyEvents } from './execution-journal.js';
import type { ActiveRun } from './run-scheduler.js';
import type { Runtime } from './runtime.js';
import type { RunRecord } from './store.js';

/**
 * A started (or resumed) run.
 *
 * @example
 * ```ts
 * const handle = await runtime.start(supportAgent, 'I was charged twice');
 * for await (const event of handle.events()) if (event.type === 'tool-call') console.log(event.tool);
 * console.log(await handle.result());
 * ```
 */
export interface RunHandle<OUTPUT = unknown> {
  readonly runId: string;
  /** Resolves with the output once the run completes; rejects with its error if it fails or is cancelled. */
  result(): Promise<OUTPUT>;
  /**
   * The run's live events until it ends or suspends. Asked for right after `start` resolves (in
   * that turn of the event loop), it gives every event from `run-start`, also those of a first
   * step that began before `start` resolved. A model call streams (`model-delta`) only when
   * someone listens as it begins: to stream a run's first one, listen with `runtime.on()` first.
   */
  events(): AsyncIterable<BatonEvent>;
  /** The stored run. */
  status(): Promise<RunRecord>;
}

/** The results and live events of a runtime's runs; one per runtime, shared by all its handles. */
export class RunResults {
  readonly #feed: RunEventFeed | undefined;
  readonly #runtime: Pick<Runtime, 'get'>;
  readonly #active: ReadonlyMap<string, ActiveRun>;
  readonly #events: EventBus;
  readonly #clock: Clock;
  readonly #pollIntervalMs: number;
  /** Who waits, in `result()`, for a run that this process is not executing right now. */
  readonly #ended = new Map<string, Set<() => void>>();
  /**
   * Runs started before their handle existed (`keepEarlyEvents`) that ended while their
   * executions still kept their events for the handle's `events()`: kept here so they still hand
   * them over. (A run in flight is found through the active runs: no entry per run here.)
   */
  readonly #early = new Map<string, EarlyEventsHolder>();
  /** Runs whose early events are dropped at the next turn of the event loop. */
  #dropping: string[] = [];

  constructor(
    runtime: Pick<Runtime, 'get'>,
    active: ReadonlyMap<string, ActiveRun>,
    events: EventBus,
    clock: Clock,
    pollIntervalMs: number,
    feed?: RunEventFeed,
  ) {
    this.#feed = feed;
    this.#runtime = runtime;
    this.#active = active;
    this.#events = events;
    this.#clock = clock;
    this.#pollIntervalMs = pollIntervalMs;
  }

  /**
   * Keeps the events of a run that starts before its handle exists (`runtime.start` on a store
   * that `createsWithFirstStep`: the run starts while its creation is queued), so the handle's
   * `events()` still delivers them all from `run-start`.
   */
  keepEarlyEvents(execution: EarlyEventsHolder): void {
    execution.early = [];
  }

  /**
   * The run's handle has been handed out: its early events are dropped at the next turn of the
   * event loop, by when a caller that asks for `events()` right after `start` resolves has asked.
   * (A run that is not started early starts at that turn at the latest, so events asked for later
   * miss its first ones either way.) With `now`, they are dropped at once (the run was not created).
   */
  dropEarlyEvents(runId: string, now = false): void {
    if (now) {
      this.#takeEarly(runId);
      return;
    }
    this.#dropping.push(runId);
    if (this.#dropping.length > 1) return;
    setImmediate(() => {
      const dropping = this.#dropping;
      this.#dropping = [];
      for (const id of dropping) this.#takeEarly(id);
    });
  }

  /** The events kept for a run started before its handle, if any; they are kept no longer. */
  #takeEarly(runId: string): EarlyEvents | undefined {
    let execution: EarlyEventsHolder | undefined = this.#early.get(runId);
    if (execution !== undefined) this.#early.delete(runId);
    else execution = this.#active.get(runId)?.execution;
    if (execution === undefined) return undefined;
    const events = execution.early;
    execution.early = undefined;
    return events;
  }

  /** The stored run (see `RunHandle.status`). */
  status(runId: string): Promise<RunRecord> {
    return this.#runtime.get(runId);
  }

  /**
   * Wakes what waits for the end of a run (`execution`, here, has ended); events it still keeps
   * for its handle are kept here until they are dropped.
   */
  notifyEnded(runId: string, execution?: EarlyEventsHolder): void {
    if (execution?.early !== undefined) this.#early.set(runId, execution);
    const waiters = this.#ended.get(runId);
    if (waiters !== undefined) {
      this.#ended.delete(runId);
      for (const notify of waiters) notify();
    }
  }

  /** The result of a run (see `RunHandle.result`). */
  resultOf(runId: string): Promise<unknown> {
    const active = this.#active.get(runId);
    if (active === undefined) return this.#awaitStored(runId);
    active.go();
    return active.done.then(this.#valueOf);
  }

  /** The result of an active run's outcome (the scheduler says whose); one function for all runs. */
  readonly #valueOf = (outcome: ExecutionOutcome): unknown =>
    this.#outcomeValue(outcome.runId as string, outcome);

  #outcomeValue(runId: string, outcome: ExecutionOutcome): unknown {
    if (outcome.status === 'completed') return outcome.output;
    // Released by a failing store: say so now rather than poll a store that does not answer.
    if (outcome.status === 'released' && outcome.error !== undefined)
      throw deserializeError(outcome.error, runId);
    if (
      (outcome.status === 'failed' ||
        outcome.status === 'cancelled' ||
        outcome.status === 'budget-exceeded') &&
      outcome.error !== undefined
    ) {
      throw deserializeError(outcome.error, runId);
    }
    // Suspended or released: the run ends later, here or in another process.
    return this.#awaitStored(runId);
  }

  /** Waits for a run this process is not executing to end, reading the store. */
  async #awaitStored(runId: string): Promise<unknown> {
    for (;;) {
      const active = this.#active.get(runId);
      if (active !== undefined) return this.resultOf(runId);
      const record = await this.#runtime.get(runId);
      if (record.status === 'completed') return record.output;
      if (
        record.status === 'failed' ||
        record.status === 'cancelled' ||
        record.status === 'budget-exceeded'
      ) {
        throw deserializeError(
          record.error ?? { name: 'Error', message: `Run ${runId} ${record.status}.` },
          runId,
        );
      }
      await this.#nextChange(runId);
    }
  }

  /** Resolves when a local execution of the run ends, or after a poll interval (another process may run it). */
  #nextChange(runId: string): Promise<void> {
    return new Promise((resolve) => {
      let waiters = this.#ended.get(runId);
      if (waiters === undefined) {
        waiters = new Set();
        this.#ended.set(runId, waiters);
      }
      const set = waiters;
      const cancel = this.#clock.setTimer(
        () => {
          set.delete(done);
          resolve();
        },
        Math.max(50, this.#pollIntervalMs),
      );
      const done = () => {
        cancel();
        resolve();
      };
      set.add(done);
    });
  }

  /** The live events of a run (see `RunHandle.events`). */
  async *eventsOf(runId: string): AsyncGenerator<BatonEvent> {
    if (this.#feed !== undefined && !this.#active.has(runId) && !this.#early.has(runId)) {
      // Executed elsewhere (a worker): its events come from the feed.
      const controller = new AbortController();
      try {
        for await (const event of this.#feed.follow(runId, controller.signal)) yield event;
      } finally {
        controller.abort();
      }
      return;
    }
    const queue: BatonEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = !this.#active.has(runId);
    const off = this.#events.on((event) => {
      if (event.runId !== runId) return;
      queue.push(event);
      if (event.type === 'run-end' || event.type === 'run-suspended') finished = true;
      wake?.();
    });
    // A run started before its handle: what it emitted until now (subscribed above, in the same
    // turn, so nothing is missed or seen twice), even if it has ended since.
    const early = this.#takeEarly(runId);
    if (early !== undefined) for (const event of earlyEvents(runId, early)) queue.push(event);
    const active = this.#active.get(runId);
    active?.go();
    active?.done.then(
      () => {
        finished = true;
        wake?.();
      },
      () => undefined,
    );
    try {
      for (;;) {
        while (queue.length > 0) yield queue.shift() as BatonEvent;
        if (finished) return;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
    } finally {
      off();
    }
  }
}

/** What keeps a run's early events: its execution (`early` is set while they are kept). */
interface EarlyEventsHolder {
  early: EarlyEvents | undefined;
}

/** A run handle; methods on a class rather than closures per run. */
export class Handle implements RunHandle<unknown> {
  readonly #results: RunResults;
  readonly runId: string;
  constructor(results: RunResults, runId: string) {
    this.#results = results;
    this.runId = runId;
  }
  result(): Promise<unknown> {
    return this.#results.resultOf(this.runId);
  }
  events(): AsyncIterable<BatonEvent> {
    return this.#results.eventsOf(this.runId);
  }
  status(): Promise<RunRecord> {
    return this.#results.status(this.runId);
  }
}

/** Waits and timers of a run's execution: signals (`waitFor`), sleeps, durable timers, and what a suspending run records. */

import { serializeError, WaitTimeoutError } from './errors.js';
import type { ExecutionOutcome } from './execution-host.js';
import { JournaledExecution } from './execution-journal.js';
import { Suspension } from './interruption.js';
import type { WaitOptions } from './run-context.js';
import type { LeaseFence, SignalRecord } from './store.js';
import { type OpenWait, payloadProblem, waitSchemaJson, waitsStream } from './wait-payload.js';

/** The waits of one execution; most runs never wait, so their state is allocated on first use. */
export abstract class WaitingExecution extends JournaledExecution {
  /** Signal names the run waits for; allocated on first suspension (most runs never wait). */
  #waitingFor: Set<string> | undefined;
  /** What the waits with a `schema` expect (JSON Schema), recorded when the run suspends. */
  #waitSchemas: Map<string, Record<string, unknown>> | undefined;
  /** Stored signals whose payload a wait's schema refused: skipped, never consumed, never a reason to wake. */
  #refusedSignals: Set<number> | undefined;
  #wakeAt: number | undefined;
  /**
   * A wait of the run has ended (answered or timed out, here or in an earlier execution): the
   * newest waits record may name it, so a suspension on timers alone records that none is open.
   */
  #waitEnded = false;
  #signals: SignalRecord[] | undefined;
  /**
   * A signal was stored for the run while this execution was still active in this process: if
   * it suspends without having seen it (its last look came first), the runtime wakes it again.
   */
  signalled = false;

  /**
   * The run's stored signals, read by whoever resumed it together with its journal, so its
   * open wait need not read them again (a list missing the wanted signal is still re-read).
   */
  knowSignals(signals: SignalRecord[]): void {
    this.#signals = signals;
  }

  async waitFor<T>(key: string, signalName: string, options: WaitOptions | undefined): Promise<T> {
    const name = `waitFor:${signalName}`;
    const recorded = this.journal?.get(key);
    if (recorded !== undefined) {
      this.#passTimer(key);
      this.#waitEnded = true;
      return (this.replay(key, recorded, name) as { payload: T }).payload;
    }
    this.refuseLive(key, name);
    // A wait reached after another one suspended the run (a parallel branch) is open too: it is
    // recorded with the others, so the inbox lists it and signal() checks its payload.
    if (this.suspended && this.stopReason === undefined) {
      this.#noteWaitSchema(signalName, options);
      this.#suspend(signalName, undefined);
    }
    this.checkActive();
    const startedAt = this.host.clock.now();
    const signal = await this.#nextSignal(signalName, options?.schema);
    if (signal !== undefined) {
      this.#passTimer(key);
      this.#waitEnded = true;
      this.consume(signal.id);
      const entry = this.entry(key, name, 'signal', startedAt);
      entry.result = { signalId: signal.id, payload: signal.payload };
      // Not awaited: the run goes on while the wait's entry is stored. Nothing after it is stored
      // before it (a run's appends stay in order), and until it is stored a replay takes the same
      // signal again (the oldest one this wait accepts that no stored entry consumed): one
      // commit less between a signal and the run's next step.
      this.appendDeferred(entry, true);
      return signal.payload as T;
    }
    this.#noteWaitSchema(signalName, options);
    const timeoutMs = options?.timeoutMs;
    if (timeoutMs === undefined) this.#suspend(signalName, undefined);
    const deadline = await this.#timer(key, timeoutMs);
    if (this.host.clock.now() < deadline) this.#suspend(signalName, deadline);
    this.#waitEnded = true;
    const error = new WaitTimeoutError(signalName, timeoutMs, this.runId);
    const entry = this.entry(key, name, 'signal', startedAt);
    entry.status = 'failed';
    entry.error = serializeError(error);
    await this.append(entry);
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
    const recorded = this.journal?.get(key);
    if (recorded !== undefined) {
      this.#passTimer(key);
      this.replay(key, recorded, 'sleep');
      return;
    }
    this.refuseLive(key, 'sleep');
    this.checkActive();
    const startedAt = this.host.clock.now();
    const wakeAt = await this.#timer(key, ms);
    const remaining = wakeAt - this.host.clock.now();
    if (remaining > 0) {
      if (remaining > this.host.inlineWaitMs) this.#suspend(undefined, wakeAt);
      await this.#waitInMemory(remaining);
    }
    await this.append(this.entry(key, 'sleep', 'sleep', startedAt));
  }

  /**
   * Counts the timer an earlier execution recorded for the wait at `key` as replayed when the
   * wait ends without reading it (its own entry is replayed, or a signal answers it): otherwise
   * the run would count as replaying, and stay silent, for the rest of this execution.
   */
  #passTimer(key: string): void {
    if (this.journal?.has(`${key}~timer`) === true) this.replayedCount++;
  }

  /** The durable deadline of a timer at `key`: recorded the first time, read back afterwards. */
  async #timer(key: string, ms: number): Promise<number> {
    const timerKey = `${key}~timer`;
    const recorded = this.journal?.get(timerKey);
    if (recorded !== undefined) {
      this.replayedCount++;
      return recorded.result as number;
    }
    const now = this.host.clock.now();
    const entry = this.entry(timerKey, 'timer', 'timer', now);
    entry.result = now + ms;
    await this.append(entry);
    return now + ms;
  }

  #waitInMemory(ms: number): Promise<void> {
    const signal = this.signal;
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        cancelTimer();
        reject(signal.reason);
      };
      const cancelTimer = this.host.clock.setTimer(() => {
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
        if (signal.name !== name || this.consumedSignals?.has(signal.id) === true) return false;
        if (schema === undefined || payloadProblem(schema, signal.payload) === undefined) return true;
        if (this.#refusedSignals === undefined) this.#refusedSignals = new Set();
        this.#refusedSignals.add(signal.id);
        return false;
      });
    let found = find();
    if (found === undefined) {
      try {
        this.#signals = await this.host.store.listSignals(this.runId);
      } catch (error) {
        throw this.storeFailure(error);
      }
      found = find();
    }
    return found;
  }

  #suspend(waitingFor: string | undefined, wakeAt: number | undefined): never {
    this.suspended = true;
    if (waitingFor !== undefined) {
      if (this.#waitingFor === undefined) this.#waitingFor = new Set();
      this.#waitingFor.add(waitingFor);
    }
    if (wakeAt !== undefined && (this.#wakeAt === undefined || wakeAt < this.#wakeAt)) this.#wakeAt = wakeAt;
    throw new Suspension();
  }

  protected suspendedOutcome(): ExecutionOutcome {
    const outcome: ExecutionOutcome = { status: 'suspended' };
    if (this.#wakeAt !== undefined) outcome.wakeAt = this.#wakeAt;
    return outcome;
  }

  /** Stores that the run is suspended, after the waits it is suspended on. */
  protected async persistSuspended(
    outcome: ExecutionOutcome,
    now: number,
    fence: LeaseFence,
  ): Promise<ExecutionOutcome> {
    const { store } = this.host;
    // Before the status says suspended: a signal() that sees it finds what the waits expect.
    if (this.#waitingFor !== undefined) {
      const waits = [...this.#waitingFor].map((signal): OpenWait => {
        const schema = this.#waitSchemas?.get(signal);
        return schema === undefined ? { signal } : { signal, schema };
      });
      const seq = await store.appendRecord(waitsStream(this.runId), { waits }, now);
      // The change feed's record, in the same turn as the status (run-changes.ts).
      this.host.changes?.log({
        runId: this.runId,
        target: this.record.target,
        status: 'suspended',
        at: now,
        owner: this.host.owner,
        waits: seq,
      });
    } else if (this.#waitEnded) {
      // Asleep on timers alone after a wait ended: the newest record would still name that wait
      // (the inbox would list it); this one says no signal is awaited.
      await store.appendRecord(waitsStream(this.runId), { waits: [] }, now);
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
          this.consumedSignals?.has(signal.id) !== true &&
          this.#refusedSignals?.has(signal.id) !== true,
      );
    }
    if (this.observed)
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
}

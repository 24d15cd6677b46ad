/** createRuntime and the Runtime it makes: starts, resumes, signals, lists and cancels runs (scheduling in run-scheduler.ts, handles in run-handle.ts). */

import { hostname } from 'node:os';
import type { Budget } from './budget-limits.js';
import { type Clock, systemClock } from './clock.js';
import {
  type DispatchOptions,
  type DispatchReason,
  type ExecutionReport,
  QUEUED_OWNER,
  type RunDispatcher,
} from './dispatch.js';
import { type ChildOutcome, childSignalName, parentRunOf, type SpawnChild } from './distributed-child.js';
import { asStoreError, BatonError, ConfigError, RunNotFoundError, serializeError } from './errors.js';
import { EventBus, type EventListener } from './events.js';
import type { ExecutionHost, ExecutionOutcome } from './execution-host.js';
import { assertNoForbiddenKeys } from './forbidden-keys.js';
import { nodeCrypto } from './node-crypto.js';
import { checkOptionNames, optionNames } from './option-names.js';
import { RunChangeLog } from './run-changes.js';
import type { Tenant } from './run-context.js';
import { Handle, type RunHandle, RunResults } from './run-handle.js';
import type { RunObserver } from './run-observer.js';
import type { ReplayReport } from './run-replay.js';
import { type ActiveRun, RunScheduler, type SchedulerHost } from './run-scheduler.js';
import type { Runnable } from './runnable.js';
import { canResume, RunnableRegistry } from './runnable-registry.js';
import {
  positive,
  type RuntimeOptions,
  runtimeDefaults,
  runtimeOptionNames,
  type StartOptions,
  startOptionNames,
} from './runtime-options.js';
import {
  type JournalEntry,
  type RunFilter,
  type RunRecord,
  runSchemaVersion,
  type SignalRecord,
  type Store,
  storedNow,
  terminalStatuses,
} from './store.js';
import { checkSignalPayload } from './wait-payload.js';

export type { RunHandle } from './run-handle.js';
export type { RuntimeOptions, StartOptions } from './runtime-options.js';

/** The record stream holding a run's budget (`runtime.start(..., { budget })`), read again on resume. */
/** Options of `runtime.fork`. */
export interface ForkOptions {
  /** The key of the step to run again (and everything after it); earlier entries are shared. See `baton show`. */
  at: string;
  /** The fork's input. Default: the original run's. Steps before `at` replay as recorded either way. */
  input?: unknown;
  /** The new run's id. Default: a generated one. */
  runId?: string;
}

/** Where a forked run came from. */
export interface ForkOrigin {
  /** The run it was forked from. */
  runId: string;
  /** The key of the step it ran again (`ForkOptions.at`); the steps before it are shared. */
  at: string;
  /**
   * That step's position in the origin's journal, from 1 (the fork shares the `step - 1` entries
   * before it). Absent from origins recorded before it was kept.
   */
  step?: number;
}

const forkOptionNames = optionNames<ForkOptions>({ at: true, input: true, runId: true });

/** The stream holding a forked run's origin (one record). */
function forkStream(runId: string): string {
  return `fork:${runId}`;
}

function budgetStream(runId: string): string {
  return `budget/${runId}`;
}

/** The runtime: one per process (or per worker). */
export interface Runtime {
  readonly store: Store;
  /** Adds definitions it can run by name. */
  register(...definitions: Runnable[]): void;
  /**
   * Starts a run of a definition (or a registered name). Resolves once the run is stored. On a
   * store that `createsWithFirstStep` (SQLite, Postgres), a run whose id is generated here starts while its
   * creation is queued, so its first step is stored with it and may have begun by then
   * (docs/durability.md, "Starting a run"); with `runId`, nothing runs before the run is stored.
   */
  start<INPUT, OUTPUT>(
    target: Runnable<INPUT, OUTPUT>,
    input: INPUT,
    options?: StartOptions,
  ): Promise<RunHandle<OUTPUT>>;
  start(target: string, input: unknown, options?: StartOptions): Promise<RunHandle<unknown>>;
  /** Continues a run that is running (dead owner) or suspended; a terminal run's handle just reports it. */
  resume(runId: string, options?: { force?: boolean }): Promise<RunHandle<unknown>>;
  /**
   * Delivers a signal; a suspended run waiting for it is resumed (here if this runtime knows it).
   * A payload that the open wait's `schema` refuses throws `INVALID_SIGNAL_PAYLOAD` and is not stored.
   */
  signal(runId: string, name: string, payload?: unknown): Promise<void>;
  get(runId: string): Promise<RunRecord>;
  list(filter?: RunFilter): Promise<RunRecord[]>;
  journal(runId: string): Promise<JournalEntry[]>;
  cancel(runId: string): Promise<RunRecord>;
  /** Subscribes to every event of every run in this process. */
  on(listener: EventListener): () => void;
  /**
   * For workers: takes the run (a queued run from the queue's lease, or one whose lease ran
   * out), runs it here until it ends, suspends or is released, and reports how it stopped. With
   * a dispatcher, what comes next (a timer, a signal already there, a release) is dispatched
   * before it resolves. Throws `RUN_LEASED`, changing nothing, when a live process holds the run.
   */
  execute(runId: string): Promise<ExecutionReport>;
  /**
   * Re-executes an ended run against its journal with the code registered now: no model, tool
   * or step runs, nothing is written, and the report says whether the code still makes the
   * recorded run or where it first asks for something else (docs/durability.md).
   */
  replay(runId: string): Promise<ReplayReport>;
  /**
   * Starts a new run that shares `runId`'s journal up to the step at `at` (every entry recorded
   * before it) and runs live from that step on: what if the model had answered differently, or
   * the input had been another. The fork records its origin (`forkOrigin`). The step at `at` and
   * everything after it run again for real.
   */
  fork(runId: string, options: ForkOptions): Promise<RunHandle<unknown>>;
  /** Where a run was forked from (`runtime.fork`), or undefined for a run that was not. */
  forkOrigin(runId: string): Promise<ForkOrigin | undefined>;
  /** Stops timers, lets active runs stop at their next step (they stay resumable) and closes a store it created. */
  close(): Promise<void>;
}

/**
 * Creates a runtime on the kernel alone: with no `store`, `openDefaultStore` opens one on first
 * use, and without it store calls fail with `NO_STORE`. The package's `createRuntime` (from
 * `batonjs`) passes SQLite as that default; the kernel itself names no store adapter.
 *
 * @example
 * ```ts
 * import { createRuntime, createMemoryStore } from 'batonjs';
 * const runtime = createRuntime({ store: createMemoryStore(), workflows: [supportTeam] });
 * const handle = await runtime.start('support', 'Where is my order?');
 * console.log(await handle.result());
 * await runtime.close();
 * ```
 */
export function createKernelRuntime(
  options: RuntimeOptions = {},
  openDefaultStore?: () => Promise<Store>,
): Runtime {
  checkOptionNames('createRuntime()', options, runtimeOptionNames);
  return new BatonRuntime(options, openDefaultStore);
}

class BatonRuntime implements Runtime {
  readonly clock: Clock;
  readonly events = new EventBus();
  readonly inlineWaitMs: number;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #recover: boolean;
  readonly #audit: RuntimeOptions['audit'];
  readonly #observer: RunObserver | undefined;
  readonly #dispatcher: RunDispatcher | undefined;
  readonly #queuedLeaseMs: number;
  /** What every run of this runtime carries in `ctx.services.tenant`. */
  readonly #tenant: Tenant;
  readonly #registry = new RunnableRegistry();
  /** Runs this process executes now (shared with the scheduler and the results). */
  readonly #active = new Map<string, ActiveRun>();
  /** Resumes in progress, so a second one for the same run waits for the first. */
  readonly #resuming = new Map<string, Promise<RunHandle<unknown>>>();
  readonly #results: RunResults;
  readonly #scheduler: RunScheduler;
  #host: ExecutionHost | undefined;
  #store: Store | undefined;
  #storePromise: Promise<Store> | undefined;
  readonly #ownsStore: boolean;
  readonly #openDefaultStore: (() => Promise<Store>) | undefined;
  #closed = false;

  constructor(options: RuntimeOptions, openDefaultStore: (() => Promise<Store>) | undefined) {
    this.#openDefaultStore = openDefaultStore;
    const settings = { ...runtimeDefaults, ...options };
    this.clock = settings.clock ?? systemClock;
    this.inlineWaitMs = settings.inlineWaitMs;
    this.#leaseMs = positive('leaseMs', settings.leaseMs);
    this.#pollIntervalMs = settings.pollIntervalMs;
    this.#recover = settings.recover;
    this.#owner = settings.owner ?? `${hostname()}:${process.pid}:${nodeCrypto().randomUUID().slice(0, 8)}`;
    this.#audit = options.audit;
    this.#observer = options.observer;
    this.#dispatcher = options.dispatcher;
    this.#queuedLeaseMs = positive('queuedLeaseMs', options.queuedLeaseMs ?? 300_000);
    const { models, prices, resilience, contextWindows, tokenizers, journalPrompts } = options;
    this.#tenant = { models, prices, resilience, contextWindows, tokenizers, journalPrompts };
    this.#store = options.store;
    this.#ownsStore = options.store === undefined;
    for (const definition of options.workflows ?? []) this.register(definition);
    this.#results = new RunResults(
      this,
      this.#active,
      this.events,
      this.clock,
      this.#pollIntervalMs,
      options.eventFeed,
    );
    this.#scheduler = new RunScheduler(this.#schedulerHost(), this.#active, this.#results);
    if (this.#recover && this.#pollIntervalMs > 0) this.#scheduler.schedulePoll(0);
  }

  get store(): Store {
    if (this.#store === undefined) {
      throw new ConfigError(
        'The default SQLite store opens on first use; await a runtime call before reading runtime.store, or pass a store.',
      );
    }
    return this.#store;
  }

  async #getStore(): Promise<Store> {
    if (this.#store !== undefined) return this.#store;
    // The kernel names no store adapter: the package entry passes the default (SQLite).
    const open = this.#openDefaultStore;
    if (open === undefined) {
      throw new ConfigError(
        "createRuntime(): no store was given and this runtime has no default; pass { store }, or import createRuntime from 'batonjs', whose default is SQLite at .baton/baton.db.",
        { code: 'NO_STORE' },
      );
    }
    this.#storePromise ??= open().then((store) => {
      this.#store = store;
      return store;
    });
    return this.#storePromise;
  }

  /** Per-process random part of run ids (48 bits) and a counter: unique without a UUID per run. */
  readonly #idPrefix = nodeCrypto().randomBytes(6).toString('hex');
  #idCounter = 0;
  /** The time part of the last run id, and the time it was made from: most starts share a millisecond. */
  #idTime = Number.NaN;
  #idTimeHex = '';

  /** What the scheduler reads of this runtime; made once. */
  #schedulerHost(): SchedulerHost {
    const runtime = this;
    return {
      clock: this.clock,
      owner: this.#owner,
      leaseMs: this.#leaseMs,
      pollIntervalMs: this.#pollIntervalMs,
      get closed() {
        return runtime.#closed;
      },
      get openedStore() {
        return runtime.#store;
      },
      getStore: () => this.#getStore(),
      definitionNamed: (name) => this.#registry.get(name),
      resume: (runId) => this.resume(runId),
      dispatch:
        this.#dispatcher === undefined
          ? undefined
          : (runId, reason, options) => this.#dispatch(runId, reason, options),
    };
  }

  /** What executions need from this runtime: one object per store, shared by every run. */
  #hostFor(store: Store): ExecutionHost {
    if (this.#host?.store !== store) {
      this.#host = {
        store,
        clock: this.clock,
        events: this.events,
        inlineWaitMs: this.inlineWaitMs,
        owner: this.#owner,
        leaseMs: this.#leaseMs,
        tenant: this.#tenant,
        changes: new RunChangeLog(store, () => this.#active.size > 0 && !this.#closed),
      };
      if (this.#audit !== undefined) this.#host = { ...this.#host, audit: this.#audit(store) };
      if (this.#dispatcher !== undefined) this.#host = { ...this.#host, spawnChild: this.#spawnChild };
      if (this.#observer !== undefined) this.#host = { ...this.#host, observer: this.#observer };
    }
    return this.#host;
  }

  /** A hex run id that sorts roughly by creation time: time, process prefix, counter. */
  #newRunId(now: number): string {
    // The time in hex once per millisecond: a number beyond 32 bits takes V8's double-to-radix
    // path (about 2k instructions, a third of them fmod), the counter below it does not.
    if (now !== this.#idTime) {
      this.#idTime = now;
      this.#idTimeHex = now.toString(16);
    }
    // Joined, not a template: one flat string (48 bytes) instead of a tree of joined pieces
    // (about 150), kept by the run's record, execution and handle while the run is in flight.
    return ['run_', this.#idTimeHex, this.#idPrefix, (this.#idCounter++).toString(16)].join('');
  }

  register(...definitions: Runnable[]): void {
    this.#registry.register(definitions);
  }

  start<INPUT, OUTPUT>(
    target: Runnable<INPUT, OUTPUT>,
    input: INPUT,
    options?: StartOptions,
  ): Promise<RunHandle<OUTPUT>>;
  start(target: string, input: unknown, options?: StartOptions): Promise<RunHandle<unknown>>;
  start(target: Runnable | string, input: unknown, options?: StartOptions): Promise<RunHandle<unknown>> {
    // Synchronous checks, then a small async tail: the state an async function keeps across
    // its awaits is allocated on every call, and this runs once per run.
    try {
      this.#assertOpen();
      const definition = this.#registry.resolve(target);
      if (options !== undefined) {
        // The message (and its string) is built only for an unknown key: this runs once per run.
        for (const key in options) {
          if (!startOptionNames.known.has(key))
            checkOptionNames(`runtime.start("${definition.name}")`, options, startOptionNames);
        }
      }
      const runId = options?.runId;
      if (runId !== undefined) checkRunId(definition.name, runId);
      const record = this.#newRecord(definition, this.#checkInput(definition, input), options);
      return this.#create(definition, record, options?.budget, undefined, runId === undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #checkInput(definition: Runnable, input: unknown): unknown {
    if (definition.inputSchema === undefined) return input;
    const parsed = definition.inputSchema.safeParse(input);
    if (parsed.success) return parsed.data;
    throw new ConfigError(
      `Invalid input for "${definition.name}": ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
      { code: 'INVALID_INPUT' },
    );
  }

  #newRecord(definition: Runnable, input: unknown, options: StartOptions | undefined): RunRecord {
    const now = this.clock.now();
    const record: RunRecord = {
      id: options?.runId ?? this.#newRunId(now),
      target: definition.name,
      targetVersion: definition.version,
      input,
      status: 'running',
      usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
      costUsd: 0,
      createdAt: now,
      updatedAt: now,
      leaseOwner: this.#dispatcher === undefined ? this.#owner : QUEUED_OWNER,
      leaseExpiresAt: now + (this.#dispatcher === undefined ? this.#leaseMs : this.#queuedLeaseMs),
      schemaVersion: runSchemaVersion,
    };
    if (options?.threadId !== undefined) record.threadId = options.threadId;
    if (options?.source !== undefined) record.source = options.source;
    const trace = this.#observer?.created(record);
    if (trace !== undefined) record.trace = trace;
    return record;
  }

  /**
   * Stores a new run (with its budget; for a fork, its origin and the journal it shares first)
   * and runs it here or hands it to the dispatcher. `generatedId`: the run's id was generated
   * here, so no stored run can have it.
   */
  #create(
    definition: Runnable,
    record: RunRecord,
    budget?: Budget,
    fork?: { origin: ForkOrigin; shared: JournalEntry[] },
    generatedId = false,
  ): Promise<RunHandle<unknown>> {
    const store = this.#store;
    if (store === undefined || budget !== undefined || fork !== undefined || this.#dispatcher !== undefined)
      return this.#createThrough(definition, record, budget, fork, generatedId);
    // A store that stores a run with its first step, and an id generated here: started while its
    // creation is queued, with no async frame held until the creation commits.
    if (store.createsWithFirstStep === true)
      return generatedId
        ? this.#createRunning(store, definition, record, undefined)
        : this.#createThrough(definition, record, budget, fork, generatedId);
    // The plain start (an open store that creates runs alone, here): no async frame, and a
    // run the store created at once (`storedNow`) is launched in this turn.
    let created: Promise<void>;
    try {
      created = store.createRun(record);
    } catch (error) {
      created = Promise.reject(error);
    }
    if (created === storedNow) return Promise.resolve(this.#launchCreated(store, definition, record));
    return created.then(
      () => this.#launchCreated(store, definition, record),
      (error: unknown) => {
        const failure = asStoreError(error);
        this.#observer?.handedOff(record, serializeError(failure));
        throw failure;
      },
    );
  }

  /** Launches a fresh run its store has just created (no fork, no budget, no dispatcher). */
  #launchCreated(store: Store, definition: Runnable, record: RunRecord): RunHandle<unknown> {
    this.#scheduler.launch(this.#hostFor(store), definition, record, [], true);
    return new Handle(this.#results, record.id);
  }

  /** `#create` for the other starts: a store still opening, a budget, a fork, a dispatcher, a first step stored with the creation. */
  async #createThrough(
    definition: Runnable,
    record: RunRecord,
    budget: Budget | undefined,
    fork: { origin: ForkOrigin; shared: JournalEntry[] } | undefined,
    generatedId: boolean,
  ): Promise<RunHandle<unknown>> {
    const store = this.#store ?? (await this.#getStore());
    // Started while its creation is queued (`#createRunning` reports its own failure).
    const running =
      generatedId &&
      fork === undefined &&
      this.#dispatcher === undefined &&
      store.createsWithFirstStep === true;
    try {
      if (budget !== undefined) await store.appendRecord(budgetStream(record.id), budget, record.createdAt);
      if (fork !== undefined) {
        await store.appendRecord(forkStream(record.id), fork.origin, record.createdAt);
        for (const entry of fork.shared) await store.appendJournal(entry);
      }
      if (!running) await store.createRun(record);
    } catch (error) {
      const failure = asStoreError(error);
      this.#observer?.handedOff(record, serializeError(failure));
      throw failure;
    }
    if (running) return this.#createRunning(store, definition, record, budget);
    if (this.#dispatcher !== undefined) {
      this.#observer?.handedOff(record);
      await this.#dispatch(record.id, 'start');
      return new Handle(this.#results, record.id);
    }
    this.#scheduler.launch(this.#hostFor(store), definition, record, fork?.shared ?? [], true, budget);
    return new Handle(this.#results, record.id);
  }

  /**
   * Starts a new run while its creation is queued, on a store that `createsWithFirstStep`, so
   * the run's first step is stored in the transaction that creates it (three transactions for
   * an agent's model, tool, model run on SQLite instead of four). Resolves, as `start` always
   * does, once the run is stored. The first step may have begun by then; should the creation
   * fail, the run stops without another write (the store refuses the writes queued behind it)
   * and this rejects, as a step in flight at a crash runs for a run no one will continue. Only
   * for an id generated here: a caller's id may be taken, and no step runs before that is known.
   */
  #createRunning(
    store: Store,
    definition: Runnable,
    record: RunRecord,
    budget: Budget | undefined,
  ): Promise<RunHandle<unknown>> {
    let created: Promise<void>;
    try {
      created = store.createRun(record);
    } catch (error) {
      created = Promise.reject(error);
    }
    const { execution } = this.#scheduler.launchCreating(this.#hostFor(store), definition, record, budget);
    // One `then`, no async frame: 10,000 runs started at once each held two (this one and the
    // caller's) until their creation committed.
    return created.then(
      () => {
        this.#results.dropEarlyEvents(record.id);
        return new Handle(this.#results, record.id);
      },
      (error: unknown) => {
        this.#results.dropEarlyEvents(record.id, true);
        execution.notCreated(asStoreError(error, record.id));
        const failure = asStoreError(error);
        this.#observer?.handedOff(record, serializeError(failure));
        throw failure;
      },
    );
  }

  resume(runId: string, options: { force?: boolean } = {}): Promise<RunHandle<unknown>> {
    return this.#resume(runId, options);
  }

  /**
   * `resume`, optionally with the run's record just read by the caller (`signal`), so it is not
   * read again (what `#resumeOnce` checks on it, target, version and status, the claim checks
   * again), and a write issued with the claim that must be stored before the run loads (the
   * signal that wakes it, its taking from the queue).
   */
  #resume(
    runId: string,
    options: { force?: boolean },
    stored?: RunRecord,
    writtenBefore?: Promise<unknown>,
  ): Promise<RunHandle<unknown>> {
    // One resume per run at a time: two wake-ups arriving together (a timer and a signal, two
    // queue jobs) would otherwise both pass the check for an active execution and both claim
    // the run (a process may re-claim its own lease), running its next steps twice.
    const pending = this.#resuming.get(runId);
    if (pending !== undefined) return pending;
    const resumed = this.#resumeOnce(runId, options, stored, writtenBefore).finally(() =>
      this.#resuming.delete(runId),
    );
    this.#resuming.set(runId, resumed);
    return resumed;
  }

  async #resumeOnce(
    runId: string,
    options: { force?: boolean },
    known: RunRecord | undefined,
    writtenBefore: Promise<unknown> | undefined,
  ): Promise<RunHandle<unknown>> {
    this.#assertOpen();
    if (this.#active.has(runId)) return new Handle(this.#results, runId);
    const store = await this.#getStore();
    let entries: JournalEntry[];
    let budget: Budget | undefined;
    let signals: SignalRecord[] | undefined;
    let definition: Runnable;
    let record: RunRecord | undefined;
    try {
      // Everything that can refuse the run is checked before it is claimed: a refused run is
      // left exactly as it was (a suspended run stays suspended and in the inbox).
      const stored = known ?? (await store.getRun(runId));
      if (stored === undefined) throw new RunNotFoundError(runId);
      if (terminalStatuses.has(stored.status)) return new Handle(this.#results, runId);
      definition = this.#registry.forStoredRun(stored);
      record = await this.#scheduler.claim(store, runId, options.force ?? false);
      if (record === undefined) return new Handle(this.#results, runId);
      if (writtenBefore !== undefined) {
        // Claimed alongside a write (the signal that wakes it, its taking from the queue): nothing
        // is read before that write is stored.
        await writtenBefore.catch(async (error: unknown) => {
          await this.#releaseLease(store, runId);
          throw error;
        });
      }
      // Read together (one round trip on a store that serves reads in parallel). A suspended
      // run's open wait reads its signals first thing, so they come along.
      [entries, budget, signals] = await Promise.all([
        store.loadJournal(runId),
        store
          .readRecords(budgetStream(runId), { limit: 1 })
          .then((records) => records[0]?.data as Budget | undefined),
        stored.status === 'suspended' ? store.listSignals(runId) : undefined,
      ]);
    } catch (error) {
      throw asStoreError(error, runId);
    }
    if (this.#closed) {
      // Closed while claiming: let the run go at once rather than hold it until the lease runs out.
      await this.#releaseLease(store, runId);
      this.#assertOpen();
    }
    this.#scheduler.launch(this.#hostFor(store), definition, record, entries, false, budget, signals);
    return new Handle(this.#results, runId);
  }

  /** Clears this process's lease on a run it holds but will not execute; a lost lease is nothing to clear. */
  async #releaseLease(store: Store, runId: string): Promise<void> {
    const now = this.clock.now();
    await store
      .updateRun(runId, { leaseOwner: null, leaseExpiresAt: null }, now, { owner: this.#owner, now })
      .catch(() => undefined);
  }

  /** A stored run with its journal and budget (for replay and fork); `RUN_NOT_FOUND` when there is none. */
  async #loadStored(
    runId: string,
  ): Promise<{ store: Store; record: RunRecord; entries: JournalEntry[]; budget: Budget | undefined }> {
    const store = await this.#getStore();
    try {
      const record = await store.getRun(runId);
      if (record === undefined) throw new RunNotFoundError(runId);
      const entries = await store.loadJournal(runId);
      const budget = (await store.readRecords(budgetStream(runId), { limit: 1 }))[0]?.data as
        | Budget
        | undefined;
      return { store, record, entries, budget };
    } catch (error) {
      throw asStoreError(error, runId);
    }
  }

  async replay(runId: string): Promise<ReplayReport> {
    this.#assertOpen();
    const { store, record: stored, entries, budget } = await this.#loadStored(runId);
    if (!terminalStatuses.has(stored.status)) {
      throw new ConfigError(
        `runtime.replay(): run ${runId} is ${stored.status}; only an ended run replays (resume this one instead).`,
        { code: 'RUN_NOT_ENDED' },
      );
    }
    const definition = this.#registry.resolve(stored.target);
    // Loaded on first use: replay is rare, and the root import pays per module (ADR 0011).
    const { replayRun } = await import('./run-replay.js');
    return replayRun(this.#hostFor(store), definition, stored, entries, budget);
  }

  async fork(runId: string, options: ForkOptions): Promise<RunHandle<unknown>> {
    this.#assertOpen();
    checkOptionNames(`runtime.fork("${runId}")`, options, forkOptionNames);
    if (typeof options.at !== 'string' || options.at === '')
      throw new ConfigError(
        `runtime.fork("${runId}"): at must be the key of a step of the run (see baton show).`,
        {
          code: 'INVALID_OPTION',
        },
      );
    const { record: origin, entries, budget } = await this.#loadStored(runId);
    const cut = entries.findIndex((entry) => entry.key === options.at);
    if (cut < 0) {
      const keys = entries.slice(0, 8).map((entry) => entry.key);
      throw new ConfigError(
        `runtime.fork("${runId}"): the run has no step at "${options.at}"; its steps are at ${keys.join(', ')}${entries.length > keys.length ? ', ...' : ''} (see baton show).`,
        { code: 'INVALID_OPTION' },
      );
    }
    const definition = this.#registry.resolve(origin.target);
    const input = 'input' in options ? this.#checkInput(definition, options.input) : origin.input;
    if (options.runId !== undefined) checkRunId(definition.name, options.runId);
    const startOptions: StartOptions = {};
    if (options.runId !== undefined) startOptions.runId = options.runId;
    if (origin.threadId !== undefined) startOptions.threadId = origin.threadId;
    if (origin.source !== undefined) startOptions.source = origin.source;
    const record = this.#newRecord(definition, input, startOptions);
    const shared = entries.slice(0, cut).map((entry) => ({ ...entry, runId: record.id }));
    return this.#create(definition, record, budget, {
      origin: { runId, at: options.at, step: cut + 1 },
      shared,
    });
  }

  async forkOrigin(runId: string): Promise<ForkOrigin | undefined> {
    const store = await this.#getStore();
    const [link] = await store.readRecords(forkStream(runId), { limit: 1 });
    return link?.data as ForkOrigin | undefined;
  }

  async execute(runId: string): Promise<ExecutionReport> {
    this.#assertOpen();
    let active = this.#active.get(runId);
    if (active === undefined) {
      const store = await this.#getStore();
      const stored = await store.getRun(runId).catch((error: unknown) => {
        throw asStoreError(error, runId);
      });
      if (stored === undefined) throw new RunNotFoundError(runId);
      if (terminalStatuses.has(stored.status)) return { runId, status: reportStatus(stored.status) };
      // A run this runtime cannot execute (an unknown target, another version) is refused before
      // it is taken from the queue, so a worker that can execute it takes it at once.
      this.#registry.forStoredRun(stored);
      // A queued run is taken from the queue and claimed together: a group-committing store
      // writes both in one transaction. It loads only once it is taken (see #resumeOnce).
      const taking = stored.leaseOwner === QUEUED_OWNER ? this.#takeFromQueue(store, runId) : undefined;
      const [taken, resumed] = await Promise.allSettled([taking, this.#resume(runId, {}, stored, taking)]);
      if (taken.status === 'rejected') throw taken.reason;
      if (resumed.status === 'rejected') throw resumed.reason;
      active = this.#active.get(runId);
      // Resume found it ended in between: report what is stored.
      if (active === undefined) return { runId, status: reportStatus((await this.get(runId)).status) };
    }
    active.go();
    const outcome = await active.done;
    await this.#scheduler.afterDispatch(runId);
    if (terminalStatuses.has(outcome.status as RunRecord['status'])) await this.#notifyParent(runId, outcome);
    const report: ExecutionReport = { runId, status: reportStatus(outcome.status) };
    if (outcome.wakeAt !== undefined) report.wakeAt = outcome.wakeAt;
    return report;
  }

  /**
   * Replaces the queue's lease on a stored run with this process's own, in one write fenced on
   * the queue still holding it: of two workers given the run, one wins; the other's write is
   * refused and its claim then finds the run leased. A queue lease that ran out is left for the
   * ordinary claim.
   */
  async #takeFromQueue(store: Store, runId: string): Promise<void> {
    const now = this.clock.now();
    try {
      await store.updateRun(runId, { leaseOwner: this.#owner, leaseExpiresAt: now + this.#leaseMs }, now, {
        owner: QUEUED_OWNER,
        now,
      });
    } catch (error) {
      if (BatonError.isInstance(error) && error.code === 'LEASE_LOST') return;
      throw asStoreError(error, runId);
    }
  }

  /** Starts a distributed child run: stored and dispatched; one already stored (a replay after a crash) is left as it is. */
  readonly #spawnChild: SpawnChild = async (target, input, childRunId) => {
    try {
      await this.start(target, input, { runId: childRunId });
    } catch (error) {
      if (BatonError.isInstance(error) && error.code === 'RUN_EXISTS') return;
      throw error;
    }
  };

  /**
   * A distributed child that ended tells its parent, which waits for this signal. A parent that
   * ended meanwhile (cancelled) takes none; a signal lost with this process is made up for by the
   * parent re-reading the child's record (`childRecheckMs`).
   */
  async #notifyParent(runId: string, outcome: ExecutionOutcome): Promise<void> {
    const parent = parentRunOf(runId);
    if (parent === undefined) return;
    const payload: ChildOutcome = { status: outcome.status as RunRecord['status'] };
    if (outcome.output !== undefined) payload.output = outcome.output;
    if (outcome.error !== undefined) payload.error = outcome.error;
    await this.signal(parent, childSignalName(runId), payload).catch((error: unknown) => {
      if (BatonError.isInstance(error) && (error.code === 'RUN_ENDED' || error.code === 'RUN_NOT_FOUND'))
        return;
      process.stderr.write(
        `baton: could not tell run ${parent} that its child ${runId} ended: ${String(error)}\n`,
      );
    });
  }

  /** Hands a run to the dispatcher; a failure is reported, and the recovery poll dispatches the run again later. */
  async #dispatch(runId: string, reason: DispatchReason, options?: DispatchOptions): Promise<void> {
    try {
      await this.#dispatcher?.dispatch(runId, reason, options);
    } catch (error) {
      process.stderr.write(
        `baton: could not dispatch run ${runId} (${reason}): ${String(error)}; the recovery poll dispatches it again.\n`,
      );
    }
  }

  async signal(runId: string, name: string, payload?: unknown): Promise<void> {
    this.#assertOpen();
    if (typeof name !== 'string' || name.length === 0)
      throw new ConfigError('signal(): the signal name must be a non-empty string.', { runId });
    assertNoForbiddenKeys(payload, `signal(): the payload of "${name}"`, { runId });
    const store = await this.#getStore();
    // The record and the payload check's read together (one round trip where reads run in
    // parallel); the record's verdict comes first.
    const [record, payloadChecked] = await Promise.all([
      store.getRun(runId),
      // A payload the open wait's recorded schema refuses is never stored: the run keeps waiting.
      checkSignalPayload(store, runId, name, payload ?? null).then(
        () => undefined,
        (error: unknown) => ({ error }),
      ),
    ]);
    if (record === undefined) throw new RunNotFoundError(runId);
    if (terminalStatuses.has(record.status)) {
      throw new ConfigError(
        `Run ${runId} is ${record.status}; only running or suspended runs take signals.`,
        { runId, code: 'RUN_ENDED' },
      );
    }
    if (payloadChecked !== undefined) throw payloadChecked.error;
    const adding = store.addSignal(runId, name, payload ?? null, this.clock.now());
    if (this.#dispatcher !== undefined) {
      const added = await adding;
      // Read as running: read again now the signal is stored (a run that suspended meanwhile may
      // have looked for signals before this one was there).
      const status = record.status === 'suspended' ? record.status : (await store.getRun(runId))?.status;
      if (status === 'suspended') await this.#dispatch(runId, 'signal', { key: `signal-${added.id}` });
      return;
    }
    const definition = this.#registry.get(record.target);
    // A run of another version is left suspended for a runtime that has its version (a rolling deploy).
    if (
      record.status === 'suspended' &&
      !this.#active.has(runId) &&
      definition !== undefined &&
      canResume(definition, record)
    ) {
      // The run is claimed while its signal is being stored: a group-committing store writes both
      // in one transaction. It loads and runs once the signal is stored (see #resumeOnce).
      const [added, resumed] = await Promise.allSettled([adding, this.#resume(runId, {}, record, adding)]);
      if (added.status === 'rejected') throw added.reason;
      if (
        resumed.status === 'rejected' &&
        !(BatonError.isInstance(resumed.reason) && resumed.reason.code === 'RUN_LEASED')
      )
        throw resumed.reason;
      return;
    }
    await adding;
    // The signal is stored, then the run read again (its suspension is stored, then it looks for
    // signals: one of the two sees the other). A run that suspended without seeing this one is
    // woken: by its execution's end if that is still active here, else resumed now.
    if (definition === undefined) return;
    const fresh = record.status === 'suspended' ? record : await store.getRun(runId);
    if (fresh?.status !== 'suspended') return;
    const active = this.#active.get(runId);
    if (active !== undefined) {
      active.execution.signalled = true;
      return;
    }
    if (!canResume(definition, fresh)) return;
    await this.#resume(runId, {}, fresh).catch((error: unknown) => {
      if (!(BatonError.isInstance(error) && error.code === 'RUN_LEASED')) throw error;
    });
  }

  async get(runId: string): Promise<RunRecord> {
    const record = await (await this.#getStore()).getRun(runId);
    if (record === undefined) throw new RunNotFoundError(runId);
    return record;
  }

  async list(filter?: RunFilter): Promise<RunRecord[]> {
    return (await this.#getStore()).listRuns(filter);
  }

  async journal(runId: string): Promise<JournalEntry[]> {
    await this.get(runId);
    return (await this.#getStore()).loadJournal(runId);
  }

  async cancel(runId: string): Promise<RunRecord> {
    const store = await this.#getStore();
    const record = await this.get(runId);
    if (terminalStatuses.has(record.status)) return record;
    const now = this.clock.now();
    this.#hostFor(store).changes?.log({ runId, target: record.target, status: 'cancelled', at: now });
    await store.updateRun(
      runId,
      {
        status: 'cancelled',
        error: {
          name: 'RunCancelledError',
          message: `Run ${runId} was cancelled.`,
          code: 'RUN_CANCELLED',
          fault: 'user',
        },
        endedAt: now,
        wakeAt: null,
      },
      now,
    );
    this.#scheduler.cancelWake(runId);
    const active = this.#active.get(runId);
    if (active !== undefined) {
      active.execution.cancel();
      await active.done;
    }
    return this.get(runId);
  }

  on(listener: EventListener): () => void {
    return this.events.on(listener);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ConfigError('This runtime is closed.');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#host?.changes?.close();
    await this.#scheduler.close();
    if (this.#ownsStore && this.#store !== undefined) await this.#store.close();
  }
}

/** The status an execution report gives: an execution never stops `running`; were it to, the run is left for the next dispatch. */
function reportStatus(status: RunRecord['status'] | 'released'): ExecutionReport['status'] {
  return status === 'running' ? 'released' : status;
}

/**
 * What a caller's run id may be: a run's streams (its budget, its audit log) are named after
 * it, so it takes the characters of a stream name, with room for their prefixes.
 */
const runIdPattern = /^[A-Za-z0-9][\w.:@/-]{0,179}$/;

function checkRunId(target: string, runId: unknown): void {
  if (typeof runId === 'string' && runIdPattern.test(runId)) return;
  throw new ConfigError(
    `runtime.start("${target}"): runId ${JSON.stringify(runId) ?? String(runId)} is not a run id; use 1 to 180 letters, digits, '_', '-', '.', ':', '@' or '/', starting with a letter or digit.`,
    { code: 'INVALID_OPTION' },
  );
}

/**
 * The kernel's `createRuntime` under its own name in the bundle (the package's `createRuntime`,
 * which supplies the default store, keeps its name there: `createRuntime.name`, stack traces).
 */
export { createKernelRuntime as createRuntime };

/** createRuntime: starts, resumes, signals, lists and cancels runs; leases, timers and crash recovery. */

import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { ModelProviders } from '../models/model-providers.js';
import type { PriceTable } from '../models/pricing.js';
import type { Resilience } from '../models/resilience/registry.js';
import type { Budget } from './budget-limits.js';
import { type Clock, systemClock } from './clock.js';
import {
  asStoreError,
  BatonError,
  ConfigError,
  deserializeError,
  RunLeasedError,
  RunNotFoundError,
  VersionMismatchError,
} from './errors.js';
import { type BatonEvent, EventBus, type EventListener } from './events.js';
import { assertNoForbiddenKeys } from './forbidden-keys.js';
import { checkOptionNames, optionNames } from './option-names.js';
import type { Tenant } from './run-context.js';
import {
  type AuditOpener,
  type ExecutionHost,
  type ExecutionOutcome,
  RunExecution,
} from './run-execution.js';
import type { Runnable } from './runnable.js';
import {
  type JournalEntry,
  loadableSchemaVersions,
  type RunFilter,
  type RunRecord,
  runSchemaVersion,
  type Store,
  terminalStatuses,
} from './store.js';
import { checkSignalPayload } from './wait-payload.js';

/** The record stream holding a run's budget (`runtime.start(..., { budget })`), read again on resume. */
function budgetStream(runId: string): string {
  return `budget/${runId}`;
}

/** Options of `createRuntime`. */
export interface RuntimeOptions {
  /** Where runs live. Default: SQLite at `.baton/baton.db` (from `batonjs/sqlite`). */
  store?: Store;
  /** Definitions this runtime can start, resume and recover by name. */
  workflows?: readonly Runnable[];
  clock?: Clock;
  /** How long a process owns a run without renewing. Default 30 s; renewed every third of it. */
  leaseMs?: number;
  /** Pick up runs left by dead processes and due timers or signals of other processes. Default true. */
  recover?: boolean;
  /** How often to look for runs to recover. Default 1000 ms. */
  pollIntervalMs?: number;
  /** Sleeps and wait timeouts up to this long are waited in memory rather than by suspending. Default 1000 ms. */
  inlineWaitMs?: number;
  /** Identifies this process in leases. Default: host, pid and a random suffix. */
  owner?: string;
  /**
   * Keep a hash-chained audit log per run: pass `createAuditWriter` (from `batonjs`), which
   * appends model decisions, tool calls, handoffs, approvals and denials to the stream
   * `audit:<runId>` after each journal append (docs/audit.md). Called once per store. Default: none.
   */
  audit?: (store: Store) => AuditOpener;
  /**
   * This runtime's model provider prefixes, made with `createModelProviders` (a tenant's own API
   * keys, say): seen by its runs only. Other model strings resolve as `resolveModel` does.
   * Default: none of its own (the built-in providers and `registerModelProvider`'s).
   */
  models?: ModelProviders;
  /**
   * This runtime's prices, made with `createPriceTable`: its runs are priced from this table (then
   * the catalogue) and never see `registerPrices` or another runtime's table. Default: the
   * process table that `registerPrices` fills.
   */
  prices?: PriceTable;
  /**
   * This runtime's resilience settings and state (breakers, bulkheads, latency windows), made with
   * `createResilience`: shared with no other runtime. Default: the process state that
   * `configureResilience` sets and `breakerState`/`latencyStats` read.
   */
  resilience?: Resilience;
}

/** Options of `runtime.start`. */
export interface StartOptions {
  /** Use this id instead of a generated one (idempotent start: an existing id is an error). */
  runId?: string;
  /** Groups runs of one conversation. */
  threadId?: string;
  /** Where the definition was loaded from, so `baton resume` can load it again. */
  source?: string;
  /**
   * Limits for the whole run (turns, tokens, cost, wall time), checked before every model call;
   * a run that would exceed them ends with status `budget-exceeded`. Stored, so a resumed run keeps it.
   */
  budget?: Budget;
}

const startOptionNames = optionNames<StartOptions>({
  runId: true,
  threadId: true,
  source: true,
  budget: true,
});

/**
 * A started (or resumed) run.
 *
 * @example
 * ```ts
 * const handle = await runtime.start(supportAgent, 'I was charged twice');
 * for await (const event of handle.events()) if (event.type === 'model-delta') process.stdout.write(event.text);
 * console.log(await handle.result());
 * ```
 */
export interface RunHandle<OUTPUT = unknown> {
  readonly runId: string;
  /** Resolves with the output once the run completes; rejects with its error if it fails or is cancelled. */
  result(): Promise<OUTPUT>;
  /** The run's live events until it ends or suspends. Call it right after `start` resolves. */
  events(): AsyncIterable<BatonEvent>;
  /** The stored run. */
  status(): Promise<RunRecord>;
}

/** The runtime: one per process (or per worker). */
export interface Runtime {
  readonly store: Store;
  /** Adds definitions it can run by name. */
  register(...definitions: Runnable[]): void;
  /** Starts a run of a definition (or a registered name). Resolves once the run is stored. */
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
  /** Stops timers, lets active runs stop at their next step (they stay resumable) and closes a store it created. */
  close(): Promise<void>;
}

interface ActiveRun {
  execution: RunExecution;
  done: Promise<ExecutionOutcome>;
  /** Starts a fresh run's execution; idempotent. */
  go: () => void;
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
export function createRuntime(
  options: RuntimeOptions = {},
  openDefaultStore?: () => Promise<Store>,
): Runtime {
  checkOptionNames('createRuntime()', options, runtimeOptionNames);
  return new BatonRuntime(options, openDefaultStore);
}

const runtimeOptionNames = optionNames<RuntimeOptions>({
  store: true,
  workflows: true,
  clock: true,
  leaseMs: true,
  recover: true,
  pollIntervalMs: true,
  inlineWaitMs: true,
  owner: true,
  audit: true,
  models: true,
  prices: true,
  resilience: true,
  contextWindows: true,
  tokenizers: true,
});

const defaults = {
  leaseMs: 30_000,
  recover: true,
  pollIntervalMs: 1000,
  inlineWaitMs: 1000,
} satisfies Partial<RuntimeOptions>;

class BatonRuntime implements Runtime {
  readonly clock: Clock;
  readonly events = new EventBus();
  readonly inlineWaitMs: number;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #pollIntervalMs: number;
  readonly #recover: boolean;
  readonly #audit: RuntimeOptions['audit'];
  /** What every run of this runtime carries in `ctx.services.tenant`. */
  readonly #tenant: Tenant;
  readonly #registry = new Map<string, Runnable>();
  readonly #active = new Map<string, ActiveRun>();
  readonly #ended = new Map<string, Set<() => void>>();
  readonly #timers = new Map<string, () => void>();
  /** Runs released after a store failure whose lease could not be cleared then; the poller clears them. */
  readonly #leasesToClear = new Set<string>();
  /** Runs the poller found due but left for a runtime with their version; each is reported once. */
  readonly #otherVersions = new Set<string>();
  #startScheduled = false;
  #host: ExecutionHost | undefined;
  #store: Store | undefined;
  #storePromise: Promise<Store> | undefined;
  readonly #ownsStore: boolean;
  readonly #openDefaultStore: (() => Promise<Store>) | undefined;
  #cancelHeartbeat: (() => void) | undefined;
  #cancelPoll: (() => void) | undefined;
  #closed = false;

  constructor(options: RuntimeOptions, openDefaultStore: (() => Promise<Store>) | undefined) {
    this.#openDefaultStore = openDefaultStore;
    const settings = { ...defaults, ...options };
    this.clock = settings.clock ?? systemClock;
    this.inlineWaitMs = settings.inlineWaitMs;
    this.#leaseMs = positive('leaseMs', settings.leaseMs);
    this.#pollIntervalMs = settings.pollIntervalMs;
    this.#recover = settings.recover;
    this.#owner = settings.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#audit = options.audit;
    const { models, prices, resilience, contextWindows, tokenizers } = options;
    this.#tenant = { models, prices, resilience, contextWindows, tokenizers };
    this.#store = options.store;
    this.#ownsStore = options.store === undefined;
    for (const definition of options.workflows ?? []) this.register(definition);
    if (this.#recover && this.#pollIntervalMs > 0) this.#schedulePoll(0);
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
  readonly #idPrefix = randomBytes(6).toString('hex');
  #idCounter = 0;

  /** A hex run id that sorts roughly by creation time: time, process prefix, counter. */
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
      };
      if (this.#audit !== undefined) this.#host = { ...this.#host, audit: this.#audit(store) };
    }
    return this.#host;
  }

  #newRunId(now: number): string {
    return `run_${now.toString(16)}${this.#idPrefix}${(this.#idCounter++).toString(16)}`;
  }

  register(...definitions: Runnable[]): void {
    for (const definition of definitions) {
      if (definition === null || typeof definition !== 'object' || typeof definition.execute !== 'function') {
        throw new ConfigError(
          `register(): expected a workflow, agent or pattern, got ${describe(definition)}.`,
        );
      }
      const existing = this.#registry.get(definition.name);
      if (existing !== undefined && existing !== definition) {
        throw new ConfigError(
          `Two different definitions are named "${definition.name}". Names identify what a stored run resumes with; rename one.`,
        );
      }
      this.#registry.set(definition.name, definition);
    }
  }

  #resolve(target: Runnable | string): Runnable {
    if (typeof target !== 'string') {
      if (this.#registry.get(target.name) !== target) this.register(target);
      return target;
    }
    const found = this.#registry.get(target);
    if (found === undefined) {
      const known = [...this.#registry.keys()];
      throw new ConfigError(
        `No workflow, agent or pattern named "${target}" is registered.${known.length > 0 ? ` Known: ${known.join(', ')}.` : ' Pass it in createRuntime({ workflows }).'}`,
      );
    }
    return found;
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
      const definition = this.#resolve(target);
      if (options !== undefined) {
        // The message (and its string) is built only for an unknown key: this runs once per run.
        for (const key in options) {
          if (!startOptionNames.known.has(key))
            checkOptionNames(`runtime.start("${definition.name}")`, options, startOptionNames);
        }
      }
      const record = this.#newRecord(definition, this.#checkInput(definition, input), options);
      return this.#create(definition, record, options?.budget);
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
      leaseOwner: this.#owner,
      leaseExpiresAt: now + this.#leaseMs,
      schemaVersion: runSchemaVersion,
    };
    if (options?.threadId !== undefined) record.threadId = options.threadId;
    if (options?.source !== undefined) record.source = options.source;
    return record;
  }

  async #create(definition: Runnable, record: RunRecord, budget?: Budget): Promise<RunHandle<unknown>> {
    const store = this.#store ?? (await this.#getStore());
    try {
      if (budget !== undefined) await store.appendRecord(budgetStream(record.id), budget, record.createdAt);
      await store.createRun(record);
    } catch (error) {
      throw asStoreError(error);
    }
    this.#launch(definition, record, [], store, true, budget);
    return new Handle(this, record.id);
  }

  async resume(runId: string, options: { force?: boolean } = {}): Promise<RunHandle<unknown>> {
    this.#assertOpen();
    if (this.#active.has(runId)) return this.#handle(runId);
    const store = await this.#getStore();
    let entries: JournalEntry[];
    let budget: Budget | undefined;
    let definition: Runnable;
    let record: RunRecord | undefined;
    try {
      // Everything that can refuse the run is checked before it is claimed: a refused run is
      // left exactly as it was (a suspended run stays suspended and in the inbox).
      const stored = await store.getRun(runId);
      if (stored === undefined) throw new RunNotFoundError(runId);
      if (terminalStatuses.has(stored.status)) return this.#handle(runId);
      definition = this.#definitionFor(stored);
      record = await this.#claim(store, runId, options.force ?? false);
      if (record === undefined) return this.#handle(runId);
      entries = await store.loadJournal(runId);
      budget = (await store.readRecords(budgetStream(runId), { limit: 1 }))[0]?.data as Budget | undefined;
    } catch (error) {
      throw asStoreError(error, runId);
    }
    this.#launch(definition, record, entries, store, false, budget);
    return this.#handle(runId);
  }

  /** The definition that resumes a stored run; throws, changing nothing, when this runtime cannot resume it. */
  #definitionFor(record: RunRecord): Runnable {
    const definition = this.#resolve(record.target);
    if (!loadableSchemaVersions.includes(record.schemaVersion)) {
      throw new ConfigError(
        `Run ${record.id} was stored with schema version ${record.schemaVersion}; this Baton loads ${loadableSchemaVersions.join(', ')}.`,
        { runId: record.id },
      );
    }
    if (!this.#canResume(definition, record)) {
      throw new VersionMismatchError(record.target, record.targetVersion, definition.version, record.id);
    }
    return definition;
  }

  /** The definition's version (or one it lists as compatible) is the one the run started with. */
  #canResume(definition: Runnable, record: RunRecord): boolean {
    return (
      record.targetVersion === definition.version ||
      definition.compatibleVersions?.includes(record.targetVersion) === true
    );
  }

  /** Claims a run for this process; `undefined` when it is terminal. Throws when another process holds it. */
  async #claim(store: Store, runId: string, force: boolean): Promise<RunRecord | undefined> {
    const claimed = await store.claimRun(runId, this.#owner, this.clock.now(), this.#leaseMs, force);
    if (claimed !== undefined) return claimed;
    const current = await store.getRun(runId);
    if (current === undefined) throw new RunNotFoundError(runId);
    if (terminalStatuses.has(current.status)) return undefined;
    throw new RunLeasedError(runId, current.leaseOwner ?? 'another process', current.leaseExpiresAt ?? 0);
  }

  #launch(
    definition: Runnable,
    record: RunRecord,
    entries: JournalEntry[],
    store: Store,
    fresh: boolean,
    budget?: Budget,
  ): void {
    const execution = new RunExecution(this.#hostFor(store), record, entries, budget);
    let go!: () => void;
    const started = new Promise<void>((resolve) => {
      go = resolve;
    });
    const done = this.#execute(execution, definition, record, started);
    this.#active.set(record.id, { execution, done, go });
    this.#ensureHeartbeat();
    if (!fresh) {
      go();
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

  async #execute(
    execution: RunExecution,
    definition: Runnable,
    record: RunRecord,
    started: Promise<void>,
  ): Promise<ExecutionOutcome> {
    await started;
    let outcome: ExecutionOutcome;
    try {
      outcome = await execution.execute(definition, record.input);
    } catch (error) {
      return this.#afterExecution(
        record.id,
        { status: 'released', error: { name: 'Error', message: String(error) } },
        error,
      );
    }
    return this.#afterExecution(record.id, outcome);
  }

  #afterExecution(runId: string, outcome: ExecutionOutcome, storeError?: unknown): ExecutionOutcome {
    this.#active.delete(runId);
    if (storeError !== undefined) {
      process.stderr.write(`baton: run ${runId} stopped because its store failed: ${String(storeError)}\n`);
    }
    if (outcome.leaseHeld === true) this.#leasesToClear.add(runId);
    if (outcome.status === 'suspended' && !this.#closed) {
      if (outcome.wakeNow === true) this.#wake(runId, 0);
      else if (outcome.wakeAt !== undefined) this.#wake(runId, outcome.wakeAt - this.clock.now());
    }
    const waiters = this.#ended.get(runId);
    if (waiters !== undefined) {
      this.#ended.delete(runId);
      for (const notify of waiters) notify();
    }
    return outcome;
  }

  #wake(runId: string, inMs: number): void {
    this.#timers.get(runId)?.();
    const cancel = this.clock.setTimer(
      () => {
        this.#timers.delete(runId);
        if (this.#closed || this.#active.has(runId)) return;
        this.resume(runId).catch((error: unknown) => {
          if (!(BatonError.isInstance(error) && error.code === 'RUN_LEASED')) {
            process.stderr.write(`baton: could not resume run ${runId}: ${String(error)}\n`);
          }
        });
      },
      Math.max(0, inMs),
    );
    this.#timers.set(runId, cancel);
  }

  #handle(runId: string): RunHandle<unknown> {
    return new Handle(this, runId);
  }

  /** The result of a run (see `RunHandle.result`). */
  resultOf(runId: string): Promise<unknown> {
    const active = this.#active.get(runId);
    if (active === undefined) return this.#awaitStored(runId);
    active.go();
    return active.done.then((outcome) => this.#outcomeValue(runId, outcome));
  }

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
      const record = await this.get(runId);
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
      const cancel = this.clock.setTimer(
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
    const queue: BatonEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = !this.#active.has(runId);
    const off = this.events.on((event) => {
      if (event.runId !== runId) return;
      queue.push(event);
      if (event.type === 'run-end' || event.type === 'run-suspended') finished = true;
      wake?.();
    });
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

  async signal(runId: string, name: string, payload?: unknown): Promise<void> {
    this.#assertOpen();
    if (typeof name !== 'string' || name.length === 0)
      throw new ConfigError('signal(): the signal name must be a non-empty string.', { runId });
    assertNoForbiddenKeys(payload, `signal(): the payload of "${name}"`, { runId });
    const store = await this.#getStore();
    const record = await store.getRun(runId);
    if (record === undefined) throw new RunNotFoundError(runId);
    if (terminalStatuses.has(record.status)) {
      throw new ConfigError(
        `Run ${runId} is ${record.status}; only running or suspended runs take signals.`,
        { runId, code: 'RUN_ENDED' },
      );
    }
    // A payload the open wait's recorded schema refuses is never stored: the run keeps waiting.
    await checkSignalPayload(store, runId, name, payload ?? null);
    await store.addSignal(runId, name, payload ?? null, this.clock.now());
    const definition = this.#registry.get(record.target);
    // A run of another version is left suspended for a runtime that has its version (a rolling deploy).
    if (
      record.status === 'suspended' &&
      !this.#active.has(runId) &&
      definition !== undefined &&
      this.#canResume(definition, record)
    ) {
      await this.resume(runId).catch((error: unknown) => {
        if (!(BatonError.isInstance(error) && error.code === 'RUN_LEASED')) throw error;
      });
    }
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
    this.#timers.get(runId)?.();
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

  #ensureHeartbeat(): void {
    if (this.#cancelHeartbeat !== undefined) return;
    const beat = () => {
      // Idle: stop beating; the next launch starts it again. (Stopping it per finished run
      // would set and clear a timer for every run.)
      if (this.#active.size === 0 || this.#closed) {
        this.#cancelHeartbeat = undefined;
        return;
      }
      this.#cancelHeartbeat = this.clock.setTimer(beat, this.#leaseMs / 3);
      const store = this.#store;
      if (store === undefined) return;
      store.renewLeases(this.#owner, this.clock.now() + this.#leaseMs).then(
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
    this.#cancelHeartbeat = this.clock.setTimer(beat, this.#leaseMs / 3);
  }

  #stopHeartbeat(): void {
    this.#cancelHeartbeat?.();
    this.#cancelHeartbeat = undefined;
  }

  #schedulePoll(inMs: number): void {
    this.#cancelPoll = this.clock.setTimer(() => {
      this.#poll().finally(() => {
        if (!this.#closed) this.#schedulePoll(this.#pollIntervalMs);
      });
    }, inMs);
  }

  async #poll(): Promise<void> {
    try {
      const store = await this.#getStore();
      await this.#clearLeases(store);
      const due = await store.findRecoverable(this.clock.now(), 50);
      for (const record of due) {
        if (this.#closed) return;
        const definition = this.#registry.get(record.target);
        if (this.#active.has(record.id) || definition === undefined) continue;
        if (!this.#canResume(definition, record)) {
          this.#reportOtherVersion(record, definition);
          continue;
        }
        await this.resume(record.id).catch((error: unknown) => {
          if (BatonError.isInstance(error) && error.code === 'RUN_LEASED') return;
          process.stderr.write(`baton: could not recover run ${record.id}: ${String(error)}\n`);
        });
      }
    } catch (error) {
      if (!this.#closed) process.stderr.write(`baton: recovery poll failed: ${String(error)}\n`);
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
      const now = this.clock.now();
      await store
        .updateRun(runId, { leaseOwner: null, leaseExpiresAt: null }, now, { owner: this.#owner, now })
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

  #assertOpen(): void {
    if (this.#closed) throw new ConfigError('This runtime is closed.');
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#cancelPoll?.();
    for (const cancel of this.#timers.values()) cancel();
    this.#timers.clear();
    const running = [...this.#active.values()];
    for (const { execution } of running) execution.shutdown();
    await Promise.allSettled(running.map(({ done }) => done));
    this.#stopHeartbeat();
    if (this.#ownsStore && this.#store !== undefined) await this.#store.close();
  }
}

/** A run handle; methods on a class rather than closures per run. */
class Handle implements RunHandle<unknown> {
  readonly #runtime: BatonRuntime;
  readonly runId: string;
  constructor(runtime: BatonRuntime, runId: string) {
    this.#runtime = runtime;
    this.runId = runId;
  }
  result(): Promise<unknown> {
    return this.#runtime.resultOf(this.runId);
  }
  events(): AsyncIterable<BatonEvent> {
    return this.#runtime.eventsOf(this.runId);
  }
  status(): Promise<RunRecord> {
    return this.#runtime.get(this.runId);
  }
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0)
    throw new ConfigError(
      `createRuntime(): ${name} must be a positive number of milliseconds, got ${value}.`,
    );
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'object') return 'an object without execute()';
  return typeof value;
}

/**
 * Runs one call under its policies: breaker → bulkheads → timeout, and cockatiel's retry policy
 * (backoff + jitter, retry-after) once an attempt fails with a transient error.
 *
 * The common case (one successful attempt, no caps, closed breaker) is kept cheap: the plan
 * (breaker, bulkheads, backoff, errors) is made once per model or tool and configuration, the
 * first attempt runs outside the retry policy, and the timeout is a deadline watched by the
 * runtime's one timer for all calls in flight (attempt-deadlines.ts), with an AbortController made
 * only when the callee reads the signal (see docs/resilience.md).
 */

import type {
  BrokenCircuitError,
  BulkheadPolicy,
  CircuitBreakerPolicy,
  IBackoff,
  IBackoffFactory,
  IBreaker,
  IRetryBackoffContext,
} from 'cockatiel';
import type { ErrorClass } from '../../core/errors.js';
import type { Expiring } from './attempt-deadlines.js';
import { retryAfterMs } from './classify.js';
import { cockatiel, isBrokenCircuit } from './cockatiel.js';
import type { BreakerState, BreakerWatcher, Resilience, RetryOptions } from './registry.js';
import { stateName } from './registry.js';

/** Defaults of a retry policy. */
export const retryDefaults = {
  maxAttempts: 3,
  initialDelayMs: 250,
  maxDelayMs: 10_000,
  maxRetryAfterMs: 60_000,
} as const;

/** Anything with an abort signal made on first read: a step context, a run context, an attempt. */
export interface SignalSource {
  readonly signal: AbortSignal;
}

const sourceKey = Symbol('baton.signalSource');
type WithSource = { [sourceKey]?: SignalSource };
const lazySignal: PropertyDescriptor = {
  get(this: WithSource) {
    return this[sourceKey]?.signal;
  },
  enumerable: true,
  configurable: true,
};

/**
 * Defines `target[key]` as an own, enumerable property that reads `source.signal` only when
 * read, so an AbortController is made only for callees that use it. Own and enumerable, so a
 * spread copy (`{ ...options }`, as AI SDK middlewares do) still carries the signal. Cheaper
 * than a getter in an object literal, which V8 builds in the runtime (~0.4 µs vs ~0.15 µs).
 */
export function defineLazySignal<T extends object>(target: T, key: string, source: SignalSource): T {
  (target as WithSource)[sourceKey] = source;
  Object.defineProperty(target, key, lazySignal);
  return target;
}

/** Points a property made by `defineLazySignal` at another source (the next attempt's). */
export function setSignalSource(target: object, source: SignalSource): void {
  (target as WithSource)[sourceKey] = source;
}

/** The call a policy protects: gets the attempt's signal source; may answer at once (a synchronous tool). */
export type Attempted<T> = (signal: SignalSource) => T | Promise<T>;

/**
 * The call a policy protects, in parts: `start` makes it (with the attempt's signal source),
 * `value` makes the call's value of what it resolved with, `error` the error it fails with of
 * what it rejected with (or of what `start` or `value` threw). An attempt applies them in its own
 * handlers, so the callee needs no promise layer of its own while the call takes its time (a
 * model's `doGenerate`, whose result becomes a response).
 */
export interface AttemptCall<T> {
  start(source: SignalSource): unknown;
  value(result: unknown): T;
  error(cause: unknown): unknown;
}

/** A call as a policy takes it: a function, or a call in parts. */
export type Attempt<T> = Attempted<T> | AttemptCall<T>;

/** Makes `call` once with `source`: its value, or a promise of it (a call in parts gets its layer here, on the slow paths). */
function callOnce<T>(call: Attempt<T>, source: SignalSource): T | Promise<T> {
  if (typeof call === 'function') return call(source);
  let started: unknown;
  try {
    started = call.start(source);
  } catch (error) {
    return Promise.reject(call.error(error));
  }
  return Promise.resolve(started).then(
    (result) => {
      try {
        return call.value(result);
      } catch (error) {
        throw call.error(error);
      }
    },
    (error: unknown) => {
      throw call.error(error);
    },
  );
}

/** The fixed part of a call's protection, made once per model or tool and configuration. */
export interface ResilientPlan {
  /** The runtime's (or the process) resilience state the plan was built from: latencies are recorded there. */
  resilience: Resilience;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Delays between attempts (cockatiel backoffs are immutable, so one serves every call). */
  backoff: IBackoffFactory<IRetryBackoffContext<unknown>>;
  breaker: CircuitBreakerPolicy | undefined;
  /** The configured bulkheads only, outermost first. */
  bulkheads: readonly BulkheadPolicy[];
  /** Where successful call durations are recorded (`model:<name>`, `tool:<name>`). */
  latencyKey: string;
  classify(error: unknown): ErrorClass;
  /** The error thrown when an attempt times out. */
  timeoutError(ms: number): Error;
  /** The error thrown when the breaker is open. */
  openError(cause: BrokenCircuitError): Error;
}

/** Listeners of one call's retries and breaker changes (only when someone observes the run). */
export interface ResilientObserver {
  onRetry(attempt: number, delayMs: number, error: unknown): void;
  onBreakerState(state: BreakerState): void;
}

/**
 * What a call that succeeded after more than one attempt returns instead of its value (the
 * caller records the attempts); a call that succeeds at once returns its value as it is.
 */
export type AfterRetries<T> = (value: T, attempts: number) => T;

/** The backoff of a retry policy: cockatiel's exponential backoff with jitter, unless a `retry-after` hint wins. */
export function retryBackoff(retry: RetryOptions): IBackoffFactory<IRetryBackoffContext<unknown>> {
  return new HintedBackoff(
    new (cockatiel().ExponentialBackoff)({
      initialDelay: retry.initialDelayMs ?? retryDefaults.initialDelayMs,
      maxDelay: retry.maxDelayMs ?? retryDefaults.maxDelayMs,
    }),
    retry.maxRetryAfterMs ?? retryDefaults.maxRetryAfterMs,
  );
}

/**
 * Runs `fn` with the plan's policies and resolves with its value (passed through `afterRetries`
 * when more than one attempt was made); a failure is thrown with `attempts` and `errorClass`
 * properties set. `fn` gets a source whose signal aborts on timeout or when `parent`'s does.
 */
export function runResilient<T>(
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
  observer: ResilientObserver | undefined,
  afterRetries: AfterRetries<T>,
): Promise<T> {
  // The usual call (a timeout, no bulkhead, a closed breaker, nobody observing): one attempt
  // object does the timeout, the breaker's count and the latency, and hands a failure to the
  // breaker and the retries; nothing else waits on the call (each layer held a promise and
  // closures for as long as the call took, per call in flight).
  // An observed call takes the same path: its breaker's changes reach it through the runtime's
  // one listener per breaker (`Resilience.watchBreaker`), not a listener and a policy frame per call.
  if (timeoutMs !== undefined && plan.bulkheads.length === 0) {
    const breaker = plan.breaker;
    if (breaker === undefined)
      return new TimedAttempt<T>(plan, timeoutMs, parent, undefined, undefined, afterRetries, observer).run(
        fn,
      );
    if (breaker.state === cockatiel().CircuitState.Closed) {
      const counter = plan.resilience.breakerCounter(breaker);
      if (counter !== undefined)
        return new TimedAttempt<T>(plan, timeoutMs, parent, breaker, counter, afterRetries, observer).run(fn);
    }
  }
  // The first attempt outside any async frame: most calls succeed at once.
  return attempt(plan, timeoutMs, parent, fn, observer).then(undefined, (first: unknown) =>
    afterFirstFailure(plan, timeoutMs, parent, fn, observer, first, afterRetries),
  );
}

/** The first attempt failed: retries it if the plan allows, and tags the final failure. */
async function afterFirstFailure<T>(
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
  observer: ResilientObserver | undefined,
  first: unknown,
  afterRetries: AfterRetries<T>,
): Promise<T> {
  let attempts = 1;
  try {
    if (plan.maxAttempts <= 1 || !retryable(plan, parent, first)) throw first;
    // Only now the retry policy: its first execution replays the failure just seen, so
    // cockatiel decides and paces the remaining attempts exactly as if it had run them all.
    const { retry, handleWhen } = cockatiel();
    const policy = retry(
      handleWhen((error) => retryable(plan, parent, error)),
      { maxAttempts: plan.maxAttempts - 1, backoff: plan.backoff },
    );
    const listener =
      observer === undefined
        ? undefined
        : policy.onRetry((event) =>
            observer.onRetry(attempts, event.delay, 'error' in event ? event.error : undefined),
          );
    let replay = true;
    try {
      const value = await policy.execute(() => {
        if (replay) {
          replay = false;
          throw first;
        }
        attempts += 1;
        return attempt(plan, timeoutMs, parent, fn, observer);
      }, parent.signal);
      return attempts > 1 ? afterRetries(value, attempts) : value;
    } finally {
      listener?.dispose();
    }
  } catch (error) {
    if (typeof error === 'object' && error !== null) {
      const tagged = error as { attempts?: number; errorClass?: ErrorClass };
      tagged.attempts = attempts;
      if (!parent.signal.aborted) tagged.errorClass = plan.classify(error);
    }
    throw error;
  }
}

function retryable(plan: ResilientPlan, parent: SignalSource, error: unknown): boolean {
  return !parent.signal.aborted && !isCircuitOpen(error) && plan.classify(error) === 'transient';
}

/** One attempt: breaker → bulkheads → timeout → `fn`. */
function attempt<T>(
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
  observer: ResilientObserver | undefined,
): Promise<T> {
  const breaker = plan.breaker;
  if (breaker === undefined) return guarded(plan, timeoutMs, parent, fn, 0);
  return throughBreaker(breaker, plan, timeoutMs, parent, fn, observer);
}

function throughBreaker<T>(
  breaker: CircuitBreakerPolicy,
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
  observer: ResilientObserver | undefined,
): Promise<T> {
  const closed = cockatiel().CircuitState.Closed;
  if (observer === undefined && breaker.state === closed) {
    const counter = plan.resilience.breakerCounter(breaker);
    if (counter !== undefined) return throughClosedBreaker(breaker, counter, plan, timeoutMs, parent, fn);
  }
  return throughBreakerPolicy(breaker, plan, timeoutMs, parent, fn, observer);
}

/**
 * A call through a closed breaker, without cockatiel's `execute` (two async frames and a result
 * object per call): a success is reported to the breaker's counter as cockatiel reports it; a
 * failure goes through the breaker's own `execute`, so cockatiel decides whether it counts and
 * opens the breaker exactly as for a call it ran itself (unless the breaker left the closed state
 * meanwhile: the failure is then the call's own, as cockatiel reports a call it no longer counts).
 */
function throughClosedBreaker<T>(
  breaker: CircuitBreakerPolicy,
  counter: IBreaker,
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
): Promise<T> {
  const closed = cockatiel().CircuitState.Closed;
  return guarded(plan, timeoutMs, parent, fn, 0).then(
    (value) => {
      counter.success(closed);
      return value;
    },
    (error: unknown) => closedBreakerFailure(breaker, plan, error),
  );
}

/** A call through a closed breaker failed: cockatiel's `execute` decides whether it counts (and opens the breaker). */
function closedBreakerFailure(
  breaker: CircuitBreakerPolicy,
  plan: ResilientPlan,
  error: unknown,
): Promise<never> {
  if (breaker.state !== cockatiel().CircuitState.Closed) return Promise.reject(error);
  return breaker
    .execute(() => Promise.reject(error))
    .catch((failure: unknown) => {
      if (isBrokenCircuit(failure)) throw plan.openError(failure);
      throw failure;
    });
}

async function throughBreakerPolicy<T>(
  breaker: CircuitBreakerPolicy,
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
  observer: ResilientObserver | undefined,
): Promise<T> {
  const listener =
    observer === undefined
      ? undefined
      : breaker.onStateChange((state) => observer.onBreakerState(stateName(state)));
  try {
    // A closed breaker never looks at the signal; a half-open one does (calls waiting for the probe).
    const signal = breaker.state === cockatiel().CircuitState.Closed ? undefined : parent.signal;
    return await breaker.execute(() => guarded(plan, timeoutMs, parent, fn, 0), signal);
  } catch (error) {
    if (isBrokenCircuit(error)) throw plan.openError(error);
    throw error;
  } finally {
    listener?.dispose();
  }
}

/** Bulkheads from `index` on, then the timed call. A call waiting in a bulkhead queue is not timed out. */
function guarded<T>(
  plan: ResilientPlan,
  timeoutMs: number | undefined,
  parent: SignalSource,
  fn: Attempt<T>,
  index: number,
): Promise<T> {
  const bulkhead = plan.bulkheads[index];
  if (bulkhead !== undefined)
    return bulkhead.execute(
      () => guarded<T>(plan, timeoutMs, parent, fn, index + 1),
      // A bulkhead with a free slot runs the call at once and never looks at the signal; only a
      // call that must queue needs it (to leave the queue when the run is cancelled).
      bulkhead.executionSlots > 0 ? undefined : parent.signal,
    ) as Promise<T>;
  if (timeoutMs === undefined) return timed(plan, parent, fn);
  return new TimedAttempt<T>(plan, timeoutMs, parent).run(fn);
}

async function timed<T>(plan: ResilientPlan, source: SignalSource, fn: Attempt<T>): Promise<T> {
  const start = performance.now();
  const value = await callOnce(fn, source);
  plan.resilience.recordLatency(plan.latencyKey, performance.now() - start);
  return value;
}

/** The resolve function of the promise `takeResolve` last made (its executor runs at once): no executor closure per attempt. */
let taken: ((outcome: never) => void) | undefined;
function takeResolve(resolve: (outcome: never) => void): void {
  taken = resolve;
}

/**
 * One attempt with a timeout: rejects with the plan's timeout error when the timer fires, even
 * if the callee ignores its signal; rejects at once when the parent aborts, if the callee reads
 * its signal. The AbortController (and its parent listener) is made only when the callee reads
 * `signal` or the timer fires: most calls finish without either, and a controller costs ~2 µs,
 * aborting one ~7 µs (a DOMException). A callee that read its signal is not aborted when it
 * returns (nothing listens to it after that).
 */
class TimedAttempt<T> implements SignalSource, Expiring, BreakerWatcher {
  readonly #plan: ResilientPlan;
  readonly #ms: number;
  readonly #parent: SignalSource;
  #controller: AbortController | undefined;
  #parentSignal: AbortSignal | undefined;
  #onParentAbort: (() => void) | undefined;
  /** Watched by the runtime's deadlines (one timer for every attempt in flight) until it ends (its start is `deadline - ms`). */
  deadline = 0;
  watchedAt = -1;
  #settled = false;
  #expired: Error | undefined;
  #resolve: ((outcome: T | Promise<T>) => void) | undefined;

  /** A closed breaker the call goes through (`throughClosedBreaker` in one object), with its counter. */
  readonly #breaker: CircuitBreakerPolicy | undefined;
  readonly #counter: IBreaker | undefined;
  /** Set when a failure goes on to the retries (the attempt is the first); else the attempt rejects with it. */
  readonly #afterRetries: AfterRetries<T> | undefined;
  /** The call (its parts applied as it settles; called again by the retries). */
  #call: Attempt<T> | undefined;
  /** Who hears of this call's retries and of its breaker's changes while the call is in flight (an observed run). */
  readonly #observer: ResilientObserver | undefined;

  constructor(
    plan: ResilientPlan,
    ms: number,
    parent: SignalSource,
    breaker?: CircuitBreakerPolicy,
    counter?: IBreaker,
    afterRetries?: AfterRetries<T>,
    observer?: ResilientObserver,
  ) {
    this.#plan = plan;
    this.#ms = ms;
    this.#parent = parent;
    this.#breaker = breaker;
    this.#counter = counter;
    this.#afterRetries = afterRetries;
    this.#observer = observer;
  }

  /** The breaker changed state while this call went through it. */
  breakerChanged(state: BreakerState): void {
    this.#observer?.onBreakerState(state);
  }

  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = new AbortController();
      this.#controller = controller;
      if (this.#expired !== undefined) {
        // First read after the timer fired: already aborted.
        controller.abort(this.#expired);
      } else if (!this.#settled) {
        const parent = this.#parent.signal;
        if (parent.aborted) controller.abort(parent.reason);
        else {
          const onAbort = () => {
            controller?.abort(parent.reason);
            this.#fail(new (cockatiel().TaskCancelledError)('The call was cancelled: its run stopped.'));
          };
          this.#parentSignal = parent;
          this.#onParentAbort = onAbort;
          parent.addEventListener('abort', onAbort, { once: true });
        }
      }
    }
    return controller.signal;
  }

  /**
   * Makes the call. The handlers on its promise hold only this attempt: what they need is here
   * (the call, the resolve function), not in closures over this call's variables.
   */
  run(call: Attempt<T>): Promise<T> {
    const settled = new Promise<T>(takeResolve);
    this.#resolve = taken as (outcome: T | Promise<T>) => void;
    taken = undefined;
    this.#call = call;
    const start = performance.now();
    this.deadline = start + this.#ms;
    this.#plan.resilience.deadlines.add(this, start);
    if (this.#observer !== undefined && this.#breaker !== undefined)
      this.#plan.resilience.watchBreaker(this.#breaker, this);
    let pending: Promise<unknown>;
    try {
      pending = Promise.resolve(typeof call === 'function' ? call(this) : call.start(this));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      (result) => this.#fulfilled(result),
      (error: unknown) => this.#rejected(error),
    );
    return settled;
  }

  /** The call resolved with `result` (a call in parts makes its value of it). */
  #fulfilled(result: unknown): void {
    const call = this.#call;
    let value: T;
    if (typeof call === 'object') {
      try {
        value = call.value(result);
      } catch (error) {
        this.#fail(call.error(error));
        return;
      }
    } else value = result as T;
    // A success after the timeout still counts for the derived timeout (as with cockatiel's).
    this.#plan.resilience.recordLatency(
      this.#plan.latencyKey,
      performance.now() - (this.deadline - this.#ms),
    );
    const resolve = this.#resolve;
    if (!this.#finish()) return;
    this.#counter?.success(cockatiel().CircuitState.Closed);
    this.#unwatch();
    resolve?.(value);
  }

  /** The call rejected with (or threw) `error` (a call in parts makes its error of it). */
  #rejected(error: unknown): void {
    const call = this.#call;
    this.#fail(typeof call === 'object' ? call.error(error) : error);
  }

  /** What the attempt settles with when it fails: the breaker sees the failure, then the retries. */
  #failed(error: unknown): Promise<T> {
    let failed: Promise<T> =
      this.#breaker === undefined
        ? Promise.reject(error)
        : closedBreakerFailure(this.#breaker, this.#plan, error);
    // Watched until the breaker has counted the failure (which may open it), as a call through cockatiel's policy is.
    if (this.#observer !== undefined && this.#breaker !== undefined)
      failed = failed.finally(() => this.#unwatch());
    const afterRetries = this.#afterRetries;
    const call = this.#call;
    if (afterRetries === undefined || call === undefined) return failed;
    const observer = this.#observer;
    return failed.then(undefined, (first: unknown) =>
      afterFirstFailure(this.#plan, this.#ms, this.#parent, call, observer, first, afterRetries),
    );
  }

  #unwatch(): void {
    if (this.#observer !== undefined && this.#breaker !== undefined)
      this.#plan.resilience.unwatchBreaker(this.#breaker, this);
  }

  /** The deadline passed (called by the deadlines, which no longer watch it). */
  expire(): void {
    const error = this.#plan.timeoutError(this.#ms);
    this.#expired = error;
    this.#controller?.abort(error);
    this.#fail(error);
  }

  #fail(error: unknown): void {
    const resolve = this.#resolve;
    if (this.#finish()) resolve?.(this.#failed(error));
  }

  /** Ends the attempt once: clears the timer and the parent listener; false when it had already ended. */
  #finish(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    if (this.watchedAt !== -1) this.#plan.resilience.deadlines.remove(this);
    if (this.#onParentAbort !== undefined) {
      this.#parentSignal?.removeEventListener('abort', this.#onParentAbort);
      this.#onParentAbort = undefined;
    }
    this.#resolve = undefined;
    return true;
  }
}

/** True for a call that failed fast because its breaker is open (not retried; a fallback model may take over). */
export function isCircuitOpen(error: unknown): boolean {
  return isBrokenCircuit(error) || (error as { code?: unknown } | null)?.code === 'CIRCUIT_OPEN';
}

/** Exponential backoff with jitter, except that a provider's `retry-after` (capped) wins when present. */
class HintedBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  readonly #inner: IBackoffFactory<unknown>;
  readonly #cap: number;
  constructor(inner: IBackoffFactory<unknown>, cap: number) {
    this.#inner = inner;
    this.#cap = cap;
  }

  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const base = this.#inner.next(context);
    const hint = 'error' in context.result ? retryAfterMs(context.result.error) : undefined;
    const cap = this.#cap;
    return {
      duration: hint === undefined ? base.duration : Math.min(hint, cap),
      next: (next) => new HintedBackoff(base, cap).next(next),
    };
  }
}

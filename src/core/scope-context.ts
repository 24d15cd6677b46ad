/** The contexts run code receives: `ScopeContext` (a `RunContext` per scope, which numbers its steps) and `Step` (what a step's function gets). */

import { runDistributed } from './distributed-child.js';
import type { BatonEvent } from './events.js';
import type {
  ChildRunOptions,
  CustomEvent,
  DistributiveOmit,
  RunContext,
  RunServices,
  StepContext,
  StepOptions,
  WaitOptions,
} from './run-context.js';
import type { RunExecution } from './run-execution.js';
import type { Runnable } from './runnable.js';
import type { Store } from './store.js';

/** `r#0` … `r#63`, shared by every run instead of a new string per step. */
const rootKeys: readonly string[] = Array.from({ length: 64 }, (_, sequence) => `r#${sequence}`);

/** What a step's function receives; the signal is made only if the step reads it. */
export class Step implements StepContext {
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
export class ScopeContext implements RunContext {
  readonly #execution: RunExecution;
  readonly scope: string;
  #sequence = 0;

  constructor(execution: RunExecution, scope: string) {
    this.#execution = execution;
    this.scope = scope;
  }

  get services(): RunServices {
    return this.#execution.services;
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
  get streaming(): boolean {
    return this.#execution.streaming;
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

  run<INPUT, OUTPUT>(
    target: Runnable<INPUT, OUTPUT>,
    input: INPUT,
    options?: ChildRunOptions,
  ): Promise<OUTPUT> {
    const sequence = this.#next();
    const spawn = options?.distribute === true ? this.#execution.spawnChild : undefined;
    if (spawn !== undefined) {
      // Its own scope for the spawn, wait and check steps: children started together from one
      // scope would otherwise number those steps in the order their spawns happened to finish.
      return runDistributed(
        new ScopeContext(this.#execution, `${this.scope}/${sequence}`),
        `${this.scope}#${sequence}`,
        target as Runnable,
        input,
        spawn,
        this.#execution.store,
      ) as Promise<OUTPUT>;
    }
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

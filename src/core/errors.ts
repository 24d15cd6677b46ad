/** Baton's error hierarchy: one base with a stable code, who is at fault, and the run id. */

import type { BatonErrorCode } from './error-codes.js';

const marker = Symbol.for('baton.error');

/** Who is at fault when something fails; drives how a caller should react. */
export type Fault = 'user' | 'model' | 'tool' | 'provider' | 'system';

/**
 * How a failure is handled: `transient` is retried, `recoverable` goes back to the model as an
 * error it can work around, `escalate` waits durably for a human, `fatal` fails fast. Errors may
 * carry it as an `errorClass` property; failed steps record it in their error's `data`.
 *
 * @example
 * ```ts
 * throw Object.assign(new Error('Ledger locked, ask finance'), { errorClass: 'escalate' satisfies ErrorClass });
 * ```
 */
export type ErrorClass = 'transient' | 'recoverable' | 'escalate' | 'fatal';

/** A code of Baton's own, or one a tool gave its `ToolError`. */
export type ErrorCode = BatonErrorCode | (string & Record<never, never>);

/** Options shared by every Baton error. */
export interface BatonErrorOptions {
  code: ErrorCode;
  fault: Fault;
  runId?: string | undefined;
  cause?: unknown;
}

/**
 * Base of every error Baton throws. `code` is stable across releases; `fault` says who
 * is responsible; `runId` (when known) lets you inspect or resume the failed run.
 *
 * @example
 * ```ts
 * try { await handle.result(); } catch (error) {
 *   if (BatonError.isInstance(error)) console.log(error.code, error.fault, error.runId);
 * }
 * ```
 */
export class BatonError extends Error {
  readonly [marker] = true;
  readonly code: ErrorCode;
  readonly fault: Fault;
  runId: string | undefined;

  constructor(message: string, options: BatonErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BatonError';
    this.code = options.code;
    this.fault = options.fault;
    this.runId = options.runId;
  }

  /** True for any Baton error, even one created by another copy of the package. */
  static isInstance(error: unknown): error is BatonError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[marker] === true;
  }
}

/**
 * The workflow code asked for a different step than the journal recorded at the same key.
 *
 * @example
 * ```ts
 * if (error instanceof NonDeterminismError) console.log(error.key, error.expected, error.actual);
 * ```
 */
export class NonDeterminismError extends BatonError {
  readonly key: string;
  readonly expected: string;
  readonly actual: string;
  constructor(key: string, recorded: string, requested: string, runId?: string) {
    super(
      `Non-deterministic workflow: at ${key} the journal recorded "${recorded}" but the code asked for "${requested}". ` +
        'Workflow code must make the same steps in the same order on replay; bump the workflow version when you change it.',
      { code: 'NON_DETERMINISM', fault: 'user', runId },
    );
    this.name = 'NonDeterminismError';
    this.key = key;
    this.expected = recorded;
    this.actual = requested;
  }
}

/**
 * A run's stored version differs from the code's version.
 *
 * @example
 * ```ts
 * workflow({ name: 'refund', version: '2', compatibleVersions: ['1'] }, body); // resumes version 1 runs too
 * ```
 */
export class VersionMismatchError extends BatonError {
  constructor(target: string, stored: string, current: string, runId?: string) {
    super(
      `Run of "${target}" was started with version ${stored} but the loaded code is version ${current}. ` +
        `Load version ${stored} of "${target}" to resume it, or list "${stored}" in compatibleVersions.`,
      { code: 'VERSION_MISMATCH', fault: 'user', runId },
    );
    this.name = 'VersionMismatchError';
  }
}

/**
 * No run with this id in the store.
 *
 * @example
 * ```ts
 * await runtime.get('run_missing').catch((error) => error.code); // 'RUN_NOT_FOUND'
 * ```
 */
export class RunNotFoundError extends BatonError {
  constructor(runId: string) {
    super(`No run with id "${runId}" in the store. List runs with \`baton runs\`.`, {
      code: 'RUN_NOT_FOUND',
      fault: 'user',
      runId,
    });
    this.name = 'RunNotFoundError';
  }
}

/**
 * A configuration mistake: unknown workflow, bad option, missing provider package.
 *
 * @example
 * ```ts
 * throw new ConfigError('maxTurns must be positive', { code: 'BAD_OPTION' });
 * ```
 */
export class ConfigError extends BatonError {
  constructor(message: string, options: { runId?: string; cause?: unknown; code?: string } = {}) {
    super(message, {
      code: options.code ?? 'CONFIG',
      fault: 'user',
      runId: options.runId,
      cause: options.cause,
    });
    this.name = 'ConfigError';
  }
}

/**
 * Another process holds the run's lease.
 *
 * @example
 * ```ts
 * await runtime.resume(runId, { force: true }); // only when you know the owner is gone
 * ```
 */
export class RunLeasedError extends BatonError {
  /** The process holding the run. */
  readonly owner: string;
  /** When its lease runs out unless renewed (ms since the epoch). */
  readonly leaseExpiresAt: number;
  constructor(runId: string, owner: string, until: number) {
    super(
      `Run ${runId} is being executed by ${owner} (lease until ${new Date(until).toISOString()}). ` +
        'Wait for the lease to expire or pass { force: true } if that process is gone.',
      { code: 'RUN_LEASED', fault: 'user', runId },
    );
    this.name = 'RunLeasedError';
    this.owner = owner;
    this.leaseExpiresAt = until;
  }
}

/**
 * This process no longer holds the run's lease: it stalled past the lease (a GC pause, a frozen
 * machine) or another process took the run over. The execution stops at once; whichever
 * process holds the lease carries the run on. Nothing was lost: the write that found out was
 * refused, so the journal holds only what the lease holder recorded.
 *
 * @example
 * ```ts
 * await handle.result().catch((error) => error.code); // 'LEASE_LOST' if this process stalled
 * ```
 */
export class LeaseLostError extends BatonError {
  constructor(runId: string, owner: string, detail = 'another process took it over') {
    super(
      `This process (${owner}) no longer holds the lease of run ${runId}: ${detail}. ` +
        'It stopped executing the run; the process that holds the lease continues it, or any runtime ' +
        'that knows the workflow recovers it once the lease expires.',
      { code: 'LEASE_LOST', fault: 'system', runId },
    );
    this.name = 'LeaseLostError';
  }
}

/**
 * The store failed for a reason of its own (locked past its busy timeout, disk full, an I/O
 * error, a lost connection) while a run was executing. The run was released as a crash would
 * release it: nothing is recorded as its failure, it stays resumable, and a runtime that knows
 * its workflow picks it up again once the store answers. `cause` holds the store's error.
 *
 * @example
 * ```ts
 * try { await handle.result(); } catch (error) {
 *   if (BatonError.isInstance(error) && error.code === 'STORE_UNAVAILABLE') await retryLater(error.runId);
 * }
 * ```
 */
export class StoreUnavailableError extends BatonError {
  constructor(cause: unknown, runId?: string) {
    const reason = errorMessage(cause);
    const code = (cause as { code?: unknown } | null)?.code;
    super(
      `The store is unavailable (${typeof code === 'string' && code !== '' ? `${code}: ` : ''}${reason}).` +
        (runId === undefined
          ? ' Nothing was written; try again when the store answers.'
          : ` Run ${runId} was released, not failed: it resumes from its journal when the store answers ` +
            `(a runtime that knows its workflow picks it up, or run \`baton resume ${runId}\`).`),
      { code: 'STORE_UNAVAILABLE', fault: 'system', runId, cause },
    );
    this.name = 'StoreUnavailableError';
  }
}

/**
 * The store's own failure as a `StoreUnavailableError`; Baton errors (a journal conflict, a lost
 * lease, an unknown run) are contract answers and come back unchanged.
 *
 * @example
 * ```ts
 * await store.appendJournal(entry).catch((error) => { throw asStoreError(error, entry.runId); });
 * ```
 */
export function asStoreError(error: unknown, runId?: string): BatonError {
  if (BatonError.isInstance(error)) return error;
  return new StoreUnavailableError(error, runId);
}

/**
 * A step returned a value the journal cannot hold as it is (a `Date`, a `Map`, a `BigInt`, a
 * class instance, a cycle): after a resume it would come back as something else. The step is
 * recorded as failed with this error (so a replay fails the same way); return plain JSON
 * values from steps.
 *
 * @example
 * ```ts
 * await ctx.step('load', async () => (await db.get(id)).createdAt.toISOString()); // not the Date itself
 * ```
 */
export class InvalidStepResultError extends BatonError {
  readonly step: string;
  constructor(step: string, key: string, problem: string, runId?: string) {
    super(
      `Step "${step}" (${key}) returned a value the journal cannot hold: ${problem}. A step's result must be plain ` +
        'JSON (objects, arrays, strings, finite numbers, booleans, null) so that it replays as the same value; the ' +
        'step ran but is recorded as failed with this error.',
      { code: 'INVALID_STEP_RESULT', fault: 'user', runId },
    );
    this.name = 'InvalidStepResultError';
    this.step = step;
  }
}

/**
 * The run was cancelled.
 *
 * @example
 * ```ts
 * await runtime.cancel(runId);
 * await handle.result().catch((error) => error.code); // 'RUN_CANCELLED'
 * ```
 */
export class RunCancelledError extends BatonError {
  constructor(runId?: string) {
    super(runId === undefined ? 'The run was cancelled.' : `Run ${runId} was cancelled.`, {
      code: 'RUN_CANCELLED',
      fault: 'user',
      runId,
    });
    this.name = 'RunCancelledError';
  }
}

/**
 * `ctx.waitFor` reached its timeout before the signal arrived.
 *
 * @example
 * ```ts
 * const decision = await ctx.waitFor('approval', { timeoutMs: 86_400_000 }).catch((error) =>
 *   error.code === 'WAIT_TIMEOUT' ? { approved: false } : Promise.reject(error),
 * );
 * ```
 */
export class WaitTimeoutError extends BatonError {
  readonly signalName: string;
  constructor(signalName: string, timeoutMs: number, runId?: string) {
    super(`No "${signalName}" signal arrived within ${timeoutMs} ms.`, {
      code: 'WAIT_TIMEOUT',
      fault: 'user',
      runId,
    });
    this.name = 'WaitTimeoutError';
    this.signalName = signalName;
  }
}

/**
 * A tool failed, timed out, or was called with arguments that do not match its schema.
 *
 * @example
 * ```ts
 * throw new ToolError('Inventory service unavailable', { tool: 'check_stock', code: 'TOOL_UNAVAILABLE' });
 * ```
 */
export class ToolError extends BatonError {
  readonly tool: string;
  readonly agent: string | undefined;
  constructor(
    message: string,
    options: {
      tool: string;
      agent?: string | undefined;
      code?: string;
      fault?: Fault;
      runId?: string;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: options.code ?? 'TOOL_FAILED',
      fault: options.fault ?? 'tool',
      runId: options.runId,
      cause: options.cause,
    });
    this.name = 'ToolError';
    this.tool = options.tool;
    this.agent = options.agent;
  }
}

/**
 * The model misbehaved past the allowed number of corrections (codes `MAX_TURNS`,
 * `OUTPUT_INVALID`, `TOOL_CALLS_FAILING`, `HANDOFF_LIMIT`).
 *
 * @example
 * ```ts
 * if (error instanceof ModelBehaviorError && error.code === 'OUTPUT_INVALID') console.log(error.rawOutput);
 * ```
 */
export class ModelBehaviorError extends BatonError {
  readonly agent: string;
  readonly rawOutput: unknown;
  constructor(
    message: string,
    options: { agent: string; code?: string; rawOutput?: unknown; runId?: string },
  ) {
    super(message, { code: options.code ?? 'MODEL_BEHAVIOR', fault: 'model', runId: options.runId });
    this.name = 'ModelBehaviorError';
    this.agent = options.agent;
    this.rawOutput = options.rawOutput;
  }
}

/**
 * The model provider failed (HTTP error, network, malformed response).
 *
 * @example
 * ```ts
 * if (error instanceof ModelCallError && error.statusCode === 429) console.log('rate limited by', error.model);
 * ```
 */
export class ModelCallError extends BatonError {
  readonly model: string;
  readonly statusCode: number | undefined;
  constructor(
    message: string,
    options: {
      model: string;
      statusCode?: number | undefined;
      code?: string;
      runId?: string;
      cause?: unknown;
    },
  ) {
    super(message, {
      code: options.code ?? 'MODEL_CALL_FAILED',
      fault: 'provider',
      runId: options.runId,
      cause: options.cause,
    });
    this.name = 'ModelCallError';
    this.model = options.model;
    this.statusCode = options.statusCode;
  }
}

/** The JSON shape in which errors are journaled and stored on runs. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  fault?: Fault;
  stack?: string;
  data?: Record<string, unknown>;
}

const dataFields = [
  'key',
  'expected',
  'actual',
  'signalName',
  'step',
  'tool',
  'agent',
  'model',
  'statusCode',
  'rawOutput',
  // Governance: budget stops, guardrail trips, loop detection.
  'partial',
  'limit',
  'budgetScope',
  'guardrail',
  'stage',
  'reason',
  'repeated',
  'errorClass',
  'attempts',
];

/** Turns any thrown value into its stored JSON shape. */
export function serializeError(error: unknown): SerializedError {
  if (error instanceof Error) {
    const serialized: SerializedError = { name: error.name, message: error.message };
    if (error.stack !== undefined) serialized.stack = error.stack;
    if (BatonError.isInstance(error)) {
      serialized.code = error.code;
      serialized.fault = error.fault;
      const data: Record<string, unknown> = {};
      for (const field of dataFields) {
        const value = (error as unknown as Record<string, unknown>)[field];
        if (value !== undefined) data[field] = value;
      }
      if (Object.keys(data).length > 0) serialized.data = data;
    }
    return serialized;
  }
  return { name: 'Error', message: typeof error === 'string' ? error : safeString(error) };
}

/** Rebuilds a throwable error from its stored shape; Baton errors come back as `BatonError`s. */
export function deserializeError(serialized: SerializedError, runId?: string): Error {
  let error: Error;
  if (serialized.code !== undefined) {
    error = new BatonError(serialized.message, {
      code: serialized.code,
      fault: serialized.fault ?? 'system',
      runId,
    });
    Object.assign(error, serialized.data ?? {});
  } else {
    error = new Error(serialized.message);
  }
  error.name = serialized.name;
  if (serialized.stack !== undefined) error.stack = serialized.stack;
  return error;
}

function safeString(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * The message of whatever was thrown: an error's `message`, anything else as a string.
 *
 * @example
 * ```ts
 * try { await tool.execute(input); } catch (error) { console.log(errorMessage(error)); }
 * ```
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** blackboard(): a shared, typed context object agents read and update through tools, every change a journaled step. */

import type { ZodType, z } from 'zod';
import { BatonError, type ErrorClass } from '../core/errors.js';
import { loadZod } from '../core/load-zod.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { CustomEvent, RunContext } from '../core/run-context.js';
import { assertName } from '../core/runnable.js';
import type { Store } from '../core/store.js';
import { type Tool, toJsonSchema, tool } from '../tools/tool.js';
import { applyJsonPatch, type JsonPatchOperation, setFields } from './json-patch.js';

/** A change to a blackboard: top-level fields to set, JSON Patch operations, or both (fields first). */
export interface BlackboardChange {
  set?: Record<string, unknown>;
  patch?: JsonPatchOperation[];
}

/** One revision of a blackboard, as kept in its record stream. */
export interface BlackboardRevision<T> {
  /** 0 for the initial value, then 1, 2, ... */
  version: number;
  value: T;
  change?: BlackboardChange;
  /** The agent (for tool calls) or `code` that made the change. */
  by?: string;
  /** The journal key of the step that made the change. */
  key?: string;
}

/** What the blackboard tools and steps return (and the journal records). */
export interface BlackboardSnapshot<T> {
  blackboard: string;
  version: number;
  value: T;
}

/** Options of `blackboard()`. */
export interface BlackboardOptions<T> {
  name: string;
  /** The value's schema: every change is validated against it; an invalid one is refused. */
  schema: ZodType<T>;
  /** The value before any change. */
  initial: T;
  /** Names of the tools: `<prefix>_read` and `<prefix>_update`. Default `blackboard`. */
  toolPrefix?: string;
  /** What the blackboard is for, told to the model in the tool descriptions. */
  description?: string;
}

const blackboardOptionNames = optionNames<BlackboardOptions<unknown>>(
  {
    name: true,
    schema: true,
    initial: true,
    toolPrefix: true,
    description: true,
  },
  { prefix: 'toolPrefix' },
);

/** A blackboard definition; its value lives per run. */
export interface Blackboard<T> {
  readonly kind: 'blackboard';
  readonly name: string;
  readonly schema: ZodType<T>;
  readonly initial: T;
  /** The `<prefix>_read` and `<prefix>_update` tools, for agents' `tools`. */
  readonly tools: readonly [
    Tool<Record<string, never>, BlackboardSnapshot<T>>,
    Tool<BlackboardChange, BlackboardSnapshot<T>>,
  ];
  /** The current value, read in a journaled step (a replay returns what the run saw). */
  read(ctx: RunContext): Promise<T>;
  /** Applies a change in a journaled step, emits a `blackboard-update` event, and returns the new value. */
  update(ctx: RunContext, change: BlackboardChange): Promise<T>;
  /** Every revision of a run's blackboard, oldest first (the initial value is version 0). */
  history(store: Store, runId: string): Promise<BlackboardRevision<T>[]>;
}

/**
 * The custom event name of a blackboard change (`{ type: 'custom', name: 'blackboard-update', data }`).
 *
 * @example
 * ```ts
 * runtime.on((event) => {
 *   if (event.type === 'custom' && event.name === blackboardEventName) console.log(event.data);
 * });
 * ```
 */
export const blackboardEventName = 'blackboard-update';

/**
 * Serializes changes to one run's blackboard within this process, so concurrent tool calls never
 * lose one. Kept per store: runtimes on different stores (tenants) never wait on each other, even
 * for runs with the same id.
 */
const locksByStore = new WeakMap<Store, Map<string, Promise<unknown>>>();

function locked<T>(store: Store, key: string, fn: () => Promise<T>): Promise<T> {
  const locks = locksByStore.get(store) ?? new Map<string, Promise<unknown>>();
  locksByStore.set(store, locks);
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => {
    if (locks.get(key) === tail) locks.delete(key);
  });
  return next;
}

/**
 * A shared, typed blackboard: a structured object several agents of one run read and update
 * through the `<prefix>_read` and `<prefix>_update` tools (or workflow code through `read` and
 * `update`). Every change is its own journaled step whose result is the new value, and is
 * validated against `schema`. Revisions are kept in the run store's record stream
 * `blackboard:<runId>:<name>`, tagged with the step's journal key: a replay takes each value
 * from the journal; a change re-run after a crash finds its own revision and is not applied
 * twice. Each change emits the custom event `blackboard-update` (`{ blackboard, version, by,
 * change, value }`).
 *
 * @example
 * ```ts
 * const plan = blackboard({
 *   name: 'plan',
 *   schema: z.object({ goal: z.string(), steps: z.array(z.string()), done: z.boolean() }),
 *   initial: { goal: '', steps: [], done: false },
 * });
 * const planner = agent({ name: 'planner', model, instructions: 'Write the plan on the blackboard.', tools: plan.tools });
 * const worker = agent({ name: 'worker', model, instructions: 'Do the plan, mark it done.', tools: plan.tools });
 * const team = sequential({ name: 'team', stages: [planner, worker] });
 * ```
 */
export function blackboard<T>(options: BlackboardOptions<T>): Blackboard<T> {
  assertName('blackboard', options?.name);
  const { name, schema, initial } = options;
  const where = `blackboard("${name}")`;
  checkOptionNames(where, options, blackboardOptionNames);
  if (schema === undefined || typeof (schema as { safeParse?: unknown }).safeParse !== 'function')
    throw new BatonError(`${where}: schema must be a zod schema.`, { code: 'INVALID_OPTION', fault: 'user' });
  const initialCheck = schema.safeParse(initial);
  if (!initialCheck.success)
    throw new BatonError(`${where}: initial does not match the schema: ${issues(initialCheck.error)}.`, {
      code: 'INVALID_OPTION',
      fault: 'user',
    });
  const prefix = options.toolPrefix ?? 'blackboard';
  const streamOf = (runId: string) => `blackboard:${runId}:${name}`;
  const shape = JSON.stringify(toJsonSchema(schema, `${where} schema`));
  const about = options.description === undefined ? '' : ` It holds: ${options.description}.`;

  async function revisions(store: Store, runId: string): Promise<BlackboardRevision<T>[]> {
    const records = await store.readRecords(streamOf(runId));
    return [
      { version: 0, value: structuredClone(initial) },
      ...records.map((record) => record.data as BlackboardRevision<T>),
    ];
  }

  async function current(store: Store, runId: string): Promise<BlackboardSnapshot<T>> {
    const all = await revisions(store, runId);
    const last = all.at(-1)!;
    return { blackboard: name, version: last.version, value: last.value };
  }

  function apply(
    store: Store,
    runId: string,
    key: string,
    change: BlackboardChange,
    by: string,
    emit: ((event: CustomEvent) => void) | undefined,
  ): Promise<BlackboardSnapshot<T>> {
    return locked(store, streamOf(runId), async () => {
      const all = await revisions(store, runId);
      const done = all.find((revision) => revision.key === key);
      if (done !== undefined) return { blackboard: name, version: done.version, value: done.value };
      const last = all.at(-1)!;
      const value = validated(next(last.value, change), runId);
      const revision: BlackboardRevision<T> = { version: last.version + 1, value, change, by, key };
      await store.appendRecord(streamOf(runId), revision);
      emit?.({
        name: blackboardEventName,
        data: { blackboard: name, version: revision.version, by, change, value },
      });
      return { blackboard: name, version: revision.version, value };
    });
  }

  function next(value: T, change: BlackboardChange): unknown {
    const hasSet = change?.set !== undefined;
    const hasPatch = change?.patch !== undefined && change.patch.length > 0;
    if (!hasSet && !hasPatch)
      throw invalid('a change needs "set" (fields) or "patch" (JSON Patch operations)');
    try {
      let result: unknown = value;
      if (hasSet) result = setFields(result, change.set!);
      if (hasPatch) result = applyJsonPatch(result, change.patch!);
      return result;
    } catch (error) {
      throw invalid((error as Error).message);
    }
  }

  function validated(value: unknown, runId: string): T {
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw invalid(`the new value does not match the schema: ${issues(parsed.error)}`, runId);
    return parsed.data;
  }

  function invalid(problem: string, runId?: string): BatonError {
    const error = new BatonError(
      `${where}: change refused, ${problem}. The value is unchanged; send a corrected change.`,
      { code: 'BLACKBOARD_INVALID', fault: 'model', runId },
    );
    return Object.assign(error, { errorClass: 'recoverable' satisfies ErrorClass });
  }

  const { z } = loadZod();
  const changeSchema = z.object({
    set: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('Top-level fields to set to new values (other fields stay)'),
    patch: z
      .array(
        z.object({
          op: z.enum(['add', 'remove', 'replace']),
          path: z.string().describe('JSON Pointer, e.g. /steps/- to append to the steps array'),
          value: z.unknown().optional(),
        }),
      )
      .optional()
      .describe('JSON Patch operations (RFC 6902), applied after "set"'),
  }) as unknown as ZodType<BlackboardChange>;

  const readTool = tool({
    name: `${prefix}_read`,
    description: `Reads the shared blackboard "${name}" (its current value and version).${about}`,
    input: z.object({}) as unknown as ZodType<Record<string, never>>,
    idempotent: true,
    // The blackboard is the run's own state: its tools need no capability.
    capabilities: [],
    execute: (_input, context): Promise<BlackboardSnapshot<T>> =>
      current(storeOf(context.store), context.runId),
  });
  const updateTool = tool({
    name: `${prefix}_update`,
    description: `Updates the shared blackboard "${name}" with "set" (top-level fields) and/or "patch" (JSON Patch); returns the new value. The value must match this JSON Schema: ${shape}.${about}`,
    input: changeSchema,
    idempotent: true,
    capabilities: [],
    execute: (change, context) =>
      apply(
        storeOf(context.store),
        context.runId,
        context.idempotencyKey,
        change,
        context.agent,
        context.emit,
      ),
  });

  function storeOf(store: Store | undefined): Store {
    if (store === undefined)
      throw new BatonError(
        `${where}: its tools must be called by an agent inside a run (no store in the tool context).`,
        {
          code: 'NO_STORE',
          fault: 'user',
        },
      );
    return store;
  }

  return {
    kind: 'blackboard',
    name,
    schema,
    initial,
    tools: [readTool, updateTool],
    async read(ctx) {
      const snapshot = await ctx.step(`blackboard:${name}:read`, (step) => current(step.store, step.runId));
      return snapshot.value;
    },
    async update(ctx, change) {
      const snapshot = await ctx.step(`blackboard:${name}:update`, (step) =>
        apply(step.store, step.runId, step.idempotencyKey, change, 'code', (event) => ctx.emit(event)),
      );
      return snapshot.value;
    },
    history: revisions,
  };
}

function issues(error: z.ZodError): string {
  return error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');
}

/** Runnable definitions: what a runtime can start by name, and `workflow()` for durable code. */

import type { ZodType } from 'zod';
import { ConfigError } from './errors.js';
import { checkOptionNames, optionNames } from './option-names.js';
import type { RunContext } from './run-context.js';

/**
 * Anything a runtime can run: a workflow, an agent or a pattern. `execute` is called again
 * on every replay, so it must be deterministic given the journal.
 *
 * @example
 * ```ts
 * const greet: Runnable<string, string> = workflow({ name: 'greet' }, async (ctx, who) => `hi ${who}`);
 * ```
 */
export interface Runnable<INPUT = unknown, OUTPUT = unknown> {
  readonly kind: 'workflow' | 'agent' | 'pattern';
  readonly name: string;
  readonly version: string;
  /** Older versions whose stored runs this code can still replay. */
  readonly compatibleVersions?: readonly string[];
  /**
   * Validates the input when a run starts. Typed loosely on purpose: a typed schema would make
   * `Runnable` invariant in `INPUT`, and an agent taking `string | { messages }` could not
   * stand where a runnable of `string` is expected.
   */
  readonly inputSchema?: ZodType;
  /**
   * What this definition may start as distributed child runs (`distribute: true`): a runtime
   * that registers it registers these too, so a worker executes those children by name.
   */
  readonly distributedChildren?: readonly Runnable[];
  execute(ctx: RunContext, input: INPUT): Promise<OUTPUT>;
}

/** Any runnable, whatever its input and output types (for lists that mix them, like pipeline stages). */
// biome-ignore lint/suspicious/noExplicitAny: inputs differ per runnable; each checks its own.
export type AnyRunnable = Runnable<any, any>;

/** Options of `workflow()`. */
export interface WorkflowOptions<INPUT> {
  name: string;
  /** Bump it when a change would make old journals replay differently. Default `'1'`. */
  version?: string;
  compatibleVersions?: readonly string[];
  input?: ZodType<INPUT>;
}

/** A durable workflow definition. */
export interface Workflow<INPUT, OUTPUT> extends Runnable<INPUT, OUTPUT> {
  readonly kind: 'workflow';
}

const namePattern = /^[A-Za-z0-9][\w.-]*$/;

/** Checks a definition name, with an error that says what is allowed. */
export function assertName(kind: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || !namePattern.test(name)) {
    throw new ConfigError(
      `Invalid ${kind} name ${JSON.stringify(name)}: use letters, digits, '_', '-' or '.', starting with a letter or digit.`,
    );
  }
}

const workflowOptionNames = optionNames<WorkflowOptions<unknown>>(
  { name: true, version: true, compatibleVersions: true, input: true },
  { inputSchema: 'input', schema: 'input' },
);

/**
 * Defines durable code. Everything non-deterministic inside goes through `ctx`.
 *
 * @example
 * ```ts
 * const onboarding = workflow({ name: 'onboarding', version: '2' }, async (ctx, input: { email: string }) => {
 *   const account = await ctx.step('create-account', () => accounts.create(input.email));
 *   await ctx.sleep(24 * 3600_000);
 *   await ctx.step('send-tips', () => mailer.send(input.email, 'tips'));
 *   return account.id;
 * });
 * ```
 */
export function workflow<INPUT, OUTPUT>(
  options: WorkflowOptions<INPUT>,
  body: (ctx: RunContext, input: INPUT) => Promise<OUTPUT>,
): Workflow<INPUT, OUTPUT> {
  assertName('workflow', options?.name);
  checkOptionNames(`workflow "${options.name}"`, options, workflowOptionNames);
  if (typeof body !== 'function') {
    throw new ConfigError(
      `workflow "${options.name}": the second argument must be an async function (ctx, input) => output.`,
    );
  }
  const definition: Workflow<INPUT, OUTPUT> = {
    kind: 'workflow',
    name: options.name,
    version: options.version ?? '1',
    execute: body,
    ...(options.compatibleVersions === undefined ? {} : { compatibleVersions: options.compatibleVersions }),
    ...(options.input === undefined ? {} : { inputSchema: options.input }),
  };
  return definition;
}

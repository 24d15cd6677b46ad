/** tool(): a typed function an agent can call, with a zod input schema, a timeout and an idempotency flag. */

import type { JSONSchema7, LanguageModelV3Message } from '@ai-sdk/provider';
import type { ZodType } from 'zod';
import { ConfigError, type ErrorClass } from '../core/errors.js';
import { loadZod } from '../core/load-zod.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import { checkRetry, type RetryOptions } from '../core/retry-options.js';
import type { CustomEvent } from '../core/run-context.js';
import type { Runnable } from '../core/runnable.js';
import type { Store } from '../core/store.js';
import { type ApprovalRule, type Capability, checkApprovalRule, checkCapabilities } from './tool-policy.js';

/** What a tool's `execute` receives besides its input. */
export interface ToolContext {
  readonly runId: string;
  /** The agent that called the tool. */
  readonly agent: string;
  readonly toolCallId: string;
  /** Stable across a crash and re-execution of this call: pass it to APIs that deduplicate. */
  readonly idempotencyKey: string;
  /** Aborted on timeout, cancellation or shutdown. */
  readonly signal: AbortSignal;
  /** The run's store, for tools that keep state outside the journal (memory, blackboards). Set by agents. */
  readonly store?: Store;
  /** The thread of the run, if it was started with one. */
  readonly threadId?: string | undefined;
  /** Emits a custom event for the run (as `ctx.emit`). Set by agents. */
  readonly emit?: (event: CustomEvent) => void;
  /**
   * The conversation when the model asked for this call, without the system prompt; it ends with
   * the assistant message holding the call. Set by agents (AI SDK tools get it as `messages`).
   */
  readonly messages?: readonly LanguageModelV3Message[];
}

/** A tool definition. */
export interface Tool<INPUT = unknown, OUTPUT = unknown> {
  readonly kind: 'tool';
  readonly name: string;
  readonly description: string;
  readonly inputSchema: ZodType<INPUT>;
  /** JSON Schema sent to the model. */
  readonly jsonSchema: JSONSchema7;
  /** True when running it twice with the same input is harmless (it may re-run after a crash mid-call). */
  readonly idempotent: boolean;
  readonly timeoutMs: number | undefined;
  /** Classifies this tool's failures (undefined keeps the built-in rules); see `ErrorClass`. */
  readonly classify?: ((error: unknown) => ErrorClass | undefined) | undefined;
  /** Retries of transient failures; default 3 attempts when idempotent, else 1. */
  readonly retry?: RetryOptions | undefined;
  /** Cap on concurrent executions of this tool across the process. */
  readonly maxConcurrent?: number | undefined;
  /**
   * What the tool does to the world; an agent's `permissions.capabilities` must grant all of them.
   * Undefined (nothing declared) is denied under a capability allow-list; `[]` needs none.
   */
  readonly capabilities?: readonly Capability[] | undefined;
  /** When a call waits for a person's approval before it runs (see `ApprovalRule`). */
  readonly approval?: ApprovalRule<INPUT> | undefined;
  execute(input: INPUT, context: ToolContext): OUTPUT | Promise<OUTPUT>;
  /** Set when the tool runs an agent or workflow as a child run. */
  readonly runnable?: Runnable<string, unknown>;
  /** With `runnable`: the child is dispatched as a run of its own (`ctx.run(..., { distribute: true })`). */
  readonly distribute?: boolean;
}

/** Options of `tool()`. */
export interface ToolOptions<INPUT, OUTPUT> {
  name: string;
  description: string;
  input: ZodType<INPUT>;
  execute: (input: INPUT, context: ToolContext) => OUTPUT | Promise<OUTPUT>;
  idempotent?: boolean;
  /** Timeout per attempt; when unset, one derived from the tool's observed p95 latency applies once known. */
  timeoutMs?: number;
  /**
   * Classifies a failure: `transient` (retried when idempotent or `retry` is set), `recoverable`
   * (the model sees the error), `escalate` (durable wait for a human), `fatal` (the run fails).
   */
  classify?: (error: unknown) => ErrorClass | undefined;
  /** Retries of transient failures (timeouts, network errors, 5xx); default 3 attempts when idempotent, else 1. */
  retry?: RetryOptions;
  /** Cap on concurrent executions of this tool across all runs in the process (others queue). */
  maxConcurrent?: number;
  /**
   * What the tool does to the world (`read`, `write`, `network`, `spend`), checked against each
   * agent's permissions. Leave it out and an agent with a capability allow-list may not call the
   * tool; `[]` declares a tool that needs none.
   */
  capabilities?: readonly Capability[];
  /** `'always'` or a predicate on the input: the call waits durably for `approval:<toolCallId>` before it runs. */
  approval?: ApprovalRule<INPUT>;
}

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;

const toolOptionNames = optionNames<ToolOptions<unknown, unknown>>(
  {
    name: true,
    description: true,
    input: true,
    execute: true,
    idempotent: true,
    timeoutMs: true,
    classify: true,
    retry: true,
    maxConcurrent: true,
    capabilities: true,
    approval: true,
  },
  {
    inputSchema: 'input',
    parameters: 'input',
    schema: 'input',
    handler: 'execute',
    run: 'execute',
    needsApproval: 'approval',
  },
);

/**
 * Defines a tool. Arguments from the model are validated against `input`; a bad call goes
 * back to the model as an error it can correct.
 *
 * @example
 * ```ts
 * const add = tool({
 *   name: 'add',
 *   description: 'Adds two numbers',
 *   input: z.object({ a: z.number(), b: z.number() }),
 *   execute: ({ a, b }) => a + b,
 *   idempotent: true,
 * });
 * ```
 */
export function tool<INPUT, OUTPUT>(options: ToolOptions<INPUT, OUTPUT>): Tool<INPUT, OUTPUT> {
  const where = `tool(${JSON.stringify(options?.name)})`;
  if (typeof options?.name !== 'string' || !toolNamePattern.test(options.name)) {
    throw new ConfigError(
      `${where}: name must be 1-64 letters, digits, '_' or '-' (model APIs reject other names).`,
    );
  }
  checkOptionNames(where, options, toolOptionNames);
  if (typeof options.description !== 'string' || options.description.trim() === '') {
    throw new ConfigError(`${where}: description is required; the model chooses tools by it.`);
  }
  if (
    options.input === undefined ||
    typeof (options.input as { safeParse?: unknown }).safeParse !== 'function'
  ) {
    throw new ConfigError(`${where}: input must be a zod schema, e.g. z.object({ query: z.string() }).`);
  }
  if (typeof options.execute !== 'function') throw new ConfigError(`${where}: execute must be a function.`);
  if (options.timeoutMs !== undefined && !(options.timeoutMs > 0))
    throw new ConfigError(`${where}: timeoutMs must be positive.`);
  if (options.classify !== undefined && typeof options.classify !== 'function')
    throw new ConfigError(`${where}: classify must be a function returning an error class.`);
  checkRetry(`${where}: retry`, options.retry);
  if (
    options.maxConcurrent !== undefined &&
    !(Number.isInteger(options.maxConcurrent) && options.maxConcurrent >= 1)
  )
    throw new ConfigError(`${where}: maxConcurrent must be an integer >= 1.`);
  return {
    kind: 'tool',
    name: options.name,
    description: options.description,
    inputSchema: options.input,
    jsonSchema: toJsonSchema(options.input, where),
    idempotent: options.idempotent ?? false,
    timeoutMs: options.timeoutMs,
    classify: options.classify,
    retry: options.retry,
    maxConcurrent: options.maxConcurrent,
    capabilities: checkCapabilities(where, 'capabilities', options.capabilities),
    approval: checkApprovalRule(where, 'approval', options.approval),
    execute: options.execute,
  };
}

/** The JSON Schema of a zod schema, in the shape model APIs accept for tool parameters. */
export function toJsonSchema(schema: ZodType, where: string): JSONSchema7 {
  try {
    const { $schema: _ignored, ...rest } = loadZod().z.toJSONSchema(schema, { io: 'input' }) as Record<
      string,
      unknown
    >;
    return rest as JSONSchema7;
  } catch (error) {
    throw new ConfigError(
      `${where}: the input schema cannot be expressed as JSON Schema (${String(error)}).`,
      { cause: error },
    );
  }
}

/** Options of `runnableTool()`. */
export interface RunnableToolOptions {
  /** The tool name the model calls; defaults to the runnable's name with other characters replaced by `_`. */
  name?: string;
  /** What the runnable does; the model decides whether to call it from this. */
  description: string;
  /**
   * Dispatch each call as a run of its own, for any worker to execute, and wait for it durably
   * (on a runtime with a dispatcher; elsewhere the child runs inline). Default false.
   */
  distribute?: boolean;
}

/**
 * Any agent, workflow or pattern as a tool: a call runs it as a child run (journaled, resumable)
 * with the model's `input` text, and its output goes back to the calling model.
 *
 * @example
 * ```ts
 * const research = concurrent({ name: 'research', units: [web, papers] });
 * const lead = agent({ name: 'lead', model, instructions: 'Research, then answer.',
 *   tools: [runnableTool(research, { description: 'Searches the web and papers in parallel' })] });
 * ```
 */
export function runnableTool<OUTPUT>(
  target: Runnable<string, OUTPUT>,
  options: RunnableToolOptions,
): Tool<{ input: string }, OUTPUT> {
  if (typeof target?.execute !== 'function')
    throw new ConfigError('runnableTool: the target must be an agent, workflow or pattern.');
  const name = options?.name ?? target.name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  const where = `runnableTool(${JSON.stringify(name)})`;
  if (!toolNamePattern.test(name))
    throw new ConfigError(`${where}: name must be 1-64 letters, digits, '_' or '-'.`);
  if (typeof options.description !== 'string' || options.description.trim() === '')
    throw new ConfigError(`${where}: description is required; the model chooses tools by it.`);
  const { z } = loadZod();
  const inputSchema = z.object({ input: z.string().describe(`The request for ${target.name}`) });
  return {
    kind: 'tool',
    name,
    description: options.description,
    inputSchema,
    jsonSchema: toJsonSchema(inputSchema, where),
    idempotent: false,
    timeoutMs: undefined,
    // A child run needs no capability itself: its own agents' permissions govern what it does.
    capabilities: Object.freeze([]),
    runnable: target as Runnable<string, unknown>,
    ...(options.distribute === true ? { distribute: true } : {}),
    execute: () => {
      throw new ConfigError(`${where} runs as a child run; call it through an agent.`);
    },
  };
}

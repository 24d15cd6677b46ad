/** tool(): a typed function an agent can call, with a zod input schema, a timeout and an idempotency flag. */

import type { JSONSchema7 } from '@ai-sdk/provider';
import { type ZodType, z } from 'zod';
import { ConfigError } from '../core/errors.js';
import type { Runnable } from '../core/runnable.js';

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
  execute(input: INPUT, context: ToolContext): OUTPUT | Promise<OUTPUT>;
  /** Set when the tool runs an agent or workflow as a child run. */
  readonly runnable?: Runnable<string, unknown>;
}

/** Options of `tool()`. */
export interface ToolOptions<INPUT, OUTPUT> {
  name: string;
  description: string;
  input: ZodType<INPUT>;
  execute: (input: INPUT, context: ToolContext) => OUTPUT | Promise<OUTPUT>;
  idempotent?: boolean;
  timeoutMs?: number;
}

const toolNamePattern = /^[a-zA-Z0-9_-]{1,64}$/;

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
  return {
    kind: 'tool',
    name: options.name,
    description: options.description,
    inputSchema: options.input,
    jsonSchema: toJsonSchema(options.input, where),
    idempotent: options.idempotent ?? false,
    timeoutMs: options.timeoutMs,
    execute: options.execute,
  };
}

/** The JSON Schema of a zod schema, in the shape model APIs accept for tool parameters. */
export function toJsonSchema(schema: ZodType, where: string): JSONSchema7 {
  try {
    const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
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
  const inputSchema = z.object({ input: z.string().describe(`The request for ${target.name}`) });
  return {
    kind: 'tool',
    name,
    description: options.description,
    inputSchema,
    jsonSchema: toJsonSchema(inputSchema, where),
    idempotent: false,
    timeoutMs: undefined,
    runnable: target as Runnable<string, unknown>,
    execute: () => {
      throw new ConfigError(`${where} runs as a child run; call it through an agent.`);
    },
  };
}

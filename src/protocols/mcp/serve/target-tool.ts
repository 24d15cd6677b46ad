/** A served workflow, agent or team as an MCP tool: its name, description, input JSON Schema, and how arguments become the run's input. */

import { z } from 'zod';
import type { Runnable } from '../../../index.js';

/**
 * A definition the MCP server runs, and where it was loaded from (recorded on its runs, so
 * `baton resume` finds it).
 *
 * @example
 * ```ts
 * const target: McpServedTarget = { runnable: expense, source: 'flows/expense.ts#expense' };
 * ```
 */
export interface McpServedTarget {
  runnable: Runnable;
  source?: string;
}

/** A target as a tool: what `tools/list` shows and how `tools/call` arguments turn into the run's input. */
export interface TargetTool {
  readonly name: string;
  readonly target: McpServedTarget;
  readonly description: string;
  readonly inputSchema: Record<string, unknown> & { type: 'object' };
  /** The run's input from the call's arguments, or the problems (each names the argument at fault). */
  input(args: Record<string, unknown>): { input: unknown } | { problems: string[] };
}

/** The argument that holds the input of a target whose input is not an object. */
const wrapper = 'input';

/**
 * The tool of a target. Its arguments must be an object (MCP), so:
 *
 * - a target whose input schema is an object takes its input as the arguments;
 * - an agent, pattern or team (conversational input) takes `{ input: string }`;
 * - a workflow with another input schema (a string, a list) takes `{ input: <that schema> }`;
 * - a workflow without an input schema takes any object, passed on as its input.
 */
export function targetTool(target: McpServedTarget): TargetTool {
  const { runnable } = target;
  const schema = jsonSchemaOf(runnable);
  const description = describe(runnable);
  if (schema !== undefined && schema.type === 'object') {
    return {
      name: runnable.name,
      target,
      description,
      inputSchema: schema as TargetTool['inputSchema'],
      input: (args) => checked(runnable, args, []),
    };
  }
  if (schema === undefined && runnable.kind === 'workflow') {
    return {
      name: runnable.name,
      target,
      description: `${description} It declares no input schema: the arguments are its input.`,
      inputSchema: { type: 'object', additionalProperties: true },
      input: (args) => ({ input: args }),
    };
  }
  const inner =
    schema ??
    ({
      type: 'string',
      description: `The task, question or message for the ${runnable.kind === 'agent' ? 'agent' : 'team'}.`,
    } satisfies Record<string, unknown>);
  return {
    name: runnable.name,
    target,
    description,
    inputSchema: {
      type: 'object',
      properties: { [wrapper]: inner },
      required: [wrapper],
      additionalProperties: false,
    },
    input(args) {
      const extra = Object.keys(args).filter((key) => key !== wrapper);
      const problems = extra.map((key) => `${key}: unknown argument (the only argument is "${wrapper}")`);
      if (!(wrapper in args)) problems.unshift(`${wrapper}: required`);
      if (problems.length > 0) return { problems };
      const value = args[wrapper];
      if (schema === undefined && typeof value !== 'string')
        return { problems: [`${wrapper}: expected a string, got ${typeName(value)}`] };
      return checked(runnable, value, [wrapper]);
    },
  };
}

/** The input checked with the target's own schema; problems name the argument path. */
function checked(
  runnable: Runnable,
  value: unknown,
  prefix: readonly string[],
): { input: unknown } | { problems: string[] } {
  if (runnable.inputSchema === undefined) return { input: value };
  const parsed = runnable.inputSchema.safeParse(value);
  if (parsed.success) return { input: parsed.data };
  return {
    problems: parsed.error.issues.map((issue) => {
      const path = [...prefix, ...issue.path.map(String)].join('.');
      return `${path || '(arguments)'}: ${issue.message}`;
    }),
  };
}

/** The target's input JSON Schema (without `$schema`), or undefined when it has none or it says nothing (`{}`). */
function jsonSchemaOf(runnable: Runnable): Record<string, unknown> | undefined {
  if (runnable.inputSchema === undefined) return undefined;
  try {
    const { $schema: _dialect, ...schema } = z.toJSONSchema(runnable.inputSchema, {
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    return Object.keys(schema).length === 0 ? undefined : schema;
  } catch {
    return undefined;
  }
}

function describe(runnable: Runnable): string {
  const own = (runnable as { description?: unknown }).description;
  const what = runnable.kind === 'pattern' ? 'team' : runnable.kind;
  const lead =
    typeof own === 'string' && own.trim() !== '' ? own.trim() : `Runs the ${what} "${runnable.name}".`;
  const stop = /[.!?]$/.test(lead) ? '' : '.';
  return `${lead}${stop} Each call is a durable Baton run (v${runnable.version}); the result links the run (baton://runs/<id>).`;
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

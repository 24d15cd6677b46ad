/** fromAiSdkTool(): an AI SDK tool (`tool()` from 'ai') as a Baton tool, converted once when an agent is defined. */

import type { JSONSchema7, LanguageModelV3Message } from '@ai-sdk/provider';
import type { Tool as AiSdkTool, ModelMessage, ToolExecutionOptions } from 'ai';
import type { ZodType } from 'zod';
import { ConfigError } from '../core/errors.js';
import { loadZod } from '../core/load-zod.js';
import { type Tool, type ToolContext, type ToolOptions, tool } from './tool.js';

/** Baton's own settings for a converted AI SDK tool (the AI SDK has no word for them). */
export type AiSdkToolOptions = Omit<
  ToolOptions<unknown, unknown>,
  'name' | 'description' | 'input' | 'execute'
>;

/** `Symbol.for('vercel.ai.schema')`: how the AI SDK marks `jsonSchema()` and `zodSchema()` schemas. */
const schemaMarker = Symbol.for('vercel.ai.schema');

/**
 * Whether a value is an AI SDK tool rather than a Baton one: an object without Baton's
 * `kind: 'tool'` that has an `inputSchema`, an `execute` or an AI SDK tool `type`.
 *
 * @example
 * ```ts
 * isAiSdkTool(tool({ description: 'Adds', inputSchema: z.object({ a: z.number() }), execute: ({ a }) => a })); // true (tool from 'ai')
 * ```
 */
export function isAiSdkTool(value: unknown): value is AiSdkTool {
  if (value === null || typeof value !== 'object') return false;
  const candidate = value as { kind?: unknown; type?: unknown };
  if (candidate.kind === 'tool') return false;
  return (
    'inputSchema' in candidate ||
    'execute' in candidate ||
    candidate.type === 'function' ||
    candidate.type === 'dynamic' ||
    candidate.type === 'provider'
  );
}

type Validate = (value: unknown) => unknown;

/** The fields of an AI SDK tool Baton reads, whatever its `type` (the AI SDK's own type is a union over them). */
interface LooseAiSdkTool {
  type?: string;
  id?: string;
  description?: string;
  title?: string;
  inputSchema?: unknown;
  execute?: (input: unknown, options: ToolExecutionOptions) => unknown;
  needsApproval?:
    | boolean
    | ((input: unknown, options: { toolCallId: string; messages: ModelMessage[] }) => unknown);
}

/** A tool's input schema as Baton needs it: a zod schema checked on every call, the JSON Schema the model gets, and the schema's own validation when it is not zod 4. */
interface ConvertedSchema {
  input: ZodType;
  json: JSONSchema7 | undefined;
  validate: Validate | undefined;
}

/**
 * Converts an AI SDK tool to a Baton tool named `name`. Its `description`, `inputSchema` (a zod 4
 * schema, `jsonSchema()`, `zodSchema()`, a lazy schema or a Standard Schema with JSON Schema
 * support) and `execute` carry over; `execute` gets the AI SDK's options (`toolCallId`,
 * `abortSignal`, `messages`); an async-iterable result (preliminary outputs) counts by its last
 * value; `needsApproval` becomes the tool's `approval` rule. Baton-only settings (idempotent,
 * capabilities, timeouts, ...) come from `options`. Agents call this for the AI SDK tools they are
 * given; call it yourself to add those settings. Throws a `ConfigError` naming `where` and the
 * tool for a tool Baton cannot run: no `execute` (client-side tools are not supported), no or an
 * unusable `inputSchema`, no description, or a provider-executed tool.
 *
 * @example
 * ```ts
 * import { tool as aiTool } from 'ai';
 * const weather = aiTool({
 *   description: 'Current weather in a city',
 *   inputSchema: z.object({ city: z.string() }),
 *   execute: async ({ city }, { abortSignal }) => fetchWeather(city, abortSignal),
 * });
 * const assistant = agent({ name: 'assistant', instructions: '...', model, tools: { weather } });
 * // or, with Baton's settings:
 * const tools = [fromAiSdkTool('weather', weather, { idempotent: true, capabilities: ['network'] })];
 * ```
 */
export function fromAiSdkTool(
  name: string,
  candidate: AiSdkTool,
  options: AiSdkToolOptions = {},
  where = `fromAiSdkTool(${JSON.stringify(name)})`,
): Tool {
  const label = `${where}: the AI SDK tool "${name}"`;
  const source = candidate as unknown as LooseAiSdkTool;
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(name))
    throw new ConfigError(
      `${label}: a tool name is 1-64 letters, digits, '_' or '-' (model APIs reject other names); rename its key.`,
    );
  if (source.type === 'provider')
    throw new ConfigError(
      `${label} is provider-defined (${String(source.id)}): its provider runs it, and Baton offers models function tools only. Use a tool with inputSchema and execute.`,
    );
  if (typeof source.execute !== 'function')
    throw new ConfigError(
      `${label} has no execute function. Baton runs every tool call itself and journals it, so tools the client runs are not supported: give it execute (to wait for a person, use approvals).`,
    );
  const description = source.description?.trim() || source.title?.trim();
  if (description === undefined || description === '')
    throw new ConfigError(`${label} has no description; the model chooses tools by it.`);
  const schema = convertSchema(label, source.inputSchema);
  const execute = source.execute;
  const { validate } = schema;
  const converted = tool<unknown, unknown>({
    ...options,
    name,
    description,
    input: schema.input,
    execute: async (input, context) => {
      const value = validate === undefined ? input : await validated(name, validate, input);
      return lastValue(await execute(value, executionOptions(context)));
    },
    ...(options.approval === undefined ? approvalOf(source.needsApproval) : {}),
  });
  return schema.json === undefined ? converted : { ...converted, jsonSchema: schema.json };
}

/** The AI SDK's options of one call, built lazily from Baton's tool context (no AbortController unless read). */
function executionOptions(context: ToolContext): ToolExecutionOptions {
  return {
    toolCallId: context.toolCallId,
    get abortSignal() {
      return context.signal;
    },
    get messages() {
      return aiSdkMessages(context.messages);
    },
  };
}

/**
 * The conversation as the AI SDK gives it to `execute`: without the assistant message holding
 * the call. Baton's prompt format has the AI SDK's message shapes (text, files, tool calls and
 * results), so the messages pass as they are.
 */
function aiSdkMessages(messages: readonly LanguageModelV3Message[] | undefined): ModelMessage[] {
  if (messages === undefined) return [];
  const end = messages.at(-1)?.role === 'assistant' ? messages.length - 1 : messages.length;
  return messages.slice(0, end) as unknown as ModelMessage[];
}

/** The final value of a tool's output: the last one yielded by an async iterable (AI SDK preliminary results). */
async function lastValue(output: unknown): Promise<unknown> {
  if (output === null || typeof output !== 'object' || !(Symbol.asyncIterator in output)) return output;
  let last: unknown;
  for await (const part of output as AsyncIterable<unknown>) last = part;
  return last;
}

/** Runs the schema's own validation (sync or async); a failure goes back to the model as a bad call. */
async function validated(name: string, validate: Validate, input: unknown): Promise<unknown> {
  const result = (await validate(input)) as { success: boolean; value?: unknown; error?: unknown };
  if (result.success) return result.value;
  const message = (result.error as Error | undefined)?.message ?? String(result.error);
  // Recoverable: the model sees the message and can call again (not retried as transient).
  throw Object.assign(
    new Error(`Invalid arguments for ${name}: ${message}. Call it again with arguments matching its schema.`),
    { errorClass: 'recoverable' },
  );
}

/** `needsApproval` as Baton's approval rule (`true` -> 'always'; a function -> a predicate). */
function approvalOf(
  needsApproval: LooseAiSdkTool['needsApproval'],
): Pick<ToolOptions<unknown, unknown>, 'approval'> {
  if (needsApproval === true) return { approval: 'always' };
  if (typeof needsApproval !== 'function') return {};
  return {
    approval: (input, context) => {
      const answer: unknown = needsApproval(input, { toolCallId: context.toolCallId, messages: [] });
      // Baton's rules are synchronous; a throwing rule means the call needs approval.
      if (typeof (answer as PromiseLike<boolean> | null)?.then === 'function')
        throw new Error(`needsApproval of ${context.tool} returned a promise; Baton needs a boolean.`);
      return answer === true;
    },
  };
}

function convertSchema(label: string, schema: unknown): ConvertedSchema {
  if (schema === undefined || schema === null)
    throw new ConfigError(
      `${label} has no inputSchema; give it one, e.g. inputSchema: z.object({ city: z.string() }) or jsonSchema({ type: 'object', properties: { ... } }).`,
    );
  // A lazy schema (`lazySchema()`): a function returning the schema.
  const resolved = typeof schema === 'function' ? (schema as () => unknown)() : schema;
  if (typeof resolved === 'object' && resolved !== null) {
    // zod 4, the schema library Baton itself uses: validated and converted natively.
    if ('_zod' in resolved && typeof (resolved as { safeParse?: unknown }).safeParse === 'function')
      return { input: resolved as ZodType, json: undefined, validate: undefined };
    if ((resolved as Record<symbol, unknown>)[schemaMarker] === true) {
      const marked = resolved as { jsonSchema: unknown; validate?: Validate };
      return fromJsonSchema(
        label,
        readJsonSchema(label, () => marked.jsonSchema),
        marked.validate,
      );
    }
    const standard = (resolved as { '~standard'?: StandardSchema })['~standard'];
    if (standard !== undefined && typeof standard.validate === 'function') {
      const converter = standard.jsonSchema?.input;
      if (typeof converter !== 'function')
        throw new ConfigError(
          `${label} has an inputSchema from "${standard.vendor}" that cannot give a JSON Schema for the model. Use a zod 4 schema or jsonSchema() from 'ai'.`,
        );
      const json = readJsonSchema(label, () => converter({ target: 'draft-07' }));
      return fromJsonSchema(label, json, async (value) => {
        const result = await standard.validate(value);
        return 'value' in result
          ? { success: true, value: result.value }
          : { success: false, error: new Error(issuesText(result.issues)) };
      });
    }
  }
  throw new ConfigError(
    `${label} has an inputSchema Baton cannot read (${typeof resolved}); use a zod 4 schema or jsonSchema() from 'ai'.`,
  );
}

/** The part of a Standard Schema (valibot, arktype, zod 3, ...) that Baton uses. */
interface StandardSchema {
  vendor: string;
  validate: (value: unknown) => StandardResult | PromiseLike<StandardResult>;
  jsonSchema?: { input?: (options: { target: string }) => unknown };
}
type StandardResult =
  | { value: unknown }
  | { issues: readonly { message: string; path?: readonly unknown[] }[] };

function issuesText(issues: readonly { message: string; path?: readonly unknown[] }[]): string {
  return issues
    .map((issue) => {
      const path = (issue.path ?? []).map((key) => String((key as { key?: unknown })?.key ?? key)).join('.');
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('; ');
}

function readJsonSchema(label: string, read: () => unknown): JSONSchema7 {
  let json: unknown;
  try {
    json = read();
  } catch (error) {
    throw new ConfigError(`${label} has an inputSchema whose JSON Schema cannot be made: ${String(error)}`, {
      cause: error,
    });
  }
  if (typeof (json as PromiseLike<unknown> | null)?.then === 'function')
    throw new ConfigError(
      `${label} has an inputSchema whose JSON Schema is a promise; Baton needs it when the agent is defined. Pass the JSON Schema object itself to jsonSchema().`,
    );
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new ConfigError(`${label} has an inputSchema whose JSON Schema is not an object.`);
  const { $schema: _dialect, ...rest } = json as JSONSchema7;
  return rest;
}

/**
 * A JSON Schema tool input: every call is checked against the JSON Schema (as MCP tools are);
 * the schema's own `validate`, when it has one, runs before `execute` (it may be async).
 */
function fromJsonSchema(label: string, json: JSONSchema7, validate: Validate | undefined): ConvertedSchema {
  const { z } = loadZod();
  let input: ZodType;
  try {
    input = z.fromJSONSchema(json as never);
  } catch {
    // A JSON Schema zod cannot follow (remote $refs, ...): the model still gets it; the tool's validate (if any) checks.
    if (json.type !== undefined && json.type !== 'object')
      throw new ConfigError(
        `${label} has an inputSchema of type "${String(json.type)}"; tool input is an object.`,
      );
    input = z.record(z.string(), z.unknown());
  }
  return { input, json, validate };
}

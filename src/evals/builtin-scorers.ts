/** Built-in scorers: exact match, contains, JSON Schema validity, expected tool calls, and cost, latency and token limits. */

import { type ZodType, z } from 'zod';
import { ConfigError } from '../core/errors.js';
import { withoutCodeFence } from '../core/json-value.js';
import { canonicalJson } from '../governance/canonical-json.js';
import {
  checkScorerName,
  type EvalSubject,
  type ExpectedToolCall,
  round,
  type Score,
  type Scorer,
  type ToolCallSeen,
} from './scorer.js';

const pass = (reason: string): Score => ({ score: 1, pass: true, reason });
const fail = (reason: string, score = 0): Score => ({ score, pass: false, reason });

/** A run that did not complete has no output to score. */
function notCompleted(subject: EvalSubject): Score | undefined {
  if (subject.status === 'completed') return undefined;
  const why = subject.error === undefined ? '' : `: ${subject.error.message}`;
  return fail(`the run did not complete (${subject.status}${why})`);
}

/** A value as text: strings as they are, anything else as JSON. */
function asText(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

/** Shortens a value for a reason line. */
function shown(value: unknown, limit = 80): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

/** Options of `exactMatch()`. */
export interface ExactMatchOptions {
  /** The expected output; default the case's `expected`. */
  expected?: unknown;
  /** Compare strings after trimming white space at both ends. Default true. */
  trim?: boolean;
  /** Compare strings ignoring case. Default false. */
  ignoreCase?: boolean;
  name?: string;
}

/**
 * The output equals the expected value: strings compared as text (trimmed by default), other
 * values as JSON with keys in any order.
 *
 * @example
 * ```ts
 * exactMatch(); // against each case's `expected`
 * exactMatch({ expected: 'A-1001', ignoreCase: true });
 * ```
 */
export function exactMatch(options: ExactMatchOptions = {}): Scorer {
  const name = checkScorerName(options.name ?? 'exact', 'exactMatch()');
  const trim = options.trim ?? true;
  const ignoreCase = options.ignoreCase ?? false;
  const normal = (text: string): string => {
    const trimmed = trim ? text.trim() : text;
    return ignoreCase ? trimmed.toLowerCase() : trimmed;
  };
  return {
    kind: 'scorer',
    name,
    score(subject) {
      const expected = 'expected' in options ? options.expected : subject.expected;
      if (expected === undefined) return fail('the case gives no expected output');
      const stopped = notCompleted(subject);
      if (stopped !== undefined) return stopped;
      const output = subject.output;
      const same =
        typeof expected === 'string' && typeof output === 'string'
          ? normal(expected) === normal(output)
          : canonicalJson(expected ?? null) === canonicalJson(output ?? null);
      return same
        ? pass('equal to the expected output')
        : fail(`expected ${shown(expected)}, got ${shown(output)}`);
    },
  };
}

/** Options of `contains()`. */
export interface ContainsOptions {
  /** Text the output must contain; default the case's `contains`. */
  text?: string | readonly string[];
  /** Default false. */
  ignoreCase?: boolean;
  name?: string;
}

/**
 * The output (as text; JSON for other values) contains every given text. Scores the fraction
 * found; passes when all are.
 *
 * @example
 * ```ts
 * contains({ text: ['refund', 'A-1001'], ignoreCase: true });
 * ```
 */
export function contains(options: ContainsOptions = {}): Scorer {
  const name = checkScorerName(options.name ?? 'contains', 'contains()');
  const ignoreCase = options.ignoreCase ?? false;
  if (options.text !== undefined) needles(options.text, 'contains(): text');
  return {
    kind: 'scorer',
    name,
    score(subject) {
      const wanted = options.text ?? subject.case.contains;
      if (wanted === undefined) return fail('the case gives no text to look for (contains)');
      const stopped = notCompleted(subject);
      if (stopped !== undefined) return stopped;
      const list = needles(wanted, `case "${subject.case.id}": contains`);
      const output = ignoreCase ? asText(subject.output).toLowerCase() : asText(subject.output);
      const missing = list.filter((text) => !output.includes(ignoreCase ? text.toLowerCase() : text));
      const found = list.length - missing.length;
      return missing.length === 0
        ? pass(`contains ${list.map((text) => JSON.stringify(text)).join(', ')}`)
        : fail(`missing ${missing.map((text) => JSON.stringify(text)).join(', ')}`, found / list.length);
    },
  };
}

function needles(value: unknown, where: string): string[] {
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.some((text) => typeof text !== 'string' || text === '')
  )
    throw new ConfigError(`${where}: must be a non-empty string or a non-empty list of them.`, {
      code: 'INVALID_OPTION',
    });
  return list as string[];
}

/** A schema `matchesSchema()` accepts: a zod schema, or a JSON Schema object. */
export type OutputSchema = ZodType | Readonly<Record<string, unknown>>;

/**
 * The output satisfies a schema: a zod schema or a JSON Schema (default the case's `schema`).
 * A text output is parsed as JSON first (a fenced ```json block too).
 *
 * @example
 * ```ts
 * matchesSchema({ schema: z.object({ orderId: z.string(), refund: z.boolean() }) });
 * ```
 */
export function matchesSchema(options: { schema?: OutputSchema; name?: string } = {}): Scorer {
  const name = checkScorerName(options.name ?? 'schema', 'matchesSchema()');
  const fixed = options.schema === undefined ? undefined : toZod(options.schema, 'matchesSchema(): schema');
  const converted = new WeakMap<object, ZodType>();
  return {
    kind: 'scorer',
    name,
    score(subject) {
      let schema = fixed;
      if (schema === undefined) {
        const given = subject.case.schema;
        if (given === undefined) return fail('the case gives no schema');
        schema = converted.get(given) ?? toZod(given, `case "${subject.case.id}": schema`);
        converted.set(given, schema);
      }
      const stopped = notCompleted(subject);
      if (stopped !== undefined) return stopped;
      let value = subject.output;
      if (typeof value === 'string') {
        const text = withoutCodeFence(value);
        try {
          value = JSON.parse(text);
        } catch {
          return fail(`the output is not JSON: ${shown(subject.output)}`);
        }
      }
      const parsed = schema.safeParse(value);
      if (parsed.success) return pass('matches the schema');
      const issue = parsed.error.issues[0];
      const path = issue === undefined || issue.path.length === 0 ? '' : ` at ${issue.path.join('.')}`;
      return fail(`does not match the schema${path}: ${issue?.message ?? 'invalid'}`);
    },
  };
}

function toZod(schema: OutputSchema, where: string): ZodType {
  if (typeof (schema as ZodType).safeParse === 'function') return schema as ZodType;
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema))
    throw new ConfigError(`${where}: must be a zod schema or a JSON Schema object.`, {
      code: 'INVALID_OPTION',
    });
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) as ZodType;
  } catch (error) {
    throw new ConfigError(`${where}: not a JSON Schema zod can read: ${(error as Error).message}`, {
      code: 'INVALID_OPTION',
    });
  }
}

/** Options of `toolCalls()`. */
export interface ToolCallsOptions {
  /** The calls expected; default the case's `toolCalls`. */
  expected?: readonly ExpectedToolCall[];
  /**
   * `in-order` (default): the expected calls appear in this order, other calls may come between;
   * `exact`: the run made exactly these calls in this order; `any`: each appears, in any order.
   */
  order?: 'in-order' | 'exact' | 'any';
  name?: string;
}

/**
 * The run made the expected tool calls: names, order, and arguments (an expected `args` object
 * must be contained in the call's arguments; other values must be equal). Scores the fraction
 * of expected calls matched; `exact` also fails on calls not expected.
 *
 * @example
 * ```ts
 * toolCalls({ expected: [{ name: 'lookupOrder', args: { orderId: 'A-1001' } }, { name: 'refund' }] });
 * ```
 */
export function toolCalls(options: ToolCallsOptions = {}): Scorer {
  const name = checkScorerName(options.name ?? 'tools', 'toolCalls()');
  const order = options.order ?? 'in-order';
  if (!['in-order', 'exact', 'any'].includes(order))
    throw new ConfigError(`toolCalls(): order must be in-order, exact or any; got ${String(order)}.`, {
      code: 'INVALID_OPTION',
    });
  if (options.expected !== undefined) checkExpectedCalls(options.expected, 'toolCalls(): expected');
  return {
    kind: 'scorer',
    name,
    score(subject) {
      const expected = options.expected ?? subject.case.toolCalls;
      if (expected === undefined) return fail('the case gives no expected tool calls');
      return matchCalls(expected, subject.toolCalls, order);
    },
  };
}

/** Checks a list of expected tool calls (`[{ name, args? }]`). */
export function checkExpectedCalls(value: unknown, where: string): readonly ExpectedToolCall[] {
  if (!Array.isArray(value))
    throw new ConfigError(`${where}: must be a list of { name, args? }.`, { code: 'INVALID_OPTION' });
  value.forEach((call, index) => {
    if (typeof call !== 'object' || call === null || typeof (call as ExpectedToolCall).name !== 'string')
      throw new ConfigError(`${where}[${index}]: must be { name, args? } with a tool name.`, {
        code: 'INVALID_OPTION',
      });
    const extra = Object.keys(call).filter((key) => key !== 'name' && key !== 'args');
    if (extra.length > 0)
      throw new ConfigError(`${where}[${index}]: unknown field "${extra[0]}" (a call has name and args).`, {
        code: 'INVALID_OPTION',
      });
  });
  return value as ExpectedToolCall[];
}

function matchCalls(
  expected: readonly ExpectedToolCall[],
  made: readonly ToolCallSeen[],
  order: 'in-order' | 'exact' | 'any',
): Score {
  const describe = (call: ExpectedToolCall) =>
    call.args === undefined ? call.name : `${call.name}(${shown(call.args, 60)})`;
  const names = made.map((call) => call.name).join(', ') || 'none';
  if (expected.length === 0) {
    if (order !== 'exact' || made.length === 0) return pass('no tool calls expected');
    return fail(`expected no tool calls; made ${names}`);
  }
  const matches = (call: ToolCallSeen | undefined, want: ExpectedToolCall): boolean =>
    call !== undefined &&
    call.name === want.name &&
    (want.args === undefined || containsValue(call.args, want.args));
  const missing: ExpectedToolCall[] = [];
  let extra = 0;
  if (order === 'exact') {
    // Position by position: the i-th call made must be the i-th expected.
    expected.forEach((want, index) => {
      if (!matches(made[index], want)) missing.push(want);
    });
    extra = Math.max(0, made.length - expected.length);
  } else {
    const used = new Set<number>();
    let from = 0;
    for (const want of expected) {
      let found = -1;
      for (let index = order === 'any' ? 0 : from; index < made.length; index++) {
        if (!used.has(index) && matches(made[index], want)) {
          found = index;
          break;
        }
      }
      if (found < 0) missing.push(want);
      else {
        used.add(found);
        from = found + 1;
      }
    }
  }
  const matched = expected.length - missing.length;
  const score = matched / (expected.length + extra);
  if (missing.length === 0 && extra === 0) return pass(`made ${expected.map(describe).join(', ')}`);
  const parts = [];
  if (missing.length > 0)
    parts.push(
      `${order === 'any' ? 'missing' : 'missing or out of order'}: ${missing.map(describe).join(', ')}`,
    );
  if (extra > 0) parts.push(`${extra} call${extra === 1 ? '' : 's'} not expected`);
  return fail(`${parts.join('; ')} (made ${names})`, round(score));
}

/** Whether `actual` contains `wanted`: objects by their given keys (recursively), other values by equality. */
function containsValue(actual: unknown, wanted: unknown): boolean {
  if (typeof wanted === 'object' && wanted !== null && !Array.isArray(wanted)) {
    if (typeof actual !== 'object' || actual === null || Array.isArray(actual)) return false;
    return Object.entries(wanted).every(
      ([key, value]) =>
        Object.hasOwn(actual, key) && containsValue((actual as Record<string, unknown>)[key], value),
    );
  }
  return canonicalJson(actual ?? null) === canonicalJson(wanted ?? null);
}

function limitScorer(
  name: string,
  limit: number,
  what: string,
  measure: (subject: EvalSubject) => number,
  unit: (value: number) => string,
): Scorer {
  if (typeof limit !== 'number' || !Number.isFinite(limit) || limit < 0)
    throw new ConfigError(`${name}(): the limit must be a finite number ≥ 0; got ${String(limit)}.`, {
      code: 'INVALID_OPTION',
    });
  return {
    kind: 'scorer',
    name,
    score(subject) {
      const value = measure(subject);
      if (value <= limit) return pass(`${what} ${unit(value)} ≤ ${unit(limit)}`);
      return fail(`${what} ${unit(value)} > ${unit(limit)}`, round(limit / value));
    },
  };
}

const usd = (value: number) => `$${value.toFixed(value < 0.01 ? 6 : 4)}`;

/** The case's run cost at most `usd` dollars. Over the limit it scores `limit ÷ cost`. */
export function maxCost(limitUsd: number): Scorer {
  return limitScorer('cost', limitUsd, 'cost', (subject) => subject.costUsd, usd);
}

/** The case's run took at most `ms` milliseconds, from creation to end. Over it scores `limit ÷ time`. */
export function maxLatency(limitMs: number): Scorer {
  return limitScorer(
    'latency',
    limitMs,
    'took',
    (subject) => subject.durationMs,
    (value) => `${Math.round(value)} ms`,
  );
}

/** The case's run used at most `tokens` tokens (input and output). Over it scores `limit ÷ tokens`. */
export function maxTokens(limit: number): Scorer {
  return limitScorer(
    'tokens',
    limit,
    'used',
    (subject) => subject.usage.totalTokens,
    (value) => `${value} tokens`,
  );
}

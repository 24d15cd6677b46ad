/** What an open wait expects of its signal: the schema a `waitFor` declares, recorded as JSON Schema so any process can check an answer. */

import type { ZodType, z } from 'zod';
import { ConfigError } from './errors.js';
import { loadZod } from './load-zod.js';
import type { Store } from './store.js';

/**
 * One signal a suspended run waits for, as recorded when it suspended: its name and, when the
 * wait declared `schema`, the JSON Schema its payload must match.
 *
 * @example
 * ```ts
 * const wait: OpenWait = { signal: 'approval', schema: { type: 'object', required: ['approved'] } };
 * ```
 */
export interface OpenWait {
  signal: string;
  schema?: Record<string, unknown>;
}

/**
 * The record stream where a run notes, each time it suspends, the signals it waits for
 * (`{ waits: OpenWait[] }`); the newest record describes the open waits.
 *
 * @example
 * ```ts
 * const records = await store.readRecords(waitsStream(runId));
 * ```
 */
export function waitsStream(runId: string): string {
  return `waits:${runId}`;
}

/**
 * The open waits of the newest record of `waits:<runId>` (`[]` when there is none, or when
 * the record is not one: the store is read as untrusted).
 *
 * @example
 * ```ts
 * const open = newestWaits(await store.readRecords(waitsStream(runId)));
 * ```
 */
export function newestWaits(records: readonly { data: unknown }[]): OpenWait[] {
  const waits = (records.at(-1)?.data as { waits?: unknown } | null | undefined)?.waits;
  if (!Array.isArray(waits)) return [];
  return waits.filter(
    (wait): wait is OpenWait =>
      typeof wait === 'object' &&
      wait !== null &&
      typeof wait.signal === 'string' &&
      (wait.schema === undefined || (typeof wait.schema === 'object' && wait.schema !== null)),
  );
}

/**
 * The JSON Schema of what a wait accepts (the schema's input side), or `undefined` when zod
 * cannot express it in JSON Schema (then only the process running the workflow checks it).
 *
 * @example
 * ```ts
 * waitSchemaJson(z.object({ approved: z.boolean() })); // { type: 'object', properties: ..., required: ['approved'] }
 * ```
 */
export function waitSchemaJson(schema: ZodType): Record<string, unknown> | undefined {
  try {
    const json = loadZod().z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as Record<
      string,
      unknown
    >;
    delete json.$schema;
    return json;
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a payload for `schema` (a zod schema, or a recorded JSON Schema), in one
 * line, or `undefined` when it matches.
 *
 * @example
 * ```ts
 * payloadProblem(z.object({ approved: z.boolean() }), { approve: true }); // 'approved: expected boolean, received undefined; ...'
 * ```
 */
export function payloadProblem(
  schema: ZodType | Record<string, unknown>,
  payload: unknown,
): string | undefined {
  let checked: ZodType;
  try {
    checked = isZodType(schema)
      ? schema
      : loadZod().z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);
  } catch {
    // A recorded schema this version cannot read: the workflow's own schema checks it when it runs.
    return undefined;
  }
  const result = checked.safeParse(payload);
  if (result.success) return undefined;
  return describeIssues(result.error.issues);
}

function isZodType(value: unknown): value is ZodType {
  return typeof (value as { safeParse?: unknown }).safeParse === 'function';
}

type Issue = z.core.$ZodIssue;

/** Issues as `path: message` pairs; of a union's alternatives, the one that got furthest. */
function describeIssues(issues: readonly Issue[]): string {
  return issues.map(describeIssue).join('; ');
}

function describeIssue(issue: Issue): string {
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const closest = [...issue.errors].sort((left, right) => score(left) - score(right))[0] as Issue[];
    const prefix = issue.path.map(String).join('.');
    const inner = describeIssues(closest);
    return prefix === '' ? inner : `${prefix}.${inner}`;
  }
  const where = issue.path.length === 0 ? '' : `${issue.path.map(String).join('.')}: `;
  return `${where}${issue.message}`;
}

/** How far an alternative is from matching: a wrong type at the top is the worst. */
function score(issues: readonly Issue[]): number {
  return issues.reduce(
    (total, issue) => total + (issue.path.length === 0 && issue.code === 'invalid_type' ? 100 : 1),
    0,
  );
}

/**
 * Checks a signal against what the run's newest suspension recorded for it; throws a
 * `ConfigError` coded `INVALID_SIGNAL_PAYLOAD` naming the run, the wait and what is wrong, so
 * a bad answer is refused before it is stored and the run keeps waiting. Signals the run does
 * not (yet) wait for, and waits without a schema, pass.
 *
 * @example
 * ```ts
 * await checkSignalPayload(store, runId, 'approval', { approve: true }); // throws: approved: ...
 * ```
 */
export async function checkSignalPayload(
  store: Store,
  runId: string,
  signal: string,
  payload: unknown,
): Promise<void> {
  const wait = newestWaits(await store.readRecords(waitsStream(runId))).find(
    (open) => open.signal === signal,
  );
  if (wait?.schema === undefined) return;
  const problem = payloadProblem(wait.schema, payload);
  if (problem === undefined) return;
  throw new ConfigError(
    `Run ${runId} waits for "${signal}" with a payload of ${JSON.stringify(wait.schema)}; ` +
      `got ${JSON.stringify(payload) ?? String(payload)} (${problem}). Nothing was stored: the run keeps waiting for a valid answer.`,
    { runId, code: 'INVALID_SIGNAL_PAYLOAD' },
  );
}

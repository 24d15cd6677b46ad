/** The zod schemas of the HTTP API: what validates requests is what the OpenAPI document describes. */

import { z } from 'zod';
import type { RunRecord } from '../index.js';

const runStatuses = ['running', 'suspended', 'completed', 'failed', 'cancelled', 'budget-exceeded'] as const;

/** Path parameters of `/v1/runs/:id/...`. */
export const runParams = z.strictObject({ id: z.string().min(1).max(200).describe('The run id') });

/** Body of `POST /v1/runs`. */
export const startRunBody = z.strictObject({
  target: z.string().min(1).max(200).describe('Name of a served workflow, agent, pattern or team'),
  input: z.unknown().optional().describe('The run input, checked against the target input schema'),
  threadId: z.string().min(1).max(200).optional().describe('Groups runs of one conversation'),
});

/** A time in a query: milliseconds since the epoch, or an ISO 8601 date (`2026-01-31`, `2026-01-31T09:00:00Z`). */
const timeParam = z
  .string()
  .min(1)
  .max(40)
  .transform((text, context) => {
    const time = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
    if (!Number.isSafeInteger(time) || time < 0) {
      context.addIssue({
        code: 'custom',
        message: `"${text}" is not a time: use milliseconds since the epoch or an ISO 8601 date`,
      });
      return z.NEVER;
    }
    return time;
  });

/** Query of `GET /v1/runs`. */
export const listRunsQuery = z.strictObject({
  status: z.enum(runStatuses).optional(),
  target: z.string().min(1).optional(),
  thread: z.string().min(1).optional(),
  after: timeParam.optional().describe('Runs created at or after this time (ms since the epoch or ISO 8601)'),
  before: timeParam.optional().describe('Runs created before this time (ms since the epoch or ISO 8601)'),
  waiting: z
    .enum(['1'])
    .optional()
    .describe('1: only runs waiting for a person (suspended with an unanswered request in the inbox)'),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe(
      'Search: the run with this id, runs of this thread, and runs of the served targets whose names contain it (any case)',
    ),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  cursor: z.string().min(1).max(500).optional().describe('nextCursor of the previous page'),
});

/** Body of `POST /v1/runs/:id/signal`. */
export const signalBody = z.strictObject({
  name: z.string().min(1).max(200).describe('The signal the run waits for (ctx.waitFor)'),
  payload: z.unknown().optional().describe("Checked against the wait's schema; default null"),
});

/** Query of `GET /v1/runs/:id/events`. */
export const eventsQuery = z.strictObject({
  content: z.enum(['0', '1']).optional().describe('1: step events carry their result'),
});

const usage = z.object({ inputTokens: z.number(), outputTokens: z.number(), totalTokens: z.number() });
const serializedError = z.looseObject({ name: z.string(), message: z.string(), code: z.string().optional() });

/** A run as the API returns it (the stored record without its lease). */
export const runSchema = z.object({
  id: z.string(),
  target: z.string(),
  targetVersion: z.string(),
  input: z.unknown(),
  status: z.enum(runStatuses),
  output: z.unknown().optional(),
  error: serializedError.optional(),
  threadId: z.string().optional(),
  source: z.string().optional(),
  usage,
  costUsd: z.number(),
  createdAt: z.number(),
  updatedAt: z.number(),
  endedAt: z.number().optional(),
  wakeAt: z.number().optional(),
  trace: z.string().optional(),
  schemaVersion: z.number(),
  waitingFor: z
    .array(z.string())
    .optional()
    .describe(
      'A suspended run: the signals it waits for (approval:<call>, human:<member>, a waitFor name, child:<run>); [] while it only sleeps until wakeAt. In GET /v1/runs, GET /v1/runs/:id and GET /v1/events',
    ),
  forkedFrom: z
    .object({
      runId: z.string().describe('The run it was forked from'),
      at: z.string().describe('The key of the step it ran again; the steps before it are shared'),
      step: z
        .number()
        .int()
        .optional()
        .describe("That step's position in the origin's journal, from 1 (as ?step= on its dashboard page)"),
    })
    .optional()
    .describe(
      "A forked run (POST /v1/runs/:id/fork): where it came from. In GET /v1/runs/:id and the fork's 201",
    ),
});

/** A page of `GET /v1/runs`. */
export const runPageSchema = z.object({ runs: z.array(runSchema), nextCursor: z.string().nullable() });

/** One journal entry. */
export const journalEntrySchema = z.looseObject({
  runId: z.string(),
  key: z.string(),
  name: z.string(),
  kind: z.string(),
  status: z.enum(['completed', 'failed']),
  result: z.unknown().optional(),
  error: serializedError.optional(),
  startedAt: z.number(),
  endedAt: z.number(),
});

/** Answer of `GET /v1/runs/:id/journal`. */
export const journalSchema = z.object({
  entries: z.array(journalEntrySchema),
  held: z
    .number()
    .int()
    .describe(
      "Entries of a running run recorded but not yet shown: a guardrail's decision on them may follow",
    ),
});

/** Answer of `GET /v1/targets`. */
export const targetsSchema = z.object({
  targets: z.array(
    z.object({
      name: z.string(),
      kind: z.enum(['workflow', 'agent', 'pattern']),
      version: z.string(),
      source: z.string().optional(),
      inputSchema: z.record(z.string(), z.unknown()).optional(),
    }),
  ),
});

/** Every error answer. */
export const errorSchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    issues: z
      .array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }))
      .optional(),
  }),
});

/**
 * A run as the API shows it: the record without `leaseOwner` and `leaseExpiresAt` (which process
 * holds it is the server's business). Pass it the run as the tenant's `shown` shows it (its
 * input as the guardrails left it).
 *
 * @example
 * ```ts
 * return c.json(runView(await tenant.shown.one(await runtime.get(id))));
 * ```
 */
export function runView(record: RunRecord): Omit<RunRecord, 'leaseOwner' | 'leaseExpiresAt'> {
  const { leaseOwner: _owner, leaseExpiresAt: _expires, ...view } = record;
  return view;
}

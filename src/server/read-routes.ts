/** Read-only routes beyond single runs: a thread (its messages and runs) and run statistics. */

import { z } from 'zod';
import {
  guardedMessages,
  type Message,
  readThreadTurns,
  runStats,
  type StatsDimension,
  type Store,
} from '../index.js';
import { parseDuration } from '../observability/run-stats.js';
import { HttpError } from './http-error.js';
import { type Route, reaches, reachesAll } from './route.js';
import { runSchema, runView } from './schemas.js';

const threadParams = z.strictObject({ id: z.string().min(1).max(200).describe('The thread id') });

const threadQuery = z.strictObject({
  runs: z.coerce.number().int().min(0).max(100).default(20).describe('How many of its newest runs to list'),
});

const threadSchema = z.object({
  id: z.string(),
  messages: z.array(z.looseObject({ role: z.string(), content: z.unknown() })),
  runs: z.array(runSchema),
});

const dimensions = ['workflow', 'agent', 'model', 'tool'] as const satisfies readonly StatsDimension[];

const statsQuery = z.strictObject({
  since: z
    .string()
    .min(1)
    .max(20)
    .default('24h')
    .describe('Runs created within this long ago: 90m, 24h, 7d; all for every run'),
  by: z.enum(dimensions).default('workflow').describe('Rows by workflow, agent, model or tool'),
  bucket: z
    .string()
    .min(1)
    .max(20)
    .optional()
    .describe(
      'Also split into time buckets this wide (1h, 1d; at least 1m, at most 1,000 buckets), oldest first',
    ),
});

const statsRow = z.looseObject({
  key: z.string(),
  count: z.number(),
  ended: z.number(),
  completed: z.number(),
  failed: z.number(),
  completionRate: z.number().nullable(),
  latencyP50Ms: z.number().nullable(),
  latencyP95Ms: z.number().nullable(),
  inputTokens: z.number(),
  outputTokens: z.number(),
  costUsd: z.number(),
  errorRate: z.number().nullable(),
  errorsByClass: z.record(z.string(), z.number()),
});

const statsSchema = z.object({
  since: z.number().nullable(),
  by: z.enum(dimensions),
  total: statsRow,
  rows: z.array(statsRow),
  bucketMs: z.number().optional().describe('With ?bucket=: the width of each bucket in ms'),
  buckets: z
    .array(z.object({ start: z.number(), total: statsRow, rows: z.array(statsRow) }))
    .optional()
    .describe('With ?bucket=: every bucket from since (or the first run) to now, empty ones included'),
});

/** A duration in a query (`24h`, `7d`); 400 naming the parameter otherwise. */
function duration(text: string, name: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw invalidQuery(name, (error as Error).message);
  }
}

function invalidQuery(name: string, message: string): HttpError {
  return new HttpError(400, 'INVALID_REQUEST', `Invalid request query: ${name}: ${message}`, [
    { path: [name], message },
  ]);
}

/**
 * A thread's messages as its runs' guardrails left them: a run whose messages hold tool calls has
 * its journal read, for the arguments a `tool-input` guardrail rewrote (`guardedMessages`).
 */
async function shownMessages(store: Store, threadId: string): Promise<Message[]> {
  const turns = await readThreadTurns(store, threadId);
  const shown = await Promise.all(
    turns.map(async ({ runId, messages }) => {
      const calls = messages.some(
        (message) =>
          message.role === 'assistant' &&
          Array.isArray(message.content) &&
          message.content.some((part) => part.type === 'tool-call'),
      );
      return calls ? guardedMessages(messages, await store.loadJournal(runId)) : messages;
    }),
  );
  return shown.flat();
}

/** When the store's first run was created (the oldest of a newest-first list is read page by page). */
async function oldestRunTime(store: Store): Promise<number | undefined> {
  let oldest: number | undefined;
  let before: number | undefined;
  for (;;) {
    const page = await store.listRuns(
      before === undefined ? { limit: 500 } : { limit: 500, createdBefore: before },
    );
    const last = page.at(-1);
    if (last === undefined) return oldest;
    oldest = last.createdAt;
    if (page.length < 500) return oldest;
    before = last.createdAt;
  }
}

/**
 * `GET /v1/threads/:id` and `GET /v1/stats`.
 *
 * @example
 * ```ts
 * routes.push(...readRoutes());
 * ```
 */
export function readRoutes(): Route[] {
  return [
    {
      method: 'get',
      path: '/v1/threads/:id',
      operationId: 'getThread',
      summary: 'A thread: its messages (oldest first) and its newest runs',
      scope: 'read',
      params: threadParams,
      query: threadQuery,
      responses: { 200: { description: 'The thread', schema: threadSchema } },
      async handle(c, { params, query, key, tenant }) {
        const id = params.id ?? '';
        const limit = query.runs as number;
        // Every run of the thread, to check the key reaches all of them: a thread's messages mix its runs'.
        const runs = await tenant.store.listRuns({ threadId: id });
        const outside = runs.find((run) => !reaches(key, run.target));
        if (outside !== undefined)
          throw new HttpError(
            403,
            'FORBIDDEN',
            `Thread "${id}" has runs of target "${outside.target}", which this key does not reach.`,
          );
        const messages = await shownMessages(tenant.store, id);
        if (runs.length === 0 && messages.length === 0)
          throw new HttpError(
            404,
            'THREAD_NOT_FOUND',
            `No thread "${id}": no run was started with this threadId.`,
          );
        const shown = await tenant.shown.many(runs.slice(0, limit));
        return c.json({ id, messages, runs: shown.map(runView) });
      },
    },
    {
      method: 'get',
      path: '/v1/stats',
      operationId: 'getStats',
      summary:
        'Statistics of recent runs: completion, latency, tokens, cost, errors; by workflow, agent, model or tool',
      scope: 'read',
      query: statsQuery,
      responses: { 200: { description: 'The statistics', schema: statsSchema } },
      async handle(c, { query, key, tenant }) {
        if (!reachesAll(key))
          throw new HttpError(
            403,
            'FORBIDDEN',
            'Statistics span every target: they need a key that is not limited to targets.',
          );
        const request = query as z.infer<typeof statsQuery>;
        const now = Date.now();
        const since = request.since === 'all' ? undefined : now - duration(request.since, 'since');
        let bucketMs: number | undefined;
        if (request.bucket !== undefined) {
          bucketMs = duration(request.bucket, 'bucket');
          if (bucketMs < 60_000) throw invalidQuery('bucket', 'a bucket is at least 1m wide');
          const from = since ?? (await oldestRunTime(tenant.store)) ?? now;
          const count = Math.floor(now / bucketMs) - Math.floor(from / bucketMs) + 1;
          if (count > 1000)
            throw invalidQuery(
              'bucket',
              `${count} buckets of ${request.bucket} would be needed, at most 1000: use wider buckets or a shorter since`,
            );
        }
        const stats = await runStats(tenant.store, {
          by: request.by,
          now,
          ...(since === undefined ? {} : { since }),
          ...(bucketMs === undefined ? {} : { bucketMs }),
        });
        return c.json({ ...stats, since: stats.since ?? null });
      },
    },
  ];
}

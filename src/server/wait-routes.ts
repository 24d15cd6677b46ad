/** Routes for waits a person answers: the inbox, approving or rejecting a tool call, replying for a human member. */

import { z } from 'zod';
import { type ApprovalDecision, listPending, type PendingRequest } from '../index.js';
import type { ApiKeyInfo } from './api-keys.js';
import { HttpError } from './http-error.js';
import { type Route, reaches, readRun, type Tenant } from './route.js';
import { runSchema, runView } from './schemas.js';

const inboxQuery = z.strictObject({
  run: z.string().min(1).max(200).optional().describe('Only this run'),
  target: z.string().min(1).max(200).optional().describe('Only runs of this target'),
});

const pendingSchema = z.looseObject({
  kind: z.enum(['approval', 'human', 'signal']),
  runId: z.string(),
  target: z.string(),
  signal: z.string().describe('The signal that answers it'),
  since: z.number(),
  answered: z.boolean().describe('The answer is stored; the run only needs resuming'),
  tool: z.string().optional(),
  toolCallId: z.string().optional(),
  input: z.unknown().optional(),
  member: z.string().optional(),
  prompt: z.string().optional(),
  deadline: z.number().optional(),
});

const inboxSchema = z.object({ requests: z.array(pendingSchema) });

const approvalParams = z.strictObject({
  id: z.string().min(1).max(200).describe('The run id'),
  call: z.string().min(1).max(200).describe('The tool call id (toolCallId in the inbox)'),
});

const approvalBody = z
  .strictObject({
    approved: z.boolean(),
    reason: z.string().min(1).max(2000).optional().describe('Why; a rejection needs one (the model sees it)'),
    by: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe('Who decides (recorded in the audit log with the key id)'),
  })
  .refine((body) => body.approved || body.reason !== undefined, {
    message: 'A rejection needs a reason the model can act on',
    path: ['reason'],
  });

const replyParams = z.strictObject({ id: z.string().min(1).max(200).describe('The run id') });

const replyBody = z.strictObject({
  member: z
    .string()
    .min(1)
    .max(200)
    .describe('The human member answering (its name, with or without human:)'),
  text: z.string().min(1).max(100_000).describe('The answer'),
});

/**
 * The routes of waits for a person. Answers go through the `approve` scope: approving or
 * rejecting a tool call, replying for a human member (and, in the signal route, any signal named
 * `approval:…` or `human:…`).
 *
 * @example
 * ```ts
 * routes.push(...waitRoutes());
 * ```
 */
export function waitRoutes(): Route[] {
  return [
    {
      method: 'get',
      path: '/v1/inbox',
      operationId: 'listInbox',
      summary:
        'Every wait a person can answer: approvals, human members, plain waitFor signals (oldest first)',
      scope: 'read',
      query: inboxQuery,
      responses: { 200: { description: 'The pending requests', schema: inboxSchema } },
      async handle(c, { query, key, tenant }) {
        const request = query as z.infer<typeof inboxQuery>;
        if (request.run !== undefined) await readRun(tenant, request.run, key);
        const pending = await listPending(
          tenant.store,
          request.run === undefined ? {} : { runId: request.run },
        );
        const requests = pending.filter(
          (entry) =>
            reaches(key, entry.target) && (request.target === undefined || entry.target === request.target),
        );
        return c.json({ requests });
      },
    },
    {
      method: 'post',
      path: '/v1/runs/:id/approvals/:call',
      operationId: 'answerApproval',
      summary: 'Approve or reject a tool call that waits for approval; the run continues',
      scope: 'approve',
      params: approvalParams,
      body: approvalBody,
      responses: { 202: { description: 'The answer is stored; the run as it is now', schema: runSchema } },
      async handle(c, { params, body, key, tenant }) {
        const answer = body as z.infer<typeof approvalBody>;
        const run = await readRun(tenant, params.id, key);
        const request = await pendingOne(
          tenant,
          run.id,
          (entry) => entry.kind === 'approval' && entry.toolCallId === params.call,
          `an approval of call "${params.call}"`,
        );
        const decision: ApprovalDecision = { approved: answer.approved, by: decider(answer.by, key) };
        if (answer.reason !== undefined) decision.reason = answer.reason;
        // Bound to the arguments the inbox showed: the call runs only if they still hash the same.
        if (request.inputHash !== undefined) decision.inputHash = request.inputHash;
        await tenant.runtime.signal(run.id, request.signal, decision);
        return c.json(runView(await tenant.shown.one(await tenant.runtime.get(run.id))), 202);
      },
    },
    {
      method: 'post',
      path: '/v1/runs/:id/reply',
      operationId: 'replyAsMember',
      summary: 'Answer for a human member of a team; the run continues',
      scope: 'approve',
      params: replyParams,
      body: replyBody,
      responses: { 202: { description: 'The answer is stored; the run as it is now', schema: runSchema } },
      async handle(c, { params, body, key, tenant }) {
        const reply = body as z.infer<typeof replyBody>;
        const run = await readRun(tenant, params.id, key);
        const member = reply.member.startsWith('human:') ? reply.member.slice('human:'.length) : reply.member;
        const request = await pendingOne(
          tenant,
          run.id,
          (entry) => entry.kind === 'human' && entry.signal === `human:${member}`,
          `an answer from human member "${member}"`,
        );
        await tenant.runtime.signal(run.id, request.signal, { text: reply.text });
        return c.json(runView(await tenant.shown.one(await tenant.runtime.get(run.id))), 202);
      },
    },
  ];
}

/** The one unanswered request of the run that `matches`: 404 when there is none, 409 when it is already answered. */
async function pendingOne(
  tenant: Tenant,
  runId: string,
  matches: (request: PendingRequest) => boolean,
  what: string,
): Promise<PendingRequest> {
  const pending = await listPending(tenant.store, { runId });
  const found = pending.filter(matches);
  const open = found.find((request) => !request.answered);
  if (open !== undefined) return open;
  if (found.length > 0)
    throw new HttpError(
      409,
      'ALREADY_ANSWERED',
      `Run ${runId} already has ${what}; it continues with that answer.`,
    );
  const waiting = pending.filter((request) => !request.answered).map(describe);
  throw new HttpError(
    404,
    'REQUEST_NOT_FOUND',
    `Run ${runId} does not wait for ${what}. ${waiting.length === 0 ? 'It waits for nothing a person answers.' : `It waits for: ${waiting.join('; ')}.`}`,
  );
}

function describe(request: PendingRequest): string {
  if (request.kind === 'approval') return `approval of call ${request.toolCallId} (${request.tool})`;
  if (request.kind === 'human') return `a reply from ${request.member ?? request.signal}`;
  return `signal ${request.signal}`;
}

/** Who decided, for the audit log: the name given, with the key that said it. */
function decider(by: string | undefined, key: ApiKeyInfo | undefined): string {
  if (key === undefined) return by ?? 'http';
  const keyName = key.name === undefined ? key.id : `${key.id} (${key.name})`;
  return by === undefined ? `api key ${keyName}` : `${by} via api key ${keyName}`;
}

/** The HTTP routes of webhooks (admin keys only): create, list, revoke, and read a subscription's delivery log. */

import type { Context } from 'hono';
import { z } from 'zod';
import type { Store } from '../index.js';
import { HttpError } from './http-error.js';
import type { RouteDoc } from './openapi.js';
import { listWebhookDeliveries } from './webhook-deliveries.js';
import {
  createWebhook,
  listWebhooks,
  revokeWebhook,
  webhookEventTypes,
  webhookProblems,
} from './webhooks.js';

/** A route of this file, in the shape createServer registers (validated params, query and body). */
export interface WebhookRoute extends RouteDoc {
  handle(
    c: Context,
    input: { params: { id?: string }; query: Record<string, unknown>; body: unknown },
  ): Promise<Response>;
}

const webhookParams = z.strictObject({
  id: z.string().min(1).max(200).describe('The subscription id (wh_…)'),
});

const createBody = z.strictObject({
  url: z
    .string()
    .min(1)
    .max(2000)
    .describe('https:// URL to POST events to (http:// only to loopback unless allowHttp)'),
  events: z
    .array(z.string().max(100))
    .min(1)
    .max(20)
    .describe(`Some of ${webhookEventTypes.join(', ')}`),
  targets: z.array(z.string().min(1).max(200)).max(100).optional().describe('Only runs of these targets'),
  description: z.string().max(200).optional(),
  allowHttp: z.boolean().optional().describe('Allow plain http:// to a host that is not loopback'),
});

const deliveriesQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(50),
});

const webhookSchema = z.object({
  id: z.string(),
  url: z.string(),
  events: z.array(z.enum(webhookEventTypes as [string, ...string[]])),
  targets: z.array(z.string()).optional(),
  description: z.string().optional(),
  createdAt: z.number(),
  revokedAt: z.number().optional(),
});

const eventRef = z.object({ id: z.string(), type: z.string(), runId: z.string() });

const deliverySchema = z.object({
  delivery: z.string(),
  webhook: z.string(),
  event: eventRef,
  attempt: z.number().optional(),
  outcome: z.enum(['delivered', 'retry', 'failed', 'cancelled']),
  statusCode: z.number().optional(),
  error: z.string().optional(),
  reason: z.string().optional(),
  durationMs: z.number().optional(),
  at: z.number(),
  nextAt: z.number().optional(),
});

/**
 * The webhook routes over `store`: `POST /v1/webhooks` (answers the secret once),
 * `GET /v1/webhooks`, `POST /v1/webhooks/:id/revoke`, `GET /v1/webhooks/:id/deliveries`; all need
 * an `admin` key.
 */
export function webhookRoutes(store: Store): WebhookRoute[] {
  const known = async (id: string): Promise<void> => {
    if (!(await listWebhooks(store)).some((hook) => hook.id === id))
      throw new HttpError(404, 'WEBHOOK_NOT_FOUND', `No webhook ${id}; GET /v1/webhooks lists them.`);
  };
  return [
    {
      method: 'post',
      path: '/v1/webhooks',
      operationId: 'createWebhook',
      summary: 'Subscribe a URL to run events; the answer holds the signing secret, shown only this once',
      scope: 'admin',
      body: createBody,
      responses: {
        201: {
          description: 'The subscription and its secret',
          schema: webhookSchema.extend({ secret: z.string() }),
        },
      },
      async handle(c, { body }) {
        const request = body as z.infer<typeof createBody>;
        const options = {
          url: request.url,
          events: request.events,
          ...(request.targets === undefined ? {} : { targets: request.targets }),
          ...(request.description === undefined ? {} : { description: request.description }),
          ...(request.allowHttp === undefined ? {} : { allowHttp: request.allowHttp }),
        };
        const problems = webhookProblems(options);
        if (problems.length > 0)
          throw new HttpError(
            400,
            'INVALID_REQUEST',
            `Invalid request body: ${problems.map((problem) => `${problem.path.join('.')}: ${problem.message}`).join('; ')}`,
            problems,
          );
        const { secret, info } = await createWebhook(store, options);
        c.header('Location', `/v1/webhooks/${info.id}`);
        return c.json({ ...info, secret }, 201);
      },
    },
    {
      method: 'get',
      path: '/v1/webhooks',
      operationId: 'listWebhooks',
      summary: 'Every webhook subscription, without secrets',
      scope: 'admin',
      responses: {
        200: { description: 'The subscriptions', schema: z.object({ webhooks: z.array(webhookSchema) }) },
      },
      async handle(c) {
        return c.json({ webhooks: await listWebhooks(store) });
      },
    },
    {
      method: 'post',
      path: '/v1/webhooks/:id/revoke',
      operationId: 'revokeWebhook',
      summary: 'Revoke a subscription: nothing more is sent to it, pending retries included',
      scope: 'admin',
      params: webhookParams,
      responses: { 200: { description: 'The revoked subscription', schema: webhookSchema } },
      async handle(c, { params }) {
        const id = params.id ?? '';
        if (!(await revokeWebhook(store, id)))
          throw new HttpError(404, 'WEBHOOK_NOT_FOUND', `No webhook ${id}; GET /v1/webhooks lists them.`);
        return c.json((await listWebhooks(store)).find((hook) => hook.id === id));
      },
    },
    {
      method: 'get',
      path: '/v1/webhooks/:id/deliveries',
      operationId: 'listWebhookDeliveries',
      summary: "A subscription's delivery log, newest first: attempts with status code, error and duration",
      scope: 'admin',
      params: webhookParams,
      query: deliveriesQuery,
      responses: {
        200: { description: 'The delivery log', schema: z.object({ deliveries: z.array(deliverySchema) }) },
      },
      async handle(c, { params, query }) {
        const id = params.id ?? '';
        await known(id);
        const { limit } = query as z.infer<typeof deliveriesQuery>;
        return c.json({ deliveries: await listWebhookDeliveries(store, id, { limit }) });
      },
    },
  ];
}

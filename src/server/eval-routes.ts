/** `GET /v1/evals`: the stored evals of the served targets (`baton eval`), newest first, each with its comparison to the previous one. */

import { z } from 'zod';
import { HttpError } from './http-error.js';
import { assertTarget, type Route, reaches } from './route.js';

const evalsQuery = z.strictObject({
  target: z.string().min(1).max(200).optional().describe('Only the evals of this target'),
  limit: z.coerce.number().int().min(1).max(100).default(20).describe('At most this many evals per target'),
});

const change = z.object({ previous: z.number(), current: z.number(), delta: z.number() });

const evalSchema = z.looseObject({
  evalId: z.string(),
  target: z.string(),
  targetVersion: z.string(),
  dataset: z.string(),
  startedAt: z.number(),
  endedAt: z.number(),
  summary: z.looseObject({
    cases: z.number(),
    passed: z.number(),
    passRate: z.number(),
    meanScore: z.number(),
    costUsd: z.number(),
  }),
  comparison: z
    .looseObject({
      previousEvalId: z.string(),
      passRate: change,
      meanScore: change,
      regressed: z.boolean(),
      reasons: z.array(z.string()),
      regressedCases: z.array(z.looseObject({ id: z.string() })),
      improvedCases: z.array(z.looseObject({ id: z.string() })),
    })
    .nullable()
    .describe('Against the previous eval of the same target and dataset; null for the first'),
});

/**
 * `GET /v1/evals` (read scope): the evals `baton eval` (or `runEval`) stored for the served
 * targets the key reaches, without their cases (`baton show <evalId>:<caseId>` has each run).
 *
 * @example
 * ```ts
 * routes.push(evalRoute());
 * ```
 */
export function evalRoute(): Route {
  return {
    method: 'get',
    path: '/v1/evals',
    operationId: 'listEvals',
    summary:
      'Stored evals of the served targets, newest first, with their regressions against the previous eval',
    scope: 'read',
    query: evalsQuery,
    responses: { 200: { description: 'The evals', schema: z.object({ evals: z.array(evalSchema) }) } },
    async handle(c, { query, key, tenant }) {
      const request = query as z.infer<typeof evalsQuery>;
      if (request.target !== undefined) {
        assertTarget(key, request.target);
        if (!tenant.served.has(request.target))
          throw new HttpError(404, 'TARGET_NOT_FOUND', `No target "${request.target}" is served.`);
      }
      const targets =
        request.target === undefined
          ? [...tenant.served.keys()].filter((name) => reaches(key, name))
          : [request.target];
      // Evals load with the first request for them (the server does not need them otherwise).
      const { evalHistory } = await import('../evals/index.js');
      const evals = [];
      for (const target of targets) {
        const history = await evalHistory(tenant.store, target);
        for (const report of history.slice(0, request.limit)) {
          const { cases: _cases, comparison, ...rest } = report;
          evals.push({ ...rest, comparison: comparison ?? null });
        }
      }
      evals.sort((left, right) => right.endedAt - left.endedAt);
      return c.json({ evals });
    },
  };
}

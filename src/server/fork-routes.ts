/** Routes that run a recorded run's code again: fork from a step (a new run), and replay (a check that changes nothing). */

import { z } from 'zod';
import { HttpError } from './http-error.js';
import { type Route, readRun, type Tenant } from './route.js';
import { withWaits } from './run-details.js';
import { runParams, runSchema, runView } from './schemas.js';

const forkBody = z.strictObject({
  at: z
    .string()
    .min(1)
    .max(1000)
    .describe('The key of the step to run again (GET /v1/runs/:id/journal); the steps before it are shared'),
  input: z
    .unknown()
    .optional()
    .describe("The fork's input, checked against the target's input schema; default the run's"),
});

const replaySchema = z.looseObject({
  runId: z.string(),
  identical: z
    .boolean()
    .describe("Today's code asked for exactly the recorded steps and ended as the run did"),
  recorded: z.number(),
  replayed: z.number(),
  status: z.string(),
  output: z.unknown().optional(),
  difference: z
    .looseObject({
      key: z.string().optional(),
      recorded: z.string().optional(),
      requested: z.string().optional(),
      message: z.string(),
    })
    .optional(),
});

/** The served definition of a run's target: only those run here (404 otherwise). */
function servedTarget(tenant: Tenant, target: string, what: string): void {
  if (!tenant.served.has(target))
    throw new HttpError(
      404,
      'TARGET_NOT_FOUND',
      `This server does not serve target "${target}", so it cannot ${what} its runs; serve it, or use the baton CLI.`,
    );
}

/**
 * `POST /v1/runs/:id/fork` and `POST /v1/runs/:id/replay`, both with the `run` scope (they run
 * the target's code in this process).
 *
 * @example
 * ```ts
 * routes.push(...forkRoutes());
 * ```
 */
export function forkRoutes(): Route[] {
  return [
    {
      method: 'post',
      path: '/v1/runs/:id/fork',
      operationId: 'forkRun',
      summary:
        'Start a new run that shares the journal before a step and runs live from it (what if it had gone differently)',
      scope: 'run',
      params: runParams,
      body: forkBody,
      responses: { 201: { description: 'The fork, started', schema: runSchema } },
      async handle(c, { params, body, key, tenant }) {
        const request = body as z.infer<typeof forkBody>;
        const run = await readRun(tenant, params.id, key);
        servedTarget(tenant, run.target, 'fork');
        const journal = await tenant.store.loadJournal(run.id);
        if (!journal.some((entry) => entry.key === request.at)) {
          const message = `run ${run.id} has no step at "${request.at}"; its steps are at ${
            journal
              .slice(0, 8)
              .map((entry) => entry.key)
              .join(', ') || 'none yet'
          }${journal.length > 8 ? ', …' : ''}`;
          throw new HttpError(400, 'INVALID_REQUEST', `Invalid request body: at: ${message}`, [
            { path: ['at'], message },
          ]);
        }
        const handle = await tenant.runtime.fork(
          run.id,
          'input' in request ? { at: request.at, input: request.input } : { at: request.at },
        );
        c.header('Location', `/v1/runs/${handle.runId}`);
        const view = await withWaits(
          tenant.store,
          runView(await tenant.shown.one(await tenant.runtime.get(handle.runId))),
        );
        const forkedFrom = await tenant.runtime.forkOrigin(handle.runId);
        return c.json(forkedFrom === undefined ? view : { ...view, forkedFrom }, 201);
      },
    },
    {
      method: 'post',
      path: '/v1/runs/:id/replay',
      operationId: 'replayRun',
      summary:
        'Re-execute an ended run against its journal with the served code, calling nothing and storing nothing: identical, or the first step that differs',
      scope: 'run',
      params: runParams,
      responses: { 200: { description: 'The replay report', schema: replaySchema } },
      async handle(c, { params, key, tenant }) {
        const run = await readRun(tenant, params.id, key);
        servedTarget(tenant, run.target, 'replay');
        return c.json(await tenant.runtime.replay(run.id));
      },
    },
  ];
}

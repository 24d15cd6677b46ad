/** createServer(): the HTTP API (Hono) over a runtime: runs, signals, journals, live events; API-key auth. */

import { createHash } from 'node:crypto';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import type { ZodType } from 'zod';
import { z } from 'zod';
import { findForbiddenKey } from '../core/forbidden-keys.js';
import { BatonError, type Runnable, type Runtime } from '../index.js';
import { type A2aServerOptions, mountA2a } from './a2a-routes.js';
import { type ApiKeyInfo, type ApiKeyVerifier, createApiKeyVerifier } from './api-keys.js';
import { chatRoute } from './chat-route.js';
import { type DashboardOptions, dashboardApp } from './dashboard.js';
import { evalRoute } from './eval-routes.js';
import { forkRoutes } from './fork-routes.js';
import { HttpError, toHttpError } from './http-error.js';
import { type McpEndpointFactory, mountMcp } from './mcp-route.js';
import { openApiDocument } from './openapi.js';
import { createRateLimiter } from './rate-limit.js';
import { readRoutes } from './read-routes.js';
import {
  assertTarget,
  bearerKey,
  type Env,
  type Route,
  reaches,
  readRun,
  type ServedTarget,
  type Tenant,
} from './route.js';
import { forkedFrom, waitingFor, withWaits } from './run-details.js';
import { parseEventId, streamRunEvents } from './run-events.js';
import { runListPage } from './run-list.js';
import {
  eventsQuery,
  journalSchema,
  listRunsQuery,
  runPageSchema,
  runParams,
  runSchema,
  runView,
  signalBody,
  startRunBody,
  targetsSchema,
} from './schemas.js';
import { readShownJournal } from './shown-journal.js';
import { createShownRuns } from './shown-runs.js';
import { storeChanges } from './store-changes.js';
import { targetEventsRoute } from './target-events.js';
import { waitRoutes } from './wait-routes.js';
import { webhookRoutes } from './webhooks-routes.js';

export type { ServedTarget } from './route.js';

/** A tenant of the server: its own runtime (so its own store and runs) and what it serves. */
export interface TenantOptions {
  runtime: Runtime;
  /** What this tenant's clients may start; default the server's `targets`. */
  targets?: ReadonlyArray<Runnable | ServedTarget>;
}

/** Options of {@link createServer}. */
export interface ServerOptions {
  /** The runtime that starts and continues runs; its store is where events and keys are read. */
  runtime: Runtime;
  /** What clients may start, by name. */
  targets: ReadonlyArray<Runnable | ServedTarget>;
  /**
   * Tenants by id: a key created with `tenant: id` reaches only that tenant's runtime and the runs
   * in its store; keys without a tenant reach `runtime`. Keys are always read from `runtime`'s store.
   */
  tenants?: Readonly<Record<string, TenantOptions>>;
  /** Requests per minute per key, for keys without their own `rateLimit`; none by default. Counted per server process. */
  rateLimit?: number;
  /** Checks API keys; default: the keys in the runtime's store (`baton keys create`). */
  keys?: ApiKeyVerifier;
  /** How long the default key verifier caches the key list, in ms. Default 5000. */
  keyCacheMs?: number;
  /** `false`: no API keys (mount the app behind your own auth). Default true. */
  auth?: boolean;
  /** Origins allowed by CORS (`*` for any); none by default. */
  cors?: string | readonly string[];
  /** Largest request body in bytes; larger ones get 413. Default 1 MiB. */
  bodyLimit?: number;
  /** Comment lines on open event streams, every this many ms. Default 15000. */
  heartbeatMs?: number;
  /** How often an event stream reads the store when the store announces no change. Default 500. */
  pollMs?: number;
  /** Ends open event streams (call before closing the HTTP server). */
  signal?: AbortSignal;
  /** The targets as A2A agents (docs/a2a.md); `false` to leave them out. Default: on when there are targets. */
  a2a?: boolean | A2aServerOptions;
  /**
   * Serves the dashboard at `/` (the page and `/assets/*`, no key needed for the files; the page
   * asks for one). Default false; `baton serve` turns it on. See docs/dashboard.md.
   */
  dashboard?: boolean | DashboardOptions;
  /**
   * Serves MCP (Streamable HTTP) at `/mcp` behind the same keys (`read` lists tools and reads runs,
   * `run` calls tools): pass `createMcpServer` from `batonjs/mcp`. See docs/mcp.md.
   */
  mcp?: McpEndpointFactory;
  /** Serve the webhook routes (`/v1/webhooks…`, admin keys; webhooks-routes.ts). Default true. */
  webhooks?: boolean;
}

const defaults = {
  keyCacheMs: 5000,
  auth: true,
  bodyLimit: 1024 * 1024,
  heartbeatMs: 15_000,
  pollMs: 500,
  webhooks: true,
} satisfies Partial<ServerOptions>;

const idempotencyPattern = /^[\x21-\x7e]{1,200}$/;

/**
 * The Baton HTTP API as a Hono app: mount it in your own server or serve it with
 * `@hono/node-server` (what `baton serve` does). Routes are under `/v1`; `GET /openapi.json`
 * describes them. Every request needs `Authorization: Bearer <key>` unless `auth: false`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { createServer } from 'batonjs/server';
 * const app = createServer({ runtime, targets: [supportTeam] });
 * serve({ fetch: app.fetch, port: 7070 });
 * ```
 */
export function createServer(options: ServerOptions): Hono<Env> {
  const settings = { ...defaults, ...options };
  const own = tenantOf(undefined, settings.runtime, settings.targets);
  const tenants = new Map<string, Tenant>();
  for (const [id, tenant] of Object.entries(settings.tenants ?? {})) {
    if (!/^[A-Za-z0-9_.-]{1,100}$/.test(id))
      throw new TypeError(
        `A tenant id must be 1 to 100 letters, digits, "_", "-" or "."; got ${JSON.stringify(id)}.`,
      );
    if (tenant.runtime === settings.runtime)
      throw new TypeError(`Tenant "${id}" must have its own runtime (with its own store), not the server's.`);
    tenants.set(id, tenantOf(id, tenant.runtime, tenant.targets ?? settings.targets));
  }
  const keys = settings.auth
    ? (settings.keys ?? createApiKeyVerifier(own.store, { cacheMs: settings.keyCacheMs }))
    : undefined;
  const limiter = createRateLimiter();

  /** The tenant a key reaches: its own, else the server's runtime. */
  const resolveTenant = (key: ApiKeyInfo | undefined): Tenant => {
    if (key?.tenant === undefined) return own;
    const tenant = tenants.get(key.tenant);
    if (tenant === undefined)
      throw new HttpError(
        403,
        'FORBIDDEN',
        `This key belongs to tenant "${key.tenant}", which this server does not serve.`,
      );
    return tenant;
  };

  const routes: Route[] = [
    {
      method: 'post',
      path: '/v1/runs',
      operationId: 'startRun',
      summary: 'Start a run (idempotent with an Idempotency-Key header)',
      scope: 'run',
      body: startRunBody,
      headers: [
        {
          name: 'Idempotency-Key',
          required: false,
          description: 'The same key gives the same run: 201 when it starts, 200 with the run after',
        },
      ],
      responses: {
        201: { description: 'The run started', schema: runSchema },
        200: { description: 'The run this Idempotency-Key started before', schema: runSchema },
      },
      async handle(c, { body, key, tenant }) {
        const request = body as z.infer<typeof startRunBody>;
        const { runtime, store, served } = tenant;
        const target = served.get(request.target);
        if (target === undefined) {
          throw new HttpError(
            404,
            'TARGET_NOT_FOUND',
            `No target "${request.target}" is served. Targets: ${[...served.keys()].join(', ') || 'none'}.`,
          );
        }
        assertTarget(key, request.target);
        const idempotencyKey = c.req.header('idempotency-key');
        let runId: string | undefined;
        if (idempotencyKey !== undefined) {
          if (!idempotencyPattern.test(idempotencyKey)) {
            throw new HttpError(
              400,
              'INVALID_IDEMPOTENCY_KEY',
              'Idempotency-Key must be 1 to 200 visible ASCII characters.',
            );
          }
          runId = `run_idem_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 40)}`;
          const existing = await store.getRun(runId);
          if (existing !== undefined)
            return c.json(runView(await tenant.shown.one(sameRequest(existing, request))), 200);
        }
        try {
          const handle = await runtime.start(request.target, request.input, {
            ...(runId === undefined ? {} : { runId }),
            ...(request.threadId === undefined ? {} : { threadId: request.threadId }),
            ...(target.source === undefined ? {} : { source: target.source }),
          });
          // The run starts on its own; its result is not awaited here (a waiter would poll the store
          // for as long as the run waits, days for an approval). Clients read it from the store.
          c.header('Location', `/v1/runs/${handle.runId}`);
          return c.json(runView(await tenant.shown.one(await runtime.get(handle.runId))), 201);
        } catch (error) {
          // Another request with the same key won the race: answer with its run.
          if (runId !== undefined && BatonError.isInstance(error) && error.code === 'RUN_EXISTS') {
            return c.json(
              runView(await tenant.shown.one(sameRequest(await runtime.get(runId), request))),
              200,
            );
          }
          throw error;
        }
      },
    },
    {
      method: 'get',
      path: '/v1/runs',
      operationId: 'listRuns',
      summary:
        'List runs, newest first, with filters (status, target, thread, time, waiting for a person), search and cursor paging',
      scope: 'read',
      query: listRunsQuery,
      responses: { 200: { description: 'A page of runs', schema: runPageSchema } },
      async handle(c, { query, key, tenant }) {
        const request = query as z.infer<typeof listRunsQuery>;
        let target = request.target;
        if (target !== undefined) assertTarget(key, target);
        else if (key?.targets !== undefined && !key.scopes.includes('admin')) {
          if (key.targets.length !== 1) {
            throw new HttpError(
              403,
              'FORBIDDEN',
              `This key reaches only the targets ${key.targets.join(', ')}: name one with ?target=.`,
            );
          }
          target = key.targets[0];
        }
        const { target: _asked, ...rest } = request;
        const page = await runListPage(tenant, { ...rest, ...(target === undefined ? {} : { target }) });
        const shown = await tenant.shown.many(page.runs);
        const runs = await Promise.all(shown.map((run) => withWaits(tenant.store, runView(run))));
        return c.json({ runs, nextCursor: page.nextCursor });
      },
    },
    {
      method: 'get',
      path: '/v1/runs/:id',
      operationId: 'getRun',
      summary: 'Get a run',
      scope: 'read',
      params: runParams,
      responses: { 200: { description: 'The run', schema: runSchema } },
      async handle(c, { params, key, tenant }) {
        const run = await readRun(tenant, params.id, key);
        // The input as the run's input guardrails left it (a redacted email is never sent).
        const [shown, waits, origin] = await Promise.all([
          tenant.shown.one(run),
          waitingFor(tenant.store, run),
          forkedFrom(tenant.runtime, tenant.store, run.id),
        ]);
        return c.json({
          ...runView(shown),
          ...(waits === undefined ? {} : { waitingFor: waits }),
          ...(origin === undefined ? {} : { forkedFrom: origin }),
        });
      },
    },
    {
      method: 'post',
      path: '/v1/runs/:id/cancel',
      operationId: 'cancelRun',
      summary: 'Cancel a run (a run that has ended is returned as it is)',
      scope: 'run',
      params: runParams,
      responses: { 200: { description: 'The run after cancelling', schema: runSchema } },
      async handle(c, { params, key, tenant }) {
        const run = await readRun(tenant, params.id, key);
        return c.json(runView(await tenant.shown.one(await tenant.runtime.cancel(run.id))));
      },
    },
    {
      method: 'post',
      path: '/v1/runs/:id/signal',
      operationId: 'signalRun',
      summary: "Send a signal to a run; a payload the run's wait refuses is not stored (400)",
      scope: 'run',
      params: runParams,
      body: signalBody,
      responses: { 202: { description: 'The signal is stored; the run as it is now', schema: runSchema } },
      async handle(c, { params, body, key, tenant }) {
        const request = body as z.infer<typeof signalBody>;
        const run = await readRun(tenant, params.id, key);
        // Waits for a person are answered with the approve scope only, whichever route carries the answer.
        const answersPerson = request.name.startsWith('approval:') || request.name.startsWith('human:');
        if (
          answersPerson &&
          key !== undefined &&
          !key.scopes.some((scope) => scope === 'approve' || scope === 'admin')
        ) {
          throw new HttpError(
            403,
            'FORBIDDEN',
            `The signal "${request.name}" answers a wait for a person: it needs a key with scope "approve" (or use POST /v1/runs/${run.id}/approvals/:callId or /reply with one).`,
          );
        }
        await tenant.runtime.signal(run.id, request.name, request.payload ?? null);
        return c.json(runView(await tenant.shown.one(await tenant.runtime.get(run.id))), 202);
      },
    },
    {
      method: 'get',
      path: '/v1/runs/:id/journal',
      operationId: 'getJournal',
      summary:
        "A run's journal: every recorded step, in order, with content as the guardrails left it (a running run's last steps may be held back until settled)",
      scope: 'read',
      params: runParams,
      responses: { 200: { description: 'The journal', schema: journalSchema } },
      async handle(c, { params, key, tenant }) {
        const run = await readRun(tenant, params.id, key);
        const shown = await readShownJournal(tenant.store, run.id);
        return c.json({ entries: shown?.entries ?? [], held: shown?.held ?? 0 });
      },
    },
    {
      method: 'get',
      path: '/v1/runs/:id/events',
      operationId: 'streamRunEvents',
      summary: "A run's events over SSE (step, run, end), resumable with Last-Event-ID",
      scope: 'read',
      params: runParams,
      query: eventsQuery,
      headers: [{ name: 'Last-Event-ID', required: false, description: 'Resume after this event' }],
      responses: {
        200: {
          description: 'Server-sent events: step (id = journal position), run (status), end',
          contentType: 'text/event-stream',
        },
      },
      async handle(c, { params, query, key, tenant }) {
        const run = await readRun(tenant, params.id, key);
        const from = parseEventId(c.req.header('last-event-id'));
        return streamRunEvents(c, {
          store: tenant.store,
          changes: tenant.changes,
          runId: run.id,
          from,
          content: query.content === '1',
          heartbeatMs: settings.heartbeatMs,
          pollMs: settings.pollMs,
          signal: settings.signal,
        });
      },
    },
    {
      method: 'get',
      path: '/v1/targets',
      operationId: 'listTargets',
      summary: 'What this server runs, with input schemas',
      scope: 'read',
      responses: { 200: { description: 'The served targets', schema: targetsSchema } },
      handle(c, { key, tenant }) {
        const targets = [...tenant.served.values()]
          .filter(({ runnable }) => reaches(key, runnable.name))
          .map(({ runnable, source }) => ({
            name: runnable.name,
            kind: runnable.kind,
            version: runnable.version,
            ...(source === undefined ? {} : { source }),
            ...inputSchemaOf(runnable),
          }));
        return c.json({ targets });
      },
    },
  ];
  routes.push(
    ...waitRoutes(),
    ...forkRoutes(),
    evalRoute(),
    ...readRoutes(),
    chatRoute(),
    targetEventsRoute({
      heartbeatMs: settings.heartbeatMs,
      pollMs: settings.pollMs,
      signal: settings.signal,
    }),
  );
  const openApiRoute: Route = {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openApi',
    summary: 'This document',
    scope: 'public',
    responses: { 200: { description: 'The OpenAPI 3.1 document' } },
    handle: (c) => c.json(document),
  };
  // Webhooks are the server's own (its store runs the dispatcher): a tenant's key is refused.
  if (settings.webhooks)
    for (const route of webhookRoutes(own.store))
      routes.push({
        ...route,
        handle(c, input) {
          if (input.tenant.id !== undefined)
            throw new HttpError(
              403,
              'FORBIDDEN',
              `Webhooks belong to the server, not to tenant "${input.tenant.id}": use a key without a tenant.`,
            );
          return route.handle(c, input);
        },
      });
  routes.push(openApiRoute);
  const document = openApiDocument(routes, { title: 'Baton HTTP API', version: '1' });

  const app = new Hono<Env>();
  if (settings.cors !== undefined) {
    const origins = typeof settings.cors === 'string' ? settings.cors : [...settings.cors];
    app.use(
      '*',
      cors({
        origin: origins,
        allowHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID'],
        allowMethods: ['GET', 'POST', 'OPTIONS'],
        exposeHeaders: [
          'Location',
          'Retry-After',
          'RateLimit-Limit',
          'RateLimit-Remaining',
          'X-Baton-Run-Id',
        ],
      }),
    );
  }
  app.use('/v1/*', limitBodies(settings.bodyLimit));
  if (settings.dashboard !== undefined && settings.dashboard !== false)
    app.route('/', dashboardApp(settings.dashboard === true ? {} : settings.dashboard));
  for (const route of routes) {
    app.on(route.method.toUpperCase(), route.path, async (c) => {
      const key =
        keys === undefined || route.scope === 'public' ? undefined : await authorize(c, keys, route);
      if (key !== undefined) {
        const limit = key.rateLimit ?? settings.rateLimit;
        if (limit !== undefined) {
          const verdict = limiter.take(key.id, limit);
          c.header('RateLimit-Limit', String(limit));
          c.header('RateLimit-Remaining', String(verdict.remaining));
          if (!verdict.allowed) {
            c.header('Retry-After', String(Math.ceil(verdict.retryAfterMs / 1000)));
            throw new HttpError(
              429,
              'RATE_LIMITED',
              `This key may make ${limit} requests per minute; try again in ${Math.ceil(verdict.retryAfterMs / 1000)} s.`,
            );
          }
        }
      }
      const tenant = route.scope === 'public' ? own : resolveTenant(key);
      const params = parse(route.params, c.req.param(), 'params');
      const query = parse(route.query, c.req.query(), 'query');
      const body = route.body === undefined ? undefined : parse(route.body, await readJson(c), 'body');
      return route.handle(c, {
        params: params as Record<string, string | undefined>,
        query,
        body,
        key,
        tenant,
      });
    });
  }
  // A2A and MCP serve the server's own runtime: a tenant's key is not valid there (401).
  const ownKeys: ApiKeyVerifier | undefined =
    keys === undefined
      ? undefined
      : {
          async verify(token) {
            const info = await keys.verify(token);
            return info?.tenant === undefined ? info : undefined;
          },
        };
  if (settings.a2a !== false && own.served.size > 0) {
    mountA2a(app, { ...settings, targets: [...own.served.values()], keys: ownKeys });
  }
  if (settings.mcp !== undefined) {
    // MCP serves the server's own runtime as well: a tenant's key is refused there (401).
    const endpoint = settings.mcp({ runtime: own.runtime, targets: [...own.served.values()] });
    mountMcp(app, { endpoint, keys: ownKeys, bodyLimit: settings.bodyLimit });
  }
  app.notFound((c) =>
    c.json(new HttpError(404, 'NOT_FOUND', `No route ${c.req.method} ${c.req.path}.`).body(), 404),
  );
  app.onError((error, c) => {
    const answer = toHttpError(error);
    if (answer.status === 500)
      process.stderr.write(`baton serve: ${c.req.method} ${c.req.path}: ${String(error)}\n`);
    return c.json(answer.body(), answer.status);
  });
  return app;
}

/** Checks the bearer key: 401 without one or with an unknown or revoked one, 403 outside its scope. */
async function authorize(c: Context<Env>, keys: ApiKeyVerifier, route: Route): Promise<ApiKeyInfo> {
  const key = await bearerKey(c, keys);
  if (!key.scopes.includes('admin') && !key.scopes.includes(route.scope as ApiKeyInfo['scopes'][number])) {
    throw new HttpError(
      403,
      'FORBIDDEN',
      `${route.method.toUpperCase()} ${route.path} needs a key with scope "${route.scope}"; this key has ${key.scopes.join(', ')}.`,
    );
  }
  c.set('apiKey', key);
  return key;
}

/** A tenant over `runtime`: its targets registered with it, by name. */
function tenantOf(
  id: string | undefined,
  runtime: Runtime,
  targets: ReadonlyArray<Runnable | ServedTarget>,
): Tenant {
  const served = new Map<string, ServedTarget>();
  for (const target of targets) {
    const entry = 'runnable' in target ? target : { runnable: target };
    served.set(entry.runnable.name, entry);
    runtime.register(entry.runnable);
  }
  return {
    id,
    runtime,
    store: runtime.store,
    served,
    changes: storeChanges(runtime.store),
    shown: createShownRuns(runtime.store),
  };
}

/** An idempotent start's stored run must be what was asked again: the same target and thread. */
function sameRequest<RUN extends { target: string; threadId?: string }>(
  run: RUN,
  request: z.infer<typeof startRunBody>,
): RUN {
  if (run.target !== request.target || run.threadId !== request.threadId) {
    throw new HttpError(
      409,
      'IDEMPOTENCY_CONFLICT',
      'This Idempotency-Key started a run of another target or thread; use a new key for a new run.',
    );
  }
  return run;
}

/** Reads the body as JSON: 400 when it is not JSON or holds a forbidden key (`__proto__`, `constructor`, `prototype`). */
async function readJson(c: Context<Env>): Promise<unknown> {
  const text = await c.req.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'INVALID_JSON', `The request body is not JSON: ${(error as Error).message}`);
  }
  const path = findForbiddenKey(value);
  if (path !== undefined) {
    throw new HttpError(400, 'FORBIDDEN_KEY', `The request body uses a forbidden key at ${path.join('.')}.`, [
      { path, message: `"${String(path.at(-1))}" is not allowed as a key` },
    ]);
  }
  return value;
}

function parse<T>(
  schema: ZodType<T> | undefined,
  value: unknown,
  where: string,
): Record<string, unknown> & T {
  if (schema === undefined) return {} as Record<string, unknown> & T;
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data as Record<string, unknown> & T;
  const issues = parsed.error.issues.map((issue) => ({
    path: issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)),
    message: issue.message,
  }));
  throw new HttpError(
    400,
    'INVALID_REQUEST',
    `Invalid request ${where}: ${issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`,
    issues,
  );
}

function inputSchemaOf(runnable: Runnable): { inputSchema?: Record<string, unknown> } {
  if (runnable.inputSchema === undefined) return {};
  try {
    const { $schema: _dialect, ...schema } = z.toJSONSchema(runnable.inputSchema, {
      io: 'input',
      unrepresentable: 'any',
    }) as Record<string, unknown>;
    return { inputSchema: schema };
  } catch {
    return {};
  }
}

/**
 * Refuses bodies over `maxSize` bytes with 413 BODY_TOO_LARGE. A GET or HEAD (no body) and a
 * body with a Content-Length are decided from the headers alone; only a chunked body is counted
 * as it streams (Hono's `bodyLimit`). Hono's middleware alone reads `c.req.raw.body` first, which
 * makes @hono/node-server build a whole web `Request` (headers, abort signal, body stream) for
 * every request, SSE streams included.
 */
function limitBodies(maxSize: number): MiddlewareHandler {
  const tooLarge = new HttpError(413, 'BODY_TOO_LARGE', `Request bodies are limited to ${maxSize} bytes.`);
  const streamed = bodyLimit({ maxSize, onError: (c) => c.json(tooLarge.body(), 413) });
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined)
      return Number.parseInt(length, 10) > maxSize ? c.json(tooLarge.body(), 413) : next();
    return streamed(c, next);
  };
}

/** The A2A routes of createServer(): Agent Cards and JSON-RPC endpoints, with the A2A handler (and @a2a-js/sdk) loaded on the first A2A request. */

import type { Context, Hono } from 'hono';
import type { Runnable, Runtime } from '../index.js';
import type { A2aHandler } from '../protocols/a2a/a2a-handler.js';
import type { ApiKeyVerifier } from './api-keys.js';

/**
 * Options of the A2A endpoints (`createServer({ a2a })`), written out here so that the server's
 * types name nothing of the optional A2A SDK (a subset of `A2aHandlerOptions` from `batonjs/a2a`).
 */
export interface A2aServerOptions {
  /** The server card's name. Default `baton`. */
  name?: string;
  /** The server card's description. Default: one naming the skills. */
  description?: string;
  /** The public base URL of the app (behind a proxy); default: from each request's URL. */
  url?: string;
  /** `false`: no push notifications. `allow` decides which webhook URLs are accepted (default: any http or https). */
  pushNotifications?: boolean | { allow?: (url: URL) => boolean; timeoutMs?: number };
}

/** What the routes need from createServer's settings. */
export interface A2aMount {
  runtime: Runtime;
  targets: ReadonlyArray<{ runnable: Runnable; source?: string }>;
  keys: ApiKeyVerifier | undefined;
  pollMs: number;
  heartbeatMs: number;
  bodyLimit: number;
  signal?: AbortSignal | undefined;
  a2a?: boolean | A2aServerOptions;
}

/**
 * Adds `GET /.well-known/agent-card.json`, `POST /a2a`, and for each target
 * `GET /a2a/<target>/.well-known/agent-card.json` and `POST /a2a/<target>`. The handler module
 * is imported on the first A2A request, so serving the REST API never loads the A2A SDK; without
 * the optional package `@a2a-js/sdk` these routes answer 501.
 */
export function mountA2a(
  // biome-ignore lint/suspicious/noExplicitAny: the server's app, whatever its variables
  app: Hono<any>,
  mount: A2aMount,
): void {
  let loading: Promise<A2aHandler> | undefined;
  const handler = (): Promise<A2aHandler> => {
    loading ??= import('../protocols/a2a/a2a-handler.js').then(
      ({ createA2aHandler }) =>
        createA2aHandler({
          ...(typeof mount.a2a === 'object' ? mount.a2a : {}),
          runtime: mount.runtime,
          targets: mount.targets,
          keys: mount.keys,
          pollMs: mount.pollMs,
          heartbeatMs: mount.heartbeatMs,
          bodyLimit: mount.bodyLimit,
          signal: mount.signal,
        }),
      (error: unknown) => {
        loading = undefined;
        throw error;
      },
    );
    return loading;
  };
  const serve =
    (answer: (a2a: A2aHandler, c: Context) => Promise<Response>) =>
    async (c: Context): Promise<Response> => {
      let a2a: A2aHandler;
      try {
        a2a = await handler();
      } catch (error) {
        process.stderr.write(`baton serve: A2A unavailable: ${String(error)}\n`);
        return c.json(
          {
            error: {
              code: 'A2A_UNAVAILABLE',
              message: 'A2A needs the optional package @a2a-js/sdk (npm install @a2a-js/sdk).',
            },
          },
          501,
        );
      }
      return answer(a2a, c);
    };
  app.get(
    '/.well-known/agent-card.json',
    serve((a2a, c) => a2a.card(c.req.raw)),
  );
  app.get(
    '/a2a/:target/.well-known/agent-card.json',
    serve((a2a, c) => a2a.card(c.req.raw, c.req.param('target'))),
  );
  app.post(
    '/a2a',
    serve((a2a, c) => a2a.rpc(c.req.raw)),
  );
  app.post(
    '/a2a/:target',
    serve((a2a, c) => a2a.rpc(c.req.raw, c.req.param('target'))),
  );
}

/** The `/mcp` route: an MCP server (Streamable HTTP) behind Baton's API keys; `read` lists and reads, `run` calls tools. */

import { type Context, type Env, Hono } from 'hono';
import { findForbiddenKey } from '../core/forbidden-keys.js';
import type { Runnable, Runtime } from '../index.js';
import { type ApiKeyVerifier, createApiKeyVerifier } from './api-keys.js';
import { HttpError, toHttpError } from './http-error.js';
import { bearerKey } from './route.js';

/** What an MCP endpoint may do for one request: the caller's key, as scopes and targets. */
export interface McpRequestAccess {
  /** Only these targets (tools and runs); undefined: all. */
  targets: readonly string[] | undefined;
  read: boolean;
  call: boolean;
}

/**
 * An MCP server that answers Streamable HTTP requests; `createMcpServer` of `batonjs/mcp` makes one.
 *
 * @example
 * ```ts
 * const endpoint: McpHttpEndpoint = createMcpServer({ runtime, targets });
 * ```
 */
export interface McpHttpEndpoint {
  handleRequest(
    request: Request,
    options: { parsedBody?: unknown; access?: McpRequestAccess },
  ): Promise<Response>;
  close(): Promise<void>;
}

/**
 * Makes the MCP endpoint from what the HTTP server serves: pass `createMcpServer` from
 * `batonjs/mcp` (or a function that adds options to it).
 *
 * @example
 * ```ts
 * import { createMcpServer } from 'batonjs/mcp';
 * const mcp: McpEndpointFactory = (served) => createMcpServer({ ...served, name: 'support' });
 * ```
 */
export type McpEndpointFactory = (served: {
  runtime: Runtime;
  targets: { runnable: Runnable; source?: string }[];
}) => McpHttpEndpoint;

/** Options of {@link mountMcp}. */
export interface McpRouteOptions {
  endpoint: McpHttpEndpoint;
  /** Checks API keys; undefined: no keys (behind your own auth, or a loopback-only server). */
  keys: ApiKeyVerifier | undefined;
  /** The largest request body, in bytes. */
  bodyLimit: number;
  /** Where it is mounted. Default `/mcp`. */
  path?: string;
}

/** Mounts the MCP endpoint on `app` at `/mcp` (every method: POST carries messages; GET and DELETE get 405). */
export function mountMcp<E extends Env>(app: Hono<E>, options: McpRouteOptions): void {
  const path = options.path ?? '/mcp';
  app.all(path, async (c) => {
    const key = options.keys === undefined ? undefined : await bearerKey(c, options.keys);
    const access: McpRequestAccess = {
      targets: key === undefined || key.scopes.includes('admin') ? undefined : key.targets,
      read: key === undefined || key.scopes.includes('admin') || key.scopes.includes('read'),
      call: key === undefined || key.scopes.includes('admin') || key.scopes.includes('run'),
    };
    if (c.req.method !== 'POST') return options.endpoint.handleRequest(c.req.raw, { access });
    const body = await readMessages(c, options.bodyLimit);
    if (key !== undefined) {
      for (const method of methodsOf(body)) {
        const scope = scopeOf(method);
        if (scope === undefined || access[scope === 'run' ? 'call' : 'read']) continue;
        throw new HttpError(
          403,
          'FORBIDDEN',
          `MCP ${method} needs a key with scope "${scope}"; this key has ${key.scopes.join(', ')}.`,
        );
      }
    }
    return options.endpoint.handleRequest(c.req.raw, { parsedBody: body, access });
  });
}

/**
 * A Hono app that serves only the MCP endpoint at `/mcp`, with API keys unless `auth: false`
 * (what `baton mcp serve --http` listens with).
 *
 * @example
 * ```ts
 * const app = createMcpApp({ runtime, endpoint: createMcpServer({ runtime, targets }) });
 * const server = await listen(app, { port: 0 });
 * ```
 */
export function createMcpApp(options: {
  runtime: Runtime;
  endpoint: McpHttpEndpoint;
  auth?: boolean;
  keys?: ApiKeyVerifier;
  keyCacheMs?: number;
  bodyLimit?: number;
  /** Only requests whose Host header names one of these host names (DNS rebinding); any by default. */
  allowedHosts?: readonly string[];
}): Hono {
  const app = new Hono();
  const keys =
    options.auth === false
      ? undefined
      : (options.keys ??
        createApiKeyVerifier(options.runtime.store, { cacheMs: options.keyCacheMs ?? 5000 }));
  if (options.allowedHosts !== undefined) {
    const allowed = new Set(options.allowedHosts);
    app.use('*', async (c, next) => {
      const host = hostName(c.req.header('host'));
      if (host === undefined || !allowed.has(host))
        throw new HttpError(
          403,
          'FORBIDDEN',
          `Requests must name this server's host (${[...allowed].join(', ')}).`,
        );
      await next();
    });
  }
  mountMcp(app, { endpoint: options.endpoint, keys, bodyLimit: options.bodyLimit ?? 1024 * 1024 });
  app.notFound((c) =>
    c.json(
      new HttpError(404, 'NOT_FOUND', `No route ${c.req.method} ${c.req.path}; MCP is at /mcp.`).body(),
      404,
    ),
  );
  app.onError((error, c) => {
    const answer = toHttpError(error);
    if (answer.status === 500)
      process.stderr.write(`baton mcp: ${c.req.method} ${c.req.path}: ${String(error)}\n`);
    return c.json(answer.body(), answer.status);
  });
  return app;
}

/** The scope a JSON-RPC method needs: `run` to call tools, none to initialize, ping or notify, else `read`. */
function scopeOf(method: string): 'read' | 'run' | undefined {
  if (method === 'tools/call') return 'run';
  if (method === 'initialize' || method === 'ping' || method.startsWith('notifications/')) return undefined;
  return 'read';
}

/** The methods of a JSON-RPC message or batch (responses have none). */
function methodsOf(body: unknown): string[] {
  const messages = Array.isArray(body) ? body : [body];
  return messages
    .map((message) => (message as { method?: unknown } | null)?.method)
    .filter((method): method is string => typeof method === 'string');
}

/** The body as JSON, within the size limit and without forbidden keys. */
async function readMessages<E extends Env>(c: Context<E>, limit: number): Promise<unknown> {
  const declared = Number(c.req.header('content-length'));
  if (Number.isFinite(declared) && declared > limit) tooLarge(limit);
  const text = await c.req.text();
  if (Buffer.byteLength(text) > limit) tooLarge(limit);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HttpError(400, 'INVALID_JSON', `The request body is not JSON: ${(error as Error).message}`);
  }
  const path = findForbiddenKey(value);
  if (path !== undefined)
    throw new HttpError(400, 'FORBIDDEN_KEY', `The request body uses a forbidden key at ${path.join('.')}.`);
  return value;
}

function tooLarge(limit: number): never {
  throw new HttpError(413, 'BODY_TOO_LARGE', `Request bodies are limited to ${limit} bytes.`);
}

function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(header);
  if (bracketed !== null) return bracketed[1];
  return header.replace(/:\d+$/, '');
}

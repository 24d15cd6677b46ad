/** What every route of the HTTP API shares: its description, its handler's input, the tenant a key reaches, target checks. */

import type { Context, Env as HonoEnv } from 'hono';
import type { Runnable, Runtime, Store } from '../index.js';
import type { ApiKeyInfo, ApiKeyVerifier } from './api-keys.js';
import { HttpError } from './http-error.js';
import type { RouteDoc } from './openapi.js';
import type { ShownRuns } from './shown-runs.js';
import type { StoreChanges } from './store-changes.js';

/** A definition the server runs, and where it was loaded from (recorded on its runs, so `baton resume` finds it). */
export interface ServedTarget {
  runnable: Runnable;
  source?: string;
}

/** Hono's environment of the app: the caller's key, once checked. */
export type Env = { Variables: { apiKey: ApiKeyInfo | undefined } };

/**
 * The runtime a request works on: the server's own, or the runtime of the tenant its key
 * belongs to. Runs, threads, stats and waits are read from `store`; nothing crosses tenants.
 */
export interface Tenant {
  /** `undefined` for the server's own runtime (keys without a tenant). */
  id: string | undefined;
  runtime: Runtime;
  store: Store;
  /** What clients may start here, by name. */
  served: ReadonlyMap<string, ServedTarget>;
  /** The store's change notifications, routed by run (event streams wake on them). */
  changes: StoreChanges;
  /** Every run an answer carries goes through it: its input as the guardrails left it. */
  shown: ShownRuns;
}

/** What a handler gets: the validated parts of the request, the caller's key and its tenant. */
export interface RouteInput {
  params: Record<string, string | undefined>;
  query: Record<string, unknown>;
  body: unknown;
  key: ApiKeyInfo | undefined;
  tenant: Tenant;
}

/** A route: its OpenAPI description and its handler. */
export interface Route extends RouteDoc {
  handle(c: Context<Env>, input: RouteInput): Promise<Response> | Response;
}

/**
 * True when `key` reaches runs of `target`: no key (auth off), an admin key, or a key with no
 * target list or with `target` in it.
 *
 * @example
 * ```ts
 * reaches({ id: 'key_1', scopes: ['read'], targets: ['a'], createdAt: 0 }, 'b'); // false
 * ```
 */
export function reaches(key: ApiKeyInfo | undefined, target: string): boolean {
  return key?.targets === undefined || key.scopes.includes('admin') || key.targets.includes(target);
}

/**
 * Throws a 403 when `key` does not reach `target`.
 *
 * @example
 * ```ts
 * assertTarget(key, run.target);
 * ```
 */
export function assertTarget(key: ApiKeyInfo | undefined, target: string): void {
  if (!reaches(key, target)) {
    throw new HttpError(403, 'FORBIDDEN', `This key does not reach target "${target}".`);
  }
}

/**
 * True when the key may see every target (so also figures across targets, such as stats).
 *
 * @example
 * ```ts
 * if (!reachesAll(key)) throw new HttpError(403, 'FORBIDDEN', '…');
 * ```
 */
export function reachesAll(key: ApiKeyInfo | undefined): boolean {
  return key?.targets === undefined || key.scopes.includes('admin');
}

/**
 * The run `id` of the tenant, when the caller's key reaches its target (404 for an unknown run,
 * 403 for another target's).
 *
 * @example
 * ```ts
 * const run = await readRun(tenant, params.id, key);
 * ```
 */
export async function readRun(tenant: Tenant, id: string | undefined, key: ApiKeyInfo | undefined) {
  const record = await tenant.runtime.get(id ?? '');
  assertTarget(key, record.target);
  return record;
}

/** The key of `Authorization: Bearer …`: 401 without one or with an unknown or revoked one. */
export async function bearerKey<E extends HonoEnv>(c: Context<E>, keys: ApiKeyVerifier): Promise<ApiKeyInfo> {
  const header = c.req.header('authorization');
  const token = header === undefined ? undefined : /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (token === undefined) {
    c.header('WWW-Authenticate', 'Bearer');
    throw new HttpError(
      401,
      'UNAUTHORIZED',
      'Send an API key: Authorization: Bearer bk_… (create one with baton keys create).',
    );
  }
  const key = await keys.verify(token);
  if (key === undefined) {
    c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new HttpError(401, 'UNAUTHORIZED', 'This API key is not valid (unknown or revoked).');
  }
  return key;
}

/** createA2aHandler(): Baton's served targets as A2A agents over HTTP (Agent Cards, JSON-RPC, SSE), with Web `Request`/`Response` so any server can mount it. */

import { AgentCard, Message } from '@a2a-js/sdk';
import { isLegacyJsonRpcMethod } from '@a2a-js/sdk/compat/v0_3';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { JsonRpcTransportHandler, ServerCallContext, type User } from '@a2a-js/sdk/server';
import { findForbiddenKey } from '../../core/forbidden-keys.js';
import type { Runnable, Runtime } from '../../index.js';
import { type A2aKey, stateKeys } from './a2a-access.js';
import { agentCard, descriptionOf, skillOf } from './a2a-card.js';
import { errorAnswer, hideInternal, rpcId, sseResponse } from './a2a-http.js';
import { PushNotifier } from './a2a-push.js';
import { BatonRequestHandler } from './a2a-request-handler.js';

/** Checks a bearer key (structurally the server's `ApiKeyVerifier`). */
export interface A2aKeyVerifier {
  verify(key: string): Promise<A2aKey | undefined>;
}

/** Options of {@link createA2aHandler}. */
export interface A2aHandlerOptions {
  runtime: Runtime;
  /** What clients may run: each is a skill of the server's card and an agent of its own at `/a2a/<name>`. */
  targets: ReadonlyArray<Runnable | { runnable: Runnable; source?: string }>;
  /** Checks `Authorization: Bearer <key>`; none: no auth (mount it behind your own). */
  keys?: A2aKeyVerifier | undefined;
  /** The server card's name. Default `baton`. */
  name?: string;
  /** The server card's description. Default: one naming the skills. */
  description?: string;
  /** The public base URL of the app (behind a proxy); default: from each request's URL. */
  url?: string;
  /** How often a stream or a blocking send reads the store when it announces no change. Default 500. */
  pollMs?: number;
  /** Comment lines on open streams, every this many ms. Default 15000. */
  heartbeatMs?: number;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimit?: number;
  /** Ends open streams, blocking sends and push watchers (server shutdown). */
  signal?: AbortSignal | undefined;
  /** `false`: no push notifications. `allow` decides which webhook URLs are accepted (default: any http or https). */
  pushNotifications?: boolean | { allow?: (url: URL) => boolean; timeoutMs?: number };
}

/** The A2A endpoints: a card and a JSON-RPC endpoint for the server, and for each target. */
export interface A2aHandler {
  /** `GET …/.well-known/agent-card.json`: the server's card (every target a skill), or `target`'s. */
  card(request: Request, target?: string): Promise<Response>;
  /** `POST …/a2a` (or `…/a2a/<target>` with `target`): one JSON-RPC call; streams answer with SSE. */
  rpc(request: Request, target?: string): Promise<Response>;
}

const readMethods = new Set([
  'GetTask',
  'ListTasks',
  'SubscribeToTask',
  'GetTaskPushNotificationConfig',
  'ListTaskPushNotificationConfigs',
  'GetExtendedAgentCard',
  'tasks/get',
  'tasks/resubscribe',
  'tasks/pushNotificationConfig/get',
  'tasks/pushNotificationConfig/list',
  'agent/getAuthenticatedExtendedCard',
]);
const cardSuffix = '/.well-known/agent-card.json';

/**
 * Serves runs as A2A tasks (protocol 1.0, JSON-RPC binding; v0.3 method names too): a task is a
 * run with the same id, a message starts a run of a target or answers the wait of an
 * input-required one, streams and push notifications follow the run in the store. Mounted by
 * `createServer` (`batonjs/server`) at `/.well-known/agent-card.json`, `/a2a` and `/a2a/<target>`;
 * use it directly to mount A2A elsewhere.
 *
 * @example
 * ```ts
 * const a2a = createA2aHandler({ runtime, targets: [supportTeam], keys: createApiKeyVerifier(store) });
 * const response = await a2a.rpc(request, 'support'); // a Web Request for POST /a2a/support
 * ```
 */
export function createA2aHandler(options: A2aHandlerOptions): A2aHandler {
  const targets = new Map<string, { runnable: Runnable; source?: string }>();
  for (const target of options.targets) {
    const entry = 'runnable' in target ? target : { runnable: target };
    targets.set(entry.runnable.name, entry);
    options.runtime.register(entry.runnable);
  }
  const pollMs = options.pollMs ?? 500;
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const bodyLimit = options.bodyLimit ?? 1024 * 1024;
  const pushSettings = options.pushNotifications ?? true;
  const push =
    pushSettings === false
      ? undefined
      : new PushNotifier({
          store: options.runtime.store,
          pollMs,
          timeoutMs: (pushSettings === true ? undefined : pushSettings.timeoutMs) ?? 5000,
          signal: options.signal,
          decode: (json) => Message.fromJSON(json),
        });
  const serverName = options.name ?? 'baton';
  const cardOf = (base: string, target: string | undefined) => {
    const entry = target === undefined ? undefined : targets.get(target);
    const runnables =
      entry === undefined ? [...targets.values()].map(({ runnable }) => runnable) : [entry.runnable];
    return agentCard({
      name: entry?.runnable.name ?? serverName,
      description:
        entry === undefined
          ? (options.description ??
            `Baton agents and teams: ${runnables.map(({ name }) => name).join(', ')}.`)
          : descriptionOf(entry.runnable),
      version: entry?.runnable.version ?? '1',
      url: target === undefined ? `${base}/a2a` : base,
      auth: options.keys !== undefined,
      pushNotifications: push !== undefined,
      skills: runnables.map(skillOf),
    });
  };
  let lastBase = options.url?.replace(/\/$/, '') ?? 'http://localhost';
  const handler = new BatonRequestHandler({
    runtime: options.runtime,
    targets,
    pollMs,
    push,
    allowPushUrl: pushSettings === true || pushSettings === false ? undefined : pushSettings.allow,
    card: () => cardOf(lastBase, undefined),
  });
  const transport = new JsonRpcTransportHandler(handler);
  const legacy = new LegacyJsonRpcTransportHandler(handler);

  return {
    async card(request, target) {
      if (target !== undefined && !targets.has(target))
        return errorAnswer(404, 'TARGET_NOT_FOUND', `No agent "${target}" is served here.`);
      const path = new URL(request.url);
      const base =
        options.url?.replace(/\/$/, '') ??
        `${path.origin}${path.pathname.endsWith(cardSuffix) ? path.pathname.slice(0, -cardSuffix.length) : path.pathname}`;
      if (target === undefined) lastBase = base;
      const card = cardOf(
        options.url === undefined || target === undefined ? base : `${base}/a2a/${target}`,
        target,
      );
      return Response.json(AgentCard.toJSON(card), { headers: { 'cache-control': 'public, max-age=60' } });
    },

    async rpc(request, target) {
      if (target !== undefined && !targets.has(target))
        return errorAnswer(404, 'TARGET_NOT_FOUND', `No agent "${target}" is served here.`);
      let key: A2aKey | undefined;
      if (options.keys !== undefined) {
        const token = /^Bearer\s+(\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        if (token === undefined)
          return errorAnswer(
            401,
            'UNAUTHORIZED',
            'Send an API key: Authorization: Bearer bk_… (create one with baton keys create).',
            'Bearer',
          );
        key = await options.keys.verify(token);
        if (key === undefined)
          return errorAnswer(
            401,
            'UNAUTHORIZED',
            'This API key is not valid (unknown or revoked).',
            'Bearer error="invalid_token"',
          );
      }
      const length = Number(request.headers.get('content-length') ?? '0');
      if (length > bodyLimit)
        return errorAnswer(413, 'BODY_TOO_LARGE', `Request bodies are limited to ${bodyLimit} bytes.`);
      const text = await request.text();
      if (Buffer.byteLength(text) > bodyLimit)
        return errorAnswer(413, 'BODY_TOO_LARGE', `Request bodies are limited to ${bodyLimit} bytes.`);
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // The transport answers with a JSON-RPC parse error.
      }
      const call =
        typeof body === 'object' && body !== null ? (body as { method?: unknown; id?: unknown }) : {};
      if (typeof body === 'object' && findForbiddenKey(body) !== undefined)
        return Response.json({
          jsonrpc: '2.0',
          id: rpcId(call.id),
          error: {
            code: -32600,
            message: 'The request uses a forbidden key (__proto__, constructor or prototype).',
          },
        });
      const method = typeof call.method === 'string' ? call.method : '';
      const scope = readMethods.has(method) ? 'read' : 'run';
      if (key !== undefined && !key.scopes.includes('admin') && !key.scopes.includes(scope))
        return errorAnswer(
          403,
          'FORBIDDEN',
          `The A2A method ${method || '(none)'} needs a key with scope "${scope}"; this key has ${key.scopes.join(', ')}.`,
        );

      const left = new AbortController();
      const signal = AbortSignal.any([
        request.signal,
        left.signal,
        ...(options.signal === undefined ? [] : [options.signal]),
      ]);
      const state = new Map<string, unknown>([[stateKeys.signal, signal]]);
      if (key !== undefined) state.set(stateKeys.key, key);
      if (target !== undefined) state.set(stateKeys.target, target);
      const user: User = { isAuthenticated: key !== undefined, userName: key?.id ?? '' };
      const requested = request.headers.get('a2a-version') ?? undefined;
      const context = new ServerCallContext({
        user,
        state,
        ...(requested === undefined ? {} : { requestedVersion: requested }),
      });
      const isLegacy = isLegacyJsonRpcMethod(method);
      const answer = await (isLegacy
        ? legacy.handle(body as Record<string, unknown>, context)
        : transport.handle(body as Record<string, unknown>, context));
      const forbidden = (): Response | undefined => {
        const message = state.get(stateKeys.forbidden);
        return typeof message === 'string' ? errorAnswer(403, 'FORBIDDEN', message) : undefined;
      };
      if (!(Symbol.asyncIterator in answer)) {
        left.abort();
        return forbidden() ?? Response.json(hideInternal(answer));
      }
      const iterator = answer[Symbol.asyncIterator]();
      let first: IteratorResult<unknown>;
      try {
        first = await iterator.next();
      } catch (error) {
        left.abort();
        const mapped = isLegacy
          ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError(error)
          : JsonRpcTransportHandler.mapToJSONRPCError(error);
        return (
          forbidden() ?? Response.json(hideInternal({ jsonrpc: '2.0', id: rpcId(call.id), error: mapped }))
        );
      }
      return sseResponse(first, iterator, heartbeatMs, left, rpcId(call.id));
    },
  };
}

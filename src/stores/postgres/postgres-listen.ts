/** LISTEN on one channel over a dedicated connection, reconnecting after a failure, turning notifications into store changes. */

import type { Client } from 'pg';
import type { StoreChange } from '../../core/store.js';

/** What `createChangeListener` needs. */
export interface ChangeListenerOptions {
  channel: string;
  /** The listening store's origin id, which its own notifications carry. */
  origin: string;
  /** Opens a connection of its own (LISTEN holds it; it never returns to a pool). */
  connect(): Promise<Client>;
  dispatch(change: StoreChange): void;
  /** Wait before reconnecting after a failure. Default 500 ms. */
  retryMs?: number;
}

/** A running listener. */
export interface ChangeListener {
  /** Resolves once LISTEN is active (again, after a reconnect). */
  listening(): Promise<void>;
  close(): Promise<void>;
}

const kinds = new Set<string>(['signal', 'journal', 'run']);

/**
 * Parses a notification payload `kind:origin:runId` (`signal:3f2a9c1d:run_1`); `local` when
 * `origin` is `self`, the id of the store that listens. Undefined for anything else.
 *
 * @example
 * ```ts
 * parseChange('signal:3f2a9c1d:run_1', 'aa'); // { kind: 'signal', runId: 'run_1', local: false }
 * ```
 */
export function parseChange(payload: string | undefined, self: string): StoreChange | undefined {
  const match = payload === undefined ? null : /^([a-z]+):([0-9a-f]+):(.*)$/s.exec(payload);
  if (match === null || !kinds.has(match[1]!)) return undefined;
  return { kind: match[1] as StoreChange['kind'], runId: match[3]!, local: match[2] === self };
}

/**
 * Starts listening on `channel`. A lost connection (a server restart) is replaced after
 * `retryMs`; notifications sent while it was down are lost, so callers keep a slow poll as
 * the backstop (the runtime's recovery poll).
 *
 * @example
 * ```ts
 * const listener = createChangeListener({ channel: 'batonjs_baton', connect, dispatch: console.log });
 * await listener.listening();
 * ```
 */
export function createChangeListener(options: ChangeListenerOptions): ChangeListener {
  const retryMs = options.retryMs ?? 500;
  let client: Client | undefined;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let ready!: Promise<void>;
  let markReady!: () => void;
  const reset = () => {
    ready = new Promise<void>((resolve) => {
      markReady = resolve;
    });
  };
  reset();

  async function start(): Promise<void> {
    let connection: Client | undefined;
    try {
      connection = await options.connect();
      if (closed) {
        await connection.end();
        return;
      }
      client = connection;
      const lost = () => {
        if (client !== connection) return;
        client = undefined;
        connection?.end().catch(() => undefined);
        if (!closed) {
          reset();
          retry = setTimeout(() => void start(), retryMs).unref();
        }
      };
      connection.on('error', lost);
      connection.on('end', lost);
      connection.on('notification', (message) => {
        if (message.channel !== options.channel) return;
        const change = parseChange(message.payload, options.origin);
        if (change !== undefined) options.dispatch(change);
      });
      await connection.query(`LISTEN "${options.channel}"`);
      markReady();
    } catch {
      if (connection !== undefined && client === connection) client = undefined;
      connection?.end().catch(() => undefined);
      if (!closed) retry = setTimeout(() => void start(), retryMs).unref();
    }
  }
  void start();

  return {
    listening: () => ready,
    async close() {
      closed = true;
      if (retry !== undefined) clearTimeout(retry);
      const connection = client;
      client = undefined;
      await connection?.end().catch(() => undefined);
      markReady();
    },
  };
}

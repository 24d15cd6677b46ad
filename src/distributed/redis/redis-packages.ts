/** Loads the optional Redis packages (ioredis, redis-semaphore, rate-limiter-flexible) on first use, and opens connections. */

import type { Redis, RedisOptions } from 'ioredis';
import { ConfigError } from '../../core/errors.js';

/** A Redis server to use: a `redis://` URL, or an ioredis client you own (Baton never closes it). */
export type RedisSource = string | Redis;

/** Why a package is needed, for the error when it is missing. */
const purposes: Record<string, string> = {
  ioredis: 'connecting to Redis',
  'redis-semaphore': 'concurrency caps shared through Redis',
  'rate-limiter-flexible': 'rate limits shared through Redis',
};

/**
 * Imports an optional peer dependency; a missing package becomes a `ConfigError` that names it
 * and the install command, any other failure is rethrown as it is.
 */
export async function importPeer<MODULE>(name: string, load: () => Promise<MODULE>): Promise<MODULE> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    const missing =
      (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
      typeof message === 'string' &&
      message.includes(`'${name}'`);
    if (!missing) throw error;
    throw new ConfigError(
      `${purposes[name] ?? 'This feature'} needs the package ${name}, an optional peer dependency of batonjs that is not installed. Install it in your project: npm install ${name}`,
      { cause: error },
    );
  }
}

/** ioredis, loaded on first use. */
export function loadIoredis() {
  return importPeer('ioredis', () => import('ioredis'));
}

/** redis-semaphore, loaded on first use. */
export function loadSemaphore() {
  return importPeer('redis-semaphore', () => import('redis-semaphore'));
}

/** rate-limiter-flexible, loaded on first use. */
export function loadRateLimiter() {
  return importPeer('rate-limiter-flexible', () => import('rate-limiter-flexible'));
}

/** A connection and whether Baton opened it (then Baton closes it). */
export interface OwnedConnection {
  client: Redis;
  owned: boolean;
}

/** The client behind `source`: the caller's own, or a new one for a URL. */
export async function connect(source: RedisSource, where: string): Promise<OwnedConnection> {
  if (typeof source === 'string') {
    if (!/^rediss?:\/\//.test(source))
      throw new ConfigError(`${where}: redis must be a redis:// or rediss:// URL or an ioredis client.`);
    const { Redis: Client } = await loadIoredis();
    return { client: new Client(source, clientOptions), owned: true };
  }
  if (typeof source !== 'object' || source === null || typeof source.duplicate !== 'function')
    throw new ConfigError(`${where}: redis must be a redis:// or rediss:// URL or an ioredis client.`);
  return { client: source, owned: false };
}

/** A connection of its own for blocking reads (a blocked connection serves nobody else). */
export function dedicated(client: Redis): Redis {
  return client.duplicate({ ...clientOptions, lazyConnect: false });
}

/** Closes a connection Baton opened: politely, else at once. */
export async function closeConnection(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    await client.quit();
  } catch {
    client.disconnect();
  }
}

/** Options of the connections Baton opens: commands wait for a reconnect rather than failing at once. */
const clientOptions: RedisOptions = { maxRetriesPerRequest: 20 };

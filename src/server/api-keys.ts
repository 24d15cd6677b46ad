/** API keys of the HTTP server: created once (only a SHA-256 hash is stored), listed, revoked; kept as a record stream in the store. */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Store } from '../index.js';

/** What a key may do: `read` (GETs), `run` (start, cancel, signal), `approve` (approvals), `admin` (everything). */
export type ApiKeyScope = 'read' | 'run' | 'approve' | 'admin';

/**
 * Every scope, in order.
 *
 * @example
 * ```ts
 * apiKeyScopes.includes('read'); // true
 * ```
 */
export const apiKeyScopes: readonly ApiKeyScope[] = ['read', 'run', 'approve', 'admin'];

/** A stored key, without its secret. */
export interface ApiKeyInfo {
  /** `key_` and 12 hex digits: names the key in lists and `revoke`, never authenticates. */
  id: string;
  name?: string;
  scopes: ApiKeyScope[];
  /** When set, the key reaches only runs of these targets. */
  targets?: string[];
  /** The tenant the key belongs to: it reaches only that tenant's runtime and runs. None: the server's own. */
  tenant?: string;
  /** Requests per minute this key may make (per server process); none: the server's default. */
  rateLimit?: number;
  createdAt: number;
  revokedAt?: number;
}

/**
 * The record stream that holds key records (`create` and `revoke`, folded when read).
 *
 * @example
 * ```ts
 * const records = await store.readRecords(apiKeyStream); // hashes and revocations, never a key
 * ```
 */
export const apiKeyStream = 'server:api-keys';

const keyPrefix = 'bk_';

interface CreateRecord extends ApiKeyInfo {
  type: 'create';
  /** SHA-256 of the key, hex. */
  hash: string;
}
interface RevokeRecord {
  type: 'revoke';
  id: string;
  at: number;
}

/** Options of {@link createApiKey}. */
export interface CreateApiKeyOptions {
  scopes: readonly ApiKeyScope[];
  targets?: readonly string[];
  name?: string;
  /** The tenant the key belongs to (letters, digits, `_`, `-`, `.`; up to 100). */
  tenant?: string;
  /** Requests per minute (a positive integer). */
  rateLimit?: number;
  now?: number;
}

const tenantPattern = /^[A-Za-z0-9_.-]{1,100}$/;

/**
 * Creates a key: 32 random bytes after `bk_`; stores only its SHA-256 hash. The key itself is
 * returned once and cannot be read again.
 *
 * @example
 * ```ts
 * const { key, info } = await createApiKey(store, { scopes: ['read', 'run'], name: 'ci' });
 * fetch(url, { headers: { authorization: `Bearer ${key}` } });
 * ```
 */
export async function createApiKey(
  store: Store,
  options: CreateApiKeyOptions,
): Promise<{ key: string; info: ApiKeyInfo }> {
  const scopes = [...new Set(options.scopes)];
  if (scopes.length === 0 || scopes.some((scope) => !apiKeyScopes.includes(scope))) {
    throw new TypeError(`API key scopes must be some of ${apiKeyScopes.join(', ')}.`);
  }
  if (options.tenant !== undefined && !tenantPattern.test(options.tenant)) {
    throw new TypeError(
      `An API key's tenant must be 1 to 100 letters, digits, "_", "-" or "."; got ${JSON.stringify(options.tenant)}.`,
    );
  }
  if (
    options.rateLimit !== undefined &&
    !(Number.isInteger(options.rateLimit) && options.rateLimit > 0 && options.rateLimit <= 1_000_000)
  ) {
    throw new TypeError(
      `An API key's rate limit is requests per minute, an integer from 1 to 1000000; got ${options.rateLimit}.`,
    );
  }
  const key = `${keyPrefix}${randomBytes(32).toString('base64url')}`;
  const info: ApiKeyInfo = {
    id: `key_${randomBytes(6).toString('hex')}`,
    scopes,
    createdAt: options.now ?? Date.now(),
  };
  if (options.name !== undefined) info.name = options.name;
  if (options.targets !== undefined && options.targets.length > 0)
    info.targets = [...new Set(options.targets)];
  if (options.tenant !== undefined) info.tenant = options.tenant;
  if (options.rateLimit !== undefined) info.rateLimit = options.rateLimit;
  const record: CreateRecord = { type: 'create', ...info, hash: hashKey(key) };
  await store.appendRecord(apiKeyStream, record, info.createdAt);
  return { key, info };
}

/**
 * Every key ever created, oldest first, revoked ones with `revokedAt`.
 *
 * @example
 * ```ts
 * for (const key of await listApiKeys(store)) console.log(key.id, key.scopes.join(','));
 * ```
 */
export async function listApiKeys(store: Store): Promise<ApiKeyInfo[]> {
  return (await readKeys(store)).map(({ hash: _hash, type: _type, ...info }) => info);
}

/**
 * Revokes a key by id; resolves false when there is no such key (a revoked key stays revoked).
 *
 * @example
 * ```ts
 * await revokeApiKey(store, 'key_0123456789ab');
 * ```
 */
export async function revokeApiKey(store: Store, id: string, now = Date.now()): Promise<boolean> {
  const keys = await readKeys(store);
  const found = keys.find((key) => key.id === id);
  if (found === undefined) return false;
  if (found.revokedAt === undefined) {
    const record: RevokeRecord = { type: 'revoke', id, at: now };
    await store.appendRecord(apiKeyStream, record, now);
  }
  return true;
}

/** Checks presented keys against the store, caching the folded key list for `cacheMs`. */
export interface ApiKeyVerifier {
  /** The key's info when it is a live (not revoked) key, else `undefined`. */
  verify(key: string): Promise<ApiKeyInfo | undefined>;
}

/**
 * A verifier over the store's keys. The key list is read again after `cacheMs` (default 5 s),
 * so a key revoked from another process stops working within that time. Every live key's
 * hash is compared in constant time, and all of them are compared whatever matches.
 *
 * @example
 * ```ts
 * const keys = createApiKeyVerifier(store, { cacheMs: 1000 });
 * const info = await keys.verify(bearerToken);
 * ```
 */
export function createApiKeyVerifier(store: Store, options: { cacheMs?: number } = {}): ApiKeyVerifier {
  const cacheMs = options.cacheMs ?? 5000;
  let cached: { at: number; keys: Promise<(CreateRecord & { digest: Buffer })[]> } | undefined;
  const load = (): Promise<(CreateRecord & { digest: Buffer })[]> => {
    const now = Date.now();
    if (cached === undefined || now - cached.at >= cacheMs) {
      const keys = readKeys(store).then((all) =>
        all
          .filter((key) => key.revokedAt === undefined)
          .map((key) => ({ ...key, digest: Buffer.from(key.hash, 'hex') })),
      );
      // A failed read is not cached: the next request reads again.
      keys.catch(() => {
        cached = undefined;
      });
      cached = { at: now, keys };
    }
    return cached.keys;
  };
  return {
    async verify(key) {
      if (!key.startsWith(keyPrefix)) return undefined;
      const digest = createHash('sha256').update(key).digest();
      let found: CreateRecord | undefined;
      for (const candidate of await load()) {
        if (timingSafeEqual(candidate.digest, digest) && found === undefined) found = candidate;
      }
      if (found === undefined) return undefined;
      const { hash: _hash, type: _type, ...info } = found as CreateRecord & { digest?: Buffer };
      delete (info as { digest?: Buffer }).digest;
      return info;
    },
  };
}

function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Folds the stream's records into keys: a create adds one, a revoke marks it. Malformed records are skipped. */
async function readKeys(store: Store): Promise<CreateRecord[]> {
  const keys = new Map<string, CreateRecord>();
  for (const { data } of await store.readRecords(apiKeyStream)) {
    const record = data as Partial<CreateRecord> | Partial<RevokeRecord> | null;
    if (record === null || typeof record !== 'object' || typeof record.id !== 'string') continue;
    if (record.type === 'create' && typeof (record as CreateRecord).hash === 'string') {
      keys.set(record.id, { ...(record as CreateRecord) });
    } else if (record.type === 'revoke') {
      const key = keys.get(record.id);
      if (key !== undefined && key.revokedAt === undefined) key.revokedAt = (record as RevokeRecord).at;
    }
  }
  return [...keys.values()];
}

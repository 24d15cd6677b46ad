// Postgres for the bench cases that measure it: the local test server (BATON_BENCH_POSTGRES_URL or
// BATON_TEST_POSTGRES_URL to change it), a fresh schema per measurement, dropped afterwards.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

const rootRequire = createRequire(new URL('../../package.json', import.meta.url));

export const POSTGRES_URL =
  process.env.BATON_BENCH_POSTGRES_URL ??
  process.env.BATON_TEST_POSTGRES_URL ??
  'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BATON_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** `host:port` of a URL, for the network guard's `localServers`. */
export function serverOf(url, defaultPort) {
  const parsed = new URL(url);
  return `${parsed.hostname.replace(/^\[|\]$/g, '')}:${parsed.port === '' ? defaultPort : parsed.port}`;
}

export const pg = (await import(pathToFileURL(rootRequire.resolve('pg')).href)).default;

let counter = 0;
/** A schema name no other run of the bench uses. */
export function freshSchema(label) {
  counter += 1;
  return `baton_bench_${label}_${process.pid}_${counter}_${Date.now().toString(36)}`;
}

/**
 * A pool on the bench's server. An idle connection the server ends (a restart) emits 'error' on
 * the pool, which would otherwise crash the case; the next query fails instead, and the case reports it.
 */
export function benchPool(max = 1) {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max });
  pool.on('error', () => undefined);
  return pool;
}

/** Runs `fn(admin)` with a one-connection pool, then ends it. */
export async function withAdmin(fn) {
  const admin = benchPool();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/** Drops a schema; when the server is restarting, tries again for up to 20 s, so no schema is left behind. */
export async function dropSchema(schema) {
  for (let attempt = 1; ; attempt++) {
    try {
      await withAdmin((admin) => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      return;
    } catch (error) {
      if (attempt >= 10 || !serverWentAway(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  }
}

/** Rejects after `ms` with `what` in the message, so a case fails instead of hanging. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Whether an error says the server went away (a restart by other work on the machine), not that Baton failed. */
export function serverWentAway(error) {
  const text = `${error?.code ?? ''} ${error?.message ?? error} ${error?.cause?.message ?? ''}`;
  return /57P01|57P03|ECONNREFUSED|ECONNRESET|terminating connection|not queryable|shutting down|starting up|store is unavailable/i.test(
    text,
  );
}

/**
 * Runs a measurement; when the server went away during it, waits 5 s and measures once more.
 * Returns the value and whether it was retried (reported with the numbers).
 */
export async function measureWithRetry(measure) {
  try {
    return { value: await measure(), retried: false };
  } catch (error) {
    if (!serverWentAway(error)) throw error;
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    return { value: await measure(), retried: true };
  }
}

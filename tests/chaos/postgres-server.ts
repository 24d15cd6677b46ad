/**
 * The chaos test's hold on the local Postgres server: a shared hold on the advisory lock the
 * Postgres test files use (so the restart test never restarts the server under it), upgraded to
 * an exclusive one for its own restart of the cluster (so it never restarts the server under them).
 */

import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import pg from 'pg';
import { postgresUrl, serverLock } from '../stores/postgres-database.js';

const run = promisify(execFile);

/** A session on the server holding `serverLock`. */
export class ServerHold {
  #client: pg.Client | undefined;

  /** Takes the lock shared (waits while the restart test holds it), retrying while the server restarts. */
  async share(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const client = new pg.Client({ connectionString: postgresUrl });
      client.on('error', () => undefined);
      try {
        await client.connect();
        await client.query('SELECT pg_advisory_lock_shared($1)', [serverLock]);
        this.#client = client;
        return;
      } catch (error) {
        await client.end().catch(() => undefined);
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /**
   * Upgrades the shared hold to an exclusive one once no other test file uses the server. It only
   * tries (never queues): a queued exclusive request would hold up the shared requests of test
   * files starting meanwhile past their hook timeout.
   */
  async exclusive(timeoutMs = 120_000): Promise<void> {
    if (this.#client === undefined) throw new Error('Take the shared hold before the exclusive one.');
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const { rows } = await this.#client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [serverLock],
      );
      if (rows[0]?.locked === true) return;
      if (Date.now() > deadline)
        throw new Error(`Other test files used the Postgres server for ${timeoutMs} ms.`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /**
   * Restarts the local cluster (the Debian layout CI uses) under the exclusive hold (the restart
   * ends that session and its lock), then takes the shared hold again. Resolves with when the
   * server went down and came back.
   */
  async restart(): Promise<{ startedAt: number; endedAt: number }> {
    const version = readdirSync('/etc/postgresql')[0];
    if (version === undefined) throw new Error('No cluster under /etc/postgresql to restart.');
    const startedAt = Date.now();
    await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
    const endedAt = Date.now();
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
    await this.share();
    return { startedAt, endedAt };
  }

  async release(): Promise<void> {
    await this.#client?.end().catch(() => undefined);
    this.#client = undefined;
  }
}

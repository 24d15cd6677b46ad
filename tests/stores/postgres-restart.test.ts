/**
 * A restart of the Postgres server in the middle of a run loses nothing and repeats no step. This file
 * restarts the local cluster, which disturbs every other user of the server for a second or two:
 * it is kept apart and short.
 */

import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { workflow } from '../../src/core/runnable.js';
import { createRuntime } from '../../src/core/runtime.js';
import { testStore, useServerAlone } from './postgres-database.js';

useServerAlone();

const run = promisify(execFile);

/** Restarts the local cluster (the Debian layout CI uses) and resolves once it accepts connections again. */
async function restartServer(): Promise<void> {
  const version = readdirSync('/etc/postgresql')[0];
  if (version === undefined) throw new Error('No cluster under /etc/postgresql to restart.');
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
}

describe('the Postgres store across a server restart', () => {
  it('finishes a run whose server restarts between its steps, running each step once', async () => {
    const store = testStore();
    const executions = { before: 0, restart: 0, after: 0 };
    const flow = workflow({ name: 'survives-restart', version: '1' }, async (ctx) => {
      const before = await ctx.step('before', async () => ++executions.before);
      const restarted = await ctx.step('restart', async () => {
        executions.restart++;
        await restartServer();
        return 'restarted';
      });
      const after = await ctx.step('after', async () => ++executions.after);
      return { before, restarted, after };
    });
    const runtime = createRuntime({ store, workflows: [flow], pollIntervalMs: 200, leaseMs: 30_000 });
    try {
      const handle = await runtime.start(flow, {});
      expect(await handle.result()).toEqual({ before: 1, restarted: 'restarted', after: 1 });
      expect(executions).toEqual({ before: 1, restart: 1, after: 1 });
      const journal = await runtime.journal(handle.runId);
      expect(journal.map((entry) => entry.name)).toEqual(['before', 'restart', 'after']);
      expect((await runtime.get(handle.runId)).status).toBe('completed');
    } finally {
      await runtime.close();
      await store.close();
    }
  }, 60_000);
});

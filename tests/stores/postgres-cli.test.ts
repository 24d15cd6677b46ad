/** The built CLI against the Postgres store: BATON_STORE (or --store) set to a postgres:// URL. */

import { beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, runBaton } from '../baton-cli.js';
import { freshSchema, postgresUrl, useSharedServer } from './postgres-database.js';

useSharedServer();

beforeAll(assertCliBuilt);

describe('baton with BATON_STORE=postgres://…', () => {
  it('runs, lists, shows and signals runs stored in Postgres', () => {
    const url = `${postgresUrl}?schema=${freshSchema()}`;
    const env = offlineEnv({ BATON_STORE: url });
    const run = runBaton(env, [
      'run',
      'tests/cli/fixtures/approval-flow.ts',
      '--input-json',
      '{"amount": 7}',
    ]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3); // suspended, waiting for approval
    const runId = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(run.stdout)?.[1];
    expect(runId).toBeDefined();

    const listed = runBaton(env, ['runs', '--json']);
    expect(listed.code).toBe(0);
    expect(
      (JSON.parse(listed.stdout) as { id: string; status: string }[]).map((record) => [
        record.id,
        record.status,
      ]),
    ).toEqual([[runId, 'suspended']]);

    const signal = runBaton(offlineEnv({}, ['BATON_STORE']), [
      'signal',
      runId!,
      'approval',
      '{"approved": true}',
      '--store',
      url,
    ]);
    expect(signal.stderr).toBe('');
    expect(signal.code).toBe(0);
    const shown = runBaton(env, ['show', runId!]);
    expect(shown.stdout).toContain('status  completed');
    expect(shown.stdout).toContain('Paid EXP-7 (7 USD)');
  });
});

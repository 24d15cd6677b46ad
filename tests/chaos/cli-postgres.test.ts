/**
 * The built CLI works unchanged against Postgres: `runs`, `show`, `inbox`, `approve`, `signal`,
 * `resume` and `audit verify` with BATON_STORE set to a postgres:// URL (a fresh schema of the
 * local server), on runs made there by the CLI itself.
 */

import pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, runBaton } from '../baton-cli.js';
import { freshSchema, postgresUrl, useSharedServer } from '../stores/postgres-database.js';

useSharedServer();

beforeAll(assertCliBuilt);

const schema = freshSchema();
const url = `${postgresUrl}?schema=${schema}`;
const env = offlineEnv({ BATON_STORE: url, USER: 'ana' }, ['REFUND_LOG']);

function baton(...args: string[]) {
  return runBaton(env, args);
}

function runIdIn(stdout: string): string {
  const runId = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(stdout)?.[1];
  if (runId === undefined) throw new Error(`no run id in:\n${stdout}`);
  return runId;
}

describe('baton with BATON_STORE=postgres://…?schema=…', () => {
  let refundRun = '';
  let expenseRun = '';

  it('lists and shows runs made there, and lists what they wait for in baton inbox', () => {
    const refund = baton('run', 'tests/governance/fixtures/refund-agent.ts', 'Refund A-1 and B-2');
    expect(refund.stderr).toBe('');
    expect(refund.code).toBe(3);
    refundRun = runIdIn(refund.stdout);
    const expense = baton('run', 'tests/cli/fixtures/approval-flow.ts', '--input-json', '{"amount": 7}');
    expect(expense.stderr).toBe('');
    expect(expense.code).toBe(3);
    expenseRun = runIdIn(expense.stdout);

    const runs = baton('runs');
    expect(runs.code).toBe(0);
    expect(runs.stdout).toContain(refundRun);
    expect(runs.stdout).toContain(expenseRun);
    const listed = JSON.parse(baton('runs', '--json').stdout) as { id: string; status: string }[];
    expect(listed.map((record) => [record.id, record.status]).sort()).toEqual(
      [
        [refundRun, 'suspended'],
        [expenseRun, 'suspended'],
      ].sort(),
    );
    expect(baton('show', expenseRun).stdout).toContain('status  suspended');

    const inbox = baton('inbox');
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).toContain('3 waiting:');
    expect(inbox.stdout).toContain(`approval  ${refundRun}  refunder`);
    expect(inbox.stdout).toContain('refund {"orderId":"B-2","amount":900}');
    expect(inbox.stdout).toContain(`signal    ${expenseRun}  expense-approval`);
    const requests = JSON.parse(baton('inbox', '--json').stdout) as { runId: string; toolCallId?: string }[];
    expect(
      requests.filter((request) => request.runId === refundRun).map((request) => request.toolCallId),
    ).toEqual(['call_a', 'call_b']);
  });

  it('approves and rejects tool calls, then the run finishes with both answers', () => {
    const reject = baton(
      'approve',
      refundRun,
      '--call',
      'call_b',
      '--reject',
      'over the limit',
      '--no-resume',
    );
    expect(reject.stderr).toBe('');
    expect(reject.code).toBe(0);
    expect(reject.stdout).toContain('✗ Rejected refund {"orderId":"B-2","amount":900}');
    const approve = baton('approve', refundRun, '--call', 'call_a');
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('✔ Completed');
    expect(approve.stdout).toContain('call_b="rejected: over the limit"');
    expect(baton('show', refundRun).stdout).toContain('status  completed');
  });

  it('stores a signal without resuming, then baton resume finishes the run', () => {
    const signal = baton('signal', expenseRun, 'approval', '{"approved": true}', '--no-resume');
    expect(signal.stderr).toBe('');
    expect(signal.code).toBe(0);
    expect(baton('show', expenseRun).stdout).toContain('status  suspended');
    const resume = baton('resume', expenseRun);
    expect(resume.stderr).toBe('');
    expect(resume.code).toBe(0);
    const shown = baton('show', expenseRun);
    expect(shown.stdout).toContain('status  completed');
    expect(shown.stdout).toContain('Paid EXP-7 (7 USD)');
    expect(baton('inbox').stdout).toContain('Nothing waits for you');
  });

  it('verifies the audit log kept in Postgres, and catches an entry edited there', async () => {
    const show = baton('audit', 'show', refundRun);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/rejected\s+call call_b by ana: over the limit/);
    expect(show.stdout).toMatch(/approved\s+call call_a by ana/);
    const verify = baton('audit', 'verify', refundRun);
    expect(verify.stderr).toBe('');
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(
      new RegExp(`✓ Audit log of run ${refundRun} is intact: 7 entries, head [0-9a-f]{64}`),
    );

    // Edit one recorded audit entry in the database: verify names it and exits 1.
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const edited = await client.query(
        `UPDATE "${schema}".records SET data = replace(data, '"amount":129', '"amount":12900') WHERE stream = $1 AND seq = 2`,
        [`audit:${refundRun}`],
      );
      expect(edited.rowCount).toBe(1);
    } finally {
      await client.end();
    }
    const caught = baton('audit', 'verify', refundRun);
    expect(caught.code).toBe(1);
    expect(caught.stdout).toContain('fails verification (edited entry #2)');
  });
});

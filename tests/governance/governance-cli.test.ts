import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, runBaton } from '../baton-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'baton-governance-cli-'));
const store = join(scratch, 'runs.db');
const env = offlineEnv({ USER: 'ana' }, ['REFUND_LOG']);

function baton(...args: string[]) {
  return runBaton(env, args);
}

beforeAll(assertCliBuilt);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('baton approve, inbox and audit (built CLI)', () => {
  let runId = '';

  it('runs an agent whose refunds need approval and lists what it asks in baton inbox', () => {
    const run = baton(
      'run',
      'tests/governance/fixtures/refund-agent.ts',
      'Refund A-1 and B-2',
      '--store',
      store,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    runId = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(runId).not.toBe('');
    expect(run.stdout).toContain(
      '⏸ Suspended: waiting for approval of 2 tool calls ("approval:call_a", "approval:call_b").',
    );
    expect(run.stdout).toContain(`baton approve ${runId} --list --store ${store}`);
    // Two calls wait: the message suggests what works with two (a bare `baton approve <id>` exits 2).
    expect(run.stdout).toContain(
      `Approve all with baton approve ${runId} --all --store ${store}, or one with --call <toolCallId>`,
    );
    expect(run.stdout).not.toContain(`Approve with baton approve ${runId} --store`);

    const inbox = baton('inbox', '--store', store);
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).toContain('2 waiting:');
    expect(inbox.stdout).toContain(`approval  ${runId}  refunder`);
    expect(inbox.stdout).toContain('refund {"orderId":"A-1","amount":129}');
    expect(inbox.stdout).toContain('refund {"orderId":"B-2","amount":900}');
    expect(inbox.stdout).toMatch(/agent refunder · call call_a · since /);
    expect(inbox.stdout).toContain(`baton approve ${runId} --call call_b --store ${store}`);
    const json = JSON.parse(baton('inbox', '--json', '--store', store).stdout) as Array<{
      toolCallId: string;
    }>;
    expect(json.map((request) => request.toolCallId)).toEqual(['call_a', 'call_b']);
  });

  it('refuses a malformed answer to either pending call with exit 2, storing nothing', () => {
    for (const call of ['call_a', 'call_b']) {
      const typo = baton('signal', runId, `approval:${call}`, '{"approve": true}', '--store', store);
      expect(typo.code).toBe(2);
      expect(typo.stderr).toContain(`Run ${runId} waits for "approval:${call}"`);
    }
    expect(baton('inbox', '--store', store).stdout).not.toContain('answered;');
  });

  it('asks which call when several wait, rejects one with a reason and approves the other, then finishes', () => {
    const ambiguous = baton('approve', runId, '--store', store);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain('2 tool calls of run');
    expect(ambiguous.stderr).toContain('--call <id>');
    expect(ambiguous.stderr).toContain('call_b  refund {"orderId":"B-2","amount":900}');

    const unknown = baton('approve', runId, '--call', 'call_z', '--store', store);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('pending: call_a, call_b');

    const reject = baton(
      'approve',
      runId,
      '--call',
      'call_b',
      '--reject',
      'over the limit',
      '--no-resume',
      '--store',
      store,
    );
    expect(reject.stderr).toBe('');
    expect(reject.code).toBe(0);
    expect(reject.stdout).toContain(
      '✗ Rejected refund {"orderId":"B-2","amount":900} (call call_b, agent refunder)',
    );
    expect(baton('inbox', '--store', store).stdout).toContain('answered; continue it with');

    const approve = baton('approve', runId, '--call', 'call_a', '--store', store);
    expect(approve.stderr).toBe('');
    expect(approve.code).toBe(0);
    expect(approve.stdout).toContain('✓ Approved refund');
    expect(approve.stdout).toContain('✔ Completed');
    expect(approve.stdout).toContain('call_a={"refundId":"RF-A-1","amount":129}');
    expect(approve.stdout).toContain('call_b="rejected: over the limit"');
    expect(baton('inbox', '--store', store).stdout).toContain('Nothing waits for you');
    const done = baton('approve', runId, '--store', store);
    expect(done.code).toBe(1);
    expect(done.stderr).toContain(`Run ${runId} is completed; it waits for no approval.`);
  });

  it('shows and verifies the audit log, and catches an entry edited or deleted in the SQLite file', () => {
    const show = baton('audit', 'show', runId, '--store', store);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/#1 .* model-decision\s+refunder\s+calls refund/);
    // Entries are stored in the canonical JSON that is hashed: object keys sorted.
    expect(show.stdout).toMatch(/approval-requested\s+refunder\s+refund \{"amount":129,"orderId":"A-1"\}/);
    expect(show.stdout).toMatch(/rejected\s+call call_b by ana: over the limit/);
    expect(show.stdout).toMatch(/approved\s+call call_a by ana/);

    const verify = baton('audit', 'verify', runId, '--store', store);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(
      new RegExp(`✓ Audit log of run ${runId} is intact: 7 entries, head [0-9a-f]{64}`),
    );

    // With BATON_AUDIT_KEY, verify insists on a keyed log: this one was written without a key.
    env.BATON_AUDIT_KEY = 'k'.repeat(32);
    try {
      const keyed = baton('audit', 'verify', runId, '--store', store);
      expect(keyed.code).toBe(1);
      expect(keyed.stdout).toMatch(/entry #1 \(model-decision at step .*\) is not keyed/);
    } finally {
      delete env.BATON_AUDIT_KEY;
    }

    const stream = `audit:${runId}`;
    const edited = join(scratch, 'edited.db');
    copyFileSync(store, edited);
    const db = new Database(edited);
    const row = db.prepare('SELECT data FROM records WHERE stream = ? AND seq = 2').get(stream) as {
      data: string;
    };
    db.prepare('UPDATE records SET data = ? WHERE stream = ? AND seq = 2').run(
      row.data.replace('"amount":129', '"amount":12900'),
      stream,
    );
    db.close();
    const caughtEdit = baton('audit', 'verify', runId, '--store', edited);
    expect(caughtEdit.code).toBe(1);
    expect(caughtEdit.stdout).toContain('fails verification (edited entry #2)');
    expect(caughtEdit.stdout).toContain('was edited: its content no longer matches its hash');

    const deleted = join(scratch, 'deleted.db');
    copyFileSync(store, deleted);
    const other = new Database(deleted);
    other.prepare('DELETE FROM records WHERE stream = ? AND seq = 4').run(stream);
    other.close();
    const caughtDelete = baton('audit', 'verify', runId, '--store', deleted, '--json');
    expect(caughtDelete.code).toBe(1);
    expect(JSON.parse(caughtDelete.stdout)).toMatchObject({
      ok: false,
      problem: { kind: 'deleted', index: 4 },
    });

    expect(baton('audit', 'check', runId, '--store', store).code).toBe(2);
  });

  it('does not run a call whose arguments were edited in the store while it waited, and audit verify says so', () => {
    const own = join(scratch, 'edited-arguments.db');
    const effects = join(scratch, 'edited-arguments.log');
    const withLog = offlineEnv({ USER: 'ana', REFUND_LOG: effects });
    const run = runBaton(withLog, [
      'run',
      'tests/governance/fixtures/refund-agent.ts',
      'Refund A-1 and B-2',
      '--store',
      own,
    ]);
    expect(run.code).toBe(3);
    const id = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(run.stdout)?.[1] ?? '';
    // Someone with write access to the store changes what call_a's approval request shows.
    const db = new Database(own);
    db.prepare(
      "UPDATE journal SET result = json_set(result, '$.input.orderId', 'A-9') WHERE run_id = ? AND name = 'approval:refund' AND json_extract(result, '$.toolCallId') = 'call_a'",
    ).run(id);
    db.close();
    expect(runBaton(withLog, ['inbox', '--store', own]).stdout).toContain(
      'refund {"orderId":"A-9","amount":129}',
    );

    const approve = runBaton(withLog, ['approve', id, '--all', '--store', own]);
    expect(approve.code).toBe(1);
    expect(approve.stdout).toContain(
      '✓ Approved refund {"orderId":"A-9","amount":129} (call call_a, agent refunder)',
    );
    expect(approve.stdout).toContain('refund (call call_a) was not run');
    // Only call_b, approved as shown, ran; neither A-1 nor A-9 was refunded.
    expect(
      readFileSync(effects, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).orderId),
    ).toEqual(['B-2']);

    const verify = runBaton(withLog, ['audit', 'verify', id, '--store', own]);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/fails verification \(diverged entry #\d+\)/);
    expect(verify.stdout).toMatch(/approval-requested at step .*\) does not match the journal/);
  });
});

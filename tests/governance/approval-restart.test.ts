import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/core/runtime.js';
import { listPending, type PendingRequest } from '../../src/governance/approval-inbox.js';
import { readAudit } from '../../src/governance/audit.js';
import { verifyAudit } from '../../src/governance/audit-verify.js';
import { createSqliteStore } from '../../src/stores/sqlite/index.js';
import { kill, killStarted, startWorker, waitForLine } from '../crash/crash-harness.js';

const repo = join(import.meta.dirname, '..', '..');
const worker = join(import.meta.dirname, 'approval-worker.ts');
const scratch = mkdtempSync(join(tmpdir(), 'baton-approval-restart-'));

beforeAll(() => {
  if (!existsSync(join(repo, 'dist', 'index.js')))
    throw new Error('dist/ is missing: build first with `npm run build` (npm test does it for you).');
});
afterEach(() => {
  delete process.env.APPROVAL_RULE;
  return killStarted();
});

/** Waits (real time) until the store's clock has passed `time`, plus a margin for the timer. */
async function pastDeadline(time: number): Promise<void> {
  while (Date.now() < time + 100) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** Runs the built CLI against a store. */
function baton(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', USER: 'ana' };
  delete env.FORCE_COLOR;
  const result = spawnSync(process.execPath, [join(repo, 'dist', 'cli', 'main.js'), ...args], {
    cwd: repo,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('approval across a process restart', () => {
  it('waits with nothing in memory, survives a killed process, and a new process finishes it on the signal', async () => {
    const dbPath = join(scratch, 'runs.db');
    const effects = join(scratch, 'refunds.log');
    process.env.REFUND_LOG = effects;
    const runId = 'run_approval_restart';

    const first = startWorker(worker, ['start', dbPath, runId], '');
    await waitForLine(first, 'SUSPENDED');
    expect(first.output).toMatch(/SUSPENDED .*approval:call_a/);
    // The second call's request is journaled too (the inbox below lists it), even when the run
    // suspends on the first before the second starts waiting.
    await kill(first);

    // From here on only the store knows about the run.
    const store = createSqliteStore({ path: dbPath });
    const run = await store.getRun(runId);
    expect(run).toMatchObject({ status: 'suspended' });
    expect(run?.wakeAt).toBeUndefined();
    const pending = await listPending(store);
    expect(
      pending.map((request) => [request.toolCallId, request.tool, request.input, request.agent]),
    ).toEqual([
      ['call_a', 'refund', { orderId: 'A-1', amount: 129 }, 'refunder'],
      ['call_b', 'refund', { orderId: 'B-2', amount: 900 }, 'refunder'],
    ]);
    const operator = createRuntime({ store, recover: false });
    await operator.signal(runId, 'approval:call_a', { approved: true, by: 'ana' });
    await operator.signal(runId, 'approval:call_b', { approved: false, reason: 'over the limit', by: 'ana' });
    await operator.close();

    const second = startWorker(worker, ['serve', dbPath, runId], '');
    await waitForLine(second, 'ENDED');
    const secondPid = Number(/READY (\d+)/.exec(second.output)?.[1]);
    expect(second.output).toContain('ENDED completed');
    expect(second.output).toContain('call_a={\\"refundId\\":\\"RF-A-1\\",\\"amount\\":129}');
    expect(second.output).toContain('call_b=\\"rejected: over the limit\\"');
    // Only the approved refund ran, once, in the second process.
    const refunds = readFileSync(effects, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(refunds).toEqual([{ pid: secondPid, orderId: 'A-1', amount: 129 }]);

    const audit = await readAudit(store, runId);
    const types = audit.map((entry) => entry.type);
    expect(types.slice(0, 3)).toEqual(['model-decision', 'approval-requested', 'approval-requested']);
    // Both decisions and the approved call; the order of the two calls' steps depends on timing.
    expect(types.slice(3, 6).sort()).toEqual(['approved', 'rejected', 'tool-call']);
    expect(types[6]).toBe('model-decision');
    expect(await verifyAudit(store, runId)).toMatchObject({ ok: true, entries: 7 });
    await store.close();
  });

  it('takes the timeout path when the process died during the wait and a new one comes back after the deadline', async () => {
    const dbPath = join(scratch, 'deadline.db');
    const effects = join(scratch, 'deadline-refunds.log');
    process.env.REFUND_LOG = effects;
    process.env.APPROVAL_RULE = JSON.stringify({ timeout: 2000 });
    const runId = 'run_approval_deadline';

    const first = startWorker(worker, ['start', dbPath, runId], '');
    await waitForLine(first, 'SUSPENDED');
    await kill(first);

    // The deadline is in the store only: the run waits for the signal or the timer.
    const store = createSqliteStore({ path: dbPath });
    const run = await store.getRun(runId);
    expect(run).toMatchObject({ status: 'suspended' });
    expect(run?.wakeAt).toBeGreaterThan(Date.now());
    const pending = await listPending(store);
    expect(pending.map((request) => [request.toolCallId, request.onTimeout])).toEqual([
      ['call_a', 'reject'],
      ['call_b', 'reject'],
    ]);
    expect(pending[0]?.deadline).toBe(run?.wakeAt);
    await pastDeadline(run?.wakeAt as number);

    const second = startWorker(worker, ['serve', dbPath, runId], '');
    await waitForLine(second, 'ENDED');
    expect(second.output).toContain('ENDED completed');
    expect(second.output).toContain('call_a=\\"rejected: no decision within 2s\\"');
    expect(second.output).toContain('call_b=\\"rejected: no decision within 2s\\"');
    expect(existsSync(effects)).toBe(false);
    const journal = await store.loadJournal(runId);
    expect(
      journal.filter((entry) => entry.name === 'approval-timeout:refund').map((entry) => entry.result),
    ).toEqual([
      expect.objectContaining({ toolCallId: 'call_a', approved: false, by: 'timeout' }),
      expect.objectContaining({ toolCallId: 'call_b', approved: false, by: 'timeout' }),
    ]);
    const types = (await readAudit(store, runId)).map((entry) => entry.type);
    expect(types.filter((type) => type === 'approval-timeout')).toHaveLength(2);
    expect(types).not.toContain('tool-call');
    expect(await verifyAudit(store, runId)).toMatchObject({ ok: true });
    await store.close();
  });

  it('escalates after a restart past the deadline; baton inbox lists the escalation and baton approve answers it', async () => {
    const dbPath = join(scratch, 'escalation.db');
    const effects = join(scratch, 'escalation-refunds.log');
    process.env.REFUND_LOG = effects;
    process.env.APPROVAL_RULE = JSON.stringify({ timeout: '2s', onTimeout: { escalateTo: 'oncall-lead' } });
    const runId = 'run_approval_escalation';

    const first = startWorker(worker, ['start', dbPath, runId], '');
    await waitForLine(first, 'SUSPENDED');
    await kill(first);
    const store = createSqliteStore({ path: dbPath });
    await pastDeadline((await store.getRun(runId))?.wakeAt as number);

    // The new process finds the deadline passed and re-issues both requests to oncall-lead.
    const second = startWorker(worker, ['serve', dbPath, runId], '');
    await waitForLine(second, 'SUSPENDED');
    const inbox = baton('inbox', '--json', '--run', runId, '--store', dbPath);
    expect(inbox.stderr).toBe('');
    expect(
      (JSON.parse(inbox.stdout) as PendingRequest[]).map((request) => [
        request.toolCallId,
        request.escalatedTo,
      ]),
    ).toEqual([
      ['call_a', 'oncall-lead'],
      ['call_b', 'oncall-lead'],
    ]);
    expect(baton('inbox', '--store', dbPath).stdout).toContain('escalated to oncall-lead');

    expect(
      baton('approve', runId, '--call', 'call_a', '--by', 'lead', '--no-resume', '--store', dbPath).code,
    ).toBe(0);
    const rejected = baton(
      'approve',
      runId,
      '--call',
      'call_b',
      '--reject',
      'not today',
      '--no-resume',
      '--store',
      dbPath,
    );
    expect(rejected.code).toBe(0);
    // The serving process picks the answers up and finishes the run.
    // Not 'ENDED' alone: the 'SUSPENDED' line above contains it.
    await waitForLine(second, '\nENDED ');
    const secondPid = Number(/READY (\d+)/.exec(second.output)?.[1]);
    expect(second.output).toContain('ENDED completed');
    expect(second.output).toContain('call_a={\\"refundId\\":\\"RF-A-1\\",\\"amount\\":129}');
    expect(second.output).toContain('call_b=\\"rejected: not today\\"');
    const refunds = readFileSync(effects, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(refunds).toEqual([{ pid: secondPid, orderId: 'A-1', amount: 129 }]);
    const decisions = (await readAudit(store, runId)).filter(
      (entry) => entry.type === 'approved' || entry.type === 'rejected',
    );
    expect(decisions.map((entry) => [entry.type, (entry.data as { by?: string }).by])).toEqual(
      expect.arrayContaining([
        ['approved', 'lead'],
        ['rejected', 'ana'],
      ]),
    );
    await store.close();
  });
});

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/core/runtime.js';
import { listPending } from '../../src/governance/approvals.js';
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
afterEach(killStarted);
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
});

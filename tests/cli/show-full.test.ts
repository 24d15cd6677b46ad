import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, runBaton } from '../baton-cli.js';

describe('baton show --full', () => {
  const folder = mkdtempSync(join(tmpdir(), 'baton-show-full-'));
  const store = join(folder, 'baton.db');
  let runId = '';
  beforeAll(() => {
    assertCliBuilt();
    const run = runBaton(offlineEnv(), [
      'run',
      'examples/customer-support/team.yaml',
      'I was charged twice for order A-1001.',
      '--store',
      store,
    ]);
    expect(run.code).toBe(0);
    runId = /run_[0-9a-f]+/.exec(run.stdout + run.stderr)?.[0] ?? '';
    expect(runId).not.toBe('');
  });
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it("prints each model call's answer and tool calls, and each tool's input and output under its step", () => {
    const plain = runBaton(offlineEnv(), ['show', runId, '--store', store]);
    expect(plain.stdout).not.toContain('calls refund_order(');
    const full = runBaton(offlineEnv(), ['show', runId, '--store', store, '--full']);
    expect(full.code).toBe(0);
    const lines = full.stdout.split('\n');
    const refund = lines.findIndex((line) => line.includes('tool:refund_order'));
    expect(lines[refund - 1]).toContain(
      'calls refund_order({"orderId":"A-1001","chargeId":"ch_1001_2","reason":"duplicate charge"})',
    );
    expect(lines[refund + 1]).toContain(
      'input: {"orderId":"A-1001","chargeId":"ch_1001_2","reason":"duplicate charge"}',
    );
    expect(lines[refund + 2]).toContain('output: {');
    expect(full.stdout).toContain('"refundId": "RF-A-1001-1"');
    expect(full.stdout).toMatch(/answer: I've refunded the duplicate charge/);
  });

  it('adds the journal, results included, to --json', () => {
    const json = JSON.parse(
      runBaton(offlineEnv(), ['show', runId, '--store', store, '--full', '--json']).stdout,
    ) as {
      journal: { name: string; result: unknown }[];
    };
    const refund = json.journal.find((entry) => entry.name === 'tool:refund_order');
    expect(refund?.result).toMatchObject({ refundId: 'RF-A-1001-1', amount: 129 });
  });
});

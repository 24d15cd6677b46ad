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

describe('baton show --full with journaled prompts and guardrails', () => {
  const folder = mkdtempSync(join(tmpdir(), 'baton-show-prompts-'));
  const store = join(folder, 'baton.db');
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  const runPiiAgent = (env: NodeJS.ProcessEnv): string => {
    const run = runBaton(env, [
      'run',
      'tests/cli/fixtures/pii-agent.ts',
      'Who is customer 7? Mail me at boss@corp.example',
      '--store',
      store,
    ]);
    expect(run.code).toBe(0);
    return /run_[0-9a-f]+/.exec(run.stdout)?.[0] ?? '';
  };

  it('prints the prompts sent, and every content as the agent’s redactPii guardrail left it', () => {
    assertCliBuilt();
    const runId = runPiiAgent(offlineEnv({ BATON_JOURNAL_PROMPTS: '1' }));
    const full = runBaton(offlineEnv(), ['show', runId, '--store', store, '--full']);
    expect(full.code).toBe(0);
    expect(full.stdout).toContain('input   Who is customer 7? Mail me at [REDACTED:email]');
    expect(full.stdout).toContain('prompt (2 messages):');
    expect(full.stdout).toContain('system: Answer questions about customers.');
    expect(full.stdout).toContain('user: Who is customer 7? Mail me at [REDACTED:email]');
    expect(full.stdout).toContain('tool result: {"id":7,"name":"Jane","email":"[REDACTED:email]"}');
    expect(full.stdout).toContain('output: {"id":7,"name":"Jane","email":"[REDACTED:email]"}');
    expect(full.stdout).toContain('answer: Customer 7 is Jane, reachable at [REDACTED:email].');
    // The addresses themselves appear nowhere, in text or in JSON.
    const json = runBaton(offlineEnv(), ['show', runId, '--store', store, '--full', '--json']).stdout;
    for (const shown of [full.stdout, json]) {
      expect(shown).not.toContain('jane.doe@example.com');
      expect(shown).not.toContain('boss@corp.example');
    }
    const parsed = JSON.parse(json) as {
      run: { input: string };
      journal: { name: string; meta?: { prompt?: unknown } }[];
    };
    expect(parsed.run.input).toBe('Who is customer 7? Mail me at [REDACTED:email]');
    expect(parsed.journal.find((entry) => entry.name === 'model:crm')?.meta?.prompt).toEqual([
      { role: 'system', parts: [{ type: 'text', content: 'Answer questions about customers.' }] },
      { role: 'user', parts: [{ type: 'text', content: 'Who is customer 7? Mail me at [REDACTED:email]' }] },
    ]);
  });

  it('records no prompt unless BATON_JOURNAL_PROMPTS is set', () => {
    const runId = runPiiAgent(offlineEnv({}, ['BATON_JOURNAL_PROMPTS']));
    const full = runBaton(offlineEnv(), ['show', runId, '--store', store, '--full']);
    expect(full.code).toBe(0);
    expect(full.stdout).not.toContain('prompt (');
    expect(full.stdout).toContain('answer: Customer 7 is Jane, reachable at [REDACTED:email].');
    expect(full.stdout).not.toContain('jane.doe@example.com');
  });
});

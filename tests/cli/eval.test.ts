/** `baton eval`: a table, stored results, comparison with the previous eval, exit 1 on a regression, resuming after a SIGKILL. */

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';

const fixtures = 'tests/cli/fixtures';

beforeAll(assertCliBuilt);

function tempStore(): { folder: string; store: string } {
  const folder = mkdtempSync(join(tmpdir(), 'baton-eval-cli-'));
  return { folder, store: join(folder, 'baton.db') };
}

describe('baton eval', () => {
  it('scores a team file on a JSONL dataset, then compares the next eval with it', () => {
    const { store } = tempStore();
    const env = offlineEnv();
    const args = [
      'eval',
      'examples/customer-support/evals.jsonl',
      'examples/customer-support/team.yaml',
      '--store',
      store,
    ];
    const first = runBaton(env, args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('Eval of customer-support on evals: 3 cases, 4 at a time');
    expect(first.stdout).toMatch(/CASE\s+PASS\s+SCORE\s+CHANGE\s+STATUS\s+TIME\s+COST\s+RUN\s+REASON/);
    expect(first.stdout).toMatch(/duplicate-charge\s+pass\s+1\.00/);
    // Offline, the scripted team refunds whatever it is asked: the outage case fails on its tools.
    expect(first.stdout).toMatch(/app-outage\s+fail/);
    expect(first.stdout).toContain(
      'tools: missing or out of order: transfer_to_technical, check_service_status (made lookup_order, transfer_to_billing, refund_order)',
    );
    expect(first.stdout).toContain('2 of 3 cases passed (66.7%)');
    expect(first.stdout).toContain('No previous eval of this target and dataset to compare with.');
    const evalId = /eval {6}(eval_[0-9a-f]+)/.exec(first.stdout)?.[1];
    expect(evalId).toBeDefined();
    // Each case is a run in the store, shown like any other.
    const shown = runBaton(env, ['show', `${evalId}:duplicate-charge`, '--store', store]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('refund_order');

    const second = runBaton(env, [...args, '--json']);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout) as {
      evalId: string;
      summary: { passed: number; cases: number };
      comparison: { previousEvalId: string; regressed: boolean; shared: number };
    };
    expect(report.summary).toMatchObject({ passed: 2, cases: 3 });
    expect(report.comparison).toMatchObject({ previousEvalId: evalId, regressed: false, shared: 3 });
    expect(report.evalId).not.toBe(evalId);
  });

  it('exits 1 on a regression beyond the threshold, naming what fell', () => {
    const { store } = tempStore();
    const args = ['eval', `${fixtures}/eval-sums.jsonl`, `${fixtures}/eval-calc.ts`, '--store', store];
    const good = runBaton(offlineEnv(), args);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('4 of 4 cases passed (100.0%)');
    // The same target now answers one too many: with a threshold of 100 points nothing is a regression.
    const tolerated = runBaton(offlineEnv({ CALC_OFF: '1' }), [...args, '--threshold', '1']);
    expect(tolerated.code).toBe(0);
    expect(tolerated.stdout).toContain('No regression beyond the threshold (100.0 points).');
    expect(runBaton(offlineEnv(), args).code).toBe(0);
    const bad = runBaton(offlineEnv({ CALC_OFF: '1' }), args);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain('0 of 4 cases passed (0.0%)');
    expect(bad.stdout).toMatch(/small\s+fail\s+0\.50\s+worse/);
    expect(bad.stdout).toContain('pass rate 100.0% → 0.0% (−100.0)');
    expect(bad.stdout).toContain(
      'Regression beyond the threshold (5.0 points): pass rate fell 100.0 points; mean score fell 75.0 points',
    );
  });

  it('runs a dataset module with its own scorers and judge', () => {
    const { store } = tempStore();
    const result = runBaton(offlineEnv(), [
      'eval',
      `${fixtures}/eval-dataset.ts`,
      `${fixtures}/eval-calc.ts`,
      '--store',
      store,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      dataset: string;
      cases: Array<{ id: string; pass: boolean; scores: Record<string, { reason: string; pass: boolean }> }>;
    };
    expect(report.dataset).toBe('judged-sums');
    expect(report.cases[0]?.scores).toMatchObject({
      judge: { pass: true, reason: '5/5: answered 2' },
      short: { pass: true },
    });
    expect(report.cases[1]?.scores).toMatchObject({ exact: { pass: true }, short: { pass: true } });
  });

  it('resumes an eval killed mid-case: scored cases stay, finished model and tool calls are not repeated', async () => {
    const { folder, store } = tempStore();
    const log = join(folder, 'calls.log');
    const env = offlineEnv({ CALC_LOG: log, CALC_DELAY_MS: '150' });
    const args = [
      join(repo, 'dist/cli/main.js'),
      'eval',
      `${fixtures}/eval-sums.jsonl`,
      `${fixtures}/eval-calc.ts`,
      '--store',
      store,
      '--concurrency',
      '1',
    ];
    const child = spawn(process.execPath, args, { cwd: repo, env, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Kill it once the second case's last model call has begun (150 ms long): its tool step is
    // journaled by then (a run moves on only once a step's entry is stored).
    const lines = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
    for (
      let waited = 0;
      lines().filter((line) => line === 'model answer').length < 2 && waited < 600;
      waited++
    )
      await new Promise((resolve) => setTimeout(resolve, 25));
    child.kill('SIGKILL');
    await exited;
    const before = lines();
    expect(before.filter((line) => line.startsWith('tool'))).toEqual(['tool 2+3', 'tool 10+20']);

    const resumed = runBaton(offlineEnv({ CALC_LOG: log }), [...args.slice(1), '--force']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('4 of 4 cases passed');
    expect(resumed.stdout).toMatch(/resumed\s+1 cases were scored before an interruption/);
    const after = lines();
    // Every tool ran once: the killed case continued from its journal.
    expect(after.filter((line) => line.startsWith('tool'))).toEqual([
      'tool 2+3',
      'tool 10+20',
      'tool 400+600',
      'tool 7+8',
    ]);
    // Model calls: two per case, plus at most the one that was in flight when the process died.
    const modelCalls = after.filter((line) => line.startsWith('model')).length;
    expect(modelCalls).toBeGreaterThanOrEqual(8);
    expect(modelCalls).toBeLessThanOrEqual(9);
    expect(after.filter((line) => line === 'model ask 2+3')).toHaveLength(1);
    expect(after.filter((line) => line === 'model ask 10+20')).toHaveLength(1);
  }, 60_000);

  it('refuses bad arguments and bad datasets with the place of the mistake', () => {
    const { folder, store } = tempStore();
    const env = offlineEnv();
    const target = `${fixtures}/eval-calc.ts`;
    expect(runBaton(env, ['eval', `${fixtures}/eval-sums.jsonl`]).stderr).toContain('missing <file>');
    const concurrency = runBaton(env, [
      'eval',
      `${fixtures}/eval-sums.jsonl`,
      target,
      '--concurrency',
      'many',
    ]);
    expect(concurrency.code).toBe(2);
    expect(concurrency.stderr).toContain('--concurrency must be an integer from 1 to 256; got "many"');
    // As for baton run: --model is for team files; a module names its models in code.
    const model = runBaton(env, [
      'eval',
      `${fixtures}/eval-sums.jsonl`,
      target,
      '--model',
      'openai:gpt-4o-mini',
    ]);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain('--model openai:gpt-4o-mini applies to team files only');
    const threshold = runBaton(env, ['eval', `${fixtures}/eval-sums.jsonl`, target, '--threshold', '5']);
    expect(threshold.code).toBe(2);
    expect(threshold.stderr).toContain('--threshold must be a number from 0 to 1');
    expect(runBaton(env, ['eval', 'nope.jsonl', target, '--store', store]).stderr).toContain(
      'Dataset not found: nope.jsonl',
    );
    const typo = join(folder, 'typo.jsonl');
    writeFileSync(typo, '{"input": "1+1", "expected": "2"}\n{"input": "2+2", "expectd": "4"}\n');
    const typoResult = runBaton(env, ['eval', typo, target, '--store', store]);
    expect(typoResult.code).not.toBe(0);
    expect(typoResult.stderr).toContain('typo.jsonl:2: unknown field "expectd". Did you mean "expected"?');
    const hostile = join(folder, 'hostile.jsonl');
    writeFileSync(hostile, '{"input": "1+1", "expected": "2", "metadata": {"__proto__": {"admin": true}}}\n');
    const hostileResult = runBaton(env, ['eval', hostile, target, '--store', store]);
    expect(hostileResult.code).not.toBe(0);
    expect(hostileResult.stderr).toContain('hostile.jsonl:1:');
    expect(hostileResult.stderr).toContain('__proto__');
    // Nothing ran for the refused datasets.
    expect(existsSync(store) ? runBaton(env, ['runs', '--store', store]).stdout : 'No runs').toMatch(
      /No runs/,
    );
  });
});

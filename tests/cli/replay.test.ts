import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'baton-cli-replay-'));
const store = join(scratch, 'runs.db');
const env = offlineEnv({}, ['BATON_STORE']);

/** Writes the project's order workflow: `price`, then `extra` steps, then `charge` (which counts its runs in a file). */
function writeFlow(extra: string[]): void {
  writeFileSync(
    join(scratch, 'flows', 'order.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      "import { workflow } from 'batonjs';",
      "export default workflow({ name: 'order' }, async (ctx, input) => {",
      "  const total = await ctx.step('price', () => input.amount * 2);",
      ...extra.map((name) => `  await ctx.step('${name}', () => 'done');`),
      `  return ctx.step('charge', () => { appendFileSync(${JSON.stringify(join(scratch, 'charges.log'))}, 'x'); return { charged: total }; });`,
      '});',
      '',
    ].join('\n'),
  );
}

beforeAll(() => {
  assertCliBuilt();
  mkdirSync(join(scratch, 'flows'), { recursive: true });
  mkdirSync(join(scratch, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(scratch, 'node_modules', 'batonjs'), 'dir');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('baton replay', () => {
  it('says identical for unchanged code, and names the first differing step after a change (exit 1)', () => {
    writeFlow([]);
    const run = runBaton(
      env,
      ['run', 'flows/order.mjs', '--input-json', '{"amount": 20}', '--store', store],
      { cwd: scratch },
    );
    expect(run.code).toBe(0);
    const runId = /run_[0-9a-f]+/.exec(run.stdout)?.[0] as string;

    const same = runBaton(env, ['replay', runId, '--store', store], { cwd: scratch });
    expect(same.code).toBe(0);
    expect(same.stdout).toContain(
      `identical: today's code makes run ${runId} again (2 recorded steps, completed).`,
    );

    writeFlow(['notify']);
    const changed = runBaton(env, ['replay', runId, '--store', store], { cwd: scratch });
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('differs at r#1: recorded "charge", the code asks for "notify".');
    const report = JSON.parse(
      runBaton(env, ['replay', runId, '--store', store, '--json'], { cwd: scratch }).stdout,
    );
    expect(report).toMatchObject({
      identical: false,
      difference: { key: 'r#1', recorded: 'charge', requested: 'notify' },
    });
    // The charge ran once, in the run itself: replays called nothing.
    expect(runBaton(env, ['show', runId, '--store', store], { cwd: scratch }).code).toBe(0);
    expect(readFileSync(join(scratch, 'charges.log'), 'utf8')).toBe('x');
  });

  it('baton fork runs the step at --at and the rest again, and baton show names the origin', () => {
    writeFlow([]);
    const run = runBaton(env, ['run', 'flows/order.mjs', '--input-json', '{"amount": 5}', '--store', store], {
      cwd: scratch,
    });
    const runId = /run_[0-9a-f]+/.exec(run.stdout)?.[0] as string;
    const chargesBefore = readFileSync(join(scratch, 'charges.log'), 'utf8').length;
    const fork = runBaton(env, ['fork', runId, '--at', 'r#1', '--store', store, '--json'], { cwd: scratch });
    expect(fork.code).toBe(0);
    const forked = JSON.parse(fork.stdout) as { id: string; output: unknown };
    expect(forked.output).toEqual({ charged: 10 });
    expect(readFileSync(join(scratch, 'charges.log'), 'utf8').length).toBe(chargesBefore + 1);
    expect(runBaton(env, ['show', forked.id, '--store', store], { cwd: scratch }).stdout).toContain(
      `forked  from ${runId} at r#1 (step 2)`,
    );
    const missing = runBaton(env, ['fork', runId, '--store', store], { cwd: scratch });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing --at <step key>');
  });
});

describe('baton replay --all', () => {
  it('replays every ended run of the store and exits 1 when one differs', () => {
    const allStore = join(scratch, 'all.db');
    writeFlow([]);
    for (const amount of [1, 2, 3]) {
      const run = runBaton(
        env,
        ['run', 'flows/order.mjs', '--input-json', `{"amount": ${amount}}`, '--store', allStore],
        { cwd: scratch },
      );
      expect(run.code).toBe(0);
    }
    const same = runBaton(env, ['replay', '--all', '--store', allStore], { cwd: scratch });
    expect(same.stderr).toBe('');
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('3 ended runs: 3 identical, 0 differ, 0 skipped.');
    writeFlow(['audit']);
    const changed = runBaton(env, ['replay', '--all', '--store', allStore, '--target', 'order'], {
      cwd: scratch,
    });
    expect(changed.code).toBe(1);
    expect(changed.stdout).toContain('3 ended runs: 0 identical, 3 differ, 0 skipped.');
    expect(changed.stdout).toMatch(
      /differs\s+run_[0-9a-f]+ order at r#1: recorded "charge", the code asks for "audit"/,
    );
    const json = JSON.parse(
      runBaton(env, ['replay', '--all', '--json', '--store', allStore], { cwd: scratch }).stdout,
    );
    expect(json).toHaveLength(3);
    expect(json[0].report.identical).toBe(false);
    const usage = runBaton(env, ['replay', 'run_1', '--all', '--store', allStore], { cwd: scratch });
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('give a run id or --all, not both.');
    writeFlow([]);
  });
});

import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, type RunBatonOptions, repo, runBaton } from '../baton-cli.js';

// `baton cancel`, where the store is (--store, BATON_STORE), sources recorded relative to the
// project folder, input from stdin, and --model refused for modules; each through the built CLI.

const scratch = mkdtempSync(join(tmpdir(), 'baton-cli-operations-'));
const store = join(scratch, 'runs.db');
const env = offlineEnv({}, ['BATON_STORE']);

function baton(args: string[], options: RunBatonOptions = {}, environment = env) {
  return runBaton(environment, args, options);
}

function runIdIn(output: string): string {
  const match = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(output);
  if (match?.[1] === undefined) throw new Error(`no run id in output:\n${output}`);
  return match[1];
}

/** A folder holding a copy of a small project: an approval workflow that imports the package by name. */
function checkout(name: string): string {
  const folder = join(scratch, name);
  mkdirSync(join(folder, 'flows'), { recursive: true });
  mkdirSync(join(folder, 'node_modules'), { recursive: true });
  symlinkSync(repo, join(folder, 'node_modules', 'batonjs'), 'dir');
  writeFileSync(
    join(folder, 'flows', 'approval.mjs'),
    [
      "import { workflow } from 'batonjs';",
      "export default workflow({ name: 'checkout-approval' }, async (ctx, input) => {",
      "  const decision = await ctx.waitFor('approval');",
      "  return ctx.step('settle', () => (decision.approved ? 'Paid ' : 'Rejected ') + input.amount);",
      '});',
      '',
    ].join('\n'),
  );
  return folder;
}

beforeAll(assertCliBuilt);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('baton cancel', () => {
  it('cancels a suspended run, which then neither resumes nor takes signals', () => {
    const run = baton([
      'run',
      'tests/cli/fixtures/approval-flow.ts',
      '--input-json',
      '{"amount": 3}',
      '--store',
      store,
    ]);
    expect(run.code).toBe(3);
    const runId = runIdIn(run.stdout);

    const cancel = baton(['cancel', runId, '--store', store]);
    expect(cancel.stderr).toBe('');
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toBe(`✓ Run ${runId} cancelled (it was suspended).\n`);
    expect(baton(['show', runId, '--store', store]).stdout).toContain('status  cancelled');

    const signal = baton(['signal', runId, 'approval', '{"approved": true}', '--store', store]);
    expect(signal.code).toBe(1);
    expect(signal.stderr).toContain(
      `Run ${runId} is cancelled; only running or suspended runs take signals.`,
    );
    const resume = baton(['resume', runId, '--store', store]);
    expect(resume.stdout).toContain(`Run ${runId} already cancelled; nothing to resume.`);

    const again = baton(['cancel', runId, '--store', store]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe(`Run ${runId} is already cancelled.\n`);
    const json = baton(['cancel', runId, '--json', '--store', store]);
    expect(JSON.parse(json.stdout)).toMatchObject({
      id: runId,
      status: 'cancelled',
      error: { code: 'RUN_CANCELLED' },
    });
  });

  it('leaves a completed run as it is, with exit code 1', () => {
    const run = baton([
      'run',
      'tests/cli/fixtures/two-flows.ts',
      'abc',
      '--export',
      'mirror',
      '--store',
      store,
    ]);
    expect(run.code).toBe(0);
    const runId = runIdIn(run.stdout);
    const cancel = baton(['cancel', runId, '--store', store]);
    expect(cancel.code).toBe(1);
    expect(cancel.stderr).toBe(`Run ${runId} already completed; there is nothing to cancel.\n`);
    expect(baton(['show', runId, '--store', store]).stdout).toContain('status  completed');
  });

  it('rejects an unknown run id, a missing store and a missing run id', () => {
    const unknown = baton(['cancel', 'run_nope', '--store', store]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No run with id "run_nope" in the store.');

    const absent = join(scratch, 'absent.db');
    const noStore = baton(['cancel', 'run_nope', '--store', absent]);
    expect(noStore.code).toBe(1);
    expect(noStore.stderr).toContain(`No Baton store at ${absent} (given with --store).`);
    const noDefault = baton(['cancel', 'run_nope'], { cwd: scratch });
    expect(noDefault.stderr).toContain('No Baton store at .baton/baton.db (the default).');
    expect(existsSync(absent)).toBe(false);

    const missing = baton(['cancel', '--store', store]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing <runId>');
  });
});

describe('the store location', () => {
  it('takes BATON_STORE (relative to the working folder) when --store is absent, and --store over it', () => {
    const project = join(scratch, 'store-env');
    mkdirSync(project);
    const withVariable = offlineEnv({ BATON_STORE: 'data/runs.db' });
    const run = baton(
      ['run', join(repo, 'tests/cli/fixtures/approval-flow.ts'), '--input-json', '{"amount": 4}'],
      { cwd: project },
      withVariable,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    const runId = runIdIn(run.stdout);
    expect(existsSync(join(project, 'data', 'runs.db'))).toBe(true);
    expect(existsSync(join(project, '.baton'))).toBe(false);
    // The variable stays set, so the suggested command needs no --store.
    expect(run.stdout).toContain(`baton signal ${runId} approval\n`);

    expect(baton(['runs'], { cwd: project }, withVariable).stdout).toContain(runId);
    const other = join(scratch, 'other.db');
    const flagWins = baton(['runs', '--store', other], { cwd: project }, withVariable);
    expect(flagWins.stdout).toContain('No runs yet');
    const missing = baton(['show', runId], { cwd: scratch }, offlineEnv({ BATON_STORE: 'nowhere/runs.db' }));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No Baton store at nowhere/runs.db (set by BATON_STORE).');
  });

  it('says which store folder cannot be created, and why', () => {
    const blocker = join(scratch, 'blocker');
    writeFileSync(blocker, 'a file, not a folder');
    const path = join(blocker, 'sub', 'runs.db');
    const flag = baton([
      'run',
      'tests/cli/fixtures/two-flows.ts',
      'abc',
      '--export',
      'mirror',
      '--store',
      path,
    ]);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain(
      `error: Cannot create the folder ${join(blocker, 'sub')} for the store ${path} (given with --store): a file is in the way of a folder on that path. Pass --store <path> (or set BATON_STORE) to a file in a folder you can write.`,
    );
    expect(flag.stderr).not.toContain('--verbose');

    const variable = baton(
      ['run', 'tests/cli/fixtures/two-flows.ts', 'abc', '--export', 'mirror'],
      {},
      offlineEnv({ BATON_STORE: path }),
    );
    expect(variable.code).toBe(1);
    expect(variable.stderr).toContain(`for the store ${path} (set by BATON_STORE)`);
  });
});

describe('recorded sources', () => {
  it('records the source relative to the project folder, so another checkout resumes the run', () => {
    const shared = join(scratch, 'shared.db');
    const first = checkout('checkout-a');
    const second = checkout('checkout-b');
    const run = baton(['run', 'flows/approval.mjs', '--input-json', '{"amount": 9}', '--store', shared], {
      cwd: first,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    const runId = runIdIn(run.stdout);
    expect(baton(['show', runId, '--store', shared]).stdout).toContain('source  flows/approval.mjs#default');

    // A folder without the file says where it looked and what to do.
    const elsewhere = join(scratch, 'elsewhere');
    mkdirSync(elsewhere);
    const lost = baton(['resume', runId, '--store', shared], { cwd: elsewhere });
    expect(lost.code).toBe(1);
    expect(lost.stderr).toContain(
      `Run ${runId} was started from flows/approval.mjs (${join(elsewhere, 'flows', 'approval.mjs')}), which does not exist here. Run baton from the project folder the run was started in (or another checkout of it)`,
    );

    rmSync(first, { recursive: true });
    const signal = baton(['signal', runId, 'approval', '{"approved": true}', '--store', shared], {
      cwd: second,
    });
    expect(signal.stderr).toBe('');
    expect(signal.code).toBe(0);
    expect(signal.stdout).toContain('Answer\n  Paid 9');
  });

  it('still loads a run whose source was recorded as an absolute path (runs of earlier versions)', () => {
    const shared = join(scratch, 'absolute.db');
    const project = checkout('checkout-old');
    const run = baton(['run', 'flows/approval.mjs', '--input-json', '{"amount": 2}', '--store', shared], {
      cwd: project,
    });
    const runId = runIdIn(run.stdout);
    const absolute = `${join(project, 'flows', 'approval.mjs')}#default`;
    const database = new Database(shared);
    database.prepare('UPDATE runs SET source = ? WHERE id = ?').run(absolute, runId);
    database.close();

    const signal = baton(['signal', runId, 'approval', '{"approved": false}', '--store', shared], {
      cwd: project,
    });
    expect(signal.stderr).toBe('');
    expect(signal.code).toBe(0);
    expect(signal.stdout).toContain('Answer\n  Rejected 2');
  });

  it('refuses a relative source that leaves the project folder', () => {
    const project = checkout('checkout-escape');
    const run = baton(['run', 'flows/approval.mjs', '--input-json', '{"amount": 1}', '--store', store], {
      cwd: project,
    });
    const runId = runIdIn(run.stdout);
    const database = new Database(store);
    database
      .prepare('UPDATE runs SET source = ? WHERE id = ?')
      .run('../checkout-b/flows/approval.mjs#default', runId);
    database.close();
    const resume = baton(['resume', runId, '--store', store], { cwd: project });
    expect(resume.code).toBe(1);
    expect(resume.stderr).toContain(
      `Run ${runId} names its source as ../checkout-b/flows/approval.mjs (${join(scratch, 'checkout-b', 'flows', 'approval.mjs')}), which is outside this folder (${project}); refused to load it.`,
    );
  });
});

describe('input from stdin', () => {
  const mirror = ['run', 'tests/cli/fixtures/two-flows.ts', '--export', 'mirror', '--json', '--store', store];

  function output(result: { code: number | null; stdout: string; stderr: string }): unknown {
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    return (JSON.parse(result.stdout) as { output: unknown }).output;
  }

  it('reads the input from stdin for -, without the final line break', () => {
    expect(output(baton([...mirror, '-'], { input: 'stressed\n' }))).toBe('desserts');
  });

  it('reads text redirected into baton when no input argument is given', () => {
    const file = join(scratch, 'question.txt');
    writeFileSync(file, 'drawer\n');
    const fd = openSync(file, 'r');
    try {
      expect(output(baton(mirror, { stdinFd: fd }))).toBe('reward');
    } finally {
      closeSync(fd);
    }
  });

  it('reads JSON from stdin with --input-json -', () => {
    expect(output(baton([...mirror, '--input-json', '-'], { input: '"live"' }))).toBe('evil');
    const bad = baton([...mirror, '--input-json', '-'], { input: '{amount: 1}' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--input-json - (stdin) is not valid JSON');
  });

  it('refuses an empty stdin where the input was asked from it', () => {
    const empty = baton([...mirror, '-'], { input: '' });
    expect(empty.code).toBe(2);
    expect(empty.stderr).toContain(
      'error: baton run <file> - reads the input from stdin, and stdin was empty. Pipe the input in',
    );
    const json = baton([...mirror, '--input-json', '-'], { input: '\n' });
    expect(json.code).toBe(2);
    expect(json.stderr).toContain('error: --input-json - reads the JSON from stdin, and stdin was empty.');

    const file = join(scratch, 'empty.txt');
    writeFileSync(file, '');
    const fd = openSync(file, 'r');
    try {
      const team = baton(['run', 'examples/customer-support/team.yaml', '--store', store], { stdinFd: fd });
      expect(team.code).toBe(2);
      expect(team.stderr).toContain(
        'missing input: a team needs a message, e.g. baton run examples/customer-support/team.yaml "your question", or piped on stdin (stdin was empty).',
      );
    } finally {
      closeSync(fd);
    }
  });
});

describe('--model and --offline', () => {
  it('are refused for a module, whose agents choose their models in code', () => {
    const model = baton([
      'run',
      'tests/cli/fixtures/two-flows.ts',
      'abc',
      '--export',
      'mirror',
      '--model',
      'openai:gpt-4o-mini',
      '--store',
      store,
    ]);
    expect(model.code).toBe(2);
    expect(model.stderr).toContain(
      'error: --model openai:gpt-4o-mini applies to team files only; tests/cli/fixtures/two-flows.ts is a module, whose agents name their models in code. Remove --model,',
    );
    const offline = baton(['run', 'tests/cli/fixtures/two-flows.ts', 'abc', '--offline', '--store', store]);
    expect(offline.code).toBe(2);
    expect(offline.stderr).toContain('error: --offline applies to team files only;');
  });
});

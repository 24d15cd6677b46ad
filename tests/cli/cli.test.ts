import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';

const scratch = mkdtempSync(join(tmpdir(), 'baton-cli-e2e-'));
const store = join(scratch, 'runs.db');
const demoQuestion = 'I was charged twice for my order A-1001, please refund the duplicate.';

/** The environment without model credentials, so teams run offline and deterministically. */
const env = offlineEnv();

function baton(...args: string[]) {
  return runBaton(env, args);
}

function runIdIn(output: string): string {
  const match = /^\s+run\s+(run_[0-9a-f]+)$/m.exec(output);
  if (match?.[1] === undefined) throw new Error(`no run id in output:\n${output}`);
  return match[1];
}

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

beforeAll(assertCliBuilt);

describe('baton CLI (built)', () => {
  let demoRunId = '';

  it('runs the customer-support demo offline, printing progress, answer, run id, tokens, cost and time', () => {
    const { code, stdout, stderr } = baton(
      'run',
      'examples/customer-support/team.yaml',
      demoQuestion,
      '--store',
      store,
    );
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe(
      "No model configured (set OPENAI_API_KEY, or BATON_MODEL=provider:model with that provider's key); running offline on scripted responses from examples/customer-support/script.yaml.",
    );
    for (const expected of [
      '● triage',
      '→ lookup_order {"orderId":"A-1001"}',
      '← {"id":"A-1001"',
      '⇢ triage → billing {"orderId":"A-1001","summary":',
      '● billing',
      '→ refund_order {"orderId":"A-1001","chargeId":"ch_1001_2","reason":"duplicate charge"}',
      '← {"refundId":"RF-A-1001-1"',
      '✔ Completed',
      "Answer\n  I've refunded the duplicate charge of $129.00 on order A-1001",
    ]) {
      expect(stdout).toContain(expected);
    }
    expect(stdout).toMatch(/^\s+tokens\s+\d[\d,]* in \/ \d[\d,]* out$/m);
    expect(stdout).toMatch(/^\s+cost\s+\$0\.0000$/m);
    expect(stdout).toMatch(/^\s+time\s+\d+(\.\d+)?m?s$/m);
    demoRunId = runIdIn(stdout);
  });

  it('lists the run with baton runs and shows its step tree with baton show', () => {
    const runs = baton('runs', '--store', store);
    expect(runs.code).toBe(0);
    expect(runs.stdout).toMatch(/ID\s+TARGET\s+STATUS\s+STARTED\s+DURATION\s+TOKENS\s+COST/);
    expect(runs.stdout).toMatch(new RegExp(`${demoRunId}\\s+customer-support\\s+completed`));

    const show = baton('show', demoRunId, '--store', store);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`Run ${demoRunId}`);
    expect(show.stdout).toContain('target  customer-support v1');
    expect(show.stdout).toContain('source  examples/customer-support/team.yaml\n');
    const steps = show.stdout.slice(show.stdout.indexOf('Steps'));
    const order = [
      'model:triage',
      'tool:lookup_order',
      'model:triage',
      'model:billing',
      'tool:refund_order',
      'model:billing',
    ];
    let from = 0;
    for (const name of order) {
      const at = steps.indexOf(`✓ ${name}`, from);
      expect(at, `${name} after position ${from} in:\n${steps}`).toBeGreaterThan(-1);
      from = at + 1;
    }
    expect(steps).toMatch(/tool:refund_order\s+tool\s+\d+ms\s+agent billing · tool refund_order/);
    expect(steps).toMatch(
      /model:triage\s+model\s+\d+ms\s+\d+ in \/ \d+ out tok\s+\$0\.0000\s+agent triage · model scripted:scripted/,
    );

    const json = JSON.parse(baton('show', demoRunId, '--json', '--store', store).stdout) as {
      run: { status: string };
      steps: Array<{ name: string }>;
    };
    expect(json.run.status).toBe('completed');
    expect(json.steps.map((step) => step.name)).toEqual(order);

    const resume = baton('resume', demoRunId, '--store', store);
    expect(resume.code).toBe(0);
    expect(resume.stdout).toContain(`Run ${demoRunId} already completed; nothing to resume.`);
  });

  it('suspends a workflow on a signal, prints the signal command, and continues it with baton signal', () => {
    const run = baton(
      'run',
      'tests/cli/fixtures/approval-flow.ts',
      '--input-json',
      '{"amount": 120}',
      '--store',
      store,
    );
    expect(run.code).toBe(3);
    const runId = runIdIn(run.stdout);
    expect(run.stdout).toContain('✓ quote');
    expect(run.stdout).toContain('⏸ Suspended: waiting for signal "approval".');
    expect(run.stdout).toContain(`baton signal ${runId} approval --store ${store}`);
    expect(baton('runs', '--status', 'suspended', '--store', store).stdout).toContain(runId);

    const badPayload = baton('signal', runId, 'approval', '{"approved": yes}', '--store', store);
    expect(badPayload.code).toBe(2);
    expect(badPayload.stderr).toContain('The payload of signal "approval" is not valid JSON');
    expect(badPayload.stderr).toContain(`'{"approved": true}'`);

    // A typo is refused before it is stored, naming the run and the wait; the run keeps waiting.
    const typo = baton('signal', runId, 'approval', '{"approve": true}', '--store', store);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`Run ${runId} waits for "approval"`);
    expect(typo.stderr).toContain('approved: Invalid input: expected boolean, received undefined');
    expect(typo.stdout).not.toContain('sent to run');
    expect(baton('runs', '--status', 'suspended', '--store', store).stdout).toContain(runId);

    const signal = baton('signal', runId, 'approval', '{"approved": true}', '--store', store);
    expect(signal.stderr).toBe('');
    expect(signal.code).toBe(0);
    expect(signal.stdout).toContain(`Signal "approval" sent to run ${runId}; continuing it here.`);
    expect(signal.stdout).toContain('✓ settle');
    expect(signal.stdout).toContain('Answer\n  Paid EXP-120 (120 USD)');

    const show = baton('show', runId, '--store', store);
    expect(show.stdout).toContain('status  completed');
    expect(show.stdout).toMatch(/✓ waitFor:approval\s+signal/);
    expect(show.stdout).toContain('source  tests/cli/fixtures/approval-flow.ts#default\n');
  });

  it('never loads code from a source edited in the store unless it is inside the project folder or allowed', () => {
    const run = baton(
      'run',
      'tests/cli/fixtures/approval-flow.ts',
      '--input-json',
      '{"amount": 7}',
      '--store',
      store,
    );
    const runId = runIdIn(run.stdout);
    // Someone with write access to the store points the run at a file outside the project.
    const marker = join(scratch, 'evil-ran.txt');
    const evil = join(scratch, 'evil.mjs');
    writeFileSync(
      evil,
      `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(marker)}, 'ran');\n`,
    );
    const database = new Database(store);
    database.prepare('UPDATE runs SET source = ? WHERE id = ?').run(`${evil}#default`, runId);
    database.close();

    const refusal = `Run ${runId} names its source as ${evil}, which is outside this folder (${repo}); refused to load it.`;
    for (const attempt of [
      baton('resume', runId, '--store', store),
      baton('signal', runId, 'approval', '{"approved": true}', '--store', store),
    ]) {
      expect(attempt.code).not.toBe(0);
      expect(attempt.stderr).toContain(refusal);
      expect(attempt.stderr).toContain('allow its folder with BATON_ALLOW_MODULES_FROM=<folder>');
    }
    expect(existsSync(marker)).toBe(false);

    // Allowed explicitly, the file is loaded (and found not to export the workflow).
    const allowed = runBaton(offlineEnv({ BATON_ALLOW_MODULES_FROM: scratch }), [
      'resume',
      runId,
      '--store',
      store,
    ]);
    expect(allowed.stderr).toContain(`${evil} has no export "default"`);
    expect(existsSync(marker)).toBe(true);
  });

  it('waits for a human member and continues with baton reply', () => {
    const run = baton('run', 'tests/cli/fixtures/human-review.ts', 'durable agents', '--store', store);
    expect(run.code).toBe(3);
    const runId = runIdIn(run.stdout);
    expect(run.stdout).toContain('waiting for lead (signal "human:lead")');
    expect(run.stdout).toContain(`baton reply ${runId} lead <answer> --store ${store}`);

    const missing = baton('reply', runId, 'lead', '--store', store);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('missing <text>');

    const reply = baton('reply', runId, 'lead', 'Looks', 'good', '--store', store);
    expect(reply.stderr).toBe('');
    expect(reply.code).toBe(0);
    expect(reply.stdout).toContain(`Signal "human:lead" sent to run ${runId}; continuing it here.`);
    expect(reply.stdout).toContain('Published after review: Looks good');
  });

  it('says what a deadline does, exits 3 while suspended, and lists a plain waitFor in baton inbox', () => {
    const own = join(scratch, 'deadline.db');
    const run = baton(
      'run',
      'tests/cli/fixtures/deadline-flow.ts',
      '--input-json',
      '{"amount": 7}',
      '--store',
      own,
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(3);
    const runId = runIdIn(run.stdout);
    expect(run.stdout).toContain('⏸ Suspended: waiting for signal "approval".');
    expect(run.stdout).toMatch(/The wait times out at .+ \(in .+\); answer before then\./);
    expect(run.stdout).toContain(
      `After it, baton resume ${runId} --store ${own} applies the timeout: the workflow gets a WaitTimeoutError, and the run fails unless the workflow catches it.`,
    );
    expect(run.stdout).not.toContain('Continue it then with');

    const inbox = baton('inbox', '--store', own);
    expect(inbox.code).toBe(0);
    expect(inbox.stdout).toContain('1 waiting:');
    expect(inbox.stdout).toContain(`signal    ${runId}  deadline-approval`);
    expect(inbox.stdout).toContain('waits for the signal "approval" with a payload of {"type":"object"');
    expect(inbox.stdout).toContain(`answer: baton signal ${runId} approval '<json>' --store ${own}`);
    const listed = JSON.parse(baton('inbox', '--json', '--store', own).stdout) as Array<{
      kind: string;
      signal: string;
    }>;
    expect(listed).toMatchObject([{ kind: 'signal', signal: 'approval', runId }]);

    const unknown = baton('inbox', '--run', 'run_nope', '--store', own);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No run with id "run_nope" in the store.');

    const signal = baton('signal', runId, 'approval', '{"approved": true}', '--store', own);
    expect(signal.code).toBe(0);
    expect(signal.stdout).toContain('Answer\n  Paid 7 USD');
    expect(baton('inbox', '--run', runId, '--store', own).stdout).toContain(
      `Run ${runId} is completed; it waits for no approval, answer or signal.`,
    );
  });

  it('runs an evolving team that learns in the CLI store across runs', () => {
    const learning = join(scratch, 'evolving.db');
    const outputs: string[] = [];
    for (let index = 0; index < 3; index++) {
      const run = baton(
        'run',
        'tests/cli/fixtures/evolving/team.yaml',
        'My router drops Wi-Fi',
        '--json',
        '--store',
        learning,
      );
      expect(run.stderr).not.toContain('error');
      expect(run.code).toBe(0);
      outputs.push(String((JSON.parse(run.stdout) as { output: unknown }).output));
    }
    // Each candidate gets its one trial, then the one that resolved the issue wins.
    expect(outputs[0]).toContain('No idea');
    expect(outputs[1]).toContain('resolved');
    expect(outputs[2]).toContain('resolved');
  });

  it('prints only the final record with --json, and picks a module export with --export', () => {
    const ambiguous = baton('run', 'tests/cli/fixtures/two-flows.ts', 'abc', '--store', store);
    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toContain(
      'has several runnable exports (mirror, shout) and no default export; pick one with --export <name>.',
    );

    const json = baton(
      'run',
      'tests/cli/fixtures/two-flows.ts',
      'abc',
      '--export',
      'mirror',
      '--json',
      '--store',
      store,
    );
    expect(json.code).toBe(0);
    const record = JSON.parse(json.stdout) as {
      status: string;
      output: string;
      target: string;
      source: string;
    };
    expect(record).toMatchObject({ status: 'completed', output: 'cba', target: 'mirror' });
    expect(record.source).toBe('tests/cli/fixtures/two-flows.ts#mirror');
  });

  it('has --help for every command', () => {
    const main = baton('--help');
    expect(main.code).toBe(0);
    for (const command of ['run', 'runs', 'show', 'resume', 'signal', 'reply']) {
      expect(main.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
      const help = baton(command, '--help');
      expect(help.code, command).toBe(0);
      expect(help.stdout).toContain(`Usage: baton ${command}`);
    }
  });

  it('rejects bad input clearly: unknown command, a typo in a team file, a missing run', () => {
    const unknown = baton('rn', 'x');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "rn". Did you mean "run"?');

    const broken = join(scratch, 'team.yaml');
    const original = readFileSync(join(repo, 'examples', 'customer-support', 'team.yaml'), 'utf8');
    writeFileSync(broken, original.replace('- agent: billing', '- agent: biling'));
    const line = original.split('\n').findIndex((text) => text.includes('- agent: billing')) + 1;
    const typo = baton('run', broken, 'hi', '--store', store);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain(
      `${broken}:${line}:16: agents[0].handoffs[0].agent: unknown agent "biling" (known: triage, billing, technical). Did you mean "billing"?`,
    );
    expect(typo.stderr).not.toContain('    at ');

    const missing = baton('show', 'run_nope', '--store', store);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No run with id "run_nope" in the store.');
  });
});

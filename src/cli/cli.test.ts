import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commands, runCli } from './cli.js';

async function cli(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = { text: '', write: (chunk: string) => (stdout.text += chunk) };
  const stderr = { text: '', write: (chunk: string) => (stderr.text += chunk) };
  const cwd = mkdtempSync(join(tmpdir(), 'baton-cli-'));
  const stdin = { piped: false, read: async () => '' };
  const code = await runCli(argv, { stdout, stderr, env: {}, cwd, stdin });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe('baton argument handling', () => {
  it('lists every command in baton --help, and shows each command’s help', async () => {
    const main = await cli('--help');
    expect(main.code).toBe(0);
    for (const command of commands) expect(main.stdout).toContain(`  ${command.name}`);
    for (const command of commands) {
      const help = await cli(command.name, '--help');
      expect(help.code).toBe(0);
      expect(help.stdout).toContain(`Usage: baton ${command.name}`);
      expect(help.stdout).toContain('--store <path>');
    }
    expect((await cli('help', 'signal')).stdout).toContain('Usage: baton signal <runId> <name> [json]');
  });

  it('refuses JSON from the command line whose keys reach a prototype, with exit code 2', async () => {
    const run = await cli('run', 'flow.ts', '--input-json', '{"settings":{"__proto__":{"polluted":true}}}');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      '--input-json: the key "__proto__" at /settings/__proto__ is not allowed (__proto__, constructor and prototype are refused to prevent prototype pollution); rename it.',
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('prints the version', async () => {
    expect((await cli('--version')).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('rejects unknown commands and options with exit code 2 and a suggestion', async () => {
    const command = await cli('rnu', 'team.yaml');
    expect(command.code).toBe(2);
    expect(command.stderr).toContain('unknown command "rnu". Did you mean "run"?');
    const option = await cli('runs', '--limt', '3');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain('unknown option --limt for baton runs. Did you mean --limit?');
    expect(option.stderr).toContain('See baton runs --help.');
  });

  it('rejects missing and extra arguments and bad option values with exit code 2', async () => {
    expect((await cli('show')).stderr).toContain('missing <runId>');
    expect((await cli('run', 'a.yaml', 'one', 'two')).stderr).toContain('too many arguments for baton run');
    expect((await cli('runs', '--status', 'done')).stderr).toContain(
      '--status must be one of running, suspended',
    );
    expect((await cli('runs', '--limit', 'ten')).code).toBe(2);
    expect((await cli('run', 'flow.ts', 'text', '--input-json', '{}')).stderr).toContain(
      'either as text or with --input-json',
    );
    const badJson = await cli('run', 'flow.ts', '--input-json', '{amount: 1}');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--input-json is not valid JSON');
  });

  it('fails with exit code 1 and the message, without a stack, when a command fails', async () => {
    const missing = await cli('run', 'nowhere.yaml', 'hi');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: nowhere\.yaml: file not found/);
    expect(missing.stderr).not.toContain('    at ');
    const noStore = await cli('show', 'run_1');
    expect(noStore.code).toBe(1);
    expect(noStore.stderr).toContain('No Baton store at .baton/baton.db');
    expect((await cli('runs')).stdout).toContain('No runs yet');
  });
});

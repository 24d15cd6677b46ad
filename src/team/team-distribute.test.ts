import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime } from '../index.js';
import { scriptedModel } from '../testing/index.js';
import { loadTeamFile, TeamFileError } from './index.js';

// `distribute:` in team files: accepted on concurrent and supervisor, refused elsewhere and when not a boolean.

const repo = join(import.meta.dirname, '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'team-distribute-'));
let counter = 0;
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

function teamFile(yaml: string): string {
  const directory = join(workspace, `case-${counter++}`);
  mkdirSync(directory);
  const file = join(directory, 'team.yaml');
  writeFileSync(file, yaml);
  return file;
}

const shown = (file: string): string => relative(process.cwd(), file);

async function loadError(file: string): Promise<TeamFileError> {
  const error = await loadTeamFile(file, { model: scriptedModel([]) }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(TeamFileError);
  return error as TeamFileError;
}

const supervisorTeam = (distribute: string, pattern = 'supervisor') => `name: research
pattern: ${pattern}
manager: lead
workers: [researcher, checker]
distribute: ${distribute}
agents:
  - name: lead
    instructions: Delegate, then answer.
  - name: researcher
    description: Finds facts.
    instructions: Find facts.
  - name: checker
    description: Checks facts.
    instructions: Check facts.
`;

describe('team files: distribute', () => {
  it('supervisor: distribute: true dispatches the workers (inline without workers, as in code)', async () => {
    const model = scriptedModel(({ agent, turn }) => {
      if (agent === 'researcher') return { text: 'X is 42' };
      if (agent === 'checker') return { text: 'checked' };
      if (turn === 0)
        return {
          toolCalls: [
            { tool: 'researcher', input: { input: 'find X' } },
            { tool: 'checker', input: { input: 'check X' } },
          ],
        };
      return { text: 'X is 42, checked.' };
    });
    const team = await loadTeamFile(teamFile(supervisorTeam('true')), { model });
    expect(team.runnable.distributedChildren?.map((child) => child.name)).toEqual(['researcher', 'checker']);
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    try {
      const handle = await runtime.start(team.runnable, 'What is X?');
      expect(await handle.result()).toBe('X is 42, checked.');
    } finally {
      await runtime.close();
    }
  });

  it('concurrent: distribute: true lists the units to distribute; false or absent changes nothing', async () => {
    const yaml = (line: string) => `name: panel
pattern: concurrent
units: [a, b]
${line}
agents:
  - name: a
    instructions: A.
  - name: b
    instructions: B.
`;
    const model = scriptedModel([]);
    const on = await loadTeamFile(teamFile(yaml('distribute: true')), { model });
    expect(on.runnable.distributedChildren?.map((child) => child.name)).toEqual(['a', 'b']);
    const off = await loadTeamFile(teamFile(yaml('distribute: false')), { model });
    expect(off.runnable.distributedChildren).toBeUndefined();
    const absent = await loadTeamFile(teamFile(yaml('')), { model });
    expect(absent.runnable.distributedChildren).toBeUndefined();
  });

  it('names the file, line and field of a distribute that is not true or false', async () => {
    const file = teamFile(supervisorTeam('"yes"'));
    const error = await loadError(file);
    expect(error.message).toBe(`${shown(file)}:5:13: distribute: expected true or false; got "yes".`);
    expect(error.problems[0]).toMatchObject({ path: 'distribute', line: 5 });
  });

  it('refuses distribute on a pattern that does not distribute, naming the field', async () => {
    const file = teamFile(`name: steps
pattern: sequential
stages: [a]
distribute: true
agents:
  - name: a
    instructions: A.
`);
    const error = await loadError(file);
    expect(error.message).toMatch(new RegExp(`^${shown(file).replaceAll('.', '\\.')}:4:1: distribute: `));
    expect(error.message).toContain('concurrent');
  });

  it('suggests distribute for a misspelt key', async () => {
    const file = teamFile(supervisorTeam('true').replace('distribute:', 'distribtue:'));
    const error = await loadError(file);
    expect(error.message).toMatch(/:5:1: distribtue: unknown key "distribtue" .*Did you mean "distribute"\?/);
  });
});

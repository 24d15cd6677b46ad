import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, offlineEnv, repo, runBaton } from '../baton-cli.js';

// tsx is an optional peer: a project that installed batonjs without it runs JavaScript modules,
// and a TypeScript module gets an error naming the file and the install command. The project
// here is laid out as npm installs it: node_modules/batonjs (package.json + dist) and its
// runtime dependencies, with no tsx anywhere it could be resolved from.

const project = mkdtempSync(join(tmpdir(), 'baton-no-tsx-'));
const installed = join(project, 'node_modules', 'batonjs');
const main = join(installed, 'dist', 'cli', 'main.js');
const env = offlineEnv();

function baton(...args: string[]) {
  return runBaton(env, [...args, '--store', join(project, 'runs.db')], { cwd: project, script: main });
}

beforeAll(() => {
  assertCliBuilt();
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as {
    name: string;
    dependencies: Record<string, string>;
  };
  mkdirSync(installed, { recursive: true });
  writeFileSync(join(installed, 'package.json'), JSON.stringify(manifest));
  cpSync(join(repo, 'dist'), join(installed, 'dist'), { recursive: true });
  for (const name of Object.keys(manifest.dependencies)) {
    const link = join(project, 'node_modules', name);
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repo, 'node_modules', name), link, 'dir');
  }
  const workflow = (types: boolean) =>
    [
      "import { workflow } from 'batonjs';",
      `export default workflow({ name: 'shout' }, async (_ctx, input${types ? ': string' : ''}) => input.toUpperCase());`,
      '',
    ].join('\n');
  writeFileSync(join(project, 'flow.ts'), workflow(true));
  writeFileSync(join(project, 'flow.mjs'), workflow(false));
  writeFileSync(
    join(project, 'tools.ts'),
    "import { tool } from 'batonjs';\nimport { z } from 'zod';\nexport const ping = tool({ name: 'ping', description: 'Ping', input: z.object({}), execute: async () => 'pong' });\n",
  );
  writeFileSync(join(project, 'script.yaml'), 'helper:\n  - text: Done.\n');
  writeFileSync(
    join(project, 'team.yaml'),
    'name: desk\npattern: agent\nentry: helper\noffline:\n  script: ./script.yaml\ntools: ./tools.ts\nagents:\n  - name: helper\n    instructions: Help.\n    tools: [ping]\n',
  );
});

afterAll(() => rmSync(project, { recursive: true, force: true }));

describe('a project without tsx', () => {
  it('cannot resolve tsx (the precondition of this test)', () => {
    const resolveFrom = createRequire(join(installed, 'dist', 'index.js'));
    expect(() => resolveFrom.resolve('tsx')).toThrow(/Cannot find module 'tsx'/);
    expect(resolveFrom.resolve('yaml')).toContain(join(repo, 'node_modules', 'yaml'));
  });

  it('runs a JavaScript module', () => {
    const run = baton('run', 'flow.mjs', 'quiet please', '--quiet');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('QUIET PLEASE\n');
  });

  it('refuses a TypeScript module, naming the file and how to install tsx', () => {
    const run = baton('run', 'flow.ts', 'hi');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `error: Could not load flow.ts: ${join(project, 'flow.ts')} is a TypeScript module, and loading TypeScript needs tsx, an optional peer dependency of batonjs that is not installed. Install it in your project (npm install -D tsx), or use a JavaScript module (.js, .mjs).`,
    );
  });

  it("refuses a team file's TypeScript tools module at the line that names it", () => {
    const run = baton('run', 'team.yaml', 'hi');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`team.yaml:6:8: tools: could not load the tools module`);
    expect(run.stderr).toContain('tools.ts is a TypeScript module, and loading TypeScript needs tsx');
    expect(run.stderr).toContain('npm install -D tsx');
  });
});

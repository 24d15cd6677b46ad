import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMemoryStore, createRuntime, workflow } from '../index.js';
import { scriptedModel } from '../testing/index.js';
import { loadSource, parseSource, pickExport, recordedPath } from './load-source.js';

const one = workflow({ name: 'one' }, async () => 1);
const two = workflow({ name: 'two' }, async () => 2);

describe('pickExport', () => {
  it('takes --export, else the default export, else the only runnable export', () => {
    expect(pickExport('f.ts', { one, two }, 'two').runnable).toBe(two);
    expect(pickExport('f.ts', { default: one, two }, undefined)).toEqual({ name: 'default', runnable: one });
    expect(pickExport('f.ts', { one, helper: () => 1, count: 3 }, undefined)).toEqual({
      name: 'one',
      runnable: one,
    });
  });

  it('lists the runnable exports when the choice is ambiguous or wrong', () => {
    expect(() => pickExport('f.ts', { one, two }, undefined)).toThrow(
      'f.ts has several runnable exports (one, two) and no default export; pick one with --export <name>.',
    );
    expect(() => pickExport('f.ts', { one, two }, 'tow')).toThrow(
      'f.ts has no export "tow". Runnable exports: one, two. Did you mean "two"?',
    );
    expect(() => pickExport('f.ts', { one, helper: () => 1 }, 'helper')).toThrow(
      'Export "helper" of f.ts is not a workflow, agent or pattern. Runnable exports: one.',
    );
    expect(() => pickExport('f.ts', { helper: () => 1 }, undefined)).toThrow(
      /exports no workflow, agent or pattern/,
    );
  });
});

describe('parseSource', () => {
  it('splits a module source into file and export, and leaves team files whole', () => {
    expect(parseSource('/app/flows/expense.ts#approval')).toEqual({
      file: '/app/flows/expense.ts',
      exportName: 'approval',
    });
    expect(parseSource('/app/teams/support.yaml')).toEqual({
      file: '/app/teams/support.yaml',
      exportName: undefined,
    });
    expect(parseSource('/app/#weird/team.yaml')).toEqual({
      file: '/app/#weird/team.yaml',
      exportName: undefined,
    });
    expect(parseSource('flows/expense.ts#approval')).toEqual({
      file: 'flows/expense.ts',
      exportName: 'approval',
    });
    expect(parseSource('flow.ts#default')).toEqual({ file: 'flow.ts', exportName: 'default' });
  });
});

describe('recordedPath', () => {
  it('is relative to the project folder with / separators inside it, absolute outside it', () => {
    expect(recordedPath('/app/flows/expense.ts', '/app')).toBe('flows/expense.ts');
    expect(recordedPath('/app/team.yaml', '/app/')).toBe('team.yaml');
    expect(recordedPath('/other/flow.ts', '/app')).toBe('/other/flow.ts');
    expect(recordedPath('/app-two/flow.ts', '/app')).toBe('/app-two/flow.ts');
    expect(recordedPath('/app/..flows/x.ts', '/app')).toBe('..flows/x.ts');
  });
});

describe('loadSource: teams that distribute', () => {
  it("lists a team file's nested teams that distribute, for a worker to register", async () => {
    const directory = mkdtempSync(join(tmpdir(), 'baton-load-source-'));
    try {
      writeFileSync(
        join(directory, 'team.yaml'),
        `name: pipeline
pattern: sequential
stages: [research, writer]
teams:
  - name: research
    pattern: concurrent
    units: [web, papers]
    distribute: true
  - name: review
    description: Unused, does not distribute.
    pattern: concurrent
    units: [web]
agents:
  - name: web
    instructions: Search the web.
  - name: papers
    instructions: Search papers.
  - name: writer
    instructions: Write.
`,
      );
      const loaded = await loadSource('team.yaml', {
        cwd: directory,
        env: {},
        model: scriptedModel([{ text: 'found' }]),
      });
      expect(loaded.distributing.map((team) => team.name)).toEqual(['research']);
      // A worker registering them knows the units by name.
      const worker = createRuntime({
        store: createMemoryStore(),
        workflows: [loaded.runnable, ...loaded.distributing],
        recover: false,
      });
      try {
        const handle = await worker.start('papers', 'hello');
        expect((await worker.get(handle.runId)).target).toBe('papers');
      } finally {
        await worker.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});

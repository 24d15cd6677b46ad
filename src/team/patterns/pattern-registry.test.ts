import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createMemoryStore } from '../../index.js';
import { scriptedModel } from '../../testing/index.js';
import { loadTeamFile, TeamFileError, teamFileSchema, teamJsonSchema, teamPatterns } from '../index.js';
import { teamNestedSchema } from '../team-file-schema.js';
import { mergePatternFields, patternFieldsShape, patternRegistry, type TeamPattern } from './index.js';
import { definePattern } from './pattern-module.js';

// The registry is the single source of what patterns team files support: the accepted kinds,
// the schema's pattern fields and the build all come from it.

const repo = join(import.meta.dirname, '..', '..', '..');
mkdirSync(join(repo, '.tmp'), { recursive: true });
const workspace = mkdtempSync(join(repo, '.tmp', 'pattern-registry-'));
let counter = 0;
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

const registered = Object.keys(patternRegistry);

/** The fewest fields each pattern needs (typed by kind: a pattern added to the registry must be added here). */
const minimalFields: Record<TeamPattern, string> = {
  agent: 'entry: a',
  handoff: 'entry: a',
  sequential: 'stages: [a, b]',
  concurrent: 'units: [a, b]',
  supervisor: 'manager: a\nworkers: [b]',
  groupChat: 'members: [a, b]',
  makerChecker: 'maker: a\nchecker: b\ncriteria: correct',
  loop: 'generator: a\nevaluator: b\nthreshold: 0.8',
  magentic: 'manager: a\nmembers: [b]',
  eventDriven: 'subscribers:\n  - member: a\n    topics: [input]\n    publishes: done\nuntil: done',
  adaptive: 'planner: a\npool: [b]',
  evolving: 'candidates: [a, b]',
};

const agents =
  'agents:\n  - name: a\n    instructions: A.\n    handoffs: [b]\n  - name: b\n    instructions: B.\n';

async function load(yaml: string) {
  const file = join(workspace, `team-${counter++}.yaml`);
  writeFileSync(file, yaml);
  return loadTeamFile(file, { model: scriptedModel({}), store: createMemoryStore() });
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

describe('pattern registry', () => {
  it('is the list of pattern kinds the file and nested teams accept', () => {
    expect([...teamPatterns]).toEqual(registered);
    expect(teamFileSchema.shape.pattern.options).toEqual(registered);
    expect(teamNestedSchema.shape.pattern.options).toEqual(registered);
    const schema = teamJsonSchema() as {
      properties: {
        pattern: { enum: string[] };
        teams: { items: { properties: { pattern: { enum: string[] } } } };
      };
    };
    expect(schema.properties.pattern.enum).toEqual(registered);
    expect(schema.properties.teams.items.properties.pattern.enum).toEqual(registered);
  });

  it('refuses a kind it does not hold, listing the registered ones', async () => {
    const error = await load(`name: t\npattern: pipeline\n${agents}`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TeamFileError);
    expect((error as TeamFileError).problems[0]?.message).toBe(
      `unknown pattern "pipeline" (known: ${registered.join(', ')}).`,
    );
  });

  it('puts every field of every pattern, and no other pattern field, in the schema', () => {
    const fields = new Set(Object.values(patternRegistry).flatMap((module) => Object.keys(module.fields)));
    expect(Object.keys(patternFieldsShape)).toEqual([...fields]);
    const schema = teamJsonSchema() as {
      properties: Record<string, unknown> & { teams: { items: { properties: Record<string, unknown> } } };
    };
    const fileKeys = [
      '$schema',
      'name',
      'version',
      'description',
      'model',
      'tools',
      'mcp',
      'offline',
      'pattern',
    ];
    expect(Object.keys(schema.properties)).toEqual([...fileKeys, 'agents', 'teams', 'humans', ...fields]);
    expect(Object.keys(schema.properties.teams.items.properties)).toEqual([
      'name',
      'description',
      'version',
      'pattern',
      ...fields,
    ]);
    for (const module of Object.values(patternRegistry)) {
      for (const key of Object.keys(module.required ?? {})) expect(module.fields).toHaveProperty(key);
    }
  });

  it.each(registered)('builds a %s team from a file, at the top level and nested', async (kind) => {
    const fields = minimalFields[kind as TeamPattern];
    const top = await load(`name: t\npattern: ${kind}\n${fields}\n${agents}`);
    expect(top.pattern).toBe(kind);
    expect(top.runnable.name).toBe('t');
    const nested = await load(
      `name: t\npattern: sequential\nstages: [inner]\nteams:\n  - name: inner\n    pattern: ${kind}\n${indent(fields)}\n${agents}`,
    );
    expect(nested.teams.get('inner')?.name).toBe('inner');
  });

  it('refuses two patterns declaring the same field with different schemas', () => {
    const build = () => {
      throw new Error('not built');
    };
    const shared = z.string().optional();
    const one = definePattern({ kind: 'one', fields: { topic: shared }, build });
    const same = definePattern({ kind: 'same', fields: { topic: shared }, build });
    const other = definePattern({ kind: 'other', fields: { topic: z.string().optional() }, build });
    expect(Object.keys(mergePatternFields([one, same]))).toEqual(['topic']);
    expect(() => mergePatternFields([one, other])).toThrow(/pattern other declares its own field "topic"/);
  });
});

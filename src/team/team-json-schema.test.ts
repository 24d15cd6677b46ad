import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatTeamJsonSchema, teamJsonSchema } from './team-json-schema.js';

describe('team JSON Schema', () => {
  it('is committed at schema/team.schema.json exactly as generated (run node scripts/team-schema.mjs)', () => {
    const committed = readFileSync(
      join(import.meta.dirname, '..', '..', 'schema', 'team.schema.json'),
      'utf8',
    );
    expect(committed).toBe(formatTeamJsonSchema());
  });

  it('describes the fields editors complete, and rejects unknown keys', () => {
    const schema = teamJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { enum?: string[]; description?: string }>;
    };
    expect(schema.required).toEqual(['name', 'pattern', 'agents']);
    expect(schema.additionalProperties).toBe(false);
    expect(schema.properties.pattern?.enum).toEqual([
      'agent',
      'handoff',
      'sequential',
      'concurrent',
      'supervisor',
      'groupChat',
      'makerChecker',
      'loop',
      'magentic',
      'eventDriven',
      'adaptive',
      'evolving',
    ]);
    expect(schema.properties.tools?.description).toMatch(/tool\(\) definitions/);
  });

  it('describes nested teams, humans, pattern fields and terminate conditions for completion', () => {
    const schema = teamJsonSchema() as {
      properties: Record<string, { description?: string; items?: { properties?: Record<string, unknown> } }>;
      $defs: Record<string, { description?: string; properties: Record<string, { description?: string }> }>;
    };
    expect(schema.properties.teams?.description).toMatch(/Nested teams/);
    expect(Object.keys(schema.properties.teams?.items?.properties ?? {})).toEqual(
      expect.arrayContaining(['name', 'pattern', 'workers', 'members', 'terminate']),
    );
    expect(schema.properties.humans?.description).toMatch(/People/);
    expect(schema.properties.workers?.description).toMatch(/^supervisor:/);
    const terminate = schema.$defs.TerminateCondition;
    expect(terminate?.description).toMatch(/When the group chat stops/);
    expect(terminate?.properties.approvedBy?.description).toMatch(/keyword/);
  });
});

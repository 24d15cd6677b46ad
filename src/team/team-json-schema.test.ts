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
    expect(schema.properties.pattern?.enum).toEqual(['agent', 'handoff', 'sequential', 'concurrent']);
    expect(schema.properties.tools?.description).toMatch(/tool\(\) definitions/);
  });
});

/** The JSON Schema of team files, generated from the zod schema, for editors (schema/team.schema.json). */

import { z } from 'zod';
import { teamFileSchema } from './team-file-schema.js';

/**
 * The JSON Schema (draft 2020-12) of a team file, generated with `z.toJSONSchema`.
 *
 * @example
 * ```ts
 * writeFileSync('schema/team.schema.json', formatTeamJsonSchema());
 * ```
 */
export function teamJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(teamFileSchema, { io: 'input', target: 'draft-2020-12' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'Baton team file',
    ...rest,
  };
}

/**
 * The schema as the text committed in schema/team.schema.json (2-space JSON and a newline).
 *
 * @example
 * ```ts
 * expect(readFileSync('schema/team.schema.json', 'utf8')).toBe(formatTeamJsonSchema());
 * ```
 */
export function formatTeamJsonSchema(): string {
  return `${JSON.stringify(teamJsonSchema(), null, 2)}\n`;
}

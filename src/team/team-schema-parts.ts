/** Building blocks of the team file schema: names, references, models, module exports and durations. */

import { z } from 'zod';
import { durationHint, durationPattern, parseDuration } from '../core/duration.js';

/** A definition name (agents, teams, humans, the file). */
export const definitionName = z
  .string({ error: 'expected a name (a string)' })
  .regex(/^[A-Za-z0-9][\w.-]*$/, {
    error: "use letters, digits, '_', '-' or '.', starting with a letter or digit",
  });

/** A whole number (zod int with the file's wording). */
export const wholeNumber = () => z.int({ error: 'expected a whole number' });

/** The name of an agent (handoff targets, entry, fallback). */
export const agentReference = z
  .string({ error: 'expected an agent name (a string)' })
  .min(1, { error: 'expected an agent name, got an empty string' });

/** The name of an agent, a nested team or a human. */
export const memberReference = z
  .string({ error: 'expected the name of an agent, team or human (a string)' })
  .min(1, { error: 'expected a name, got an empty string' });

/** A non-empty list of member names. */
export const memberList = (what: string) =>
  z
    .array(memberReference, { error: `expected a list of ${what}` })
    .min(1, { error: `list at least one of the ${what}` });

/** A module export: "./file.ts#exportName", relative to the team file. */
export const moduleExport = z
  .string({ error: 'expected a module export such as "./score.ts#score"' })
  .regex(/^[^#]+\.(ts|mts|cts|js|mjs|cjs)#[A-Za-z_$][\w$]*$/, {
    error:
      'expected a module export "./file.ts#exportName" (a .ts or .js file relative to the team file, # and the export name)',
  });

/** "provider:model", or "provider/model" as the AI SDK spells it. */
export const modelString = z
  .string({ error: 'expected a model string such as "openai:gpt-4o-mini"' })
  .regex(/^[\w.-]+[:/]\S+$/, {
    error:
      'expected "provider:model" (or "provider/model"), for example "openai:gpt-4o-mini" or "anthropic:claude-haiku-4-5"',
  });

/** A duration: "30s", "10m", "2h", "3d", "250ms", or a whole number of milliseconds. */
export const durationSchema = z
  .union(
    [
      z.int().min(1),
      z
        .string()
        .regex(durationPattern, { error: `expected ${durationHint}`, abort: true })
        .refine((text) => parseDuration(text) !== undefined, { error: 'a duration must be longer than 0' }),
    ],
    { error: `expected ${durationHint}` },
  )
  .describe('A duration: "30s", "10m", "2h", "3d", "250ms", or a number of milliseconds.');

/** Building blocks of the team file schema: names, references, models, module exports, durations and terminate conditions. */

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

/** How adaptive may run the planned tasks. */
export const adaptiveChoices = ['single', 'sequential', 'concurrent', 'levels', 'supervisor'] as const;

/** A module export: "./file.ts#exportName", relative to the team file. */
export const moduleExport = z
  .string({ error: 'expected a module export such as "./score.ts#score"' })
  .regex(/^[^#]+\.(ts|mts|cts|js|mjs|cjs)#[A-Za-z_$][\w$]*$/, {
    error:
      'expected a module export "./file.ts#exportName" (a .ts or .js file relative to the team file, # and the export name)',
  });

/** success, or a module export. */
export const scorePattern = /^(success|[^#]+\.(ts|mts|cts|js|mjs|cjs)#[A-Za-z_$][\w$]*)$/;

/** "provider:model". */
export const modelString = z
  .string({ error: 'expected a model string such as "openai:gpt-4o-mini"' })
  .regex(/^[\w.-]+:\S+$/, {
    error: 'expected "provider:model", for example "openai:gpt-4o-mini" or "anthropic:claude-haiku-4-5"',
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

/** The kinds of a `terminate` condition (exactly one per mapping). */
export const terminateKinds = [
  'maxRounds',
  'mention',
  'tokens',
  'timeout',
  'approvedBy',
  'anyOf',
  'allOf',
] as const;

/**
 * A groupChat termination condition. One strict mapping with every key optional (so a typo
 * gets "unknown key ... did you mean"); `checkTeam` enforces that exactly one kind is set.
 */
export interface TerminateCondition {
  maxRounds?: number | undefined;
  mention?: string | undefined;
  from?: string | undefined;
  tokens?: number | undefined;
  timeout?: string | number | undefined;
  approvedBy?: string | undefined;
  keyword?: string | undefined;
  anyOf?: TerminateCondition[] | undefined;
  allOf?: TerminateCondition[] | undefined;
}

/** The schema of a {@link TerminateCondition}. */
export const terminateSchema: z.ZodType<TerminateCondition> = z
  .strictObject(
    {
      maxRounds: wholeNumber().min(1).optional().describe('Stop after this many rounds.'),
      mention: z
        .string()
        .min(1)
        .optional()
        .describe('Stop when the last message contains this text (case-sensitive).'),
      from: memberReference.optional().describe('With mention: only when this member said it.'),
      tokens: wholeNumber()
        .min(1)
        .optional()
        .describe('Stop once the chat’s own model calls have used this many tokens.'),
      timeout: durationSchema.optional().describe('Stop (between rounds) once this long has passed.'),
      approvedBy: memberReference
        .optional()
        .describe('Stop when this member’s latest message contains the keyword (default APPROVED).'),
      keyword: z.string().min(1).optional().describe('With approvedBy: the approval word. Default APPROVED.'),
      get anyOf() {
        return z
          .array(terminateSchema, { error: 'expected a list of conditions' })
          .min(1, { error: 'list at least one condition' })
          .optional()
          .describe('Stop when any of these conditions holds.');
      },
      get allOf() {
        return z
          .array(terminateSchema, { error: 'expected a list of conditions' })
          .min(1, { error: 'list at least one condition' })
          .optional()
          .describe('Stop when all of these conditions hold after the same round.');
      },
    },
    {
      error:
        'expected a condition mapping such as { maxRounds: 6 }, { mention: APPROVED, from: critic }, { tokens: 20000 }, { timeout: 10m }, { approvedBy: critic } or { anyOf: [...] }',
    },
  )
  .meta({
    id: 'TerminateCondition',
    description:
      'When the group chat stops: one of maxRounds, mention (+ from), tokens, timeout, approvedBy (+ keyword), anyOf, allOf.',
  });

/** A groupChat's `terminate` condition: its schema, its checks (one kind per mapping, members it names) and its build. */

import { z } from 'zod';
import {
  allOf,
  anyOf,
  approvedBy,
  maxRounds,
  type TerminationCondition,
  textMention,
  timeLimit,
  tokenBudget,
} from '../../patterns/termination.js';
import { milliseconds } from '../build-parts.js';
import type { TeamFileProblem } from '../team-file-error.js';
import { durationSchema, memberReference, wholeNumber } from '../team-schema-parts.js';
import { andList, nameList } from '../team-words.js';
import type { DataPath, YamlSource } from '../yaml-source.js';

/** The kinds of a `terminate` condition (exactly one per mapping). */
const terminateKinds = ['maxRounds', 'mention', 'tokens', 'timeout', 'approvedBy', 'anyOf', 'allOf'] as const;

/**
 * A groupChat termination condition. One strict mapping with every key optional (so a typo
 * gets "unknown key ... did you mean"); `checkTerminate` enforces that exactly one kind is set.
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

/**
 * Problems of a condition mapping (and the conditions inside its anyOf/allOf): none or
 * several kinds set, `from`/`keyword` without their kind, a member that is not in the chat.
 */
export function checkTerminate(
  source: YamlSource,
  path: DataPath,
  condition: TerminateCondition,
  members: ReadonlySet<string>,
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const memberOf = (at: DataPath, name: string, field: string): void => {
    if (!members.has(name))
      problems.push(
        source.problem(
          at,
          () =>
            `${field} must be a member of this group chat; "${name}" is not (members: ${nameList(members)}).`,
        ),
      );
  };
  const kinds = terminateKinds.filter((kind) => condition[kind] !== undefined);
  const options = terminateKinds.join(', ');
  if (kinds.length === 0) {
    problems.push(
      source.problem(
        path,
        `a condition needs one of ${options}${condition.from !== undefined ? ' (from goes with mention)' : condition.keyword !== undefined ? ' (keyword goes with approvedBy)' : ''}; for example { mention: APPROVED, from: critic }.`,
      ),
    );
    return problems;
  }
  if (kinds.length > 1) {
    problems.push(
      source.keyProblem(
        path,
        kinds[1] as string,
        `a condition has one kind, but this one sets ${andList(kinds)}; combine them with anyOf: [{ ${kinds[0]}: ... }, { ${kinds[1]}: ... }] (stop when either holds) or allOf: [...] (when both hold).`,
      ),
    );
    return problems;
  }
  const kind = kinds[0] as (typeof terminateKinds)[number];
  if (condition.from !== undefined && kind !== 'mention')
    problems.push(
      source.keyProblem(
        path,
        'from',
        'from goes with mention (who must say the text); remove it or add mention:.',
      ),
    );
  if (condition.keyword !== undefined && kind !== 'approvedBy')
    problems.push(
      source.keyProblem(path, 'keyword', 'keyword goes with approvedBy; remove it or add approvedBy:.'),
    );
  if (condition.from !== undefined && kind === 'mention') memberOf([...path, 'from'], condition.from, 'from');
  if (kind === 'approvedBy') memberOf([...path, 'approvedBy'], condition.approvedBy as string, 'approvedBy');
  for (const list of ['anyOf', 'allOf'] as const) {
    for (const [index, inner] of (condition[list] ?? []).entries())
      problems.push(...checkTerminate(source, [...path, list, index], inner, members));
  }
  return problems;
}

/** A termination condition from its YAML mapping (checked: exactly one kind is set). */
export function terminationOf(spec: TerminateCondition): TerminationCondition {
  if (spec.maxRounds !== undefined) return maxRounds(spec.maxRounds);
  if (spec.mention !== undefined)
    return textMention(spec.mention, spec.from === undefined ? {} : { from: spec.from });
  if (spec.tokens !== undefined) return tokenBudget(spec.tokens);
  if (spec.timeout !== undefined) return timeLimit(milliseconds(spec.timeout));
  if (spec.approvedBy !== undefined)
    return approvedBy(spec.approvedBy, spec.keyword === undefined ? {} : { keyword: spec.keyword });
  if (spec.anyOf !== undefined) return anyOf(...spec.anyOf.map(terminationOf));
  return allOf(...(spec.allOf ?? []).map(terminationOf));
}

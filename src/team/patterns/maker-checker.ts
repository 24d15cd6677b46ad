/** Pattern makerChecker: a maker produces the work and revises it until a checker approves it. */

import { z } from 'zod';
import { makerChecker } from '../../patterns/maker-checker.js';
import { compact } from '../build-parts.js';
import { memberReference } from '../team-schema-parts.js';
import { anyMember } from '../team-words.js';
import { asTeamRunnable, definePattern, type FieldReference } from './pattern-module.js';
import { maxRounds } from './shared-fields.js';

/** The makerChecker pattern of team files. */
export const makerCheckerPattern = definePattern({
  kind: 'makerChecker',
  fields: {
    maker: memberReference.optional().describe('makerChecker: produces and revises the work.'),
    checker: memberReference
      .optional()
      .describe('makerChecker: judges the work (APPROVED/REJECTED or JSON { approved, feedback }).'),
    criteria: z
      .union(
        [z.string().min(1), z.array(z.string().min(1), { error: 'expected a list of criteria' }).min(1)],
        {
          error: 'expected a criterion (a string) or a list of criteria',
        },
      )
      .optional()
      .describe('makerChecker: what the checker judges against.'),
    maxRounds,
  },
  required: {
    maker: 'the agent, team or human that produces the work.',
    checker: 'the agent, team or human that judges it.',
    criteria: 'what the checker judges against (a string or a list).',
  },
  check({ team, problem, reference }) {
    if (team.maker !== undefined) reference(['maker'], team.maker, anyMember, 'maker');
    if (team.checker !== undefined) reference(['checker'], team.checker, anyMember, 'checker');
    if (team.maker !== undefined && team.maker === team.checker)
      problem(['checker'], 'the checker must be another member than the maker.');
  },
  build({ definition, version, member }) {
    return asTeamRunnable(
      makerChecker({
        name: definition.name,
        version,
        maker: member(definition.maker as string),
        checker: member(definition.checker as string),
        criteria: definition.criteria as string | string[],
        ...compact({ maxRounds: definition.maxRounds }),
      }),
    );
  },
  memberReferences(definition) {
    const found: FieldReference[] = [];
    if (definition.maker !== undefined) found.push({ path: ['maker'], name: definition.maker });
    if (definition.checker !== undefined) found.push({ path: ['checker'], name: definition.checker });
    return found;
  },
});

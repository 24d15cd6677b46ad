/** Pattern concurrent: every unit gets the input at once; the results are collected, voted on or synthesized. */

import { z } from 'zod';
import type { AgentInput } from '../../context/messages.js';
import type { Runnable } from '../../core/runnable.js';
import { concurrent } from '../../patterns/concurrent.js';
import { compact } from '../build-parts.js';
import { memberList, memberReference, wholeNumber } from '../team-schema-parts.js';
import { anyMember, nameList } from '../team-words.js';
import { asTeamRunnable, definePattern, type FieldReference, listReferences } from './pattern-module.js';
import { distribute } from './shared-fields.js';

/** The concurrent pattern of team files. */
export const concurrentPattern = definePattern({
  kind: 'concurrent',
  fields: {
    units: memberList('units')
      .optional()
      .describe('concurrent: agents, teams or humans that all get the input at once.'),
    aggregate: z
      .union(
        [
          memberReference,
          z
            .strictObject({
              weighted: z
                .record(z.string(), z.number({ error: 'expected a weight (a number)' }).min(0), {
                  error: 'expected a mapping from unit name to weight',
                })
                .describe('Weight per unit; units not listed weigh 1.'),
            })
            .describe('A weighted vote.'),
        ],
        { error: 'expected "collect", "vote", an agent or team name, or { weighted: { unit: weight } }' },
      )
      .optional()
      .describe(
        'concurrent: "collect" (default), "vote", { weighted: { unit: weight } }, or an agent or team that synthesizes the results.',
      ),
    require: z
      .union([z.enum(['all', 'best-effort']), wholeNumber().min(1)], {
        error: 'expected "all", "best-effort" or a whole number >= 1',
      })
      .optional()
      .describe('concurrent: "all" (default), "best-effort" or how many units must succeed.'),
    consistencyMeasure: z
      .enum(['agreement', 'similarity'], { error: 'expected agreement or similarity' })
      .optional()
      .describe('concurrent: how consistency is scored. Default agreement for votes, similarity otherwise.'),
    minConsistency: z
      .number({ error: 'expected a number from 0 to 1' })
      .min(0)
      .max(1)
      .optional()
      .describe('concurrent: below this consistency (0 to 1), onLowConsistency runs (or the run fails).'),
    onLowConsistency: memberReference
      .optional()
      .describe(
        'concurrent: the agent, team or human that answers when consistency is below minConsistency.',
      ),
    distribute,
  },
  required: { units: 'a list of agent names to run at once.' },
  check({ team, problem, keyProblem, reference, references }) {
    references('units', team.units);
    const units = team.units ?? [];
    const aggregate = team.aggregate;
    if (typeof aggregate === 'string')
      reference(['aggregate'], aggregate, anyMember, 'aggregate', ['collect', 'vote']);
    else if (aggregate !== undefined) {
      const unitNames = new Set(units);
      for (const unit of Object.keys(aggregate.weighted)) {
        if (unitNames.has(unit)) continue;
        keyProblem(
          ['aggregate', 'weighted'],
          unit,
          () => `"${unit}" is not a unit of this team (units: ${nameList(units)}); weights name units.`,
        );
      }
    }
    if (typeof team.require === 'number' && units.length > 0 && team.require > units.length)
      problem(
        ['require'],
        `require is ${team.require} but there are only ${units.length} units; use 1 to ${units.length}.`,
      );
    if (team.onLowConsistency !== undefined) {
      reference(['onLowConsistency'], team.onLowConsistency, anyMember, 'onLowConsistency');
      if (team.minConsistency === undefined)
        keyProblem(
          [],
          'onLowConsistency',
          'onLowConsistency needs minConsistency: the consistency (0 to 1) below which it answers.',
        );
    }
  },
  build({ definition, version, member, members }) {
    const aggregate = definition.aggregate;
    return asTeamRunnable(
      concurrent<AgentInput, unknown, unknown>({
        name: definition.name,
        version,
        units: members(definition.units),
        aggregate:
          aggregate === undefined || aggregate === 'collect'
            ? 'collect'
            : aggregate === 'vote'
              ? 'vote'
              : typeof aggregate === 'object'
                ? { weighted: aggregate.weighted }
                : (member(aggregate) as Runnable<string, unknown>),
        ...compact({
          require: definition.require,
          consistencyMeasure: definition.consistencyMeasure,
          minConsistency: definition.minConsistency,
          distribute: definition.distribute,
          onLowConsistency:
            definition.onLowConsistency === undefined
              ? undefined
              : (member(definition.onLowConsistency) as Runnable<string, unknown>),
        }),
      }),
    );
  },
  memberReferences(definition) {
    const found: FieldReference[] = listReferences('units', definition.units);
    if (typeof definition.aggregate === 'string')
      found.push({ path: ['aggregate'], name: definition.aggregate });
    if (definition.onLowConsistency !== undefined)
      found.push({ path: ['onLowConsistency'], name: definition.onLowConsistency });
    return found;
  },
});

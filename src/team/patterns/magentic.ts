/** Pattern magentic: a manager keeps a task ledger, picks the member for each step and replans when stalled. */

import { z } from 'zod';
import { magentic } from '../../patterns/magentic.js';
import { compact, milliseconds } from '../build-parts.js';
import { durationSchema, wholeNumber } from '../team-schema-parts.js';
import { isModelString } from '../team-words.js';
import { asTeamRunnable, definePattern, listReferences } from './pattern-module.js';
import { manager, maxRounds, members } from './shared-fields.js';

/** The magentic pattern of team files. */
export const magenticPattern = definePattern({
  kind: 'magentic',
  fields: {
    manager,
    members,
    maxRounds,
    maxStalls: wholeNumber()
      .min(0)
      .optional()
      .describe('magentic: stalled rounds tolerated before a reset. Default 3.'),
    maxResets: wholeNumber()
      .min(0)
      .optional()
      .describe('magentic: resets (replans) before stopping. Default 2.'),
    maxParseRetries: wholeNumber()
      .min(0)
      .optional()
      .describe('magentic: times the manager is asked again for a malformed ledger. Default 2.'),
    reviewPlan: z
      .union(
        [
          z.literal(true),
          z.strictObject({
            timeout: durationSchema
              .optional()
              .describe(
                'Proceed with the plan if no review arrives within this long. Default: wait forever.',
              ),
            maxRevisions: wholeNumber()
              .min(0)
              .optional()
              .describe('Rejections the manager may answer with a new plan. Default 3.'),
          }),
        ],
        { error: 'expected true or { timeout?, maxRevisions? }' },
      )
      .optional()
      .describe('magentic: a person reviews every plan (signal plan-review) before the team works on it.'),
  },
  required: {
    manager: 'the agent that delegates to the workers and writes the answer.',
    members: 'a list of the agents, teams and humans that take part.',
  },
  check({ team, reference, references }) {
    if (team.manager !== undefined && !isModelString(team.manager))
      reference(['manager'], team.manager, ['agent'], 'manager');
    references('members', team.members);
  },
  build({ definition, version, members: membersOf, agentOrModel }) {
    const review = definition.reviewPlan;
    return asTeamRunnable(
      magentic({
        name: definition.name,
        version,
        manager: agentOrModel(definition.manager as string),
        members: membersOf(definition.members),
        ...compact({
          maxRounds: definition.maxRounds,
          maxStalls: definition.maxStalls,
          maxResets: definition.maxResets,
          maxParseRetries: definition.maxParseRetries,
          reviewPlan:
            review === undefined
              ? undefined
              : review === true
                ? {}
                : compact({
                    timeoutMs: review.timeout === undefined ? undefined : milliseconds(review.timeout),
                    maxRevisions: review.maxRevisions,
                  }),
        }),
      }),
    );
  },
  memberReferences: (definition) => listReferences('members', definition.members),
  inlineModels: (definition) =>
    definition.manager !== undefined && isModelString(definition.manager)
      ? [{ path: ['manager'], model: definition.manager }]
      : [],
  internalAgents: (definition) =>
    definition.manager !== undefined && isModelString(definition.manager) ? ['manager'] : [],
});

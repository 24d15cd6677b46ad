/** Pattern loop (evaluator-optimizer): a generator refines its output until an evaluator's score reaches the threshold. */

import { z } from 'zod';
import { loop } from '../../patterns/loop.js';
import { compact } from '../build-parts.js';
import { memberReference, wholeNumber } from '../team-schema-parts.js';
import { anyMember } from '../team-words.js';
import { asTeamRunnable, definePattern, type FieldReference } from './pattern-module.js';

/** The loop pattern of team files. */
export const loopPattern = definePattern({
  kind: 'loop',
  fields: {
    generator: memberReference.optional().describe('loop: produces and refines the output.'),
    evaluator: memberReference
      .optional()
      .describe('loop: scores each output (JSON { score: 0..1, feedback }).'),
    threshold: z
      .number({ error: 'expected a number from 0 to 1' })
      .min(0)
      .max(1)
      .optional()
      .describe('loop: stop once an output scores at least this (0 to 1).'),
    maxIterations: wholeNumber().min(1).optional().describe('loop: iterations before giving up. Default 3.'),
  },
  required: {
    generator: 'the agent, team or human that produces the output.',
    evaluator: 'the agent, team or human that scores it (JSON { score, feedback }).',
    threshold: 'the score from 0 to 1 at which to stop.',
  },
  check({ team, problem, reference }) {
    if (team.generator !== undefined) reference(['generator'], team.generator, anyMember, 'generator');
    if (team.evaluator !== undefined) reference(['evaluator'], team.evaluator, anyMember, 'evaluator');
    if (team.generator !== undefined && team.generator === team.evaluator)
      problem(['evaluator'], 'the evaluator must be another member than the generator.');
  },
  build({ definition, version, member }) {
    return asTeamRunnable(
      loop({
        name: definition.name,
        version,
        generator: member(definition.generator as string),
        evaluator: member(definition.evaluator as string),
        threshold: definition.threshold as number,
        ...compact({ maxIterations: definition.maxIterations }),
      }),
    );
  },
  memberReferences(definition) {
    const found: FieldReference[] = [];
    if (definition.generator !== undefined) found.push({ path: ['generator'], name: definition.generator });
    if (definition.evaluator !== undefined) found.push({ path: ['evaluator'], name: definition.evaluator });
    return found;
  },
});

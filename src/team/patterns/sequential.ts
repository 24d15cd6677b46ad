/** Pattern sequential: stages in pipeline order, each given the previous stage's output. */

import type { AgentInput } from '../../context/messages.js';
import { sequential } from '../../patterns/sequential.js';
import { asAgentInput } from '../build-parts.js';
import { memberList } from '../team-schema-parts.js';
import { definePattern, listReferences } from './pattern-module.js';

/** The sequential pattern of team files. */
export const sequentialPattern = definePattern({
  kind: 'sequential',
  fields: {
    stages: memberList('stages')
      .optional()
      .describe('sequential: agents, teams or humans in pipeline order.'),
  },
  required: { stages: 'a list of agent names in order.' },
  check({ team, references }) {
    references('stages', team.stages);
  },
  build({ definition, version, member }) {
    return sequential<AgentInput, unknown>({
      name: definition.name,
      version,
      stages: (definition.stages ?? []).map((stage) => ({ run: member(stage), input: asAgentInput })),
    });
  },
  memberReferences: (definition) => listReferences('stages', definition.stages),
});

/** Pattern supervisor: a manager agent delegates to workers (one tool each) and writes the answer. */

import { supervisor } from '../../patterns/supervisor.js';
import { compact } from '../build-parts.js';
import { memberList, wholeNumber } from '../team-schema-parts.js';
import { isModelString } from '../team-words.js';
import { asTeamRunnable, definePattern, listReferences } from './pattern-module.js';
import { distribute, manager } from './shared-fields.js';

/** The supervisor pattern of team files. */
export const supervisorPattern = definePattern({
  kind: 'supervisor',
  fields: {
    manager,
    workers: memberList('workers')
      .optional()
      .describe('supervisor: agents, teams or humans the manager delegates to (one tool each).'),
    maxDelegations: wholeNumber()
      .min(1)
      .optional()
      .describe('supervisor: delegations allowed in one run. Default 10.'),
    distribute,
  },
  required: {
    manager: 'the agent that delegates to the workers and writes the answer.',
    workers: 'a list of agents, teams or humans to delegate to.',
  },
  check({ team, problem, reference, references }) {
    if (team.manager !== undefined) {
      if (isModelString(team.manager))
        problem(
          ['manager'],
          'a supervisor’s manager must be an agent of this file (a "provider:model" manager works for magentic only).',
        );
      else reference(['manager'], team.manager, ['agent'], 'manager');
    }
    references('workers', team.workers);
    if (team.manager !== undefined && team.workers?.includes(team.manager))
      problem(
        ['workers', team.workers.indexOf(team.manager)],
        `"${team.manager}" is the manager; it cannot be one of its own workers.`,
      );
  },
  build({ definition, version, agent, member, describe }) {
    return asTeamRunnable(
      supervisor({
        name: definition.name,
        version,
        manager: agent(definition.manager as string),
        workers: (definition.workers ?? []).map((worker) => {
          const runnable = member(worker);
          return runnable.kind === 'agent' ? runnable : { run: runnable, description: describe(worker) };
        }),
        ...compact({ maxDelegations: definition.maxDelegations, distribute: definition.distribute }),
      }),
    );
  },
  memberReferences: (definition) => listReferences('workers', definition.workers),
});

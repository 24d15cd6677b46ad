/** Pattern adaptive: a planner splits the task into a task graph and a policy picks how the pool runs it. */

import { z } from 'zod';
import { type AdaptivePolicy, adaptive } from '../../patterns/adaptive.js';
import { compact } from '../build-parts.js';
import { agentReference, moduleExport, wholeNumber } from '../team-schema-parts.js';
import { isModelString } from '../team-words.js';
import { asTeamRunnable, definePattern } from './pattern-module.js';
import { manager } from './shared-fields.js';

/** How adaptive may run the planned tasks. */
const adaptiveChoices = ['single', 'sequential', 'concurrent', 'levels', 'supervisor'] as const;

/** The adaptive pattern of team files. */
export const adaptivePattern = definePattern({
  kind: 'adaptive',
  fields: {
    planner: z
      .string({ error: 'expected an agent name or "provider:model"' })
      .min(1)
      .optional()
      .describe('adaptive: the agent that splits the task into a task graph, or "provider:model".'),
    pool: z
      .array(agentReference, { error: 'expected a list of agent names' })
      .min(1, { error: 'list at least one agent' })
      .optional()
      .describe('adaptive: the agents the planner assigns tasks to.'),
    policy: moduleExport
      .optional()
      .describe(
        'adaptive: "./policy.ts#choose", a function (features, graph) => pattern. Default: the built-in policy.',
      ),
    override: z
      .enum(adaptiveChoices, { error: `expected one of: ${adaptiveChoices.join(', ')}` })
      .optional()
      .describe('adaptive: always run the tasks this way instead of asking the policy.'),
    manager,
    maxPlanAttempts: wholeNumber()
      .min(1)
      .optional()
      .describe('adaptive: planner answers tried before the run fails with INVALID_PLAN. Default 3.'),
    maxTasks: wholeNumber().min(1).optional().describe('adaptive: most tasks a plan may have. Default 8.'),
  },
  required: {
    planner: 'the agent (or "provider:model") that splits the task into a task graph.',
    pool: 'a list of the agents that do the tasks.',
  },
  check({ team, problem, reference, references }) {
    if (team.planner !== undefined && !isModelString(team.planner))
      reference(['planner'], team.planner, ['agent'], 'planner');
    references('pool', team.pool, ['agent']);
    if (team.manager !== undefined) {
      if (isModelString(team.manager))
        problem(['manager'], 'an adaptive team’s manager must be an agent of this file.');
      else reference(['manager'], team.manager, ['agent'], 'manager');
    }
  },
  build({ definition, version, agent, agentOrModel, moduleExport: exported }) {
    return asTeamRunnable(
      adaptive({
        name: definition.name,
        version,
        planner: agentOrModel(definition.planner as string),
        agents: (definition.pool ?? []).map(agent),
        ...compact({
          policy:
            definition.policy === undefined ? undefined : (exported(definition.policy) as AdaptivePolicy),
          override: definition.override,
          manager: definition.manager === undefined ? undefined : agent(definition.manager),
          maxPlanAttempts: definition.maxPlanAttempts,
          maxTasks: definition.maxTasks,
        }),
      }),
    );
  },
  inlineModels: (definition) =>
    definition.planner !== undefined && isModelString(definition.planner)
      ? [{ path: ['planner'], model: definition.planner }]
      : [],
  internalAgents(definition) {
    const names: string[] = [];
    if (definition.planner !== undefined && isModelString(definition.planner))
      names.push(`${definition.name}-planner`);
    if (definition.manager === undefined) names.push(`${definition.name}-manager`);
    return names;
  },
  moduleReferences: (definition) =>
    definition.policy?.includes('#') ? [{ path: ['policy'], reference: definition.policy }] : [],
});

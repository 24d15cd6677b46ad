/** Pattern agent: one agent answers the input. */

import { runAgent } from '../../agents/agent-loop.js';
import { definePattern } from './pattern-module.js';
import { entry } from './shared-fields.js';

/** The agent pattern of team files. */
export const agentPattern = definePattern({
  kind: 'agent',
  fields: { entry },
  requiredWhenNested: { entry: 'the agent that receives the input.' },
  build({ definition, version, agents, agent }) {
    const entryAgent = agent(definition.entry ?? (agents[0] as (typeof agents)[number]).name);
    return {
      kind: 'pattern',
      name: definition.name,
      version,
      async execute(ctx, input) {
        return (await runAgent(ctx, entryAgent, input)).output;
      },
    };
  },
});

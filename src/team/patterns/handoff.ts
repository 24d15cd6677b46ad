/** Pattern handoff: the entry agent hands the conversation to specialists, with a loop guard and a fallback. */

import { z } from 'zod';
import { handoff } from '../../patterns/handoff.js';
import { compact } from '../build-parts.js';
import { teamLoopResponses } from '../team-agent-options.js';
import { agentReference, wholeNumber } from '../team-schema-parts.js';
import { definePattern, type PatternAgent } from './pattern-module.js';
import { entry } from './shared-fields.js';

/** The handoff pattern of team files. */
export const handoffPattern = definePattern({
  kind: 'handoff',
  fields: {
    entry,
    allowReturn: z
      .boolean()
      .optional()
      .describe('handoff: let specialists hand back to the entry agent. Default false.'),
    maxHandoffs: wholeNumber()
      .min(1)
      .optional()
      .describe('handoff: transfers allowed in one run. Default 8.'),
    loopCycles: wholeNumber()
      .min(0)
      .optional()
      .describe(
        'handoff: times the same cycle of agents may repeat before the loop guard trips; 0 turns it off. Default 2.',
      ),
    loopResponse: z
      .enum(teamLoopResponses, { error: `expected one of: ${teamLoopResponses.join(', ')}` })
      .optional()
      .describe(
        'handoff: what the loop guard does when it trips: stop (default: fallback, else fail with HANDOFF_LOOP), warn (the transfer happens and the receiving agent is told about the cycle; stop if it trips again) or escalate (wait for the signal loop:<team>).',
      ),
    fallback: agentReference
      .optional()
      .describe('handoff: the agent that takes over when the loop guard or maxHandoffs trips.'),
  },
  requiredWhenNested: { entry: 'the agent that receives the input.' },
  check({ team, nested, agents, source, problem, report, reference, kindOf }) {
    const entryName = team.entry ?? agents[0]?.name;
    if (team.fallback !== undefined) {
      reference(['fallback'], team.fallback, ['agent'], 'fallback');
      if (team.fallback === entryName)
        problem(['fallback'], 'the fallback must be another agent than the entry agent.');
    }
    if (!nested) {
      const others = agents.filter((agent) => agent.name !== entryName && agent.name !== team.fallback);
      if (others.length === 0)
        report([
          source.problem(
            ['agents'],
            'pattern handoff needs at least two agents: the entry agent and someone to hand off to (or use pattern: agent).',
          ),
        ]);
    } else if (team.entry !== undefined && kindOf(team.entry) === 'agent') {
      const entryAgent = agents.find((agent) => agent.name === team.entry);
      if ((entryAgent?.handoffs ?? []).length === 0)
        problem(
          ['entry'],
          `a nested handoff team routes along its entry agent's handoffs, and "${team.entry}" has none; add handoffs: to agent "${team.entry}".`,
        );
    }
  },
  build({ definition, version, nested, agents, agent }) {
    const entryName = definition.entry ?? (agents[0] as PatternAgent).name;
    const specialists = nested
      ? reachable(agents, entryName).filter((other) => other !== definition.fallback)
      : agents
          .map((other) => other.name)
          .filter((other) => other !== entryName && other !== definition.fallback);
    return handoff({
      name: definition.name,
      version,
      entry: agent(entryName),
      agents: specialists.map(agent),
      ...compact({
        allowReturn: definition.allowReturn,
        maxHandoffs: definition.maxHandoffs,
        loopCycles: definition.loopCycles,
        loopResponse: definition.loopResponse,
        fallback: definition.fallback === undefined ? undefined : agent(definition.fallback),
      }),
    });
  },
});

/** The agents a nested handoff team can reach from its entry agent through declared handoffs. */
function reachable(agents: readonly PatternAgent[], entry: string): string[] {
  const byName = new Map(agents.map((agent) => [agent.name, agent]));
  const found = new Set<string>();
  const queue = [entry];
  // The queue only grows; `next` walks it (shift() would copy it on every step).
  for (let next = 0; next < queue.length; next++) {
    const definition = byName.get(queue[next] as string);
    for (const handoff of definition?.handoffs ?? []) {
      const target = typeof handoff === 'string' ? handoff : handoff.agent;
      if (target === entry || found.has(target)) continue;
      found.add(target);
      queue.push(target);
    }
  }
  return [...found];
}

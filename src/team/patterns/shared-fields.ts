/** Pattern fields that several patterns use (one schema and one description for all of them). */

import { z } from 'zod';
import { agentReference, memberList, wholeNumber } from '../team-schema-parts.js';

/** agent, handoff: the agent that receives the input. */
export const entry = agentReference
  .optional()
  .describe('agent/handoff: the agent that receives the input. Default at the top level: the first agent.');

/** supervisor, magentic, adaptive: the coordinating agent (or, for magentic, a model). */
export const manager = z
  .string({ error: 'expected an agent name (or, for magentic, "provider:model")' })
  .min(1)
  .optional()
  .describe(
    'supervisor: the agent that delegates and answers. magentic: an agent, or "provider:model". adaptive: the agent that coordinates when the policy picks supervisor.',
  );

/** groupChat, magentic: the members of the team. */
export const members = memberList('members')
  .optional()
  .describe('groupChat, magentic: the agents, teams and humans of the team.');

/** groupChat, makerChecker, magentic: the round cap. */
export const maxRounds = wholeNumber()
  .min(1)
  .optional()
  .describe('groupChat (default 10), makerChecker (default 3), magentic (default 20): the round cap.');

/** concurrent, supervisor: each unit or delegation as a run of its own, for any worker. */
export const distribute = z
  .boolean({ error: 'expected true or false' })
  .optional()
  .describe(
    'concurrent, supervisor: run each unit or delegation as a run of its own that any worker executes (with workers; inline otherwise). Default false.',
  );

/** The zod schema of the pattern fields a team (the file or a nested team) sets, and which pattern uses which field. */

import { z } from 'zod';
import { loopDetectionOf, teamLoopResponses } from './team-agent-options.js';
import {
  adaptiveChoices,
  agentReference,
  durationSchema,
  memberList,
  memberReference,
  moduleExport,
  scorePattern,
  terminateSchema,
  wholeNumber,
} from './team-schema-parts.js';

/**
 * The orchestration patterns a team file can use.
 *
 * @example
 * ```ts
 * teamPatterns.includes('groupChat'); // true
 * ```
 */
export const teamPatterns = [
  'agent',
  'handoff',
  'sequential',
  'concurrent',
  'supervisor',
  'groupChat',
  'makerChecker',
  'loop',
  'magentic',
  'eventDriven',
  'adaptive',
  'evolving',
] as const;

/**
 * One of {@link teamPatterns}.
 *
 * @example
 * ```ts
 * const pattern: TeamPattern = 'sequential';
 * ```
 */
export type TeamPattern = (typeof teamPatterns)[number];

const selectObject = z
  .strictObject({
    selector: z
      .string({ error: 'expected an agent name or a model string "provider:model"' })
      .min(1)
      .describe('The agent that picks the next speaker, or "provider:model" for a built-in selector agent.'),
    allowRepeat: z.boolean().optional().describe('May the last speaker speak again? Default false.'),
    candidates: memberList('member names')
      .optional()
      .describe('Only these members may be picked. Default: every member.'),
    fallback: memberReference
      .optional()
      .describe('Who speaks when the selector names no candidate: "round-robin" (default) or a member name.'),
  })
  .describe('An LLM picks each speaker.');

const subscriberSchema = z
  .strictObject(
    {
      member: memberReference.describe('The agent, team or human that handles the events.'),
      topics: z
        .array(z.string({ error: 'expected a topic name (a string)' }), {
          error: 'expected a list of topics',
        })
        .min(1, { error: 'list at least one topic' })
        .describe('Topics whose events the member receives.'),
      publishes: z
        .string({ error: 'expected a topic name (a string)' })
        .optional()
        .describe('The topic the member’s output is published to. Default: the output is dropped.'),
    },
    { error: 'expected a subscriber: { member, topics, publishes? }' },
  )
  .describe('A member of an event-driven team and the topics it listens to.');

/** Every field a pattern can set (top level of the file, or a nested team). */
export const patternFieldsShape = {
  entry: agentReference
    .optional()
    .describe('agent/handoff: the agent that receives the input. Default at the top level: the first agent.'),
  allowReturn: z
    .boolean()
    .optional()
    .describe('handoff: let specialists hand back to the entry agent. Default false.'),
  maxHandoffs: wholeNumber().min(1).optional().describe('handoff: transfers allowed in one run. Default 8.'),
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
  stages: memberList('stages').optional().describe('sequential: agents, teams or humans in pipeline order.'),
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
    .describe('concurrent: the agent, team or human that answers when consistency is below minConsistency.'),
  manager: z
    .string({ error: 'expected an agent name (or, for magentic, "provider:model")' })
    .min(1)
    .optional()
    .describe(
      'supervisor: the agent that delegates and answers. magentic: an agent, or "provider:model". adaptive: the agent that coordinates when the policy picks supervisor.',
    ),
  workers: memberList('workers')
    .optional()
    .describe('supervisor: agents, teams or humans the manager delegates to (one tool each).'),
  maxDelegations: wholeNumber()
    .min(1)
    .optional()
    .describe('supervisor: delegations allowed in one run. Default 10.'),
  members: memberList('members')
    .optional()
    .describe('groupChat, magentic: the agents, teams and humans of the team.'),
  select: z
    .union([z.literal('round-robin'), selectObject], {
      error: 'expected "round-robin" or { selector, allowRepeat?, candidates?, fallback? }',
    })
    .optional()
    .describe('groupChat: "round-robin" (default) or { selector: agent or "provider:model", ... }.'),
  terminate: terminateSchema.optional(),
  task: z
    .string()
    .optional()
    .describe('groupChat: the chat’s goal, shown to every speaker and to the selector.'),
  loopDetection: loopDetectionOf({
    maxRepeats:
      'Times one text (case and whitespace folded) may be said in the chat before it counts as a loop. Default 3.',
    response:
      'stop (the chat ends, stoppedBy "loop: ..."), warn (default: the chat tells the members to move on, stops if it goes on) or escalate (wait for the signal loop:<chat>).',
    options:
      'groupChat: detect members repeating the same message and stop, warn them or ask a human. Off by default.',
  }).optional(),
  maxRounds: wholeNumber()
    .min(1)
    .optional()
    .describe('groupChat (default 10), makerChecker (default 3), magentic (default 20): the round cap.'),
  maker: memberReference.optional().describe('makerChecker: produces and revises the work.'),
  checker: memberReference
    .optional()
    .describe('makerChecker: judges the work (APPROVED/REJECTED or JSON { approved, feedback }).'),
  criteria: z
    .union([z.string().min(1), z.array(z.string().min(1), { error: 'expected a list of criteria' }).min(1)], {
      error: 'expected a criterion (a string) or a list of criteria',
    })
    .optional()
    .describe('makerChecker: what the checker judges against.'),
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
            .describe('Proceed with the plan if no review arrives within this long. Default: wait forever.'),
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
  subscribers: z
    .array(subscriberSchema, { error: 'expected a list of subscribers' })
    .min(1, { error: 'list at least one subscriber' })
    .optional()
    .describe('eventDriven: who listens to which topics and where their output goes.'),
  start: z
    .string({ error: 'expected a topic name (a string)' })
    .optional()
    .describe('eventDriven: the topic the run input is published to. Default input.'),
  until: z
    .string({ error: 'expected a topic name (a string)' })
    .optional()
    .describe('eventDriven: the first event on this topic ends the run; its data is the output.'),
  maxEvents: wholeNumber()
    .min(1)
    .optional()
    .describe('eventDriven: events in one run before it fails with MAX_EVENTS. Default 100.'),
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
  maxPlanAttempts: wholeNumber()
    .min(1)
    .optional()
    .describe('adaptive: planner answers tried before the run fails with INVALID_PLAN. Default 3.'),
  maxTasks: wholeNumber().min(1).optional().describe('adaptive: most tasks a plan may have. Default 8.'),
  candidates: memberList('candidates')
    .optional()
    .describe('evolving: the teams (or agents) the policy chooses between.'),
  score: z
    .union(
      [
        z.string().regex(scorePattern, {
          error: 'expected success, { contains: text } or a module export "./score.ts#score"',
        }),
        z
          .strictObject({
            contains: z.string().min(1).describe('The output scores 1 when its text contains this, else 0.'),
          })
          .describe('Scores 1 when the output contains the text.'),
      ],
      { error: 'expected success, { contains: text } or a module export "./score.ts#score"' },
    )
    .optional()
    .describe(
      'evolving: how a run is scored: success (1 when the candidate completes), { contains: text }, or "./score.ts#score" (a function (output, info) => number).',
    ),
  costPenalty: z
    .number({ error: 'expected a number >= 0' })
    .min(0)
    .optional()
    .describe('evolving: reward = score - costPenalty * cost in USD. Default 0.'),
  exploration: z
    .number({ error: 'expected a number from 0 to 0.5' })
    .min(0)
    .max(0.5)
    .optional()
    .describe('evolving: the chance (0 to 0.5) of trying a candidate other than the best. Default 0.1.'),
  minTrials: wholeNumber()
    .min(0)
    .optional()
    .describe('evolving: runs each candidate gets per task type before the policy exploits. Default 1.'),
  exclude: z
    .array(z.string(), { error: 'expected a list of candidate names' })
    .optional()
    .describe('evolving: candidates never chosen ("name" or "name@version").'),
  failureScore: z
    .number({ error: 'expected a number' })
    .optional()
    .describe('evolving: the score recorded when the candidate fails. Default 0.'),
  taskType: moduleExport
    .optional()
    .describe(
      'evolving: "./task-type.ts#taskType", a function (input) => string grouping inputs. Default: one type.',
    ),
};

/** Which pattern fields each pattern uses (the others are an error, so a mistake never goes unnoticed). */
export const patternFields: Record<TeamPattern, readonly string[]> = {
  agent: ['entry'],
  handoff: ['entry', 'allowReturn', 'maxHandoffs', 'loopCycles', 'loopResponse', 'fallback'],
  sequential: ['stages'],
  concurrent: ['units', 'aggregate', 'require', 'consistencyMeasure', 'minConsistency', 'onLowConsistency'],
  supervisor: ['manager', 'workers', 'maxDelegations'],
  groupChat: ['members', 'select', 'terminate', 'task', 'maxRounds', 'loopDetection'],
  makerChecker: ['maker', 'checker', 'criteria', 'maxRounds'],
  loop: ['generator', 'evaluator', 'threshold', 'maxIterations'],
  magentic: ['manager', 'members', 'maxRounds', 'maxStalls', 'maxResets', 'maxParseRetries', 'reviewPlan'],
  eventDriven: ['subscribers', 'start', 'until', 'maxEvents'],
  adaptive: ['planner', 'pool', 'policy', 'override', 'manager', 'maxPlanAttempts', 'maxTasks'],
  evolving: [
    'candidates',
    'score',
    'costPenalty',
    'exploration',
    'minTrials',
    'exclude',
    'failureScore',
    'taskType',
  ],
};

/** Fields a pattern cannot do without. */
export const requiredPatternFields: Partial<Record<TeamPattern, readonly string[]>> = {
  sequential: ['stages'],
  concurrent: ['units'],
  supervisor: ['manager', 'workers'],
  groupChat: ['members'],
  makerChecker: ['maker', 'checker', 'criteria'],
  loop: ['generator', 'evaluator', 'threshold'],
  magentic: ['manager', 'members'],
  eventDriven: ['subscribers'],
  adaptive: ['planner', 'pool'],
  evolving: ['candidates'],
};

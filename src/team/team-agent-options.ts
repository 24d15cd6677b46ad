/** Schemas of the agent options a team file maps 1:1 onto `agent()`: context, approvals, memory, cache, tool routing, loop detection. */

import { z } from 'zod';
import { parseDuration } from '../core/duration.js';
import { durationSchema, modelString, wholeNumber } from './team-schema-parts.js';

/** Context history policies a team file can choose. */
export const teamHistoryPolicies = ['full', 'window', 'compact'] as const;

/** What `context.prune.toolResults` can do with older tool results. */
export const teamPruneToolResults = ['keep', 'truncate', 'drop'] as const;

/** What `context.prune.reasoning` can do with older reasoning. */
export const teamPruneReasoning = ['keep', 'drop'] as const;

/** Responses of the loop detector. */
export const teamLoopResponses = ['stop', 'warn', 'escalate'] as const;

/** Scopes the memory tools can use without naming an id. */
export const teamMemoryScopes = ['thread', 'agent'] as const;

/** always, never, or a module export "./file.ts#name". */
const approvalRulePattern = /^(always|never|[^#]+\.(ts|mts|cts|js|mjs|cjs)#[A-Za-z_$][\w$]*)$/;

const compactionSchema = z
  .strictObject(
    {
      model: modelString
        .optional()
        .describe('"provider:model" that writes the summary. Default: the agent’s own model.'),
      triggerRatio: z
        .number({ error: 'expected a share of the token limit (a number greater than 0, at most 1)' })
        .gt(0, { error: 'expected a share greater than 0' })
        .max(1, { error: 'expected a share of at most 1' })
        .optional()
        .describe('Compact once the prompt passes this share of the token limit. Default 0.8.'),
      keepRecentTokens: wholeNumber()
        .min(0)
        .optional()
        .describe('Tokens of the most recent messages kept verbatim. Default 30% of the token limit.'),
      instructions: z
        .string()
        .min(1, { error: 'instructions must not be empty' })
        .optional()
        .describe('The summarizer’s instructions. Default: keep facts, decisions and open questions.'),
    },
    { error: 'expected a mapping { model?, triggerRatio?, keepRecentTokens?, instructions? }' },
  )
  .describe('How history: compact summarizes older turns.');

const pruneObject = z
  .strictObject(
    {
      toolResults: z
        .enum(teamPruneToolResults, { error: `expected one of: ${teamPruneToolResults.join(', ')}` })
        .optional()
        .describe('Older tool results: truncate (default), drop the call/result pairs, or keep.'),
      keepToolTurns: wholeNumber()
        .min(0)
        .optional()
        .describe('The most recent tool turns left untouched. Default 2.'),
      toolResultTokens: wholeNumber()
        .min(1)
        .optional()
        .describe('About how many tokens of an older tool result truncate keeps. Default 100.'),
      reasoning: z
        .enum(teamPruneReasoning, { error: `expected one of: ${teamPruneReasoning.join(', ')}` })
        .optional()
        .describe('Reasoning before the last user message: drop (default) or keep.'),
    },
    {
      error:
        'expected true, false or a mapping { toolResults?, keepToolTurns?, toolResultTokens?, reasoning? }',
    },
  )
  .describe('Pruning options.');

/** The schema of an agent's `context`. */
export const contextSchema = z
  .strictObject(
    {
      history: z
        .enum(teamHistoryPolicies, { error: `expected one of: ${teamHistoryPolicies.join(', ')}` })
        .optional()
        .describe(
          'full (default), window (most recent messages that fit) or compact (older turns summarized).',
        ),
      maxTokens: wholeNumber()
        .min(1)
        .optional()
        .describe('Token limit of a prompt. Default: the model’s window.'),
      contextWindow: wholeNumber()
        .min(1)
        .optional()
        .describe('The model’s context window in tokens, when Baton does not know it, or to override it.'),
      reserveOutputTokens: wholeNumber()
        .min(0)
        .optional()
        .describe(
          'Tokens kept free for the answer. Default: settings.maxOutputTokens, else min(4096, window / 4).',
        ),
      compaction: compactionSchema.optional(),
      prune: z
        .union([z.boolean(), pruneObject], {
          error:
            'expected true, false or a mapping { toolResults?, keepToolTurns?, toolResultTokens?, reasoning? }',
        })
        .optional()
        .describe(
          'Prune tool-call details and intermediate reasoning from what the model is sent (true: the defaults).',
        ),
      scope: z
        .array(
          z
            .string({ error: 'expected a dotted path (a string) such as customer.id' })
            .regex(/^[^.\s]+(\.[^.\s]+)*$/, { error: 'expected a dotted path such as customer.id' }),
          { error: 'expected a list of dotted paths such as [customer.id, order]' },
        )
        .optional()
        .describe(
          'Fields of the run’s structured context ({ messages, context } input) this agent sees. Omitted: all; []: none.',
        ),
    },
    {
      error:
        'expected a mapping { history?, maxTokens?, contextWindow?, reserveOutputTokens?, compaction?, prune?, scope? }',
    },
  )
  .describe('How the conversation is fitted into the model’s window.');

/** What an approval rule's `when` (and the string form) accepts. */
const approvalWhenHint = 'always, never or a module export such as "./approvals.ts#needsApproval"';

const approvalWhenSchema = z
  .string({ error: `expected ${approvalWhenHint}` })
  .regex(approvalRulePattern, { error: `expected ${approvalWhenHint}` });

/** The longest approval timeout: approval deadlines are timers, which wait at most 2^31 - 1 ms (about 24 days). */
export const maxApprovalTimeoutMs = 2_147_483_647;

const approvalTimeoutSchema = durationSchema
  .refine((value) => (parseDuration(value) ?? 0) <= maxApprovalTimeoutMs, {
    error: `the longest approval timeout is ${maxApprovalTimeoutMs} ms (about 24 days); leave timeout out to wait without limit`,
  })
  .describe(
    'A duration: "30s", "10m", "2h", "3d", "250ms", or a number of milliseconds (at most about 24 days).',
  );

/** What an unanswered approval does when its timeout passes. */
export const teamApprovalTimeoutActions = ['reject', 'approve'] as const;

const onTimeoutHint = 'expected reject, approve or a mapping { escalateTo, timeout? }';

const escalationSchema = z
  .strictObject(
    {
      escalateTo: z
        .string({ error: 'expected who the request goes to next (a name such as oncall-lead)' })
        .trim()
        .min(1, { error: 'expected who the request goes to next (a name such as oncall-lead)' })
        .describe('Who the re-issued request is for (shown in baton inbox, the journal and events).'),
      timeout: approvalTimeoutSchema
        .optional()
        .describe('How long the escalated request waits before the call is rejected. Default: no limit.'),
    },
    { error: onTimeoutHint },
  )
  .describe('Re-issue the request to a second approver.');

const approvalPolicySchema = z
  .strictObject(
    {
      when: approvalWhenSchema
        .optional()
        .describe(
          'When the call needs approval: always (default), never, or "./file.ts#export": a pure function (input, context) => boolean.',
        ),
      timeout: approvalTimeoutSchema
        .optional()
        .describe('How long to wait for a decision ("30m", "2h"). Default: no limit.'),
      onTimeout: z
        // The mapping first: a bad mapping is then reported for its own fields.
        .union([escalationSchema, z.enum(teamApprovalTimeoutActions, { error: onTimeoutHint })], {
          error: onTimeoutHint,
        })
        .optional()
        .describe(
          'What decides when the timeout passes: reject (default), approve, or { escalateTo, timeout? }. Needs timeout.',
        ),
    },
    { error: `expected ${approvalWhenHint}, or a mapping { when?, timeout?, onTimeout? }` },
  )
  .superRefine((policy, ctx) => {
    if (policy.onTimeout !== undefined && policy.timeout === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['onTimeout'],
        message:
          'onTimeout applies when the timeout passes, and this rule has no timeout; add timeout (for example timeout: 30m) or remove onTimeout',
      });
  })
  .describe('An approval rule with a deadline: when, timeout and what happens on timeout.');

/** The schema of an agent's `approvals`. */
export const approvalsSchema = z
  .record(
    z.string(),
    z
      .union(
        [
          approvalWhenSchema.describe(
            'always, never, or "./file.ts#export": a pure function (input, context) => boolean.',
          ),
          approvalPolicySchema,
        ],
        { error: `expected ${approvalWhenHint}, or a mapping { when?, timeout?, onTimeout? }` },
      )
      .describe('always, never, "./file.ts#export", or { when?, timeout?, onTimeout? } to add a deadline.'),
    {
      error:
        'expected a mapping of tool names to always, never, "./file.ts#export" or { when?, timeout?, onTimeout? }',
    },
  )
  .describe(
    'Tool calls that wait for a person’s approval, per tool name; they win over the tool’s own approval.',
  );

const memoryScopeObject = z
  .strictObject(
    {
      thread: z.string().min(1).optional().describe('A fixed thread id.'),
      user: z.string().min(1).optional().describe('A fixed user id.'),
      agent: z.string().min(1).optional().describe('A fixed agent name (agents naming it share memories).'),
    },
    { error: 'expected thread, agent, or a mapping { user: id } / { thread: id } / { agent: name }' },
  )
  .refine((scope) => Object.keys(scope).length === 1, {
    error: 'set exactly one of user, thread or agent',
  })
  .describe('A fixed scope.');

const memoryObject = z
  .strictObject(
    {
      scope: z
        .union(
          [
            z.enum(teamMemoryScopes, {
              error: `expected one of: ${teamMemoryScopes.join(', ')}, or a mapping { user: id }`,
            }),
            memoryScopeObject,
          ],
          { error: 'expected thread, agent, or a mapping { user: id } / { thread: id } / { agent: name }' },
        )
        .optional()
        .describe(
          'thread (the run’s thread), agent (default: the agent’s name), or a fixed { user: id }, { thread: id } or { agent: name }.',
        ),
      limit: wholeNumber().min(1).optional().describe('Memories recall returns. Default 5.'),
    },
    { error: 'expected true, false or a mapping { scope?, limit? }' },
  )
  .describe('Memory tool options.');

/** The schema of an agent's `memory`. */
export const memorySchema = z
  .union([z.boolean(), memoryObject], { error: 'expected true, false or a mapping { scope?, limit? }' })
  .describe(
    'Gives the agent the remember and recall tools (long-term memory kept in the runtime’s store when the loader has one).',
  );

/** The schema of an agent's `cache`. */
export const cacheSchema = z
  .union(
    [
      z.boolean(),
      z
        .strictObject(
          {
            ttl: durationSchema
              .optional()
              .describe('How long an answer stays fresh ("10m", "1h"). Default 1h.'),
          },
          { error: 'expected true, false or a mapping { ttl }' },
        )
        .describe('Cache options.'),
    ],
    { error: 'expected true, false or a mapping { ttl }' },
  )
  .describe(
    'Cache model answers keyed on model, messages, tools and settings: true, false (default) or { ttl }.',
  );

const toolRoutingObject = z
  .strictObject(
    {
      maxTools: wholeNumber()
        .min(1)
        .optional()
        .describe('Tools offered per turn, besides search_tools and tools found with it. Default 8.'),
      alwaysOffer: z
        .array(z.string({ error: 'expected a tool name (a string)' }), {
          error: 'expected a list of tool names',
        })
        .optional()
        .describe('Tools offered on every turn, by name (tools of this agent).'),
      searchLimit: wholeNumber().min(1).optional().describe('Results search_tools returns. Default 5.'),
      searchToolName: z
        .string()
        .regex(/^[a-zA-Z0-9_-]{1,64}$/, { error: "use letters, digits, '_' or '-' (at most 64)" })
        .optional()
        .describe('Name of the search tool. Default search_tools.'),
    },
    { error: 'expected true, false or a mapping { maxTools?, alwaysOffer?, searchLimit?, searchToolName? }' },
  )
  .describe('Tool routing options.');

/** The schema of an agent's `toolRouting`. */
export const toolRoutingSchema = z
  .union([z.boolean(), toolRoutingObject], {
    error: 'expected true, false or a mapping { maxTools?, alwaysOffer?, searchLimit?, searchToolName? }',
  })
  .describe(
    'Offer only the tools that fit each turn (for agents with many tools), plus a search_tools tool.',
  );

/** What the loop detection options mean where they are used (an agent, or a group chat). */
interface LoopDetectionWording {
  maxRepeats: string;
  response: string;
  options: string;
}

/**
 * The schema of `loopDetection`: true, false or `{ maxRepeats?, response? }`, described for
 * where it is used (an agent's tool calls, a group chat's messages).
 */
export function loopDetectionOf(wording: LoopDetectionWording) {
  const hint = 'expected true, false or a mapping { maxRepeats?, response? }';
  return z
    .union(
      [
        z.boolean(),
        z
          .strictObject(
            {
              maxRepeats: wholeNumber().min(2).optional().describe(wording.maxRepeats),
              response: z
                .enum(teamLoopResponses, { error: `expected one of: ${teamLoopResponses.join(', ')}` })
                .optional()
                .describe(wording.response),
            },
            { error: hint },
          )
          .describe('Loop detection options.'),
      ],
      { error: hint },
    )
    .describe(wording.options);
}

/** The schema of an agent's `loopDetection`. */
export const loopDetectionSchema = loopDetectionOf({
  maxRepeats: 'Identical tool calls in one agent loop that count as a loop. Default 3.',
  response:
    'stop (fail with LOOP_DETECTED), warn (default: tell the model, stop if it goes on) or escalate (wait for the signal loop:<agent>).',
  options: 'Detect repeated identical tool calls and stop, warn the model or ask a human.',
});

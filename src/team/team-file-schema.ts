/** The zod schema of a team file (YAML): the single source for validation, TypeScript types and the editor JSON Schema. */

import { z } from 'zod';
import { patternFieldsShape, teamPatterns } from './patterns/index.js';
import {
  approvalsSchema,
  cacheSchema,
  contextSchema,
  loopDetectionSchema,
  memorySchema,
  toolRoutingSchema,
} from './team-agent-options.js';
import { teamMcpServerSchema } from './team-mcp-schema.js';
import {
  agentReference,
  definitionName,
  durationSchema,
  memberReference,
  modelString,
  wholeNumber,
} from './team-schema-parts.js';

export { type TeamPattern, teamPatterns } from './patterns/index.js';
export { teamHistoryPolicies } from './team-agent-options.js';

/** Ready-made handoff input filters a team file can name (besides `{ lastN: n }`). */
export const teamInputFilters = ['removeToolHistory', 'lastUserMessage', 'summaryOnly'] as const;

const jsonSchemaObject = z
  .record(z.string(), z.unknown(), { error: 'expected a JSON Schema object (a mapping)' })
  .describe('A JSON Schema object (type, properties, required, enum, items, ...).');

const handoffObject = z
  .strictObject({
    agent: agentReference.describe('The agent that takes over the conversation.'),
    description: z
      .string()
      .optional()
      .describe('When to hand off; shown to the model. Default: the target agent’s description.'),
    payload: jsonSchemaObject
      .optional()
      .describe(
        'JSON Schema of the data the model passes along (an order id, a summary); the next agent sees it in its instructions.',
      ),
    filter: z
      .union(
        [
          z.enum(teamInputFilters, {
            error: `expected one of: ${teamInputFilters.join(', ')}, or a mapping { lastN: n }`,
          }),
          z
            .strictObject(
              {
                lastN: wholeNumber()
                  .min(1)
                  .describe('Keep the last n messages (and the tool calls their tool results answer).'),
              },
              { error: 'expected a mapping { lastN: n }' },
            )
            .describe('Keep the last n messages.'),
        ],
        { error: `expected one of: ${teamInputFilters.join(', ')}, or a mapping { lastN: n }` },
      )
      .optional()
      .describe(
        'Rewrites the conversation the next agent sees: removeToolHistory, lastUserMessage, summaryOnly (compaction summaries and the last user message) or { lastN: n }. Default: the full conversation.',
      ),
  })
  .describe('A handoff with options.');

const handoffEntry = z
  .union([agentReference, handoffObject], {
    error: 'expected an agent name or a mapping { agent, payload?, description?, filter? }',
  })
  .describe('An agent name, or { agent, payload, description, filter }.');

const settingsSchema = z
  .strictObject({
    temperature: z.number().min(0).optional(),
    maxOutputTokens: wholeNumber().min(1).optional(),
    topP: z.number().min(0).max(1).optional(),
    seed: wholeNumber().optional(),
  })
  .describe('Model settings passed to the provider.');

/** Built-in guardrails an agent of a team file can name. */
export const teamGuardrails = ['pii', 'secrets', 'injection'] as const;

/** Capabilities a team file can grant an agent. */
export const teamCapabilities = ['read', 'write', 'network', 'spend'] as const;

const agentModelSchema = z
  .union(
    [
      modelString,
      z
        .array(modelString, { error: 'expected a list of "provider:model" strings' })
        .min(1, { error: 'list at least one model' }),
    ],
    { error: 'expected "provider:model" or a list of them (a fallback chain)' },
  )
  .describe('"provider:model", or a list of them tried in order when a model keeps failing.');

const retrySchema = z
  .strictObject(
    {
      maxAttempts: wholeNumber()
        .min(1)
        .optional()
        .describe('Attempts in all, including the first. Default 3.'),
      initialDelayMs: wholeNumber().min(0).optional().describe('First backoff delay in ms. Default 250.'),
      maxDelayMs: wholeNumber().min(0).optional().describe('Cap on a backoff delay in ms. Default 10000.'),
    },
    { error: 'expected a mapping { maxAttempts?, initialDelayMs?, maxDelayMs? }' },
  )
  .describe('Retries of transient model failures (429, 5xx, network, timeouts).');

const budgetSchema = z
  .strictObject(
    {
      maxTurns: wholeNumber().min(1).optional().describe('Model calls this agent may make in a run.'),
      maxTokens: wholeNumber().min(1).optional().describe('Input plus output tokens.'),
      maxCostUsd: z
        .number({ error: 'expected a cost in US dollars (a number)' })
        .positive({ error: 'expected a cost greater than 0' })
        .optional()
        .describe('Cost in US dollars, from registered prices or the maintained price catalogue.'),
      maxWallTime: durationSchema
        .optional()
        .describe('Time since the agent’s first model call ("30s", "10m", "2h" or ms).'),
      allowUnpricedModels: z
        .boolean({ error: 'expected true or false' })
        .optional()
        .describe(
          'With maxCostUsd: let models without a price run, counted at $0 (default false: an error).',
        ),
      alertAt: z
        .number({ error: 'expected a share of each limit between 0 and 1 (0.8 alerts at 80%)' })
        .gt(0, { error: 'expected a share greater than 0' })
        .lt(1, { error: 'expected a share less than 1' })
        .optional()
        .describe(
          'Soft threshold as a share of each limit: crossing it emits a budget-alert event; the run goes on.',
        ),
    },
    {
      error:
        'expected a mapping { maxTurns?, maxTokens?, maxCostUsd?, maxWallTime?, allowUnpricedModels?, alertAt? }',
    },
  )
  .describe('Limits on this agent in a run; past them the run ends budget-exceeded.');

const permissionsSchema = z
  .strictObject(
    {
      tools: z
        .array(z.string({ error: 'expected a tool name (a string)' }), {
          error: 'expected a list of tool names',
        })
        .optional()
        .describe('Tools this agent may call. Omitted: any.'),
      capabilities: z
        .array(z.enum(teamCapabilities, { error: `expected one of: ${teamCapabilities.join(', ')}` }), {
          error: 'expected a list of capabilities',
        })
        .optional()
        .describe(`Capabilities granted (${teamCapabilities.join(', ')}). Omitted: any.`),
    },
    { error: 'expected a mapping { tools?, capabilities? }' },
  )
  .describe('Allow-list of tools and capabilities; a call outside it is denied and reported to the model.');

const versionSchema = z.union([z.string(), z.number()], { error: 'expected a version string such as "1"' });

/** The schema of one entry of `agents`. */
export const teamAgentSchema = z
  .strictObject(
    {
      name: definitionName.describe(
        'Unique name (among agents, teams and humans); other fields refer to the agent by it.',
      ),
      description: z
        .string()
        .optional()
        .describe('What the agent does; managers, selectors and agents that hand off to it see it.'),
      instructions: z
        .string({ error: 'expected the instructions text (a string; use | for several lines)' })
        .min(1, { error: 'instructions must not be empty' })
        .describe('The system prompt of the agent.'),
      model: agentModelSchema
        .optional()
        .describe('Overrides the team model for this agent: "provider:model" or a fallback chain (a list).'),
      tools: z
        .array(z.string({ error: 'expected a tool name (a string)' }))
        .optional()
        .describe('Names of tools exported by the tools module.'),
      handoffs: z.array(handoffEntry).optional().describe('Agents this agent can hand the conversation to.'),
      mcp: z
        .array(z.string({ error: 'expected the name of an MCP server (a string)' }), {
          error: 'expected a list of MCP server names',
        })
        .optional()
        .describe('MCP servers (named under the top-level mcp:) whose every tool this agent gets.'),
      maxTurns: wholeNumber().min(1).optional().describe('Model turns this agent may take. Default 10.'),
      maxToolErrors: z
        .int()
        .min(1)
        .optional()
        .describe('Turns in a row whose tool calls all fail before the run fails. Default 3.'),
      maxRepairs: z
        .int()
        .min(0)
        .optional()
        .describe('Extra turns to repair an answer that does not match output. Default 2.'),
      settings: settingsSchema.optional(),
      output: jsonSchemaObject
        .optional()
        .describe('JSON Schema of a structured final answer; the answer is validated against it.'),
      version: versionSchema
        .optional()
        .describe('The agent definition’s version, recorded on its runs. Default: the team version.'),
      retry: retrySchema.optional(),
      timeout: durationSchema
        .optional()
        .describe(
          'Timeout per model call attempt ("30s", "2m" or ms). Default: 300 s or the model’s p95 latency.',
        ),
      budget: budgetSchema.optional(),
      permissions: permissionsSchema.optional(),
      guardrails: z
        .array(z.enum(teamGuardrails, { error: `expected one of: ${teamGuardrails.join(', ')}` }), {
          error: 'expected a list of guardrails',
        })
        .optional()
        .describe(
          'Built-in guardrails: pii (redact personal data), secrets (redact keys), injection (detect prompt injection).',
        ),
      context: contextSchema.optional(),
      approvals: approvalsSchema.optional(),
      memory: memorySchema.optional(),
      cache: cacheSchema.optional(),
      toolRouting: toolRoutingSchema.optional(),
      loopDetection: loopDetectionSchema.optional(),
    },
    { error: 'expected an agent: a mapping with at least name and instructions' },
  )
  .describe('An agent of the team.');

/** The schema of one entry of `humans`. */
export const teamHumanSchema = z
  .strictObject(
    {
      name: definitionName.describe(
        'Unique name (among agents, teams and humans); the answer arrives as the signal human:<name>.',
      ),
      description: z
        .string()
        .optional()
        .describe('Who this is and what they decide; shown to managers and selectors. Default: the name.'),
      prompt: z.string().optional().describe('The question shown to the person on every turn.'),
      timeout: durationSchema
        .optional()
        .describe('How long to wait for the answer ("30s", "10m", "2h", "3d" or ms). Default: forever.'),
      fallback: z
        .union(
          [
            z.string(),
            z
              .strictObject({
                agent: memberReference.describe('The agent (or team) that answers instead.'),
              })
              .describe('An agent answers instead.'),
          ],
          { error: 'expected a fixed answer (a string) or { agent: name }' },
        )
        .optional()
        .describe('When the timeout passes: a fixed answer, or { agent: name } to let an agent answer.'),
    },
    { error: 'expected a human: a mapping with at least name' },
  )
  .describe(
    'A person on the team; each turn waits durably for runtime.signal(runId, "human:<name>", answer).',
  );

/** The schema of one entry of `teams` (a nested team, built from the file's agents, teams and humans). */
export const teamNestedSchema = z
  .strictObject(
    {
      name: definitionName.describe(
        'Unique name (among agents, teams and humans); other teams use it like an agent name.',
      ),
      description: z
        .string()
        .optional()
        .describe('What the team does; managers, selectors and supervisors see it.'),
      version: versionSchema.optional().describe('The nested team’s version. Default: the file’s version.'),
      pattern: z
        .enum(teamPatterns, { error: `expected one of: ${teamPatterns.join(', ')}` })
        .describe('How the members of this team work together.'),
      ...patternFieldsShape,
    },
    { error: 'expected a team: a mapping with at least name and pattern' },
  )
  .describe('A nested team: a pattern over the file’s agents, teams and humans.');

/**
 * The schema of a whole team file (strict: unknown keys are errors).
 *
 * @example
 * ```ts
 * const result = teamFileSchema.safeParse(parse(readFileSync('team.yaml', 'utf8')));
 * ```
 */
export const teamFileSchema = z
  .strictObject(
    {
      $schema: z.string().optional().describe('Path or URL of this JSON Schema, for editors.'),
      name: definitionName.describe('The team’s definition name; runs are stored under it.'),
      version: versionSchema
        .optional()
        .describe('Bump it when a change would make stored runs replay differently. Default "1".'),
      description: z.string().optional().describe('What the team does.'),
      model: modelString.optional().describe('Default model of every agent ("provider:model").'),
      tools: z
        .string({ error: 'expected the path of a tools module (a string), e.g. ./tools.ts' })
        .optional()
        .describe('Module (.ts or .js, relative to this file) whose exports include tool() definitions.'),
      mcp: z
        .array(teamMcpServerSchema, { error: 'expected a list of MCP servers' })
        .optional()
        .describe(
          'MCP servers (stdio commands or Streamable HTTP URLs) whose tools agents name under tools: or take whole with mcp:.',
        ),
      offline: z
        .strictObject({
          script: z
            .string({ error: 'expected the path of a script file (a string)' })
            .describe('Scripted model responses (loadScript format), relative to this file.'),
        })
        .optional()
        .describe('Used when no model is configured.'),
      pattern: z
        .enum(teamPatterns, { error: `expected one of: ${teamPatterns.join(', ')}` })
        .describe(`How the agents work together: ${teamPatterns.join(', ')}.`),
      agents: z
        .array(teamAgentSchema, { error: 'expected a list of agents' })
        .min(1, { error: 'list at least one agent' })
        .describe('The agents of the team.'),
      teams: z
        .array(teamNestedSchema, { error: 'expected a list of teams' })
        .optional()
        .describe('Nested teams; their names can be used wherever an agent name is accepted as a member.'),
      humans: z
        .array(teamHumanSchema, { error: 'expected a list of humans' })
        .optional()
        .describe(
          'People on the team; their names can be used as members (workers, chat members, checker, ...).',
        ),
      ...patternFieldsShape,
    },
    { error: 'a team file is a mapping with at least name, pattern and agents' },
  )
  .describe('A Baton team file.');

/**
 * A team file after validation.
 *
 * @example
 * ```ts
 * const team: TeamFile = { name: 'solo', pattern: 'agent', agents: [{ name: 'a', instructions: 'Answer.' }] };
 * ```
 */
export type TeamFile = z.infer<typeof teamFileSchema>;
/**
 * One agent of a team file after validation.
 *
 * @example
 * ```ts
 * const billing: TeamFileAgent = { name: 'billing', instructions: 'Refund duplicates.', tools: ['refund_order'] };
 * ```
 */
export type TeamFileAgent = z.infer<typeof teamAgentSchema>;
/**
 * One human of a team file after validation.
 *
 * @example
 * ```ts
 * const editor: TeamFileHuman = { name: 'editor', description: 'Approves posts', timeout: '2h', fallback: 'REJECTED' };
 * ```
 */
export type TeamFileHuman = z.infer<typeof teamHumanSchema>;
/**
 * One nested team of a team file after validation.
 *
 * @example
 * ```ts
 * const review: TeamFileNestedTeam = { name: 'review', pattern: 'groupChat', members: ['writer', 'critic'] };
 * ```
 */
export type TeamFileNestedTeam = z.infer<typeof teamNestedSchema>;
/**
 * One handoff entry of an agent: a name, or a mapping with a payload schema, description or filter.
 *
 * @example
 * ```ts
 * const entries: TeamFileHandoff[] = ['technical', { agent: 'billing', filter: 'removeToolHistory' }];
 * ```
 */
export type TeamFileHandoff = z.infer<typeof handoffEntry>;

/**
 * The pattern part of a team: the file's top level or a nested team (same fields).
 *
 * @example
 * ```ts
 * const definition: TeamDefinition = { name: 'pipeline', pattern: 'sequential', stages: ['drafter', 'reviewer'] };
 * ```
 */
export type TeamDefinition = TeamFileNestedTeam;

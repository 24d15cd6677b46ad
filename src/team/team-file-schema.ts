/** The zod schema of a team file (YAML): the single source for validation, TypeScript types and the editor JSON Schema. */

import { z } from 'zod';

/**
 * The orchestration patterns a team file can use.
 *
 * @example
 * ```ts
 * teamPatterns.includes('handoff'); // true
 * ```
 */
export const teamPatterns = ['agent', 'handoff', 'sequential', 'concurrent'] as const;

/**
 * One of {@link teamPatterns}.
 *
 * @example
 * ```ts
 * const pattern: TeamPattern = 'sequential';
 * ```
 */
export type TeamPattern = (typeof teamPatterns)[number];

/** Ready-made handoff input filters a team file can name. */
export const teamInputFilters = ['removeToolHistory', 'lastUserMessage'] as const;

const definitionName = z.string({ error: 'expected a name (a string)' }).regex(/^[A-Za-z0-9][\w.-]*$/, {
  error: "use letters, digits, '_', '-' or '.', starting with a letter or digit",
});

const wholeNumber = () => z.int({ error: 'expected a whole number' });

const agentReference = z
  .string({ error: 'expected an agent name (a string)' })
  .min(1, { error: 'expected an agent name, got an empty string' });

const modelString = z
  .string({ error: 'expected a model string such as "openai:gpt-4o-mini"' })
  .regex(/^[\w.-]+:\S+$/, {
    error: 'expected "provider:model", for example "openai:gpt-4o-mini" or "anthropic:claude-haiku-4-5"',
  });

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
      .enum(teamInputFilters, { error: `expected one of: ${teamInputFilters.join(', ')}` })
      .optional()
      .describe(
        'Rewrites the conversation the next agent sees: removeToolHistory or lastUserMessage. Default: the full conversation.',
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

/** The schema of one entry of `agents`. */
export const teamAgentSchema = z
  .strictObject(
    {
      name: definitionName.describe('Unique agent name; other fields refer to the agent by it.'),
      description: z
        .string()
        .optional()
        .describe('What the agent does; other agents see it when they can hand off to it.'),
      instructions: z
        .string({ error: 'expected the instructions text (a string; use | for several lines)' })
        .min(1, { error: 'instructions must not be empty' })
        .describe('The system prompt of the agent.'),
      model: modelString.optional().describe('Overrides the team model for this agent ("provider:model").'),
      tools: z
        .array(z.string({ error: 'expected a tool name (a string)' }))
        .optional()
        .describe('Names of tools exported by the tools module.'),
      handoffs: z.array(handoffEntry).optional().describe('Agents this agent can hand the conversation to.'),
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
    },
    { error: 'expected an agent: a mapping with at least name and instructions' },
  )
  .describe('An agent of the team.');

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
      version: z
        .union([z.string(), z.number()], { error: 'expected a version string such as "1"' })
        .optional()
        .describe('Bump it when a change would make stored runs replay differently. Default "1".'),
      description: z.string().optional().describe('What the team does.'),
      model: modelString.optional().describe('Default model of every agent ("provider:model").'),
      tools: z
        .string({ error: 'expected the path of a tools module (a string), e.g. ./tools.ts' })
        .optional()
        .describe('Module (.ts or .js, relative to this file) whose exports include tool() definitions.'),
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
        .describe('How the agents work together: agent, handoff, sequential or concurrent.'),
      entry: agentReference
        .optional()
        .describe('agent/handoff: the agent that receives the input. Default: the first agent.'),
      agents: z
        .array(teamAgentSchema, { error: 'expected a list of agents' })
        .min(1, { error: 'list at least one agent' })
        .describe('The agents of the team.'),
      stages: z
        .array(agentReference)
        .min(1, { error: 'list at least one stage' })
        .optional()
        .describe('sequential: agent names in pipeline order.'),
      units: z
        .array(agentReference)
        .min(1, { error: 'list at least one unit' })
        .optional()
        .describe('concurrent: agent names that all get the input at once.'),
      aggregate: agentReference
        .optional()
        .describe('concurrent: an agent that synthesizes the results, or "collect" (the default).'),
      require: z
        .union([z.enum(['all', 'best-effort']), wholeNumber().min(1)], {
          error: 'expected "all", "best-effort" or a whole number >= 1',
        })
        .optional()
        .describe('concurrent: "all" (default), "best-effort" or how many units must succeed.'),
      allowReturn: z
        .boolean()
        .optional()
        .describe('handoff: let specialists hand back to the entry agent. Default false.'),
      maxHandoffs: z.int().min(1).optional().describe('handoff: transfers allowed in one run. Default 8.'),
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
 * One handoff entry of an agent: a name, or a mapping with a payload schema, description or filter.
 *
 * @example
 * ```ts
 * const entries: TeamFileHandoff[] = ['technical', { agent: 'billing', filter: 'removeToolHistory' }];
 * ```
 */
export type TeamFileHandoff = z.infer<typeof handoffEntry>;

/** Which top-level fields each pattern uses (the others are an error, so a mistake never goes unnoticed). */
export const patternFields: Record<TeamPattern, readonly string[]> = {
  agent: ['entry'],
  handoff: ['entry', 'allowReturn', 'maxHandoffs'],
  sequential: ['stages'],
  concurrent: ['units', 'aggregate', 'require'],
};

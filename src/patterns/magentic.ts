/** magentic(): a manager plans with a task ledger, picks who acts each round from a progress ledger, and replans when the team stalls. */

import { type Agent, agent } from '../agents/agent.js';
import type { AgentInput, Message } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import type { MemberCard, ProgressLedger, TaskLedger } from './magentic-ledger.js';
import { managerInstructions } from './magentic-prompts.js';
import type { PlanReviewOptions } from './magentic-review.js';
import type { MagenticConfig } from './magentic-run.js';
import { announceEnd, announceStart, checkCount, checkMembers, textOf } from './shared.js';

// Plan review lives in magentic-review.ts; its public types are still exported from here.
export type { PlanReview, PlanReviewOptions } from './magentic-review.js';

/** The pattern's name in events and decisions. */
const PATTERN = 'magentic';

/**
 * The run loop with its ledgers and plan review (magentic-run.ts), loaded by the first magentic
 * run rather than by the package import; later runs reuse the loaded module.
 */
let runModule: Promise<typeof import('./magentic-run.js')> | undefined;

/** A member of a `magentic` team: an agent, a workflow or pattern, or a person made with `human()`. */
export type MagenticMember = AnyRunnable;

/** Options of `magentic()`. */
export interface MagenticOptions {
  name: string;
  version?: string;
  /** The manager: an agent (without an output schema), or a model for a built-in manager agent named `manager`. */
  manager: Agent<unknown> | ModelSpec;
  members: readonly MagenticMember[];
  /** Progress ledgers (rounds) before the team stops. Default 20. */
  maxRounds?: number;
  /** The stall counter may reach this; one more stalled round triggers a reset. Default 3. */
  maxStalls?: number;
  /** Resets (replans) before the team stops. Default 2. */
  maxResets?: number;
  /** Times the manager is asked again for a ledger it wrote badly. Default 2. */
  maxParseRetries?: number;
  /** Wait for a person to review the plan and every replan (signal `plan-review`). */
  reviewPlan?: PlanReviewOptions;
}

/** Why a `magentic` team stopped. */
export type MagenticStop = 'satisfied' | 'max rounds' | 'max resets';

/** What a `magentic` run returns. */
export interface MagenticResult {
  /** The manager's final answer, written whatever the reason for stopping. */
  answer: string;
  stoppedBy: MagenticStop;
  /** Progress ledgers made. */
  rounds: number;
  /** Resets (replans after a stall) made. */
  resets: number;
  /** Rounds judged stalled (in a loop, or no progress) over the whole run. */
  stalls: number;
  /** The task ledger in force at the end. */
  taskLedger: TaskLedger;
  progress: ProgressLedger[];
}

/** Why a task ledger was journaled: `initial`, `replan` (after a stall), `revised` (reviewer feedback), `edited` (by the reviewer). */
export type TaskLedgerReason = 'initial' | 'replan' | 'revised' | 'edited';

const magenticOptionNames = optionNames<MagenticOptions>(
  {
    name: true,
    version: true,
    manager: true,
    members: true,
    maxRounds: true,
    maxStalls: true,
    maxResets: true,
    maxParseRetries: true,
    reviewPlan: true,
  },
  { agents: 'members' },
);

/**
 * A team led by a manager, after Microsoft's Magentic-One. The manager writes a task ledger
 * (facts and a plan), then every round a progress ledger that says whether the task is done,
 * whether the team is looping or stuck, who acts next and with which instruction. When the
 * team stalls too often, the manager updates the facts and replans, and the conversation
 * restarts from the new plan. Whatever stops it, the manager writes a final answer.
 *
 * @example
 * ```ts
 * const research = magentic({
 *   name: 'research',
 *   manager: 'openai:gpt-4o',
 *   members: [searcher, analyst, writer],
 *   maxRounds: 15,
 * });
 * const { answer, stoppedBy } = await (await runtime.start(research, 'Compare the 2024 EV sales of the top 3 makers')).result();
 * ```
 */
export function magentic<INPUT = AgentInput>(options: MagenticOptions): Runnable<INPUT, MagenticResult> {
  const config = checkOptions(options);
  const memberNames = config.cards.map((card) => card.name);
  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: INPUT): Promise<MagenticResult> {
      announceStart(ctx, PATTERN, config.name, memberNames);
      runModule ??= import('./magentic-run.js');
      const { MagenticRun } = await runModule;
      const result = await new MagenticRun(ctx, config, taskText(input)).execute();
      announceEnd(ctx, PATTERN, config.name, result.stoppedBy);
      return result;
    },
  };
}

function checkOptions(options: MagenticOptions): MagenticConfig {
  assertName('pattern', options?.name);
  checkOptionNames(`magentic("${options.name}")`, options, magenticOptionNames);
  const where = `magentic("${options.name}")`;
  const manager = managerAgent(where, options.manager);
  const members = new Map<string, AnyRunnable>();
  const cards: MemberCard[] = [];
  for (const [index, member] of checkMembers(where, 'members', options.members).entries()) {
    if (member.name === manager.name)
      throw new ConfigError(
        `${where}: members[${index}] is named "${member.name}" like the manager; rename it or pass a manager agent with another name.`,
      );
    members.set(member.name, member);
    cards.push({ name: member.name, description: describe(member) });
  }
  let review: MagenticConfig['review'];
  if (options.reviewPlan !== undefined) {
    if (options.reviewPlan === null || typeof options.reviewPlan !== 'object')
      throw new ConfigError(`${where}: reviewPlan must be an object ({ timeoutMs?, maxRevisions? }).`);
    const timeoutMs = options.reviewPlan.timeoutMs;
    review = {
      timeoutMs:
        timeoutMs === undefined ? undefined : checkCount(where, 'reviewPlan.timeoutMs', timeoutMs, 0, 1),
      maxRevisions: checkCount(where, 'reviewPlan.maxRevisions', options.reviewPlan.maxRevisions, 3, 0),
    };
  }
  return {
    where,
    name: options.name,
    manager,
    members,
    cards,
    maxRounds: checkCount(where, 'maxRounds', options.maxRounds, 20, 1),
    maxStalls: checkCount(where, 'maxStalls', options.maxStalls, 3, 0),
    maxResets: checkCount(where, 'maxResets', options.maxResets, 2, 0),
    maxParseRetries: checkCount(where, 'maxParseRetries', options.maxParseRetries, 2, 0),
    review,
  };
}

function managerAgent(where: string, manager: MagenticOptions['manager']): Agent<unknown> {
  if ((manager as Agent<unknown> | undefined)?.kind === 'agent') {
    const given = manager as Agent<unknown>;
    if (given.output !== undefined)
      throw new ConfigError(
        `${where}: the manager agent "${given.name}" has an output schema; remove it (magentic asks the manager for its own JSON).`,
      );
    return given;
  }
  const isModel =
    (typeof manager === 'string' && manager !== '') ||
    (typeof manager === 'object' && manager !== null && 'specificationVersion' in manager);
  if (!isModel)
    throw new ConfigError(
      `${where}: manager must be an agent or a model ("provider:model" or an AI SDK language model).`,
    );
  return agent({ name: 'manager', instructions: managerInstructions, model: manager });
}

/** What the manager is told about a member: its description (agents, `human()`), or its kind and name. */
function describe(member: AnyRunnable): string {
  const description = (member as { description?: unknown }).description;
  if (typeof description === 'string' && description !== '') return description;
  return `A ${member.kind} named ${member.name}.`;
}

function taskText(input: unknown): string {
  const messages = (input as { messages?: unknown } | null)?.messages;
  if (typeof input === 'object' && input !== null && Array.isArray(messages)) {
    return (messages as Message[])
      .map((message) => {
        const text = Array.isArray(message.content)
          ? message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
          : '';
        return `${message.role}: ${text}`;
      })
      .join('\n');
  }
  return textOf(input);
}

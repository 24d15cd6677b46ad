/** magentic(): a manager plans with a task ledger, picks who acts each round from a progress ledger, and replans when the team stalls. */

import { z } from 'zod';
import { type Agent, agent } from '../agents/agent.js';
import { type AgentInput, type Message, userMessage } from '../agents/messages.js';
import { runAgent } from '../agents/run-agent.js';
import { BatonError, ConfigError, ModelBehaviorError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import { isInterruption } from '../core/run-execution.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import {
  type ConversationEntry,
  finalAnswerPrompt,
  type MemberCard,
  managerInstructions,
  memberPrompt,
  type Parsed,
  type ProgressLedger,
  parseProgressLedger,
  parseTaskLedger,
  progressPrompt,
  replanPrompt,
  retryPrompt,
  type TaskLedger,
  taskLedgerPrompt,
} from './magentic-ledger.js';
import {
  announceEnd,
  announceSpeaker,
  announceStart,
  checkCount,
  checkMembers,
  messageOf,
  recordDecision,
  recordLedger,
  textOf,
} from './shared.js';

/** A member of a `magentic` team: an agent, a workflow or pattern, or a person made with `human()`. */
export type MagenticMember = AnyRunnable;

/** Options of `reviewPlan`: a person approves, rejects or edits every plan before the team works on it. */
export interface PlanReviewOptions {
  /** Proceed with the plan as it is if no review arrives within this long. Default: wait forever. */
  timeoutMs?: number;
  /** Rejections in a row the manager may answer with a new plan before the run fails with `PLAN_REJECTED`. Default 3. */
  maxRevisions?: number;
}

/**
 * The payload of the `plan-review` signal.
 *
 * @example
 * ```ts
 * await runtime.signal(runId, 'plan-review', { approve: false, feedback: 'Check the 2023 figures first.' });
 * ```
 */
export type PlanReview = { approve: true } | { approve: false; feedback: string } | { plan: string[] };

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

const PATTERN = 'magentic';
const REVIEW_SIGNAL = 'plan-review';
/** Conversation entries a member sees besides its instruction. */
const RECENT_ENTRIES = 6;

interface Config {
  where: string;
  name: string;
  manager: Agent<unknown>;
  members: Map<string, AnyRunnable>;
  cards: MemberCard[];
  maxRounds: number;
  maxStalls: number;
  maxResets: number;
  maxParseRetries: number;
  review: { timeoutMs: number | undefined; maxRevisions: number } | undefined;
}

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
      const result = await new MagenticRun(ctx, config, taskText(input)).execute();
      announceEnd(ctx, PATTERN, config.name, result.stoppedBy);
      return result;
    },
  };
}

function checkOptions(options: MagenticOptions): Config {
  assertName('pattern', options?.name);
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
  let review: Config['review'];
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

const reviewSchema = z.union([
  z.object({ plan: z.array(z.string().min(1)).min(1) }),
  z.object({ approve: z.literal(true) }),
  z.object({ approve: z.literal(false), feedback: z.string().optional() }),
]);

/** One execution of a magentic team: its state lives here and is rebuilt from the journal on replay. */
class MagenticRun {
  readonly #ctx: RunContext;
  readonly #config: Config;
  readonly #task: string;
  /** Shared by every runAgent call, so agents that speak again continue their turn numbers. */
  readonly #turns = new Map<string, number>();
  /** The current attempt's conversation (cleared on reset). */
  #conversation: ConversationEntry[] = [];
  /** Every entry of every attempt, for the final answer. */
  readonly #transcript: ConversationEntry[] = [];

  constructor(ctx: RunContext, config: Config, task: string) {
    this.#ctx = ctx;
    this.#config = config;
    this.#task = task;
  }

  async execute(): Promise<MagenticResult> {
    const config = this.#config;
    let taskLedger = await this.#plan(0, undefined);
    const progress: ProgressLedger[] = [];
    let round = 0;
    let resets = 0;
    let stallCount = 0;
    let stalls = 0;
    let stoppedBy: MagenticStop;
    for (;;) {
      if (round >= config.maxRounds) {
        stoppedBy = 'max rounds';
        break;
      }
      round++;
      const ledger = await this.#ask('progress', round, this.#progressPrompt(taskLedger, round), (text) =>
        parseProgressLedger(text, [...config.members.keys()]),
      );
      const recorded = await recordLedger(this.#ctx, {
        pattern: PATTERN,
        name: config.name,
        ledger: 'progress',
        round,
        data: ledger,
      });
      progress.push(recorded);
      if (recorded.requestSatisfied.answer) {
        stoppedBy = 'satisfied';
        break;
      }
      const stalled = recorded.inLoop.answer || !recorded.progressBeingMade.answer;
      if (stalled) stalls++;
      stallCount = stalled ? stallCount + 1 : Math.max(0, stallCount - 1);
      if (stallCount > config.maxStalls) {
        if (resets >= config.maxResets) {
          stoppedBy = 'max resets';
          break;
        }
        if (round >= config.maxRounds) {
          stoppedBy = 'max rounds';
          break;
        }
        resets++;
        const reasons = [
          recorded.inLoop.answer ? recorded.inLoop.reason : '',
          recorded.progressBeingMade.answer ? '' : recorded.progressBeingMade.reason,
        ].filter((text) => text !== '');
        await recordDecision(this.#ctx, {
          pattern: PATTERN,
          name: config.name,
          decision: 'reset',
          reasons: [`stall counter ${stallCount} passed maxStalls ${config.maxStalls}`, ...reasons],
          data: { round, resets },
        });
        const why = `The team stalled: ${reasons.join(' ') || 'no progress in several rounds.'}`;
        taskLedger = await this.#plan(round, { ledger: taskLedger, why });
        stallCount = 0;
        this.#conversation = [];
        continue;
      }
      await this.#speak(round, resets, recorded);
    }
    const answer = await this.#finalAnswer(taskLedger, stoppedBy, progress.at(-1));
    return { answer, stoppedBy, rounds: round, resets, stalls, taskLedger, progress };
  }

  /** Makes the first task ledger, or a new one after a stall; journals it and has it reviewed. */
  async #plan(round: number, replan: { ledger: TaskLedger; why: string } | undefined): Promise<TaskLedger> {
    const prompt =
      replan === undefined
        ? taskLedgerPrompt(this.#task, this.#config.cards)
        : this.#replanPrompt(replan.ledger, replan.why);
    const made = await this.#ask('task', round, prompt, parseTaskLedger);
    const ledger = await this.#recordTask(round, made, replan === undefined ? 'initial' : 'replan');
    return this.#config.review === undefined ? ledger : this.#review(round, ledger, this.#config.review);
  }

  async #recordTask(round: number, ledger: TaskLedger, reason: TaskLedgerReason): Promise<TaskLedger> {
    const recorded = await recordLedger(this.#ctx, {
      pattern: PATTERN,
      name: this.#config.name,
      ledger: 'task',
      round,
      data: { reason, facts: ledger.facts, plan: ledger.plan },
    });
    return { facts: recorded.facts, plan: recorded.plan };
  }

  /** Waits for `plan-review` signals until the plan is approved, edited, or the wait times out. */
  async #review(
    round: number,
    proposed: TaskLedger,
    options: { timeoutMs: number | undefined; maxRevisions: number },
  ): Promise<TaskLedger> {
    const ctx = this.#ctx;
    const { name, where } = this.#config;
    let ledger = proposed;
    let revisions = 0;
    const decide = (decision: string, reasons: string[]) =>
      recordDecision(ctx, { pattern: PATTERN, name, decision, reasons, data: { round } });
    for (;;) {
      const request = {
        pattern: PATTERN,
        name,
        round,
        signal: REVIEW_SIGNAL,
        facts: ledger.facts,
        plan: ledger.plan,
      };
      // Emitted inside a step: once, when the review is first requested, never again on replay.
      await ctx.step(
        'review:plan',
        () => {
          ctx.emit({ name: 'plan-review-requested', data: request });
          return request;
        },
        { meta: { pattern: PATTERN, review: 'plan', round } },
      );
      let payload: unknown;
      try {
        payload = await ctx.waitFor(
          REVIEW_SIGNAL,
          options.timeoutMs === undefined ? undefined : { timeoutMs: options.timeoutMs },
        );
      } catch (error) {
        if (isInterruption(error, ctx)) throw error;
        if (BatonError.isInstance(error) && error.code === 'WAIT_TIMEOUT') {
          await decide('plan-review-timeout', [
            `no review within ${options.timeoutMs} ms; proceeding with the plan`,
          ]);
          return ledger;
        }
        throw error;
      }
      const review = reviewSchema.safeParse(payload);
      if (!review.success) {
        ctx.emit({
          name: 'plan-review-invalid',
          data: {
            pattern: PATTERN,
            name,
            round,
            payload,
            expected: '{ approve: true } | { approve: false, feedback } | { plan: string[] }',
          },
        });
        continue;
      }
      const verdict = review.data;
      if ('plan' in verdict) {
        await decide('plan-edited', ['the reviewer replaced the plan']);
        return this.#recordTask(round, { facts: ledger.facts, plan: verdict.plan }, 'edited');
      }
      if (verdict.approve) {
        await decide('plan-approved', []);
        return ledger;
      }
      const feedback = verdict.feedback?.trim() || '(no reason given)';
      if (revisions >= options.maxRevisions)
        throw new BatonError(
          `${where}: the reviewer rejected the plan ${revisions + 1} times (reviewPlan.maxRevisions is ${options.maxRevisions}); last feedback: ${feedback}`,
          { code: 'PLAN_REJECTED', fault: 'user', runId: ctx.runId },
        );
      revisions++;
      await decide('plan-rejected', [feedback]);
      const why = `A reviewer rejected the plan with this feedback: ${feedback}\nRevise the plan to address it.`;
      const revised = await this.#ask('task', round, this.#replanPrompt(ledger, why), parseTaskLedger);
      ledger = await this.#recordTask(round, revised, 'revised');
    }
  }

  #replanPrompt(ledger: TaskLedger, why: string): string {
    return replanPrompt({
      task: this.#task,
      members: this.#config.cards,
      ledger,
      conversation: this.#conversation,
      why,
    });
  }

  #progressPrompt(ledger: TaskLedger, round: number): string {
    return progressPrompt({
      task: this.#task,
      members: this.#config.cards,
      ledger,
      conversation: this.#conversation,
      round,
    });
  }

  /** Asks the manager for a ledger; an unusable reply is sent back with the error, up to maxParseRetries times. */
  async #ask<T>(
    ledger: 'task' | 'progress',
    round: number,
    prompt: string,
    parse: (text: string) => Parsed<T>,
  ): Promise<T> {
    const { manager, maxParseRetries, where } = this.#config;
    let messages: Message[] = [userMessage(prompt)];
    for (let attempt = 0; ; attempt++) {
      const reply = await runAgent(this.#ctx, manager, { messages }, { turnCounter: this.#turns });
      const parsed = parse(reply.text);
      if (parsed.ok) return parsed.value;
      if (attempt >= maxParseRetries)
        throw new ModelBehaviorError(
          `${where}: the manager "${manager.name}" wrote an unusable ${ledger} ledger (round ${round}) ${attempt + 1} times; last problem: ${parsed.error}. Use a stronger manager model or raise maxParseRetries.`,
          { agent: manager.name, code: 'LEDGER_UNPARSEABLE', rawOutput: reply.text, runId: this.#ctx.runId },
        );
      messages = [...reply.messages, userMessage(retryPrompt(parsed.error))];
    }
  }

  /** Gives the instruction to the chosen member and adds its reply to the conversation. */
  async #speak(round: number, attempt: number, ledger: ProgressLedger): Promise<void> {
    const speaker = ledger.nextSpeaker.answer;
    const instruction = ledger.instruction.answer;
    const reason = ledger.nextSpeaker.reason;
    announceSpeaker(
      this.#ctx,
      PATTERN,
      this.#config.name,
      round,
      speaker,
      reason === '' ? undefined : reason,
    );
    const member = this.#config.members.get(speaker)!;
    const reply = await this.#runMember(member, instruction);
    const entry: ConversationEntry = { round, attempt, speaker, instruction, ...reply };
    this.#conversation.push(entry);
    this.#transcript.push(entry);
  }

  async #runMember(member: AnyRunnable, instruction: string): Promise<{ reply: string; failed: boolean }> {
    const ctx = this.#ctx;
    const prompt = memberPrompt({
      team: this.#config.name,
      member: member.name,
      task: this.#task,
      recent: this.#conversation.slice(-RECENT_ENTRIES),
      instruction,
    });
    try {
      if (member.kind === 'agent') {
        const result = await runAgent(ctx, member as Agent<unknown>, prompt, { turnCounter: this.#turns });
        return { reply: result.text, failed: false };
      }
      return { reply: textOf(await ctx.run(member, prompt)), failed: false };
    } catch (error) {
      if (isInterruption(error, ctx)) throw error;
      // A person who did not answer in time is a failed turn the manager can work around; other
      // configuration and durability problems end the run; anything else is the member's failed turn.
      const fatal =
        BatonError.isInstance(error) &&
        ((error.fault === 'user' && error.code !== 'WAIT_TIMEOUT') || error.code === 'JOURNAL_CONFLICT');
      if (fatal) throw error;
      return { reply: messageOf(error), failed: true };
    }
  }

  async #finalAnswer(
    ledger: TaskLedger,
    stoppedBy: MagenticStop,
    last: ProgressLedger | undefined,
  ): Promise<string> {
    const { maxRounds, maxResets, manager } = this.#config;
    const ending =
      stoppedBy === 'satisfied'
        ? `The manager judged the task complete${last?.requestSatisfied.reason ? `: ${last.requestSatisfied.reason}` : '.'}`
        : stoppedBy === 'max rounds'
          ? `The team used all ${maxRounds} rounds before the task was complete.`
          : `The team kept stalling after ${maxResets} replans and was stopped.`;
    const prompt = finalAnswerPrompt({ task: this.#task, ledger, transcript: this.#transcript, ending });
    const reply = await runAgent(this.#ctx, manager, prompt, { turnCounter: this.#turns });
    return reply.text;
  }
}

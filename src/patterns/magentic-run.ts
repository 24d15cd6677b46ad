/** One execution of magentic(): the round loop over the progress ledger, stalls and replans, member turns and the final answer. */

import type { Agent } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import { type Message, userMessage } from '../context/messages.js';
import { BatonError, errorMessage, ModelBehaviorError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import type { RunContext } from '../core/run-context.js';
import type { AnyRunnable } from '../core/runnable.js';
import type { MagenticResult, MagenticStop, TaskLedgerReason } from './magentic.js';
import {
  type ConversationEntry,
  type MemberCard,
  type Parsed,
  type ProgressLedger,
  parseProgressLedger,
  parseTaskLedger,
  type TaskLedger,
} from './magentic-ledger.js';
import {
  finalAnswerPrompt,
  memberPrompt,
  progressPrompt,
  replanPrompt,
  retryPrompt,
  taskLedgerPrompt,
} from './magentic-prompts.js';
import { type PlanReviewSettings, reviewPlan } from './magentic-review.js';
import { announceSpeaker, recordDecision, recordLedger, textOf } from './shared.js';

/** The pattern name in events and journal metadata. */
export const PATTERN = 'magentic';
/** Conversation entries a member sees besides its instruction. */
const RECENT_ENTRIES = 6;

/** A magentic team's checked options. */
export interface MagenticConfig {
  where: string;
  name: string;
  manager: Agent<unknown>;
  members: Map<string, AnyRunnable>;
  cards: MemberCard[];
  maxRounds: number;
  maxStalls: number;
  maxResets: number;
  maxParseRetries: number;
  review: PlanReviewSettings | undefined;
}

/** One execution of a magentic team: its state lives here and is rebuilt from the journal on replay. */
export class MagenticRun {
  readonly #ctx: RunContext;
  readonly #config: MagenticConfig;
  readonly #task: string;
  /** Shared by every runAgent call, so agents that speak again continue their turn numbers. */
  readonly #turns = new Map<string, number>();
  /** The current attempt's conversation (cleared on reset). */
  #conversation: ConversationEntry[] = [];
  /** Every entry of every attempt, for the final answer. */
  readonly #transcript: ConversationEntry[] = [];

  constructor(ctx: RunContext, config: MagenticConfig, task: string) {
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
    const review = this.#config.review;
    if (review === undefined) return ledger;
    return reviewPlan(this.#ctx, this.#config, round, ledger, review, {
      edited: (edited) => this.#recordTask(round, edited, 'edited'),
      revise: async (rejected, why) => {
        const revised = await this.#ask('task', round, this.#replanPrompt(rejected, why), parseTaskLedger);
        return this.#recordTask(round, revised, 'revised');
      },
    });
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
      return { reply: errorMessage(error), failed: true };
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

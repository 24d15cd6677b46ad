/** groupChat(): members take turns on one shared thread; a selector picks each speaker, conditions and loop detection end the chat. */

import type { Agent } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import type { Message } from '../context/messages.js';
import { ConfigError } from '../core/errors.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext, StepContext, StepOptions } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import type { Usage } from '../core/store.js';
import {
  announceLoop,
  checkLoopDetection,
  findRepeatedText,
  foldText,
  type LoopDetectionOptions,
  type LoopResponse,
  waitForLoopDecision,
} from '../governance/loop-detection.js';
import { guarded } from './members.js';
import { announceEnd, announceSpeaker, announceStart, checkCount, checkMembers, textOf } from './shared.js';
import {
  type ChatMember,
  checkSelection,
  type SpeakerSelection,
  selectSpeaker,
} from './speaker-selection.js';
import {
  type ChatMessage,
  type ChatState,
  isTerminationCondition,
  maxRounds as maxRoundsCondition,
  type TerminationCondition,
} from './termination.js';

// Speaker selection lives in speaker-selection.ts; its public parts are still exported from here.
export { type LlmSelection, parseSpeaker, type SpeakerSelection } from './speaker-selection.js';

/** Options of `groupChat()`. */
export interface GroupChatOptions {
  name: string;
  version?: string;
  /** Agents, humans (`human()`), workflows or patterns; at least two, with distinct names (`user` is reserved). */
  members: readonly Runnable<string, unknown>[];
  select?: SpeakerSelection;
  /** When to stop, checked after every round. `maxRounds` applies in any case. */
  terminate?: TerminationCondition;
  /** Safety cap on rounds, always applied. Default 10. */
  maxRounds?: number;
  /** A standing description of the chat's goal, shown to every speaker and to the selector. */
  task?: string;
  /**
   * Watches for members repeating themselves, checked after every round (after `terminate`):
   * when one text (trimmed, case and whitespace folded) has been said `maxRepeats` times
   * (default 3) by any members, `response` applies (each time emits `loop-detected`):
   * - `stop`: the chat ends with its result, `stoppedBy: 'loop: "<text>" repeated <n> times'`.
   * - `warn` (default): a message from the chat (speaker: the chat's name) asks the members to stop
   *   repeating and move on; counting starts afresh, and the next loop stops the chat.
   * - `escalate`: the run waits durably for the signal `loop:<chat name>` with a
   *   `LoopEscalationReply`; `continue` goes on (a `message` joins the thread from the chat) and
   *   counting starts afresh; `stop` ends the chat as `stop` does.
   *
   * Off when absent.
   */
  loopDetection?: LoopDetectionOptions;
}

/** What `groupChat()` returns. */
export interface GroupChatResult {
  /**
   * The whole thread: the opening message (speaker `user`), then one message per round, plus
   * any messages of the chat itself (speaker: the chat's name): loop warnings, and a human's
   * message after a loop escalation.
   */
  messages: ChatMessage[];
  /** The last message's text. */
  final: string;
  rounds: number;
  /**
   * The reason of the condition that ended the chat (`max rounds (10)`, `approved by reviewer`,
   * ...), or `loop: "<text>" repeated <n> times` when loop detection ended it.
   */
  stoppedBy: string;
}

const groupChatOptionNames = optionNames<GroupChatOptions>(
  {
    name: true,
    version: true,
    members: true,
    select: true,
    terminate: true,
    maxRounds: true,
    task: true,
    loopDetection: true,
  },
  { agents: 'members', selector: 'select' },
);

/**
 * A group chat: each round one member is chosen, given the thread so far, and its reply is
 * appended to the thread in its name. Agents see others' messages as user messages
 * `[name]: text` and their own as their replies; humans, workflows and patterns get the
 * thread as text. Stops when `terminate` holds or after `maxRounds`; with `loopDetection`, when
 * members keep saying the same thing (or warns them, or asks a human on `loop:<name>`).
 *
 * @example
 * ```ts
 * const review = groupChat({
 *   name: 'design-review',
 *   members: [architect, security, human({ name: 'lead' })],
 *   select: { selector: 'openai:gpt-4o-mini' },
 *   terminate: approvedBy('lead').or(textMention('ABANDON')),
 *   maxRounds: 12,
 *   task: 'Agree on the storage design for the audit log.',
 *   loopDetection: { maxRepeats: 3, response: 'warn' }, // "LGTM" three times: told to move on
 * });
 * const { final, stoppedBy } = await (await runtime.start(review, 'Proposal: one table per tenant.')).result();
 * ```
 */
export function groupChat(options: GroupChatOptions): Runnable<string, GroupChatResult> {
  assertName('pattern', options?.name);
  checkOptionNames(`groupChat("${options.name}")`, options, groupChatOptionNames);
  const chat = options.name;
  const where = `groupChat("${chat}")`;
  const members: ChatMember[] = checkMembers(where, 'members', options.members).map((runnable) => ({
    name: runnable.name,
    description: descriptionOf(runnable),
    runnable: runnable as Runnable<string, unknown>,
  }));
  if (members.length < 2) throw new ConfigError(`${where}: members needs at least 2 members, got 1.`);
  const names = members.map((member) => member.name);
  if (names.includes('user'))
    throw new ConfigError(
      `${where}: no member may be named "user"; it is the speaker of the opening message.`,
    );
  if (options.task !== undefined && typeof options.task !== 'string')
    throw new ConfigError(`${where}: task must be a string.`);
  const cap = checkCount(where, 'maxRounds', options.maxRounds, 10);
  if (options.terminate !== undefined) {
    if (!isTerminationCondition(options.terminate))
      throw new ConfigError(
        `${where}: terminate must be a termination condition (maxRounds(), textMention(), approvedBy(), anyOf(), ...).`,
      );
    const unknown = options.terminate.members.find((member) => !names.includes(member));
    if (unknown !== undefined)
      throw new ConfigError(
        `${where}: terminate refers to "${unknown}", who is not a member (members: ${names.join(', ')}).`,
      );
  }
  const loops = checkLoopDetection(options.loopDetection, where);
  const stop =
    options.terminate === undefined ? maxRoundsCondition(cap) : options.terminate.or(maxRoundsCondition(cap));
  const selection = checkSelection(where, chat, options.select, names);
  // The clock is a journaled step: read it only when a condition or a selection function may use
  // the elapsed time. That depends on the definition alone, so a replay reads it at the same points.
  const timed =
    stop.usesElapsedTime !== false ||
    selection.mode === 'function' ||
    (selection.mode === 'llm' && selection.candidates !== undefined);
  const pattern = 'groupChat';

  return {
    kind: 'pattern',
    name: chat,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: string): Promise<GroupChatResult> {
      announceStart(ctx, pattern, chat, names);
      const startedAt = timed ? ctx.now() : 0;
      const usage: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
      const metered = meteredContext(ctx, usage);
      const turnCounter = new Map<string, number>();
      const thread: ChatMessage[] = [{ speaker: 'user', text: textOf(input) }];
      let lastSpeaker: string | undefined;
      let elapsedMs = 0;
      // Rebuilt in order on every replay from the replayed replies and waits.
      const repetition: RepetitionState = { notes: new Set(), since: 1, warned: false };
      const stateOf = (round: number): ChatState => ({
        round,
        messages: [...thread],
        lastSpeaker,
        members: names,
        usage: { ...usage },
        elapsedMs,
      });
      for (let round = 1; ; round++) {
        const chosen = await guarded(ctx, where, `round ${round}: speaker selection`, () =>
          selectSpeaker(metered, selection, stateOf(round), members, chat, options.task, turnCounter),
        );
        announceSpeaker(ctx, pattern, chat, round, chosen.speaker.name, chosen.reason);
        const speaker = chosen.speaker;
        const text = await guarded(ctx, where, `round ${round}: member "${speaker.name}"`, async () => {
          if (speaker.runnable.kind === 'agent') {
            const result = await runAgent(
              metered,
              speaker.runnable as Agent<unknown>,
              { messages: agentView(chat, options.task, names, speaker.name, thread) },
              { turnCounter },
            );
            return result.text;
          }
          return textOf(
            await metered.run(speaker.runnable, transcript(chat, options.task, names, thread, speaker.name)),
          );
        });
        thread.push({ speaker: speaker.name, text });
        lastSpeaker = speaker.name;
        if (timed) elapsedMs = ctx.now() - startedAt;
        let reason = stop.check(stateOf(round));
        if (reason === undefined && loops !== undefined)
          reason = await checkRepetition(ctx, chat, loops, thread, repetition, speaker.name);
        if (reason !== undefined) {
          announceEnd(ctx, pattern, chat, reason);
          return { messages: thread, final: text, rounds: round, stoppedBy: reason };
        }
      }
    },
  };
}

/** Per-execution state of a chat's loop detection. */
interface RepetitionState {
  /** The chat's own messages (warnings, a human's message), which loop detection does not count. */
  notes: Set<ChatMessage>;
  /** Where counting starts: after the opening message, then after each warning or "continue". */
  since: number;
  warned: boolean;
}

/**
 * After a round: when a text was said `maxRepeats` times since counting started, responds
 * (warns in the thread, or waits for `loop:<chat>`) and returns the `stoppedBy` reason if the
 * chat should end.
 */
async function checkRepetition(
  ctx: RunContext,
  chat: string,
  loops: Required<LoopDetectionOptions>,
  thread: ChatMessage[],
  state: RepetitionState,
  speaker: string,
): Promise<string | undefined> {
  const said = (messages: readonly ChatMessage[]) =>
    messages.filter((message) => !state.notes.has(message)).map((message) => message.text);
  const repeated = findRepeatedText(said(thread.slice(state.since)), loops.maxRepeats);
  if (repeated === undefined) return undefined;
  const key = foldText(repeated);
  const count = said(thread.slice(1)).filter((other) => foldText(other) === key).length;
  const quoted = JSON.stringify(shorten(repeated));
  const response: LoopResponse = loops.response === 'warn' && state.warned ? 'stop' : loops.response;
  announceLoop(ctx, speaker, { repeated: `the message ${quoted}`, count }, response);
  const note = (text: string) => {
    const message: ChatMessage = { speaker: chat, text };
    state.notes.add(message);
    thread.push(message);
  };
  let stopping = response === 'stop';
  if (response === 'warn') {
    state.warned = true;
    note(
      `Loop warning: ${quoted} has now been said ${count} times in this chat. ` +
        'Repeating it does not move the discussion forward: do not say it again; add something new, take up what is still open, or conclude.',
    );
  } else if (response === 'escalate') {
    const reply = await waitForLoopDecision(ctx, `loop:${chat}`);
    stopping = reply.action === 'stop';
    if (reply.message !== undefined) note(reply.message);
  }
  state.since = thread.length;
  return stopping ? `loop: ${quoted} repeated ${count} times` : undefined;
}

/** A repeated text for a message: whitespace folded, at most 80 characters. */
function shorten(text: string): string {
  const folded = text.trim().replace(/\s+/g, ' ');
  return folded.length > 80 ? `${folded.slice(0, 80)}…` : folded;
}

function descriptionOf(runnable: Runnable<unknown, unknown>): string {
  const description = (runnable as { description?: unknown }).description;
  return typeof description === 'string' && description.trim() !== '' ? description : runnable.name;
}

/** The thread as an agent sees it: others' messages as user messages `[name]: text`, its own as its replies. */
function agentView(
  chat: string,
  task: string | undefined,
  names: readonly string[],
  speaker: string,
  thread: readonly ChatMessage[],
): Message[] {
  const others = names.filter((name) => name !== speaker).join(', ');
  const parts: { role: 'user' | 'assistant'; text: string }[] = [
    {
      role: 'user',
      text:
        `You are "${speaker}" in the group chat "${chat}" with ${others}. ` +
        'Messages from others appear as "[name]: text". Reply with your next message to the group.' +
        (task === undefined ? '' : `\nTask: ${task}`),
    },
  ];
  for (const message of thread) {
    if (message.speaker === speaker) parts.push({ role: 'assistant', text: message.text });
    else parts.push({ role: 'user', text: `[${message.speaker}]: ${message.text}` });
  }
  if (parts.at(-1)?.role === 'assistant')
    parts.push({ role: 'user', text: `[${chat}]: It is your turn again, ${speaker}.` });
  // Adjacent messages of one role become one message (some providers require alternating roles).
  const messages: Message[] = [];
  for (const part of parts) {
    const previous = messages.at(-1);
    if (previous !== undefined && previous.role === part.role)
      (previous.content as { type: 'text'; text: string }[]).push({ type: 'text', text: part.text });
    else messages.push({ role: part.role, content: [{ type: 'text', text: part.text }] } as Message);
  }
  return messages;
}

/** The thread as text, for humans, workflows and patterns. */
function transcript(
  chat: string,
  task: string | undefined,
  names: readonly string[],
  thread: readonly ChatMessage[],
  speaker: string,
): string {
  return [
    `Group chat "${chat}" (members: ${names.join(', ')}).${task === undefined ? '' : `\nTask: ${task}`}`,
    thread.map((message) => `[${message.speaker}]: ${message.text}`).join('\n'),
    `It is your turn, ${speaker}.`,
  ].join('\n\n');
}

/**
 * A view of `ctx` that adds the usage of every model step run through it to `usage`. The usage
 * comes from the model responses the steps return, which replays read from the journal. It
 * passes on `ctx.services`, so members' model calls count against the run's budget and are
 * priced by the run's runtime like any other.
 */
function meteredContext(ctx: RunContext, usage: Usage): RunContext {
  return {
    services: ctx.services,
    get runId() {
      return ctx.runId;
    },
    get threadId() {
      return ctx.threadId;
    },
    get scope() {
      return ctx.scope;
    },
    get signal() {
      return ctx.signal;
    },
    get idempotencyKey() {
      return ctx.idempotencyKey;
    },
    get replaying() {
      return ctx.replaying;
    },
    get observed() {
      return ctx.observed;
    },
    get streaming() {
      return ctx.streaming;
    },
    step<T>(name: string, fn: (step: StepContext) => T | Promise<T>, options?: StepOptions<T>): Promise<T> {
      const result = ctx.step(name, fn, options);
      if (options?.kind !== 'model') return result;
      return result.then((response) => {
        const used = (response as { usage?: Partial<Usage> } | undefined)?.usage;
        usage.inputTokens += used?.inputTokens ?? 0;
        usage.outputTokens += used?.outputTokens ?? 0;
        usage.totalTokens += used?.totalTokens ?? 0;
        return response;
      });
    },
    run: (target, input, options) => ctx.run(target, input, options),
    parallel: (branches) => ctx.parallel(branches),
    parallelSettled: (branches) => ctx.parallelSettled(branches),
    waitFor: (name, options) => ctx.waitFor(name, options),
    sleep: (ms) => ctx.sleep(ms),
    now: () => ctx.now(),
    random: () => ctx.random(),
    uuid: () => ctx.uuid(),
    emit: (event) => ctx.emit(event),
    emitEvent: (event) => ctx.emitEvent(event),
  };
}

/** groupChat(): members take turns on one shared thread; a selector picks each speaker and conditions end the chat. */

import { type Agent, agent } from '../agents/agent.js';
import type { Message } from '../agents/messages.js';
import { runAgent } from '../agents/run-agent.js';
import { BatonError, ConfigError } from '../core/errors.js';
import type { RunContext, StepContext, StepOptions } from '../core/run-context.js';
import { assertName, type Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import type { Usage } from '../stores/store.js';
import { guarded } from './maker-checker.js';
import { announceEnd, announceSpeaker, announceStart, checkCount, checkMembers, textOf } from './shared.js';
import {
  type ChatMessage,
  type ChatState,
  isTerminationCondition,
  maxRounds as maxRoundsCondition,
  type TerminationCondition,
} from './termination.js';

/**
 * An LLM picks the next speaker from the member names and descriptions and the thread.
 * Its answer is matched leniently (case, quotes, surrounding text); an answer naming no
 * candidate uses `fallback`, and the `speaker-selected` event's reason says so.
 */
export interface LlmSelection {
  /** An agent to ask, or a model from which the chat makes a selector agent named `<chat>-selector`. */
  selector: Agent<unknown> | ModelSpec;
  /** May the last speaker speak again? Default false (it is not offered unless it is the only candidate). */
  allowRepeat?: boolean;
  /** Limits who may be picked this round (a pure function of the state; member names). */
  candidates?: (state: ChatState) => readonly string[];
  /** Who speaks when the answer names no candidate: `'round-robin'` (default, the next candidate in member order) or a member name. */
  fallback?: 'round-robin' | (string & {});
}

/** How the next speaker is chosen: `'round-robin'` (default), a pure function of the state returning a member name, or an LLM. */
export type SpeakerSelection = 'round-robin' | ((state: ChatState) => string) | LlmSelection;

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
}

/** What `groupChat()` returns. */
export interface GroupChatResult {
  /** The whole thread: the opening message (speaker `user`), then one message per round. */
  messages: ChatMessage[];
  /** The last message's text. */
  final: string;
  rounds: number;
  /** The reason of the condition that ended the chat (`max rounds (10)`, `approved by reviewer`, ...). */
  stoppedBy: string;
}

interface Member {
  name: string;
  description: string;
  runnable: Runnable<string, unknown>;
}

type Selection =
  | { mode: 'round-robin' }
  | { mode: 'function'; choose: (state: ChatState) => string }
  | {
      mode: 'llm';
      selector: Agent<unknown>;
      allowRepeat: boolean;
      candidates: ((state: ChatState) => readonly string[]) | undefined;
      fallback: string;
    };

/**
 * A group chat: each round one member is chosen, given the thread so far, and its reply is
 * appended to the thread in its name. Agents see others' messages as user messages
 * `[name]: text` and their own as their replies; humans, workflows and patterns get the
 * thread as text. Stops when `terminate` holds or after `maxRounds`.
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
 * });
 * const { final, stoppedBy } = await (await runtime.start(review, 'Proposal: one table per tenant.')).result();
 * ```
 */
export function groupChat(options: GroupChatOptions): Runnable<string, GroupChatResult> {
  assertName('pattern', options?.name);
  const chat = options.name;
  const where = `groupChat("${chat}")`;
  const members: Member[] = checkMembers(where, 'members', options.members).map((runnable) => ({
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
  const stop =
    options.terminate === undefined ? maxRoundsCondition(cap) : options.terminate.or(maxRoundsCondition(cap));
  const selection = checkSelection(where, chat, options.select, names);
  const pattern = 'groupChat';

  return {
    kind: 'pattern',
    name: chat,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: string): Promise<GroupChatResult> {
      announceStart(ctx, pattern, chat, names);
      const startedAt = ctx.now();
      const usage: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
      const metered = meteredContext(ctx, usage);
      const turnCounter = new Map<string, number>();
      const thread: ChatMessage[] = [{ speaker: 'user', text: textOf(input) }];
      let lastSpeaker: string | undefined;
      let elapsedMs = 0;
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
        elapsedMs = ctx.now() - startedAt;
        const reason = stop.check(stateOf(round));
        if (reason !== undefined) {
          announceEnd(ctx, pattern, chat, reason);
          return { messages: thread, final: text, rounds: round, stoppedBy: reason };
        }
      }
    },
  };
}

function descriptionOf(runnable: Runnable<unknown, unknown>): string {
  const description = (runnable as { description?: unknown }).description;
  return typeof description === 'string' && description.trim() !== '' ? description : runnable.name;
}

function checkSelection(
  where: string,
  chat: string,
  select: SpeakerSelection | undefined,
  names: readonly string[],
): Selection {
  if (select === undefined || select === 'round-robin') return { mode: 'round-robin' };
  if (typeof select === 'function') return { mode: 'function', choose: select };
  if (typeof select !== 'object' || select === null || !('selector' in select))
    throw new ConfigError(
      `${where}: select must be 'round-robin', a function (state) => memberName, or { selector: agent or model }.`,
    );
  const { selector, allowRepeat, candidates, fallback } = select;
  let selectorAgent: Agent<unknown>;
  if ((selector as Agent<unknown> | undefined)?.kind === 'agent') {
    selectorAgent = selector as Agent<unknown>;
  } else if (
    (typeof selector === 'string' && selector !== '') ||
    (typeof selector === 'object' && selector !== null && 'specificationVersion' in selector)
  ) {
    const selectorName = `${chat}-selector`;
    if (names.includes(selectorName))
      throw new ConfigError(
        `${where}: a member is named "${selectorName}", the name of the chat's selector agent; rename it.`,
      );
    selectorAgent = agent({
      name: selectorName,
      description: `Chooses who speaks next in the group chat "${chat}"`,
      instructions:
        'You moderate a group chat: given the members and the conversation, you choose who speaks next. ' +
        'Answer with exactly one member name from the list you are given, and nothing else.',
      model: selector as ModelSpec,
    });
  } else {
    throw new ConfigError(
      `${where}: select.selector must be an agent or a model ("provider:model" or an AI SDK model).`,
    );
  }
  if (allowRepeat !== undefined && typeof allowRepeat !== 'boolean')
    throw new ConfigError(`${where}: select.allowRepeat must be true or false.`);
  if (candidates !== undefined && typeof candidates !== 'function')
    throw new ConfigError(`${where}: select.candidates must be a function (state) => memberNames.`);
  const fallbackTo = fallback ?? 'round-robin';
  if (fallbackTo !== 'round-robin' && !names.includes(fallbackTo))
    throw new ConfigError(
      `${where}: select.fallback must be 'round-robin' or a member name (${names.join(', ')}), got ${JSON.stringify(fallbackTo)}.`,
    );
  return {
    mode: 'llm',
    selector: selectorAgent,
    allowRepeat: allowRepeat ?? false,
    candidates,
    fallback: fallbackTo,
  };
}

async function selectSpeaker(
  ctx: RunContext,
  selection: Selection,
  state: ChatState,
  members: readonly Member[],
  chat: string,
  task: string | undefined,
  turnCounter: Map<string, number>,
): Promise<{ speaker: Member; reason: string }> {
  const byName = (name: string) => members.find((member) => member.name === name);
  if (selection.mode === 'round-robin')
    return { speaker: members[(state.round - 1) % members.length]!, reason: 'round robin' };
  if (selection.mode === 'function') {
    const name = selection.choose(state);
    const speaker = typeof name === 'string' ? byName(name) : undefined;
    if (speaker === undefined)
      throw new BatonError(
        `the select function returned ${JSON.stringify(name)} in round ${state.round}; it must return a member name (${state.members.join(', ')}).`,
        { code: 'UNKNOWN_SPEAKER', fault: 'user', runId: ctx.runId },
      );
    return { speaker, reason: 'select function' };
  }

  let pool = [...state.members];
  if (selection.candidates !== undefined) {
    const offered = selection.candidates(state);
    const unknown = Array.isArray(offered) ? offered.find((name) => byName(name) === undefined) : undefined;
    if (!Array.isArray(offered) || offered.length === 0 || unknown !== undefined)
      throw new BatonError(
        `select.candidates must return a non-empty list of member names (${state.members.join(', ')}), got ${textOf(offered)} in round ${state.round}.`,
        { code: 'INVALID_CANDIDATES', fault: 'user', runId: ctx.runId },
      );
    pool = state.members.filter((name) => offered.includes(name));
  }
  if (!selection.allowRepeat && state.lastSpeaker !== undefined && pool.length > 1)
    pool = pool.filter((name) => name !== state.lastSpeaker);
  if (pool.length === 1) return { speaker: byName(pool[0]!)!, reason: 'only candidate' };

  const prompt = selectorPrompt(chat, task, members, state.messages, pool);
  const result = await runAgent(ctx, selection.selector, prompt, { turnCounter });
  const answer = textOf(result.output);
  const parsed = parseSpeaker(answer, pool, state.members);
  if ('name' in parsed)
    return { speaker: byName(parsed.name)!, reason: `chosen by ${selection.selector.name}` };
  const fallbackName =
    selection.fallback === 'round-robin'
      ? nextInOrder(state.members, pool, state.lastSpeaker)
      : selection.fallback;
  const shown = answer.length > 60 ? `${answer.slice(0, 57)}...` : answer;
  return {
    speaker: byName(fallbackName)!,
    reason: `${selection.selector.name} answered ${JSON.stringify(shown)}, ${parsed.problem}; fallback ${selection.fallback === 'round-robin' ? 'round robin' : 'member'}: ${fallbackName}`,
  };
}

/** The first candidate after `last` in member order (wrapping around). */
function nextInOrder(members: readonly string[], pool: readonly string[], last: string | undefined): string {
  const start = last === undefined ? 0 : members.indexOf(last) + 1;
  for (let offset = 0; offset < members.length; offset++) {
    const name = members[(start + offset) % members.length]!;
    if (pool.includes(name)) return name;
  }
  return pool[0]!;
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Matches a selector's answer to a candidate: exact (any case, quotes and punctuation stripped), else the only candidate it mentions. */
export function parseSpeaker(
  answer: string,
  pool: readonly string[],
  members: readonly string[],
): { name: string } | { problem: string } {
  const cleaned = answer
    .trim()
    .replace(/^[\s"'`*_[\](){}<>]+|[\s"'`*_[\](){}<>.,:;!?]+$/g, '')
    .toLowerCase();
  const exact = (names: readonly string[]) => names.find((name) => name.toLowerCase() === cleaned);
  const inPool = exact(pool);
  if (inPool !== undefined) return { name: inPool };
  const excluded = exact(members);
  if (excluded !== undefined) return { problem: `"${excluded}" may not speak this round` };
  const mentioned = (names: readonly string[]) =>
    names.filter((name) => new RegExp(`(?<![\\w-])${escapeRegExp(name)}(?![\\w-])`, 'i').test(answer));
  const candidates = mentioned(pool);
  if (candidates.length === 1) return { name: candidates[0]! };
  if (candidates.length > 1) return { problem: `it names several candidates (${candidates.join(', ')})` };
  const others = mentioned(members);
  if (others.length > 0) return { problem: `"${others[0]}" may not speak this round` };
  return { problem: 'not a member' };
}

function selectorPrompt(
  chat: string,
  task: string | undefined,
  members: readonly Member[],
  thread: readonly ChatMessage[],
  pool: readonly string[],
): string {
  return [
    `You choose the next speaker in the group chat "${chat}".${task === undefined ? '' : `\nTask: ${task}`}`,
    `Members:\n${members.map((member) => `- ${member.name}: ${member.description}`).join('\n')}`,
    `Conversation so far:\n${thread.map((message) => `[${message.speaker}]: ${message.text}`).join('\n')}`,
    `Who speaks next? Answer with one name from: ${pool.join(', ')}.`,
  ].join('\n\n');
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
 * comes from the model responses the steps return, which replays read from the journal.
 */
function meteredContext(ctx: RunContext, usage: Usage): RunContext {
  return {
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
    run: (target, input) => ctx.run(target, input),
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

/** groupChat()'s speaker selection: round robin, a function of the chat state, or an LLM selector with a fallback. */

import { type Agent, agent } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import { BatonError, ConfigError } from '../core/errors.js';
import type { RunContext } from '../core/run-context.js';
import type { Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import { textOf } from './shared.js';
import type { ChatMessage, ChatState } from './termination.js';

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

/** A chat member as speaker selection sees it. */
export interface ChatMember {
  name: string;
  description: string;
  runnable: Runnable<string, unknown>;
}

/** A checked `select` option. */
export type Selection =
  | { mode: 'round-robin' }
  | { mode: 'function'; choose: (state: ChatState) => string }
  | {
      mode: 'llm';
      selector: Agent<unknown>;
      allowRepeat: boolean;
      candidates: ((state: ChatState) => readonly string[]) | undefined;
      fallback: string;
    };

/** Checks the `select` option of a chat; a model becomes a selector agent named `<chat>-selector`. */
export function checkSelection(
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

/** Chooses the speaker of `state.round` and says why (the reason of the `speaker-selected` event). */
export async function selectSpeaker(
  ctx: RunContext,
  selection: Selection,
  state: ChatState,
  members: readonly ChatMember[],
  chat: string,
  task: string | undefined,
  turnCounter: Map<string, number>,
): Promise<{ speaker: ChatMember; reason: string }> {
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
  members: readonly ChatMember[],
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

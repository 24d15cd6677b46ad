import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime, type Runtime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { type ModelScript, type ScriptedModel, scriptedModel } from '../testing/scripted-model.js';
import { type GroupChatOptions, type GroupChatResult, groupChat, parseSpeaker } from './group-chat.js';
import { human } from './human.js';
import {
  allOf,
  anyOf,
  approvedBy,
  maxRounds,
  terminateWhen,
  textMention,
  timeLimit,
  tokenBudget,
} from './termination.js';

function setup(clock?: ReturnType<typeof createFakeClock>) {
  const runtime = createRuntime({
    store: createMemoryStore(),
    recover: false,
    ...(clock === undefined ? {} : { clock }),
  });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

/** Agents named by `names`, all on one scripted model. */
function team(script: ModelScript, ...names: string[]) {
  const model = scriptedModel(script);
  const members = names.map((name) =>
    agent({ name, description: `the ${name} role`, instructions: `You are ${name}.`, model }),
  );
  return { model, members };
}

/** Each agent answers `<name> <turn>` forever. */
const echo: ModelScript = ({ agent: name, turn }) => ({ text: `${name} ${turn}` });

const speakers = (result: GroupChatResult) => result.messages.slice(1).map((message) => message.speaker);

async function play(runtime: Runtime, options: GroupChatOptions, input = 'Topic: naming') {
  return (await runtime.start(groupChat(options), input)).result();
}

const callsOf = (model: ScriptedModel, name: string) =>
  model.calls.filter((call) => call.providerOptions?.baton?.agent === name);

const selected = (events: BatonEvent[]) =>
  events.flatMap((event) =>
    event.type === 'speaker-selected' ? [{ speaker: event.speaker, reason: event.reason }] : [],
  );

describe('groupChat: turns and the thread', () => {
  it('takes turns round robin, shows each agent who said what, and stops at the maxRounds cap', async () => {
    const { runtime, events } = setup();
    const { model, members } = team(echo, 'a', 'b', 'c');
    const result = await play(runtime, { name: 'rr', members, maxRounds: 4 });
    expect(speakers(result)).toEqual(['a', 'b', 'c', 'a']);
    expect(result.messages[0]).toEqual({ speaker: 'user', text: 'Topic: naming' });
    expect(result).toMatchObject({ final: 'a 1', rounds: 4, stoppedBy: 'max rounds (4)' });
    // b sees the opening message and a's reply as user text attributed by name.
    const bPrompt = callsOf(model, 'b')[0]!.prompt;
    expect(JSON.stringify(bPrompt)).toContain('[user]: Topic: naming');
    expect(JSON.stringify(bPrompt)).toContain('[a]: a 0');
    // a's second turn sees its own first reply as its own (assistant) message.
    const aSecond = callsOf(model, 'a')[1]!.prompt;
    expect(aSecond.find((message) => message.role === 'assistant')).toEqual({
      role: 'assistant',
      content: [{ type: 'text', text: 'a 0' }],
    });
    expect(aSecond.at(-1)?.role).toBe('user');
    expect(selected(events).map((entry) => entry.reason)).toEqual([
      'round robin',
      'round robin',
      'round robin',
      'round robin',
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      pattern: 'groupChat',
      outcome: 'max rounds (4)',
    });
    await runtime.close();
  });

  it('applies the default cap of 10 rounds when nothing else stops the chat', async () => {
    const { runtime } = setup();
    const { members } = team(echo, 'a', 'b');
    const result = await play(runtime, { name: 'endless', members, terminate: textMention('never said') });
    expect(result.rounds).toBe(10);
    expect(result.stoppedBy).toBe('max rounds (10)');
    await runtime.close();
  });

  it('gives humans, workflows and patterns the thread as text', async () => {
    const { runtime } = setup();
    const { members } = team(echo, 'writer');
    const seen: string[] = [];
    const counter = workflow({ name: 'counter' }, async (_ctx, thread: string) => {
      seen.push(thread);
      return { words: thread.split(/\s+/).length };
    });
    const result = await play(runtime, {
      name: 'mixed',
      members: [...members, counter],
      task: 'Count words.',
      maxRounds: 2,
    });
    expect(seen[0]).toContain('Task: Count words.');
    expect(seen[0]).toContain('[writer]: writer 0');
    expect(seen[0]).toContain('It is your turn, counter.');
    expect(result.final).toMatch(/^\{"words":\d+\}$/);
    await runtime.close();
  });
});

describe('groupChat: termination', () => {
  it('stops when a text is mentioned, optionally only by a given member', async () => {
    const { runtime } = setup();
    const { members } = team(
      { a: [{ text: 'DONE?' }, { text: 'x' }], b: [{ text: 'ok' }, { text: 'DONE' }] },
      'a',
      'b',
    );
    const result = await play(runtime, {
      name: 'mention',
      members,
      terminate: textMention('DONE', { from: 'b' }),
    });
    expect(speakers(result)).toEqual(['a', 'b', 'a', 'b']);
    expect(result.stoppedBy).toBe('"DONE" mentioned by b');
    await runtime.close();
  });

  it('stops on a token budget counted from the journaled model responses', async () => {
    const { runtime } = setup();
    const { members } = team(
      ({ agent: name }) => ({ text: `${name} speaks`, usage: { inputTokens: 40, outputTokens: 10 } }),
      'a',
      'b',
    );
    const result = await play(runtime, { name: 'budget', members, terminate: tokenBudget(120) });
    expect(result.rounds).toBe(3);
    expect(result.stoppedBy).toBe('token budget (150 of 120 tokens)');
    await runtime.close();
  });

  it('stops on a timeout measured with ctx.now() (fake clock advanced by each model call)', async () => {
    const clock = createFakeClock(1_000_000);
    const { runtime } = setup(clock);
    const { members } = team(
      ({ agent: name }) => {
        clock.advance(400);
        return { text: `${name} thinks` };
      },
      'a',
      'b',
    );
    const result = await play(runtime, { name: 'slow', members, terminate: timeLimit(1000) });
    expect(result.rounds).toBe(3);
    expect(result.stoppedBy).toBe('timeout (1200 ms of 1000 ms)');
    await runtime.close();
  });

  it('journals clock readings only when a condition or a selection function can use the elapsed time', async () => {
    expect(maxRounds(2).usesElapsedTime).toBe(false);
    expect(textMention('DONE').or(tokenBudget(10)).usesElapsedTime).toBe(false);
    expect(timeLimit(1000).usesElapsedTime).toBe(true);
    expect(anyOf(textMention('DONE'), timeLimit(1000)).usesElapsedTime).toBe(true);
    expect(terminateWhen(() => false).usesElapsedTime).toBe(true);
    const { runtime } = setup();
    const { members } = team(echo, 'a', 'b');
    const clockSteps = async (options: GroupChatOptions) => {
      const handle = await runtime.start(groupChat(options), 'go');
      await handle.result();
      return (await runtime.journal(handle.runId)).filter((entry) => entry.name === 'now').length;
    };
    expect(await clockSteps({ name: 'plain', members, maxRounds: 3 })).toBe(0);
    expect(await clockSteps({ name: 'mention', members, maxRounds: 3, terminate: textMention('X') })).toBe(0);
    // One reading at the start, then one after each of the 3 rounds.
    expect(await clockSteps({ name: 'timed', members, maxRounds: 3, terminate: timeLimit(60_000) })).toBe(4);
    expect(
      await clockSteps({ name: 'chosen', members, maxRounds: 3, select: (state) => state.members[0]! }),
    ).toBe(4);
    await runtime.close();
  });

  it('stops on a custom condition, with its string as the reason', async () => {
    const { runtime } = setup();
    const { members } = team(
      { a: [{ text: 'maybe 41' }, { text: 'it is 42' }], b: [{ text: 'no' }] },
      'a',
      'b',
    );
    const result = await play(runtime, {
      name: 'custom',
      members,
      terminate: terminateWhen(
        (state) =>
          state.messages.at(-1)?.text.includes('42') === true && `answer found by ${state.lastSpeaker}`,
      ),
    });
    expect(result).toMatchObject({ rounds: 3, stoppedBy: 'answer found by a', final: 'it is 42' });
    await runtime.close();
  });

  it('stops when a named agent approves (NOT APPROVED does not count)', async () => {
    const { runtime } = setup();
    const { members } = team(
      {
        writer: [{ text: 'draft 1' }, { text: 'draft 2 APPROVED?' }],
        reviewer: [{ text: 'NOT APPROVED: too long' }, { text: 'APPROVED, ship it' }],
      },
      'writer',
      'reviewer',
    );
    const result = await play(runtime, { name: 'review', members, terminate: approvedBy('reviewer') });
    expect(result).toMatchObject({
      rounds: 4,
      stoppedBy: 'approved by reviewer',
      final: 'APPROVED, ship it',
    });
    await runtime.close();
  });

  it('composes conditions with and/or and anyOf/allOf', async () => {
    const { runtime } = setup();
    const script = {
      writer: [{ text: 'v1' }, { text: 'v2' }, { text: 'v3' }],
      legal: [{ text: 'APPROVED' }, { text: 'APPROVED' }],
      finance: [{ text: 'NOT APPROVED' }, { text: 'APPROVED' }],
    };
    const both = team(script, 'writer', 'legal', 'finance');
    const all = await play(runtime, {
      name: 'both',
      members: both.members,
      terminate: allOf(approvedBy('legal'), approvedBy('finance')),
    });
    expect(all).toMatchObject({ rounds: 6, stoppedBy: 'approved by legal and approved by finance' });

    const either = team(script, 'writer', 'legal', 'finance');
    const any = await play(runtime, {
      name: 'either',
      members: either.members,
      terminate: approvedBy('finance').or(approvedBy('legal')),
    });
    expect(any).toMatchObject({ rounds: 2, stoppedBy: 'approved by legal' });

    const chained = team(echo, 'a', 'b');
    const and = await play(runtime, {
      name: 'chained',
      members: chained.members,
      terminate: maxRounds(2)
        .and(textMention('b'))
        .or(anyOf(textMention('a 2'))),
    });
    expect(and).toMatchObject({ rounds: 2, stoppedBy: 'max rounds (2) and "b" mentioned by b' });
    await runtime.close();
  });
});

describe('groupChat: speaker selection', () => {
  it('asks a user function, which sees the state', async () => {
    const { runtime, events } = setup();
    const { members } = team(echo, 'a', 'b', 'c');
    const states: { round: number; last: string | undefined; count: number }[] = [];
    const result = await play(runtime, {
      name: 'fn',
      members,
      maxRounds: 4,
      select: (state) => {
        states.push({ round: state.round, last: state.lastSpeaker, count: state.messages.length });
        return state.lastSpeaker === 'c' ? 'b' : 'c';
      },
    });
    expect(speakers(result)).toEqual(['c', 'b', 'c', 'b']);
    expect(states[0]).toEqual({ round: 1, last: undefined, count: 1 });
    expect(states[2]).toEqual({ round: 3, last: 'b', count: 3 });
    expect(selected(events)[0]?.reason).toBe('select function');

    const error = (await play(runtime, { name: 'fn-bad', members, select: () => 'zed' }).catch(
      (caught: unknown) => caught,
    )) as BatonError;
    expect(error.code).toBe('UNKNOWN_SPEAKER');
    expect(error.message).toContain('the select function returned "zed" in round 1');
    await runtime.close();
  });

  it('lets an LLM selector choose from names and descriptions, matching its answer leniently', async () => {
    const { runtime, events } = setup();
    const { members } = team(echo, 'writer', 'critic', 'editor');
    const selector = scriptedModel(
      ['"Critic".', 'I think **editor** should go next.', 'writer'].map((text) => ({ text })),
    );
    const result = await play(runtime, { name: 'llm', members, maxRounds: 3, select: { selector } });
    expect(speakers(result)).toEqual(['critic', 'editor', 'writer']);
    expect(selected(events).map((entry) => entry.reason)).toEqual([
      'chosen by llm-selector',
      'chosen by llm-selector',
      'chosen by llm-selector',
    ]);
    const firstPrompt = JSON.stringify(selector.calls[0]?.prompt);
    expect(firstPrompt).toContain('- critic: the critic role');
    expect(firstPrompt).toContain('[user]: Topic: naming');
    const secondPrompt = JSON.stringify(selector.calls[1]?.prompt);
    expect(secondPrompt).toContain('[critic]: critic 0');
    await runtime.close();
  });

  it('falls back (round robin or a named member) when the selector names a non-member, and says so', async () => {
    const { runtime, events } = setup();
    const { members } = team(echo, 'a', 'b', 'c');
    const selector = scriptedModel([{ text: 'b' }, { text: 'Bob' }]);
    const result = await play(runtime, { name: 'fallback', members, maxRounds: 2, select: { selector } });
    expect(speakers(result)).toEqual(['b', 'c']);
    expect(selected(events)[1]?.reason).toBe(
      'fallback-selector answered "Bob", not a member; fallback round robin: c',
    );

    const named = scriptedModel([{ text: 'nobody knows' }]);
    const toMember = await play(runtime, {
      name: 'fallback-member',
      members,
      maxRounds: 1,
      select: { selector: named, fallback: 'c' },
    });
    expect(speakers(toMember)).toEqual(['c']);
    expect(selected(events).at(-1)?.reason).toContain('not a member; fallback member: c');
    await runtime.close();
  });

  it('does not let the last speaker go again unless allowRepeat is set', async () => {
    const { runtime, events } = setup();
    const { members } = team(echo, 'a', 'b', 'c');
    const selector = scriptedModel([{ text: 'a' }, { text: 'a' }]);
    const noRepeat = await play(runtime, { name: 'norepeat', members, maxRounds: 2, select: { selector } });
    expect(speakers(noRepeat)).toEqual(['a', 'b']);
    expect(JSON.stringify(selector.calls[1]?.prompt)).toContain('Answer with one name from: b, c.');
    expect(selected(events)[1]?.reason).toContain('"a" may not speak this round; fallback round robin: b');

    const again = scriptedModel([{ text: 'a' }, { text: 'a' }]);
    const repeat = await play(runtime, {
      name: 'repeat',
      members,
      maxRounds: 2,
      select: { selector: again, allowRepeat: true },
    });
    expect(speakers(repeat)).toEqual(['a', 'a']);
    await runtime.close();
  });

  it('filters candidates, and skips the selector when only one is left', async () => {
    const { runtime, events } = setup();
    const { members } = team(echo, 'lead', 'x', 'y');
    const selector = scriptedModel([{ text: 'y' }]);
    const result = await play(runtime, {
      name: 'filtered',
      members,
      maxRounds: 2,
      select: { selector, candidates: (state) => (state.round === 1 ? ['lead'] : ['x', 'y', 'lead']) },
    });
    expect(speakers(result)).toEqual(['lead', 'y']);
    expect(selector.calls).toHaveLength(1);
    expect(selected(events)[0]?.reason).toBe('only candidate');
    expect(JSON.stringify(selector.calls[0]?.prompt)).toContain('Answer with one name from: x, y.');
    await runtime.close();
  });

  it('uses an agent as selector and counts its tokens in the budget', async () => {
    const { runtime } = setup();
    const { members } = team(
      ({ agent: name }) => ({ text: `${name} here`, usage: { inputTokens: 10, outputTokens: 0 } }),
      'a',
      'b',
      'c',
    );
    const moderatorModel = scriptedModel([
      { text: 'b', usage: { inputTokens: 100, outputTokens: 0 } },
      { text: 'a', usage: { inputTokens: 100, outputTokens: 0 } },
    ]);
    const moderator = agent({
      name: 'moderator',
      instructions: 'Pick the next speaker.',
      model: moderatorModel,
    });
    const result = await play(runtime, {
      name: 'moderated',
      members,
      select: { selector: moderator },
      terminate: tokenBudget(200),
    });
    expect(speakers(result)).toEqual(['b', 'a']);
    expect(result.stoppedBy).toBe('token budget (220 of 200 tokens)');
    expect(moderatorModel.calls[0]?.prompt[0]).toEqual({ role: 'system', content: 'Pick the next speaker.' });
    await runtime.close();
  });

  it('parses selector answers leniently', () => {
    const pool = ['critic', 'critic-2'];
    const members = ['writer', 'critic', 'critic-2'];
    expect(parseSpeaker(' `Critic-2` ', pool, members)).toEqual({ name: 'critic-2' });
    expect(parseSpeaker('Next: critic.', pool, members)).toEqual({ name: 'critic' });
    expect(parseSpeaker('critic or critic-2', pool, members)).toEqual({
      problem: 'it names several candidates (critic, critic-2)',
    });
    expect(parseSpeaker('writer', pool, members)).toEqual({ problem: '"writer" may not speak this round' });
  });
});

describe('groupChat: humans and durability', () => {
  it('lets a human speak through a signal', async () => {
    const { runtime, events } = setup();
    const { members } = team({ writer: [{ text: 'Draft: hello world' }] }, 'writer');
    const lead = human({ name: 'lead', description: 'Signs off' });
    const handle = await runtime.start(
      groupChat({ name: 'signoff', members: [...members, lead], terminate: approvedBy('lead') }),
      'Write a greeting',
    );
    while ((await runtime.get(handle.runId)).status !== 'suspended')
      await new Promise((resolve) => setTimeout(resolve, 2));
    const request = events.find((event) => event.type === 'custom' && event.name === 'human-input-requested');
    expect((request as { data: { input: string } }).data.input).toContain('[writer]: Draft: hello world');
    await runtime.signal(handle.runId, 'human:lead', { text: 'APPROVED' });
    const result = (await handle.result()) as GroupChatResult;
    expect(result).toMatchObject({ rounds: 2, stoppedBy: 'approved by lead', final: 'APPROVED' });
    expect(speakers(result)).toEqual(['writer', 'lead']);
    await runtime.close();
  });

  it('resumes after a crash mid-chat without repeating finished model calls', async () => {
    const store = createMemoryStore();
    let hang = true;
    const model = scriptedModel(async ({ agent: name, turn }) => {
      if (name === 'b' && hang) await new Promise(() => undefined);
      return { text: `${name} ${turn}` };
    });
    const a = agent({ name: 'a', instructions: 'A', model });
    const b = agent({ name: 'b', instructions: 'B', model });
    const chat = groupChat({ name: 'crashy', members: [a, b], maxRounds: 3 });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(chat, 'go');
    while (callsOf(model, 'b').length === 0) await new Promise((resolve) => setTimeout(resolve, 1));
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [chat] });
    const resumed = await second.resume(handle.runId, { force: true });
    const result = (await resumed.result()) as GroupChatResult;
    expect(result.messages.map((message) => message.text)).toEqual(['go', 'a 0', 'b 0', 'a 1']);
    // a's first turn was journaled before the crash: it was not called again.
    const turnsOfA = callsOf(model, 'a').map((call) => call.providerOptions?.baton?.turn);
    expect(turnsOfA).toEqual([0, 1]);
    // b's call was in flight: it ran again (at-least-once for the step in flight).
    expect(callsOf(model, 'b')).toHaveLength(2);
    await second.close();
  });
});

describe('groupChat: options', () => {
  const { members } = team(echo, 'a', 'b');
  it('rejects bad definitions with errors naming the chat and the field', () => {
    expect(() => groupChat({ name: 'g', members: [members[0]!] })).toThrow(
      /groupChat\("g"\): members needs at least 2 members/,
    );
    expect(() => groupChat({ name: 'g', members: [members[0]!, {} as never] })).toThrow(
      /groupChat\("g"\): members\[1\] is not an agent, workflow or pattern/,
    );
    const user = agent({ name: 'user', instructions: 'x', model: scriptedModel([]) });
    expect(() => groupChat({ name: 'g', members: [members[0]!, user] })).toThrow(/may be named "user"/);
    expect(() => groupChat({ name: 'g', members, terminate: approvedBy('boss') })).toThrow(
      /terminate refers to "boss", who is not a member \(members: a, b\)/,
    );
    expect(() => groupChat({ name: 'g', members, terminate: 'done' as never })).toThrow(
      /terminate must be a termination condition/,
    );
    expect(() => groupChat({ name: 'g', members, maxRounds: 0 })).toThrow(
      /maxRounds must be an integer >= 1/,
    );
    expect(() => groupChat({ name: 'g', members, select: 'random' as never })).toThrow(
      /select must be 'round-robin', a function/,
    );
    expect(() =>
      groupChat({ name: 'g', members, select: { selector: scriptedModel([]), fallback: 'zed' } }),
    ).toThrow(/select.fallback must be 'round-robin' or a member name \(a, b\), got "zed"/);
    expect(() => groupChat({ name: 'g', members, select: { selector: 42 as never } })).toThrow(
      /select.selector must be an agent or a model/,
    );
  });

  it('rejects bad termination conditions', () => {
    expect(() => maxRounds(0)).toThrow(/maxRounds\(\): expected an integer >= 1, got 0/);
    expect(() => tokenBudget(-5)).toThrow(/tokenBudget\(\): expected an integer >= 1/);
    expect(() => timeLimit(0)).toThrow(/timeLimit\(\): expected a positive number/);
    expect(() => textMention('')).toThrow(/textMention\(\): text must be a non-empty string/);
    expect(() => anyOf()).toThrow(/anyOf\(\): give at least one condition/);
    expect(() => allOf(maxRounds(2), 'x' as never)).toThrow(
      /allOf\(\): argument 2 is not a termination condition/,
    );
  });
});

describe('groupChat: loop detection', () => {
  /**
   * The optimist repeats itself until the chat asks it to move on (a loop warning, or a human's
   * message mentioning costs); the skeptic varies its replies.
   */
  const repetitive: ModelScript = ({ agent: name, turn, prompt }) => {
    if (name === 'skeptic') return { text: `Objection ${turn}.` };
    const seen = JSON.stringify(prompt);
    if (seen.includes('costs') || seen.includes('Loop warning')) return { text: `Cost estimate ${turn}.` };
    return { text: turn % 2 === 0 ? 'Sounds great!' : 'sounds   GREAT!' };
  };
  /** Like `repetitive`, but the optimist never listens. */
  const stubborn: ModelScript = ({ agent: name, turn }) => ({
    text: name === 'skeptic' ? `Objection ${turn}.` : 'Sounds great!',
  });

  const loopsOf = (events: BatonEvent[]) =>
    events.flatMap((event) =>
      event.type === 'loop-detected'
        ? [{ agent: event.agent, repeated: event.repeated, count: event.count, response: event.response }]
        : [],
    );

  it('stop: ends the chat cleanly when one text was said maxRepeats times (case and spaces folded)', async () => {
    const { runtime, events } = setup();
    const { members } = team(repetitive, 'optimist', 'skeptic');
    const handle = await runtime.start(
      groupChat({ name: 'debate', members, maxRounds: 20, loopDetection: { response: 'stop' } }),
      'Should we ship?',
    );
    const result = (await handle.result()) as GroupChatResult;
    expect(result).toMatchObject({
      rounds: 5,
      stoppedBy: 'loop: "Sounds great!" repeated 3 times',
      final: 'Sounds great!',
    });
    expect((await runtime.get(handle.runId)).status).toBe('completed');
    expect(loopsOf(events)).toEqual([
      { agent: 'optimist', repeated: 'the message "Sounds great!"', count: 3, response: 'stop' },
    ]);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'loop: "Sounds great!" repeated 3 times',
    });
    await runtime.close();
  });

  it('does nothing without loopDetection, and lets terminate end the chat first', async () => {
    const { runtime } = setup();
    const { members } = team(stubborn, 'optimist', 'skeptic');
    const plain = (await play(runtime, { name: 'plain', members, maxRounds: 6 })) as GroupChatResult;
    expect(plain.stoppedBy).toBe('max rounds (6)');
    const capped = (await play(runtime, {
      name: 'capped',
      members,
      maxRounds: 5,
      loopDetection: { response: 'stop' },
    })) as GroupChatResult;
    expect(capped.stoppedBy).toBe('max rounds (5)');
    await runtime.close();
  });

  it('warn (the default): the chat tells the members to move on, then stops if they loop again', async () => {
    const { runtime, events } = setup();
    const { model, members } = team(repetitive, 'optimist', 'skeptic');
    const result = (await play(runtime, {
      name: 'debate',
      members,
      maxRounds: 8,
      loopDetection: { maxRepeats: 2 },
    })) as GroupChatResult;
    expect(result.stoppedBy).toBe('max rounds (8)');
    const warning = result.messages[4];
    expect(warning?.speaker).toBe('debate');
    expect(warning?.text).toContain('Loop warning: "Sounds great!" has now been said 2 times in this chat.');
    expect(result.messages.slice(5).map((message) => message.text)).toEqual([
      'Objection 1.',
      'Cost estimate 2.',
      'Objection 2.',
      'Cost estimate 3.',
      'Objection 3.',
    ]);
    // The optimist saw the warning as a message from the chat.
    expect(JSON.stringify(callsOf(model, 'optimist')[2]?.prompt)).toContain('[debate]: Loop warning');
    expect(loopsOf(events).map((event) => event.response)).toEqual(['warn']);

    const { members: deaf } = team(stubborn, 'optimist', 'skeptic');
    const stopped = (await play(runtime, {
      name: 'deaf-debate',
      members: deaf,
      maxRounds: 20,
      loopDetection: { maxRepeats: 2, response: 'warn' },
    })) as GroupChatResult;
    // Warned at the 2nd "Sounds great!" (round 3), stopped at the 4th (round 7).
    expect(stopped).toMatchObject({ rounds: 7, stoppedBy: 'loop: "Sounds great!" repeated 4 times' });
    expect(stopped.messages.filter((message) => message.speaker === 'deaf-debate')).toHaveLength(1);
    await runtime.close();
  });

  it('escalate: suspends on loop:<chat>; "continue" passes the message on, "stop" ends the chat', async () => {
    const { runtime, events } = setup();
    const { model, members } = team(repetitive, 'optimist', 'skeptic');
    const chat = groupChat({
      name: 'debate',
      members,
      maxRounds: 20,
      loopDetection: { maxRepeats: 2, response: 'escalate' },
    });
    const handle = await runtime.start(chat, 'Should we ship?');
    await expect.poll(async () => (await runtime.get(handle.runId)).status).toBe('suspended');
    expect(callsOf(model, 'optimist')).toHaveLength(2);
    await runtime.signal(handle.runId, 'loop:debate', { action: 'continue', message: 'Talk about costs.' });
    // The optimist moves on (the message is in its prompt); nobody repeats, so the chat runs to maxRounds.
    const result = (await handle.result()) as GroupChatResult;
    expect(result.stoppedBy).toBe('max rounds (20)');
    expect(result.messages[4]).toEqual({ speaker: 'debate', text: 'Talk about costs.' });
    expect(JSON.stringify(callsOf(model, 'optimist')[2]?.prompt)).toContain('[debate]: Talk about costs.');
    // Emitted when the loop is seen, and again when the run resumes on the signal (a wait is
    // journaled once answered, so the resumed run reaches the detection afresh).
    expect(new Set(loopsOf(events).map((event) => event.response))).toEqual(new Set(['escalate']));

    const { members: deaf } = team(stubborn, 'optimist', 'skeptic');
    const stubbornChat = groupChat({
      name: 'deaf-debate',
      members: deaf,
      maxRounds: 20,
      loopDetection: { maxRepeats: 2, response: 'escalate' },
    });
    const second = await runtime.start(stubbornChat, 'Should we ship?');
    await expect.poll(async () => (await runtime.get(second.runId)).status).toBe('suspended');
    await runtime.signal(second.runId, 'loop:deaf-debate', { action: 'continue' });
    // Counting starts afresh: two more "Sounds great!" (rounds 5 and 7) escalate again.
    await expect.poll(async () => (await runtime.get(second.runId)).status).toBe('suspended');
    await runtime.signal(second.runId, 'loop:deaf-debate', { action: 'stop' });
    const ended = (await second.result()) as GroupChatResult;
    expect(ended).toMatchObject({ rounds: 7, stoppedBy: 'loop: "Sounds great!" repeated 4 times' });
    expect((await runtime.get(second.runId)).status).toBe('completed');
    await runtime.close();
  });

  it('escalate: the wait survives a restart, and the replay does not call the models again', async () => {
    const store = createMemoryStore();
    const { model, members } = team(stubborn, 'optimist', 'skeptic');
    const chat = groupChat({
      name: 'durable-debate',
      members,
      maxRounds: 20,
      loopDetection: { response: 'escalate' },
    });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(chat, 'Should we ship?');
    await expect.poll(async () => (await first.get(handle.runId)).status).toBe('suspended');
    expect(model.calls).toHaveLength(5);
    await first.close();
    const second = createRuntime({ store, recover: false, workflows: [chat] });
    await second.signal(handle.runId, 'loop:durable-debate', { action: 'stop' });
    const result = (await (await second.resume(handle.runId)).result()) as GroupChatResult;
    expect(result).toMatchObject({ rounds: 5, stoppedBy: 'loop: "Sounds great!" repeated 3 times' });
    expect(model.calls).toHaveLength(5);
    await second.close();
  });

  it('rejects bad loopDetection options, naming the chat and the field', () => {
    const { members } = team(echo, 'a', 'b');
    expect(() => groupChat({ name: 'g', members, loopDetection: { maxRepeats: 1 } })).toThrow(
      /groupChat\("g"\): loopDetection.maxRepeats must be an integer >= 2, got 1/,
    );
    expect(() => groupChat({ name: 'g', members, loopDetection: { response: 'ignore' as never } })).toThrow(
      /groupChat\("g"\): loopDetection.response must be 'stop', 'warn' or 'escalate', got "ignore"/,
    );
    expect(() => groupChat({ name: 'g', members, loopDetection: 3 as never })).toThrow(
      /groupChat\("g"\): loopDetection must be an object/,
    );
  });
});

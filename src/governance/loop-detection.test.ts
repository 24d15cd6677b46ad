import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import type { BatonEvent } from '../core/events.js';
import { createRuntime } from '../core/runtime.js';
import { type GroupChatResult, groupChat } from '../patterns/group-chat.js';
import { maxRounds, terminateWhen } from '../patterns/termination.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { checkLoopResponse, findRepeatedText, foldText, ToolCallLoopDetector } from './loop-detection.js';

let searches = 0;
const search = tool({
  name: 'search',
  description: 'Searches the web',
  input: z.object({ query: z.string(), page: z.number().optional() }),
  execute: ({ query }) => {
    searches++;
    return `nothing found for ${query}`;
  },
});

/** A model that searches for the same thing until it is told it loops (or until `limit` turns). */
function stubbornModel(limit = 10) {
  return scriptedModel(({ turn, prompt }) => {
    const told = JSON.stringify(prompt);
    if (told.includes('Try the archive')) return { text: 'Found it in the archive.' };
    if (told.includes('Loop warning')) return { text: 'I could not find it.' };
    if (turn >= limit) return { text: 'giving up' };
    return { toolCalls: [{ tool: 'search', input: { page: 1, query: 'lost cat' } }] };
  });
}

function setup() {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

describe('loop detection', () => {
  it('stops the run with LOOP_DETECTED before the repeated call runs again', async () => {
    const { runtime, events } = setup();
    const searcher = agent({
      name: 'searcher',
      instructions: 'Search.',
      model: stubbornModel(),
      tools: [search],
      loopDetection: { maxRepeats: 3, response: 'stop' },
    });
    const before = searches;
    const handle = await runtime.start(searcher, 'Find my cat');
    await expect(handle.result()).rejects.toMatchObject({
      code: 'LOOP_DETECTED',
      agent: 'searcher',
      repeated: 'the tool call search({"page":1,"query":"lost cat"})',
    });
    expect(searches - before).toBe(2);
    expect(events.find((event) => event.type === 'loop-detected')).toMatchObject({
      count: 3,
      response: 'stop',
    });
    expect((await runtime.get(handle.runId)).status).toBe('failed');
    await runtime.close();
  });

  it('warns the model in a user message, then stops if it keeps repeating', async () => {
    const { runtime } = setup();
    const model = stubbornModel();
    const searcher = agent({
      name: 'searcher',
      instructions: 'Search.',
      model,
      tools: [search],
      loopDetection: { maxRepeats: 2, response: 'warn' },
    });
    const handle = await runtime.start(searcher, 'Find my cat');
    expect(await handle.result()).toBe('I could not find it.');
    const last = model.calls.at(-1)?.prompt.at(-1);
    expect(last?.role).toBe('user');
    expect(JSON.stringify(last)).toContain('Loop warning: you have made the tool call search');

    // A model that ignores the warning is stopped at twice the limit.
    const deaf = agent({
      name: 'deaf',
      instructions: 'Search.',
      model: scriptedModel(() => ({ toolCalls: [{ tool: 'search', input: { query: 'x' } }] })),
      tools: [search],
      loopDetection: { maxRepeats: 2, response: 'warn' },
    });
    await expect((await runtime.start(deaf, 'Find x')).result()).rejects.toMatchObject({
      code: 'LOOP_DETECTED',
    });
    await runtime.close();
  });

  it('escalates to a human through a durable wait on loop:<agent>, who can continue with a hint or stop', async () => {
    const { runtime } = setup();
    const searcher = agent({
      name: 'searcher',
      instructions: 'Search.',
      model: stubbornModel(),
      tools: [search],
      loopDetection: { maxRepeats: 2, response: 'escalate' },
    });
    const handle = await runtime.start(searcher, 'Find my cat');
    await expect.poll(async () => (await runtime.get(handle.runId)).status).toBe('suspended');
    await runtime.signal(handle.runId, 'loop:searcher', { action: 'continue', message: 'Try the archive.' });
    expect(await handle.result()).toBe('Found it in the archive.');

    const stopped = await runtime.start(searcher, 'Find my cat');
    await expect.poll(async () => (await runtime.get(stopped.runId)).status).toBe('suspended');
    await runtime.signal(stopped.runId, 'loop:searcher', { action: 'stop' });
    await expect(stopped.result()).rejects.toMatchObject({ code: 'LOOP_DETECTED' });
    await runtime.close();
  });

  it('counts identical calls regardless of key order, and finds repeated group chat text', () => {
    const detector = new ToolCallLoopDetector(2);
    expect(detector.observe([{ toolName: 'a', input: { x: 1, y: 2 } }])).toBeUndefined();
    expect(detector.observe([{ toolName: 'a', input: { y: 2, x: 1 } }])).toMatchObject({ count: 2 });
    expect(detector.observe([{ toolName: 'a', input: { x: 2, y: 2 } }])).toBeUndefined();
    expect(findRepeatedText(['ok', 'Looks good.', 'looks  good.', 'LOOKS GOOD.'], 3)).toBe('Looks good.');
    expect(findRepeatedText(['a', 'b', 'a'], 3)).toBeUndefined();
  });

  it('stops a group chat whose members keep saying the same thing', async () => {
    const { runtime } = setup();
    const model = scriptedModel(({ agent: name }) => ({
      text: name === 'optimist' ? 'Sounds great!' : 'I disagree.',
    }));
    const members = ['optimist', 'skeptic'].map((name) =>
      agent({ name, instructions: `You are ${name}.`, model }),
    );
    const repetition = terminateWhen((state) => {
      const repeated = findRepeatedText(
        state.messages.map((message) => message.text),
        3,
      );
      return repeated === undefined ? undefined : `repeated: ${repeated}`;
    }, 'repetition');
    const chat = groupChat({ name: 'debate', members, terminate: repetition.or(maxRounds(20)) });
    const result = (await (await runtime.start(chat, 'Should we ship?')).result()) as GroupChatResult;
    expect(result.stoppedBy).toBe('repeated: Sounds great!');
    expect(result.rounds).toBe(5);
    await runtime.close();
  });

  it('refuses bad options when defining', () => {
    expect(() =>
      agent({ name: 'a', instructions: 'x', model: 'openai:gpt-4o', loopDetection: { maxRepeats: 1 } }),
    ).toThrow(/loopDetection.maxRepeats must be an integer >= 2/);
    expect(() =>
      agent({ name: 'a', instructions: 'x', model: 'openai:gpt-4o', loopDetection: 'warn' as never }),
    ).toThrow(/agent\("a"\): loopDetection must be an object/);
    expect(() =>
      agent({
        name: 'a',
        instructions: 'x',
        model: 'openai:gpt-4o',
        loopDetection: { response: 'halt' as never },
      }),
    ).toThrow(/loopDetection.response must be 'stop', 'warn' or 'escalate', got "halt"/);
  });

  it('shares one response vocabulary and one text folding across the kinds of loop', () => {
    expect(checkLoopResponse(undefined, 'handoff("h")', 'loopResponse', 'stop')).toBe('stop');
    expect(checkLoopResponse('escalate', 'handoff("h")', 'loopResponse', 'stop')).toBe('escalate');
    expect(() => checkLoopResponse('retry', 'handoff("h")', 'loopResponse', 'stop')).toThrow(
      /handoff\("h"\): loopResponse must be 'stop', 'warn' or 'escalate', got "retry"/,
    );
    expect(foldText('  Looks \n GOOD. ')).toBe('looks good.');
    expect(foldText('Looks good.')).toBe(foldText('LOOKS  GOOD.'));
  });
});

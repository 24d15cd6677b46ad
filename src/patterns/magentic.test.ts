import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { type BatonError, ConfigError, type ModelBehaviorError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime, type Runtime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { createFakeClock } from '../testing/fake-clock.js';
import { type ScriptedRequest, type ScriptedTurn, scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { human } from './human.js';
import { type MagenticResult, magentic } from './magentic.js';
import { extractJsonObject, matchMember, parseProgressLedger, parseTaskLedger } from './magentic-ledger.js';

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });

/** The text of a prompt's last user message. */
function lastUserText(prompt: LanguageModelV3Prompt): string {
  for (let index = prompt.length - 1; index >= 0; index--) {
    const message = prompt[index];
    if (message?.role === 'user')
      return message.content.map((part) => (part.type === 'text' ? part.text : '')).join('');
  }
  return '';
}

/** The text of a prompt's first user message (the ledger request, even on a re-ask). */
function firstUserText(prompt: LanguageModelV3Prompt): string {
  const message = prompt.find((item) => item.role === 'user');
  return message?.role === 'user'
    ? message.content.map((part) => (part.type === 'text' ? part.text : '')).join('')
    : '';
}

const taskLedger = (plan: string[], given: string[] = ['the task as stated']) =>
  JSON.stringify({ facts: { given, toLookUp: ['the data'], toDerive: [], guesses: [] }, plan });

interface Progress {
  done?: boolean;
  loop?: boolean;
  progress?: boolean;
  speaker?: string;
  instruction?: string;
}
const progressLedger = ({
  done = false,
  loop = false,
  progress = true,
  speaker = 'worker',
  instruction = 'do the next step',
}: Progress = {}) =>
  JSON.stringify({
    requestSatisfied: { answer: done, reason: done ? 'all done' : 'not yet' },
    inLoop: { answer: loop, reason: loop ? 'same request twice' : 'no repetition' },
    progressBeingMade: { answer: progress, reason: progress ? 'new results' : 'nothing new' },
    nextSpeaker: { answer: speaker, reason: `${speaker} can do it` },
    instruction: { answer: instruction, reason: 'next step of the plan' },
  });

type Kind = 'task' | 'replan' | 'progress' | 'final';
function kindOf(request: ScriptedRequest): { kind: Kind; round: number } {
  const text = firstUserText(request.prompt);
  if (text.startsWith('# Task ledger')) return { kind: 'task', round: 0 };
  if (text.startsWith('# Replan')) return { kind: 'replan', round: 0 };
  if (text.startsWith('# Final answer')) return { kind: 'final', round: 0 };
  const round = /^# Progress check \(round (\d+)\)/.exec(text)?.[1];
  if (round !== undefined) return { kind: 'progress', round: Number(round) };
  throw new Error(`unexpected manager prompt: ${text.slice(0, 80)}`);
}

/** A scripted manager: `answer(kind, round, request)` gives the text of each reply. */
function managerModel(answer: (kind: Kind, round: number, request: ScriptedRequest) => string) {
  return scriptedModel((request): ScriptedTurn => {
    const { kind, round } = kindOf(request);
    return { text: answer(kind, round, request) };
  });
}

function callsOf(model: ReturnType<typeof scriptedModel>, kind: Kind): string[] {
  return model.calls
    .map((call) => call.prompt)
    .filter((prompt) => kindOf({ prompt, tools: [], turn: 0, options: {} as never }).kind === kind)
    .map(lastUserText);
}

async function waitUntil(check: () => boolean | Promise<boolean>, tick?: () => void): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > 5000) throw new Error('condition not met in time');
    tick?.();
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const suspended = (rt: Runtime, runId: string) => async () => (await rt.get(runId)).status === 'suspended';

describe('magentic', () => {
  it('stalls, resets with a new plan and still finishes', async () => {
    const manager = managerModel((kind, round) => {
      if (kind === 'task') return taskLedger(['worker: try approach A']);
      if (kind === 'replan') return taskLedger(['worker: try approach B'], ['approach A fails']);
      if (kind === 'final') return 'The answer is B.';
      if (round === 1) return progressLedger({ progress: false, instruction: 'try approach A' });
      if (round === 2) return progressLedger({ loop: true, instruction: 'try approach A again' });
      if (round === 3) return progressLedger({ instruction: 'try approach B' });
      return progressLedger({ done: true });
    });
    const workerModel = scriptedModel({
      worker: [{ text: 'approach A failed' }, { text: 'approach B worked' }],
    });
    const worker = agent({
      name: 'worker',
      description: 'Does the work',
      instructions: 'Work.',
      model: workerModel,
    });
    const team = magentic({ name: 'stall-team', manager, members: [worker], maxStalls: 1 });
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const handle = await rt.start(team, 'Find the working approach');
    const result = await handle.result();

    expect(result).toMatchObject({
      answer: 'The answer is B.',
      stoppedBy: 'satisfied',
      rounds: 4,
      resets: 1,
      stalls: 2,
      taskLedger: { plan: ['worker: try approach B'], facts: { given: ['approach A fails'] } },
    });
    expect(result.progress).toHaveLength(4);
    // The worker kept its turn numbering across its two turns (shared turn counter): two different replies.
    expect(workerModel.calls).toHaveLength(2);

    const journal = await rt.journal(handle.runId);
    const taskEntries = journal.filter((entry) => entry.name === 'ledger:task');
    expect(
      taskEntries.map((entry) => [entry.meta?.round, (entry.result as { reason: string }).reason]),
    ).toEqual([
      [0, 'initial'],
      [2, 'replan'],
    ]);
    expect(
      taskEntries.every((entry) => entry.meta?.ledger === 'task' && entry.meta.pattern === 'magentic'),
    ).toBe(true);
    expect(
      journal.filter((entry) => entry.name === 'ledger:progress').map((entry) => entry.meta?.round),
    ).toEqual([1, 2, 3, 4]);
    const reset = journal.find(
      (entry) => entry.name === 'decision:magentic' && entry.meta?.decision === 'reset',
    );
    expect(reset?.result).toEqual({
      decision: 'reset',
      reasons: ['stall counter 2 passed maxStalls 1', 'same request twice'],
      data: { round: 2, resets: 1 },
    });

    // The replan saw what the attempt learned; the conversation then restarted from the new plan.
    expect(callsOf(manager, 'replan')[0]).toContain('approach A failed');
    const round3 = callsOf(manager, 'progress').find((text) => text.includes('(round 3)'))!;
    expect(round3).toContain('try approach B');
    expect(round3).not.toContain('approach A failed');
    const final = callsOf(manager, 'final')[0]!;
    expect(final).toContain('approach A failed');
    expect(final).toContain('approach B worked');

    const types = events.filter((event) => event.runId === handle.runId).map((event) => event.type);
    expect(types.filter((type) => type === 'speaker-selected')).toHaveLength(2);
    expect(types.filter((type) => type === 'ledger-update')).toHaveLength(6);
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'satisfied' });
    await rt.close();
  });

  it('finishes at once when the first progress ledger says the request is satisfied', async () => {
    const manager = managerModel((kind) =>
      kind === 'task'
        ? taskLedger(['answer from memory'])
        : kind === 'final'
          ? 'Paris.'
          : progressLedger({ done: true, speaker: '' }),
    );
    const workerModel = scriptedModel([]);
    const worker = agent({ name: 'worker', instructions: 'Work.', model: workerModel });
    const rt = runtime();
    const result = await (
      await rt.start(magentic({ name: 'direct', manager, members: [worker] }), 'Capital of France?')
    ).result();
    expect(result).toMatchObject({
      answer: 'Paris.',
      stoppedBy: 'satisfied',
      rounds: 1,
      resets: 0,
      stalls: 0,
    });
    expect(workerModel.calls).toHaveLength(0);
    expect(callsOf(manager, 'final')[0]).toContain('The manager judged the task complete: all done');
    await rt.close();
  });

  it('stops at maxRounds with a synthesized answer, and lets the stall counter decay on good rounds', async () => {
    const manager = managerModel((kind, round) => {
      if (kind === 'task') return taskLedger(['worker: keep going']);
      if (kind === 'final') return 'Partial answer: steps 1-4 done, step 5 missing.';
      // stalled, good, stalled, good: with decay the counter goes 1, 0, 1, 0 and never exceeds maxStalls 1
      // (without it, round 3 would reach 2 and reset).
      return progressLedger({ progress: round % 2 === 0, instruction: `step ${round}` });
    });
    const worker = agent({
      name: 'worker',
      instructions: 'Work.',
      model: scriptedModel(({ turn }) => ({ text: `did step ${turn + 1}` })),
    });
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const result = await (
      await rt.start(
        magentic({ name: 'capped', manager, members: [worker], maxRounds: 4, maxStalls: 1 }),
        'Long task',
      )
    ).result();
    expect(result).toMatchObject({
      answer: 'Partial answer: steps 1-4 done, step 5 missing.',
      stoppedBy: 'max rounds',
      rounds: 4,
      resets: 0,
      stalls: 2,
    });
    const final = callsOf(manager, 'final')[0]!;
    expect(final).toContain('used all 4 rounds');
    expect(final).toContain('did step 4');
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({ outcome: 'max rounds' });
    await rt.close();
  });

  it('stops after maxResets when the team keeps stalling, still with an answer', async () => {
    let replans = 0;
    const manager = managerModel((kind) => {
      if (kind === 'task') return taskLedger(['worker: try']);
      if (kind === 'replan') return taskLedger([`worker: try plan ${++replans + 1}`]);
      if (kind === 'final') return 'No answer found; the data source was unreachable.';
      return progressLedger({ progress: false });
    });
    const worker = agent({ name: 'worker', instructions: 'Work.', model: scriptedModel([]) });
    const rt = runtime();
    const handle = await rt.start(
      magentic({ name: 'stuck', manager, members: [worker], maxStalls: 0, maxResets: 1 }),
      'Impossible task',
    );
    const result = await handle.result();
    expect(result).toMatchObject({
      answer: 'No answer found; the data source was unreachable.',
      stoppedBy: 'max resets',
      rounds: 2,
      resets: 1,
      stalls: 2,
      taskLedger: { plan: ['worker: try plan 2'] },
    });
    expect(callsOf(manager, 'final')[0]).toContain('kept stalling after 1 replans');
    const journal = await rt.journal(handle.runId);
    expect(journal.filter((entry) => entry.name === 'ledger:task')).toHaveLength(2);
    await rt.close();
  });

  it('asks the manager again when a ledger cannot be parsed, and accepts a fenced, loosely keyed one', async () => {
    const manager = managerModel((kind, _round, request) => {
      if (kind === 'task') return taskLedger(['worker: work']);
      if (kind === 'final') return 'done';
      const reAsked = request.prompt.some((message) => message.role === 'assistant');
      if (!reAsked) return 'The worker should go next, I think.';
      return (
        'Here it is:\n```json\n' +
        JSON.stringify({
          RequestSatisfied: { Answer: 'no', Reason: 'nothing yet' },
          is_in_loop: { answer: false, reason: '' },
          progress_being_made: true,
          next_speaker: { answer: 'worker', reason: 'only member' },
          Instruction: { answer: 'do it', reason: '' },
        }) +
        '\n```'
      );
    });
    const worker = agent({
      name: 'worker',
      instructions: 'Work.',
      model: scriptedModel([{ text: 'did it' }]),
    });
    const rt = runtime();
    const result = await (
      await rt.start(magentic({ name: 'retry', manager, members: [worker], maxRounds: 1 }), 'Task')
    ).result();
    expect(result.progress[0]).toEqual({
      requestSatisfied: { answer: false, reason: 'nothing yet' },
      inLoop: { answer: false, reason: '' },
      progressBeingMade: { answer: true, reason: '' },
      nextSpeaker: { answer: 'worker', reason: 'only member' },
      instruction: { answer: 'do it', reason: '' },
    });
    const progressCalls = manager.calls.filter((call) => firstUserText(call.prompt).startsWith('# Progress'));
    expect(progressCalls).toHaveLength(2);
    const retry = progressCalls[1]!.prompt;
    expect(retry.some((message) => message.role === 'assistant')).toBe(true);
    expect(lastUserText(retry)).toContain('could not be used: the reply contains no JSON object');
    await rt.close();
  });

  it('fails with LEDGER_UNPARSEABLE and the raw text after maxParseRetries', async () => {
    const manager = managerModel((kind) =>
      kind === 'task' ? 'I would rather not write JSON.' : 'unreachable',
    );
    const worker = agent({ name: 'worker', instructions: 'Work.', model: scriptedModel([]) });
    const rt = runtime();
    const error = (await (
      await rt.start(magentic({ name: 'garbled', manager, members: [worker], maxParseRetries: 1 }), 'Task')
    )
      .result()
      .catch((caught: unknown) => caught)) as ModelBehaviorError;
    expect(error.code).toBe('LEDGER_UNPARSEABLE');
    expect(error.fault).toBe('model');
    expect(error.rawOutput).toBe('I would rather not write JSON.');
    expect(error.message).toContain('task ledger (round 0) 2 times');
    expect(manager.calls).toHaveLength(2);
    await rt.close();
  });

  it('re-asks when nextSpeaker is not a member, and resolves a loosely spelled member name', async () => {
    const manager = managerModel((kind, round, request) => {
      if (kind === 'task') return taskLedger(['web-surfer: search']);
      if (kind === 'final') return 'found';
      if (round === 2) return progressLedger({ done: true });
      const reAsked = request.prompt.some((message) => message.role === 'assistant');
      return progressLedger({ speaker: reAsked ? 'Web Surfer' : 'Wizard', instruction: 'search' });
    });
    const surferModel = scriptedModel([{ text: 'results' }]);
    const surfer = agent({ name: 'web-surfer', instructions: 'Search.', model: surferModel });
    const other = agent({ name: 'coder', instructions: 'Code.', model: scriptedModel([]) });
    const rt = runtime();
    const events: BatonEvent[] = [];
    rt.on((event) => events.push(event));
    const handle = await rt.start(magentic({ name: 'names', manager, members: [surfer, other] }), 'Search');
    const result = await handle.result();
    expect(result.progress[0]?.nextSpeaker.answer).toBe('web-surfer');
    expect(surferModel.calls).toHaveLength(1);
    const retry = manager.calls.find((call) =>
      lastUserText(call.prompt).startsWith('Your reply could not be used'),
    );
    expect(lastUserText(retry!.prompt)).toContain(
      'nextSpeaker "Wizard" is not a team member; choose exactly one of: web-surfer, coder',
    );
    expect(events.find((event) => event.type === 'speaker-selected')).toMatchObject({
      speaker: 'web-surfer',
      round: 1,
    });
    await rt.close();
  });

  it('runs workflow members as child runs and reports a failing member to the manager', async () => {
    const manager = managerModel((kind, round) => {
      if (kind === 'task') return taskLedger(['fetcher: fetch', 'summarizer: summarize']);
      if (kind === 'final') return 'summary';
      if (round === 1) return progressLedger({ speaker: 'fetcher', instruction: 'fetch the page' });
      if (round === 2) return progressLedger({ speaker: 'summarizer', instruction: 'summarize' });
      return progressLedger({ done: true });
    });
    const fetcher = workflow({ name: 'fetcher' }, async () => {
      throw new Error('service down');
    });
    const summarizer = workflow({ name: 'summarizer' }, async (ctx, prompt: string) =>
      ctx.step('summarize', () => `summary of ${prompt.length} characters`),
    );
    const rt = runtime();
    const handle = await rt.start(
      magentic({ name: 'fallible', manager, members: [fetcher, summarizer] }),
      'Task',
    );
    const result = await handle.result();
    expect(result.stoppedBy).toBe('satisfied');
    const round2 = callsOf(manager, 'progress').find((text) => text.includes('(round 2)'))!;
    expect(round2).toContain('fetcher failed: service down');
    const journal = await rt.journal(handle.runId);
    expect(journal.filter((entry) => entry.kind === 'child').map((entry) => entry.name)).toEqual([
      'run:fetcher',
      'run:summarizer',
    ]);
    await rt.close();
  });

  describe('human members', () => {
    const newsroomManager = () =>
      managerModel((kind, round) => {
        if (kind === 'task') return taskLedger(['editor: approve the headline']);
        if (kind === 'final') return 'Headline decided.';
        if (round === 1) return progressLedger({ speaker: 'editor', instruction: 'Approve "Rates fall"?' });
        return progressLedger({ done: true });
      });

    it('waits for the person and gives the manager their reply', async () => {
      const manager = newsroomManager();
      const rt = runtime();
      const events: BatonEvent[] = [];
      rt.on((event) => events.push(event));
      const editor = human({ name: 'editor', description: 'Approves headlines' });
      const handle = await rt.start(magentic({ name: 'newsroom', manager, members: [editor] }), 'Publish');
      await waitUntil(suspended(rt, handle.runId));
      const request = events.find((event) => event.type === 'custom');
      expect(request).toMatchObject({
        name: 'human-input-requested',
        data: { member: 'editor', signal: 'human:editor' },
      });
      expect((request as { data: { input: string } }).data.input).toContain('Approve "Rates fall"?');
      expect(callsOf(manager, 'task')[0]).toContain('- editor: Approves headlines');
      await rt.signal(handle.runId, 'human:editor', { text: 'Yes, ship it.' });
      expect((await handle.result()).answer).toBe('Headline decided.');
      expect(callsOf(manager, 'progress').find((text) => text.includes('(round 2)'))).toContain(
        'editor replied: Yes, ship it.',
      );
      await rt.close();
    });

    it('reports a person who does not answer in time to the manager instead of failing', async () => {
      const clock = createFakeClock(0);
      const rt = createRuntime({ store: createMemoryStore(), recover: false, clock, inlineWaitMs: 0 });
      const manager = newsroomManager();
      const editor = human({ name: 'editor', timeoutMs: 60_000 });
      const handle = await rt.start(
        magentic({ name: 'newsroom-late', manager, members: [editor] }),
        'Publish',
      );
      await waitUntil(suspended(rt, handle.runId));
      clock.advance(60_000);
      expect((await handle.result()).stoppedBy).toBe('satisfied');
      expect(callsOf(manager, 'progress').find((text) => text.includes('(round 2)'))).toContain(
        'editor failed: human("editor") did not answer within 60000 ms',
      );
      await rt.close();
    });
  });

  describe('plan review', () => {
    const reviewedManager = () =>
      managerModel((kind) => {
        if (kind === 'task') return taskLedger(['worker: plan one']);
        if (kind === 'replan') return taskLedger(['worker: plan two']);
        if (kind === 'final') return 'done';
        return progressLedger({ done: true });
      });
    const worker = agent({ name: 'worker', instructions: 'Work.', model: scriptedModel([]) });

    it('waits for approval before the team starts', async () => {
      const manager = reviewedManager();
      const rt = runtime();
      const events: BatonEvent[] = [];
      rt.on((event) => events.push(event));
      const handle = await rt.start(
        magentic({ name: 'reviewed', manager, members: [worker], reviewPlan: {} }),
        'T',
      );
      await waitUntil(suspended(rt, handle.runId));
      expect(events.find((event) => event.type === 'custom')).toMatchObject({
        name: 'plan-review-requested',
        data: { signal: 'plan-review', plan: ['worker: plan one'], round: 0 },
      });
      expect(callsOf(manager, 'progress')).toHaveLength(0);
      await rt.signal(handle.runId, 'plan-review', { approve: true });
      const result = await handle.result();
      expect(result.taskLedger.plan).toEqual(['worker: plan one']);
      const journal = await rt.journal(handle.runId);
      expect(journal.some((entry) => entry.meta?.decision === 'plan-approved')).toBe(true);
      await rt.close();
    });

    it('replans with the feedback of a rejection, then waits for a review of the new plan', async () => {
      const manager = reviewedManager();
      const rt = runtime();
      const handle = await rt.start(
        magentic({ name: 'rejected', manager, members: [worker], reviewPlan: {} }),
        'T',
      );
      await waitUntil(suspended(rt, handle.runId));
      await rt.signal(handle.runId, 'plan-review', {
        approve: false,
        feedback: 'Check the 2023 figures first.',
      });
      await waitUntil(
        async () => callsOf(manager, 'replan').length === 1 && (await suspended(rt, handle.runId)()),
      );
      expect(callsOf(manager, 'replan')[0]).toContain('Check the 2023 figures first.');
      await rt.signal(handle.runId, 'plan-review', { approve: true });
      const result = await handle.result();
      expect(result.taskLedger.plan).toEqual(['worker: plan two']);
      const journal = await rt.journal(handle.runId);
      expect(
        journal
          .filter((entry) => entry.name === 'ledger:task')
          .map((entry) => (entry.result as { reason: string }).reason),
      ).toEqual(['initial', 'revised']);
      await rt.close();
    });

    it('takes an edited plan from the reviewer', async () => {
      const rt = runtime();
      const team = magentic({
        name: 'edited',
        manager: reviewedManager(),
        members: [worker],
        reviewPlan: {},
      });
      const handle = await rt.start(team, 'T');
      await waitUntil(suspended(rt, handle.runId));
      await rt.signal(handle.runId, 'plan-review', { plan: ['worker: my own plan'] });
      expect((await handle.result()).taskLedger.plan).toEqual(['worker: my own plan']);
      await rt.close();
    });

    it('fails with PLAN_REJECTED when rejections exceed maxRevisions', async () => {
      const rt = runtime();
      const team = magentic({
        name: 'refused',
        manager: reviewedManager(),
        members: [worker],
        reviewPlan: { maxRevisions: 0 },
      });
      const handle = await rt.start(team, 'T');
      await waitUntil(suspended(rt, handle.runId));
      await rt.signal(handle.runId, 'plan-review', { approve: false, feedback: 'No.' });
      const error = (await handle.result().catch((caught: unknown) => caught)) as BatonError;
      expect(error.code).toBe('PLAN_REJECTED');
      expect(error.message).toContain('last feedback: No.');
      await rt.close();
    });

    it('proceeds with the plan when the review times out', async () => {
      const clock = createFakeClock(1_000_000);
      const rt = createRuntime({ store: createMemoryStore(), recover: false, clock, inlineWaitMs: 0 });
      const manager = reviewedManager();
      const team = magentic({ name: 'timed', manager, members: [worker], reviewPlan: { timeoutMs: 60_000 } });
      const handle = await rt.start(team, 'T');
      await waitUntil(suspended(rt, handle.runId));
      expect((await rt.get(handle.runId)).wakeAt).toBe(1_060_000);
      clock.advance(60_000);
      const result = await handle.result();
      expect(result).toMatchObject({ stoppedBy: 'satisfied', taskLedger: { plan: ['worker: plan one'] } });
      const journal = await rt.journal(handle.runId);
      expect(journal.some((entry) => entry.meta?.decision === 'plan-review-timeout')).toBe(true);
      await rt.close();
    });
  });

  it('resumes after a crash in a member tool call without repeating finished model calls', async () => {
    const store = createMemoryStore();
    let hang = true;
    let executions = 0;
    const fetchPage = tool({
      name: 'fetch_page',
      description: 'Fetch a page',
      input: z.object({ url: z.string() }),
      execute: async ({ url }) => {
        executions++;
        if (hang) await new Promise(() => undefined);
        return `content of ${url}`;
      },
    });
    const manager = managerModel((kind, round) => {
      if (kind === 'task') return taskLedger(['surfer: fetch the page']);
      if (kind === 'final') return 'The page says hello.';
      return round === 1
        ? progressLedger({ speaker: 'surfer', instruction: 'fetch a.com' })
        : progressLedger({ done: true });
    });
    const surferModel = scriptedModel({
      surfer: [{ toolCalls: [{ tool: 'fetch_page', input: { url: 'a.com' } }] }, { text: 'it says hello' }],
    });
    const surfer = agent({ name: 'surfer', instructions: 'Browse.', model: surferModel, tools: [fetchPage] });
    const team = magentic({ name: 'crashy', manager, members: [surfer] });
    const first = createRuntime({ store, recover: false });
    const handle = await first.start(team, 'What does a.com say?');
    await waitUntil(() => executions === 1);
    expect(manager.calls).toHaveLength(2);
    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [team] });
    const resumed = await second.resume(handle.runId, { force: true });
    const result = (await resumed.result()) as MagenticResult;
    expect(result).toMatchObject({ answer: 'The page says hello.', stoppedBy: 'satisfied', rounds: 2 });
    // Ledger, round 1, round 2, final answer: each asked once. The surfer's tool call was in flight: run again.
    expect(manager.calls.map((call) => kindOf({ prompt: call.prompt } as ScriptedRequest).kind)).toEqual([
      'task',
      'progress',
      'progress',
      'final',
    ]);
    expect(surferModel.calls).toHaveLength(2);
    expect(executions).toBe(2);
    expect(callsOf(manager, 'final')[0]).toContain('surfer replied: it says hello');
    await second.close();
  });

  it('rejects bad definitions with ConfigErrors that say what and where', () => {
    const model = scriptedModel([]);
    const worker = agent({ name: 'worker', instructions: 'Work.', model });
    const build = (options: Partial<Parameters<typeof magentic>[0]>) => () =>
      magentic({ name: 'team', manager: model, members: [worker], ...options });
    expect(build({ members: [] })).toThrow(ConfigError);
    expect(build({ members: [] })).toThrow(/magentic\("team"\): members must be a non-empty array/);
    expect(build({ members: [worker, {} as never] })).toThrow(
      /members\[1\] is not an agent, workflow or pattern/,
    );
    expect(build({ members: [worker, worker] })).toThrow(/two members named "worker"/);
    expect(build({ members: [agent({ name: 'manager', instructions: 'x', model })] })).toThrow(
      /members\[0\] is named "manager" like the manager/,
    );
    expect(build({ manager: 42 as never })).toThrow(/manager must be an agent or a model/);
    expect(
      build({
        manager: agent({ name: 'boss', instructions: 'x', model, output: z.object({ a: z.string() }) }),
      }),
    ).toThrow(/manager agent "boss" has an output schema/);
    expect(build({ maxRounds: 0 })).toThrow(/maxRounds must be an integer >= 1, got 0/);
    expect(build({ maxStalls: -1 })).toThrow(/maxStalls must be an integer >= 0/);
    expect(build({ maxResets: 1.5 })).toThrow(/maxResets must be an integer >= 0/);
    expect(build({ maxParseRetries: -1 })).toThrow(/maxParseRetries must be an integer >= 0/);
    expect(build({ reviewPlan: { timeoutMs: 0 } })).toThrow(/reviewPlan.timeoutMs must be an integer >= 1/);
    expect(build({ name: 'bad name' })).toThrow(/Invalid pattern name/);
    expect(build({ manager: agent({ name: 'boss', instructions: 'x', model }) })).not.toThrow();
  });
});

describe('magentic ledger parsing', () => {
  it('finds the first JSON object in prose, fences and trailing commas', () => {
    expect(extractJsonObject('Sure: {"a": {"b": "}"}} and {"c": 1}')).toEqual({
      ok: true,
      value: { a: { b: '}' } },
    });
    expect(extractJsonObject('```json\n{"a": [1, 2,],}\n```')).toEqual({ ok: true, value: { a: [1, 2] } });
    expect(extractJsonObject('no json here')).toEqual({
      ok: false,
      error: 'the reply contains no JSON object',
    });
    expect(extractJsonObject('{"a": 1')).toEqual({ ok: false, error: 'the JSON object is not closed' });
  });

  it('reads a reply that is one JSON object (bare or fenced) as a whole, fences inside strings included', () => {
    const value = { instruction: 'Run ```{}``` and report', n: 1 };
    expect(extractJsonObject(`  ${JSON.stringify(value)}\n`)).toEqual({ ok: true, value });
    expect(extractJsonObject(`\`\`\`json\n${JSON.stringify(value, null, 2)}\n\`\`\``)).toEqual({
      ok: true,
      value,
    });
    // Two fenced blocks are not one object: the first block's object is found by searching.
    expect(extractJsonObject('```json\n{"a": 1}\n```\nand\n```json\n{"b": 2}\n```')).toEqual({
      ok: true,
      value: { a: 1 },
    });
    expect(extractJsonObject('[{"a": 1}]')).toEqual({ ok: true, value: { a: 1 } });
  });

  it('parses a task ledger with loose keys and a plan written as text', () => {
    const parsed = parseTaskLedger(
      JSON.stringify({
        Facts: { GIVEN: 'x is 1', to_look_up: ['y'], educated_guesses: [] },
        Plan: '1. ask\n2. answer',
      }),
    );
    expect(parsed).toEqual({
      ok: true,
      value: {
        facts: { given: ['x is 1'], toLookUp: ['y'], toDerive: [], guesses: [] },
        plan: ['ask', 'answer'],
      },
    });
    expect(parseTaskLedger('{"facts": {}, "plan": []}')).toEqual({
      ok: false,
      error: 'plan: the plan needs at least one step',
    });
  });

  it('validates the progress ledger and matches member names leniently', () => {
    const missing = parseProgressLedger('{"requestSatisfied": {"answer": "maybe"}}', ['worker']);
    expect(missing.ok).toBe(false);
    expect(!missing.ok && missing.error).toContain('requestSatisfied.answer');
    expect(matchMember('@Worker', ['worker', 'writer'])).toBe('worker');
    expect(matchMember('web surfer', ['web-surfer'])).toBe('web-surfer');
    expect(matchMember('nobody', ['worker'])).toBeUndefined();
    const empty = parseProgressLedger(progressLedger({ instruction: '' }), ['worker']);
    expect(empty).toEqual({ ok: false, error: 'instruction is empty; say what the next speaker must do' });
  });
});

import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { RunDispatcher } from '../core/dispatch.js';
import { ConfigError } from '../core/errors.js';
import { workflow } from '../core/runnable.js';
import { createRuntime, type Runtime } from '../core/runtime.js';
import type { Store } from '../core/store.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { scriptedModel } from '../testing/scripted-model.js';
import { supervisor } from './supervisor.js';

/** Every tool result the prompt holds, in order, as text. */
function toolResults(prompt: LanguageModelV3Prompt): string[] {
  return prompt.flatMap((message) =>
    message.role === 'tool'
      ? message.content.map((part) =>
          part.type === 'tool-result' && 'value' in part.output ? String(part.output.value) : '',
        )
      : [],
  );
}

/**
 * A research team: the manager delegates to two workers in one turn (a failing one when asked),
 * then reports what came back. Made fresh per runtime: scripted models count their calls.
 */
function researchTeam(distribute: boolean | undefined, failCalc = false) {
  const model = scriptedModel(({ agent: name, turn, prompt }) => {
    if (name === 'researcher') return { text: 'X is 42' };
    if (turn === 0)
      return {
        toolCalls: [
          { tool: 'researcher', input: { input: 'find X' } },
          { tool: 'calc', input: { input: 'double 42' } },
        ],
      };
    return { text: `Report: ${toolResults(prompt).join(' / ')}` };
  });
  const researcher = agent({
    name: 'researcher',
    description: 'Finds facts',
    instructions: 'Research.',
    model,
  });
  const calc = workflow({ name: 'calc' }, async (ctx, request: string) =>
    ctx.step('compute', () => {
      if (failCalc) throw new Error('calculator is broken');
      return `${request} = 84`;
    }),
  );
  const lead = agent({ name: 'lead', instructions: 'Delegate, then report.', model });
  return supervisor({
    name: 'research',
    manager: lead,
    workers: [researcher, { run: calc, description: 'Does arithmetic' }],
    ...(distribute === undefined ? {} : { distribute }),
  });
}

/**
 * A queue in miniature: each dispatched run is executed a moment later by a second runtime on
 * the same store (the "worker"), made with nothing registered but the team itself.
 */
function workerPair(store: Store, team: ReturnType<typeof researchTeam>) {
  const executed: string[] = [];
  const holder: { worker?: Runtime } = {};
  const dispatcher: RunDispatcher = {
    async dispatch(runId, _reason, options) {
      const wait = Math.max(1, (options?.at ?? 0) - Date.now());
      setTimeout(() => {
        executed.push(runId);
        holder.worker?.execute(runId).catch(() => undefined);
      }, wait);
    },
  };
  const api = createRuntime({ store, dispatcher, recover: false });
  const worker = createRuntime({ store, dispatcher, workflows: [team], recover: false });
  holder.worker = worker;
  return {
    api,
    worker,
    executed,
    async close() {
      await api.close();
      await worker.close();
    },
  };
}

describe('supervisor({ distribute: true })', () => {
  it('runs each delegation as a child run of its own and feeds its result back as in-process', async () => {
    const inline = createRuntime({ store: createMemoryStore(), recover: false });
    const expected = await (await inline.start(researchTeam(undefined), 'What is twice X?')).result();
    await inline.close();
    expect(expected).toBe('Report: X is 42 / double 42 = 84');

    const store = createMemoryStore();
    const team = researchTeam(true);
    const pair = workerPair(store, team);
    try {
      const handle = await pair.api.start(team, 'What is twice X?');
      expect(await handle.result()).toBe(expected);
      const children = (await pair.api.list({})).filter((record) => record.id !== handle.runId);
      // One run per delegation, named after the parent, executed by the worker runtime.
      expect(children.map((record) => [record.target, record.status]).sort()).toEqual([
        ['calc', 'completed'],
        ['researcher', 'completed'],
      ]);
      for (const child of children) {
        expect(child.id.startsWith(`${handle.runId}.child.`)).toBe(true);
        expect(pair.executed).toContain(child.id);
      }
      // The parent journals a spawn per delegation and the children's steps live in their own runs.
      const journal = await pair.api.journal(handle.runId);
      expect(
        journal
          .filter((entry) => entry.name.startsWith('spawn:'))
          .map((entry) => entry.name)
          .sort(),
      ).toEqual(['spawn:calc', 'spawn:researcher']);
      expect(journal.some((entry) => entry.name === 'compute')).toBe(false);
      const calcRun = children.find((record) => record.target === 'calc');
      expect((await pair.api.journal(calcRun!.id)).map((entry) => entry.name)).toEqual(['compute']);
    } finally {
      await pair.close();
    }
  });

  it("tells the manager a distributed worker's failure as a tool error, as in-process", async () => {
    const inline = createRuntime({ store: createMemoryStore(), recover: false });
    const expected = await (await inline.start(researchTeam(undefined, true), 'What is twice X?')).result();
    await inline.close();
    expect(expected).toContain('calculator is broken');

    const store = createMemoryStore();
    const team = researchTeam(true, true);
    const pair = workerPair(store, team);
    try {
      const handle = await pair.api.start(team, 'What is twice X?');
      expect(await handle.result()).toBe(expected);
      const failed = (await pair.api.list({})).filter((record) => record.status === 'failed');
      expect(failed.map((record) => record.target)).toEqual(['calc']);
    } finally {
      await pair.close();
    }
  });

  it('runs workers inline, with no run records of their own, on a runtime without a dispatcher', async () => {
    const runtime = createRuntime({ store: createMemoryStore(), recover: false });
    try {
      const handle = await runtime.start(researchTeam(true), 'What is twice X?');
      expect(await handle.result()).toBe('Report: X is 42 / double 42 = 84');
      expect((await runtime.list({})).map((record) => record.id)).toEqual([handle.runId]);
      const journal = await runtime.journal(handle.runId);
      expect(journal.map((entry) => entry.name)).toContain('run:calc');
    } finally {
      await runtime.close();
    }
  });

  it('refuses a distribute that is not a boolean', () => {
    const lead = agent({ name: 'lead', instructions: 'Lead.', model: scriptedModel([]) });
    const echo = workflow({ name: 'echo' }, async (_ctx, text: string) => text);
    expect(() =>
      supervisor({
        name: 'bad',
        manager: lead,
        workers: [{ run: echo, description: 'Echoes' }],
        distribute: 'yes' as unknown as boolean,
      }),
    ).toThrow(ConfigError);
    expect(() =>
      supervisor({
        name: 'bad',
        manager: lead,
        workers: [{ run: echo, description: 'Echoes' }],
        distribute: 'yes' as unknown as boolean,
      }),
    ).toThrow('supervisor("bad"): distribute must be true or false, got "yes".');
  });
});

import type { LanguageModelV3CallOptions, LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agent } from '../agents/agent.js';
import { ConfigError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { type ScriptedTurn, scriptedModel } from '../testing/scripted-model.js';
import { tool } from '../tools/tool.js';
import { concurrent } from './concurrent.js';
import { supervisor } from './supervisor.js';

function setup() {
  const runtime = createRuntime({ store: createMemoryStore(), recover: false });
  const events: BatonEvent[] = [];
  runtime.on((event) => events.push(event));
  return { runtime, events };
}

/** The tool results (or errors) of the prompt's last tool message, as text. */
function lastToolResults(prompt: LanguageModelV3Prompt): string[] {
  const message = [...prompt].reverse().find((entry) => entry.role === 'tool');
  if (message?.role !== 'tool') return [];
  return message.content.map((part) => {
    if (part.type !== 'tool-result' || !('value' in part.output)) return '';
    return typeof part.output.value === 'string' ? part.output.value : JSON.stringify(part.output.value);
  });
}

/** Every tool result the prompt holds, in order. */
function allToolResults(prompt: LanguageModelV3Prompt): string[] {
  return prompt.flatMap((message) => (message.role === 'tool' ? lastToolResults([message]) : []));
}

const agentOf = (call: LanguageModelV3CallOptions) =>
  (call.providerOptions?.baton as { agent?: string } | undefined)?.agent;

function callsPerAgent(calls: readonly LanguageModelV3CallOptions[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const call of calls) {
    const name = agentOf(call) ?? '?';
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

const delegate = (worker: string, input: string): ScriptedTurn => ({
  toolCalls: [{ tool: worker, input: { input } }],
});

describe('supervisor', () => {
  it('delegates to two workers as child runs and synthesizes their results', async () => {
    const { runtime, events } = setup();
    const model = scriptedModel(({ agent: name, turn, prompt }) => {
      if (name === 'researcher') return { text: 'X is 42' };
      if (turn === 0) return delegate('researcher', 'find X');
      if (turn === 1) return delegate('calc', 'double it');
      return { text: `Report: ${allToolResults(prompt).join(' / ')}` };
    });
    const researcher = agent({
      name: 'researcher',
      description: 'Finds facts',
      instructions: 'Research.',
      model,
    });
    const calc = workflow({ name: 'calc' }, async (ctx, request: string) =>
      ctx.step('compute', () => `${request} -> 84`),
    );
    const lead = agent({ name: 'lead', instructions: 'Delegate, then report.', model });
    const team = supervisor({
      name: 'research',
      manager: lead,
      workers: [researcher, { run: calc, description: 'Does arithmetic' }],
    });
    const handle = await runtime.start(team, 'What is twice X?');
    expect(await handle.result()).toBe('Report: X is 42 / double it -> 84');
    // The manager is offered one tool per worker, described by the agent's or the given description.
    expect(
      model.calls[0]?.tools?.map((entry) => [entry.name, (entry as { description?: string }).description]),
    ).toEqual([
      ['researcher', 'Finds facts'],
      ['calc', 'Does arithmetic'],
    ]);
    const journal = await runtime.journal(handle.runId);
    expect(journal.map((entry) => `${entry.key} ${entry.name}`)).toEqual([
      'r#0 model:lead',
      'r/1#0 model:researcher',
      'r#1 run:researcher',
      'r#2 model:lead',
      'r/3#0 compute',
      'r#3 run:calc',
      'r#4 model:lead',
    ]);
    const speakers = events.filter((event) => event.type === 'speaker-selected');
    expect(speakers.map((event) => [event.round, event.speaker, event.reason])).toEqual([
      [1, 'researcher', 'find X'],
      [2, 'calc', 'double it'],
    ]);
    expect(events.find((event) => event.type === 'pattern-start')).toMatchObject({
      pattern: 'supervisor',
      members: ['lead', 'researcher', 'calc'],
    });
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'answered after 2 delegations',
    });
    await runtime.close();
  });

  it("appends instructions to the manager's and returns its typed output", async () => {
    const { runtime } = setup();
    const model = scriptedModel({
      lead: [delegate('echo', 'ping'), { text: '{"answer": "pong", "sources": 1}' }],
    });
    const echo = workflow({ name: 'echo' }, async (_ctx, text: string) => `${text.replace('i', 'o')}`);
    const lead = agent({
      name: 'lead',
      instructions: 'You lead.',
      model,
      output: z.object({ answer: z.string(), sources: z.number() }),
    });
    const team = supervisor({
      name: 'typed',
      manager: lead,
      workers: [{ run: echo, description: 'Echoes' }],
      instructions: 'Delegate every lookup.',
    });
    const output = await (await runtime.start(team, 'go')).result();
    expect(output).toEqual({ answer: 'pong', sources: 1 });
    expect(model.calls[0]?.prompt[0]).toEqual({
      role: 'system',
      content: 'You lead.\n\nDelegate every lookup.',
    });
    // The manager definition itself is unchanged.
    expect(lead.instructions).toBe('You lead.');
    await runtime.close();
  });

  it('runs several delegations of one turn concurrently', async () => {
    const { runtime } = setup();
    let inFlight = 0;
    let maxInFlight = 0;
    const slow = (name: string, ms: number) =>
      workflow({ name }, async (ctx, request: string) =>
        ctx.step('work', async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((resolve) => setTimeout(resolve, ms));
          inFlight--;
          return `${name}: ${request}`;
        }),
      );
    const model = scriptedModel(({ turn, prompt }) =>
      turn === 0
        ? {
            toolCalls: [
              { tool: 'web', input: { input: 'news' } },
              { tool: 'papers', input: { input: 'reviews' } },
            ],
          }
        : { text: lastToolResults(prompt).join(' | ') },
    );
    const team = supervisor({
      name: 'fan',
      manager: agent({ name: 'lead', instructions: 'x', model }),
      workers: [
        { run: slow('web', 40), description: 'Searches the web' },
        { run: slow('papers', 5), description: 'Searches papers' },
      ],
    });
    expect(await (await runtime.start(team, 'go')).result()).toBe('web: news | papers: reviews');
    expect(maxInFlight).toBe(2);
    await runtime.close();
  });

  it('refuses delegations past maxDelegations and tells the manager to answer', async () => {
    const { runtime, events } = setup();
    let runs = 0;
    const worker = (name: string) =>
      workflow({ name }, async (_ctx, request: string) => {
        runs++;
        return `${name} did ${request}`;
      });
    const model = scriptedModel(({ turn, prompt }) => {
      if (turn === 0)
        return {
          toolCalls: [
            { tool: 'a', input: { input: 'one' } },
            { tool: 'b', input: { input: 'two' } },
          ],
        };
      if (turn === 1) return delegate('a', 'three');
      return { text: `final after: ${lastToolResults(prompt).join('')}` };
    });
    const team = supervisor({
      name: 'limited',
      manager: agent({ name: 'lead', instructions: 'x', model }),
      workers: [
        { run: worker('a'), description: 'Worker a' },
        { run: worker('b'), description: 'Worker b' },
      ],
      maxDelegations: 2,
    });
    const handle = await runtime.start(team, 'go');
    const output = await handle.result();
    expect(output).toMatch(/^final after: Delegation refused: the limit of 2 delegations/);
    expect(output).toContain('write your final answer from the results you already have');
    expect(runs).toBe(2);
    const journal = await runtime.journal(handle.runId);
    expect(journal.filter((entry) => entry.kind === 'child').map((entry) => entry.name)).toEqual([
      'run:a',
      'run:b',
    ]);
    expect(events.filter((event) => event.type === 'speaker-selected')).toHaveLength(2);
    expect(events.find((event) => event.type === 'pattern-decision')).toMatchObject({
      decision: 'delegation limit',
    });
    expect(events.find((event) => event.type === 'pattern-end')).toMatchObject({
      outcome: 'answered at the delegation limit',
    });
    await runtime.close();
  });

  it("reports a worker's failure to the manager as a tool error", async () => {
    const { runtime } = setup();
    const broken = workflow({ name: 'search' }, async () => {
      throw new Error('index offline');
    });
    const model = scriptedModel(({ turn, prompt }) =>
      turn === 0 ? delegate('search', 'cats') : { text: `Could not search (${lastToolResults(prompt)[0]})` },
    );
    const team = supervisor({
      name: 'fragile',
      manager: agent({ name: 'lead', instructions: 'x', model }),
      workers: [{ run: broken, description: 'Searches' }],
    });
    expect(await (await runtime.start(team, 'cats?')).result()).toBe(
      'Could not search (Tool search failed: index offline)',
    );
    const toolMessage = model.calls[1]?.prompt.at(-1);
    const part = toolMessage?.role === 'tool' ? toolMessage.content[0] : undefined;
    expect(part?.type === 'tool-result' && part.output.type).toBe('error-text');
    await runtime.close();
  });

  it('resumes a three-level hierarchy after a crash in its deepest worker without repeating a model call', async () => {
    const store = createMemoryStore();
    let hang = true;
    let fetches = 0;
    const fetchData = tool({
      name: 'fetch_data',
      description: 'Fetches data',
      input: z.object({ key: z.string() }),
      execute: async ({ key }) => {
        fetches++;
        if (hang) await new Promise(() => undefined);
        return `data for ${key}`;
      },
    });
    // Each manager delegates once, then answers with its worker's result; the worker calls its tool once.
    const model = scriptedModel(({ agent: name, turn, prompt }) => {
      const result = lastToolResults(prompt)[0];
      if (name === 'analyst')
        return turn === 0
          ? { toolCalls: [{ tool: 'fetch_data', input: { key: 'q3' } }] }
          : { text: `analyst read ${result}` };
      const next = { director: 'department', manager: 'team', lead: 'analyst' }[name ?? ''];
      if (next === undefined) throw new Error(`unexpected agent ${name}`);
      return turn === 0 ? delegate(next, `ask ${next}`) : { text: `${name} < ${result}` };
    });
    const analyst = agent({
      name: 'analyst',
      description: 'Analyses data',
      instructions: 'Analyse.',
      model,
      tools: [fetchData],
    });
    const team = supervisor({
      name: 'team',
      manager: agent({ name: 'lead', instructions: 'Lead the team.', model }),
      workers: [analyst],
    });
    const department = supervisor({
      name: 'department',
      manager: agent({ name: 'manager', instructions: 'Manage.', model }),
      workers: [{ run: team, description: 'The analysis team' }],
    });
    const company = supervisor({
      name: 'company',
      manager: agent({ name: 'director', instructions: 'Direct.', model }),
      workers: [{ run: department, description: 'The department' }],
    });

    const first = createRuntime({ store, recover: false });
    const handle = await first.start(company, 'How was Q3?');
    while (fetches === 0 && (await first.get(handle.runId)).status === 'running')
      await new Promise((resolve) => setTimeout(resolve, 1));
    expect(fetches).toBe(1);
    expect(callsPerAgent(model.calls)).toEqual({ director: 1, manager: 1, lead: 1, analyst: 1 });

    hang = false;
    const second = createRuntime({ store, recover: false, workflows: [company] });
    const resumed = await second.resume(handle.runId, { force: true });
    expect(await resumed.result()).toBe('director < manager < lead < analyst read data for q3');
    // Finished model calls were replayed from the journal; only the tool in flight ran again.
    expect(callsPerAgent(model.calls)).toEqual({ director: 2, manager: 2, lead: 2, analyst: 2 });
    expect(fetches).toBe(2);
    const journal = await second.journal(handle.runId);
    // Each level is a child run in its parent's scope; the analyst's steps live three levels down.
    expect(
      journal
        .filter((entry) => entry.kind === 'child' || entry.kind === 'tool')
        .map((entry) => `${entry.key} ${entry.name}`),
    ).toEqual(['r/1/1/1#1 tool:fetch_data', 'r/1/1#1 run:analyst', 'r/1#1 run:team', 'r#1 run:department']);
    await second.close();
  });

  it('nests other patterns as workers', async () => {
    const { runtime } = setup();
    const model = scriptedModel(({ turn, prompt }) =>
      turn === 0 ? delegate('panel', 'rate it') : { text: `panel said ${lastToolResults(prompt)[0]}` },
    );
    const rate = (name: string, score: number) => workflow({ name }, async () => score);
    const panel = concurrent({ name: 'panel', units: [rate('x', 3), rate('y', 5)] });
    const team = supervisor({
      name: 'nested',
      manager: agent({ name: 'lead', instructions: 'x', model }),
      workers: [{ run: panel, description: 'A panel of raters' }],
    });
    expect(await (await runtime.start(team, 'go')).result()).toBe('panel said {"x":3,"y":5}');
    await runtime.close();
  });

  it('rejects bad definitions with a ConfigError naming the field', () => {
    const model = scriptedModel([]);
    const lead = agent({ name: 'lead', instructions: 'x', model });
    const helper = agent({ name: 'helper', instructions: 'x', model });
    const flow = workflow({ name: 'flow' }, async () => 'done');
    const cases: Array<[() => unknown, RegExp]> = [
      [
        () => supervisor({ name: 's', manager: flow as never, workers: [helper] }),
        /manager must be an agent/,
      ],
      [() => supervisor({ name: 's', manager: lead, workers: [] }), /workers must be a non-empty array/],
      [
        () => supervisor({ name: 's', manager: lead, workers: [helper, flow] }),
        /supervisor\("s"\): workers\[1\] \("flow"\) is a workflow without a description/,
      ],
      [
        () => supervisor({ name: 's', manager: lead, workers: [{ run: flow, description: ' ' }] }),
        /workers\[0\]\.description is required/,
      ],
      [
        () => supervisor({ name: 's', manager: lead, workers: [{} as never] }),
        /workers\[0\] is not an agent/,
      ],
      [
        () =>
          supervisor({
            name: 's',
            manager: lead,
            workers: [helper, { run: flow, description: 'd', name: 'helper' }],
          }),
        /workers\[1\] would be the tool "helper"/,
      ],
      [
        () =>
          supervisor({
            name: 's',
            manager: lead,
            workers: [{ run: flow, description: 'd', name: 'bad name' }],
          }),
        /workers\[0\]: runnableTool\("bad name"\): name must be/,
      ],
      [
        () => supervisor({ name: 's', manager: lead, workers: [helper], maxDelegations: 0 }),
        /maxDelegations must be an integer >= 1/,
      ],
      [
        () => supervisor({ name: 's', manager: lead, workers: [helper], instructions: '' }),
        /instructions must be a non-empty string/,
      ],
    ];
    for (const [make, message] of cases) {
      let caught: unknown;
      try {
        make();
      } catch (error) {
        caught = error;
      }
      expect(caught, String(message)).toBeInstanceOf(ConfigError);
      expect((caught as Error).message).toMatch(message);
    }
    const withTool = agent({
      name: 'boss',
      instructions: 'x',
      model,
      tools: [tool({ name: 'helper', description: 'd', input: z.object({}), execute: () => 1 })],
    });
    expect(() => supervisor({ name: 's', manager: withTool, workers: [helper] })).toThrow(
      /workers\[0\] would be the tool "helper", which the manager or another worker already has/,
    );
  });
});

import type { LanguageModelV3Prompt } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { agent } from '../agents/agent.js';
import type { BatonError } from '../core/errors.js';
import type { BatonEvent } from '../core/events.js';
import { workflow } from '../core/runnable.js';
import { createRuntime } from '../core/runtime.js';
import { createMemoryStore } from '../stores/memory/index.js';
import { type ScriptedTurn, scriptedModel } from '../testing/scripted-model.js';
import { type AdaptiveOptions, adaptive, defaultAdaptivePolicy, type TaskInput } from './adaptive.js';
import { graphFeatures, graphLevels, parseTaskGraph, type TaskGraph } from './task-graph.js';

const runtime = () => createRuntime({ store: createMemoryStore(), recover: false });

type PlanTask = { id: string; dependsOn?: string[]; agent?: string };
const planJson = (tasks: PlanTask[]) =>
  JSON.stringify({ tasks: tasks.map((task) => ({ description: `do ${task.id}`, dependsOn: [], ...task })) });

const wide = planJson([{ id: 'a' }, { id: 'b' }, { id: 'c' }]);
const chain = planJson([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }, { id: 'c', dependsOn: ['b'] }]);
/** Levels [a, b], [c], [d]; coupling 2/6. */
const mixed = planJson([
  { id: 'a' },
  { id: 'b' },
  { id: 'c', dependsOn: ['a'] },
  { id: 'd', dependsOn: ['c'] },
]);
/** Levels [a, b], [c], [d]; coupling 5/6. */
const dense = planJson([
  { id: 'a' },
  { id: 'b' },
  { id: 'c', dependsOn: ['a', 'b'] },
  { id: 'd', dependsOn: ['a', 'b', 'c'] },
]);
const cyclic = planJson([
  { id: 'a', dependsOn: ['c'] },
  { id: 'b', dependsOn: ['a'] },
  { id: 'c', dependsOn: ['b'] },
]);

function textOfPrompt(prompt: LanguageModelV3Prompt): string {
  return prompt
    .flatMap((message) =>
      message.role === 'system'
        ? [message.content]
        : message.content.map((part) => (part.type === 'text' ? part.text : '')),
    )
    .join('\n');
}

/**
 * A planner answering `plans` in turn (the last repeats), workers answering "<agent> did <task>",
 * and whatever `extra` scripts for other agents (the manager).
 */
function setup(
  plans: string[],
  overrides: Partial<AdaptiveOptions> = {},
  extra: Record<string, ScriptedTurn[]> = {},
) {
  const workerPrompts = new Map<string, string>();
  const model = scriptedModel(({ agent: caller, turn, prompt }) => {
    if (caller === 'team-planner') return { text: plans[Math.min(turn, plans.length - 1)]! };
    const scripted = caller === undefined ? undefined : extra[caller]?.[turn];
    if (scripted !== undefined) return scripted;
    const text = textOfPrompt(prompt);
    const task = /Your task \(([^)]+)\)/.exec(text)?.[1] ?? 'everything';
    workerPrompts.set(task, text);
    return { text: `${caller} did ${task}` };
  });
  const researcher = agent({
    name: 'researcher',
    description: 'Finds facts',
    instructions: 'Research.',
    model,
  });
  const writer = agent({ name: 'writer', description: 'Writes prose', instructions: 'Write.', model });
  const team = adaptive({ name: 'team', planner: model, agents: [researcher, writer], ...overrides });
  return { model, team, workerPrompts };
}

async function runTeam(team: ReturnType<typeof setup>['team'], input = 'Write a report on tides') {
  const rt = runtime();
  const events: BatonEvent[] = [];
  rt.on((event) => events.push(event));
  const handle = await rt.start(team, input);
  const outcome = await handle.result().then(
    (output) => ({ output, error: undefined }),
    (error: unknown) => ({ output: undefined, error: error as BatonError }),
  );
  const journal = await rt.journal(handle.runId);
  await rt.close();
  const decisions = events.flatMap((event) =>
    event.type === 'pattern-decision' && event.pattern === 'adaptive' ? [event] : [],
  );
  return { ...outcome, journal, decisions, events };
}

describe('adaptive', () => {
  it('runs independent tasks concurrently and a chain sequentially, recording why', async () => {
    const independent = await runTeam(setup([wide]).team);
    expect(independent.error).toBeUndefined();
    expect(independent.output).toEqual({
      a: 'researcher did a',
      b: 'writer did b',
      c: 'researcher did c',
    });
    const chosen = independent.decisions.at(-1)!;
    expect(chosen.decision).toBe('concurrent');
    expect(chosen.reasons).toEqual([
      '3 tasks, depth 1, width 3, coupling 0',
      'independent tasks: they can all run at once',
    ]);
    expect(chosen.data).toMatchObject({
      by: 'default policy',
      features: { taskCount: 3, width: 3, depth: 1 },
    });
    const journaled = independent.journal.find((entry) => entry.name === 'decision:adaptive');
    expect(journaled?.result).toMatchObject({ decision: 'concurrent' });
    expect(independent.journal.some((entry) => entry.name === 'run:team.concurrent')).toBe(true);

    const { team, workerPrompts } = setup([chain]);
    const deep = await runTeam(team);
    expect(deep.decisions.at(-1)?.decision).toBe('sequential');
    expect(deep.decisions.at(-1)?.reasons[1]).toBe('a chain: every task needs the previous one');
    expect(deep.output).toBe('researcher did c');
    expect(workerPrompts.get('b')).toContain('## a\nresearcher did a');
    expect(workerPrompts.get('c')).toContain('## b\nwriter did b');
    expect(workerPrompts.get('c')).not.toContain('## a');
    expect(workerPrompts.get('c')).toContain('Overall goal:\nWrite a report on tides');
    expect(deep.journal.some((entry) => entry.name === 'run:team.sequential')).toBe(true);
  });

  it('runs a sparse mixed graph by levels, each task seeing only its dependencies', async () => {
    const { team, workerPrompts } = setup([mixed]);
    const result = await runTeam(team);
    expect(result.error).toBeUndefined();
    expect(result.decisions.at(-1)?.decision).toBe('levels');
    // b and d are the tasks nothing depends on.
    expect(result.output).toEqual({ b: 'writer did b', d: 'writer did d' });
    expect(workerPrompts.get('c')).toContain('## a\nresearcher did a');
    expect(workerPrompts.get('c')).not.toContain('## b');
    expect(workerPrompts.get('d')).toContain('## c\nresearcher did c');
    const names = result.journal.map((entry) => entry.name);
    expect(names).toContain('run:team.levels');
    expect(names).toContain('run:team.levels-1');
  });

  it('hands a densely coupled mixed graph to a supervisor that delegates to the pool', async () => {
    const { team, model } = setup(
      [dense],
      {},
      {
        'team-manager': [
          { toolCalls: [{ tool: 'researcher', input: { input: 'facts for a and b' } }] },
          { text: 'report from the manager' },
        ],
      },
    );
    const result = await runTeam(team);
    expect(result.error).toBeUndefined();
    expect(result.decisions.at(-1)?.decision).toBe('supervisor');
    expect(result.decisions.at(-1)?.reasons[1]).toContain('tightly coupled');
    expect(result.output).toBe('report from the manager');
    const managerCall = model.calls.find((call) => call.providerOptions?.baton?.agent === 'team-manager');
    expect(textOfPrompt(managerCall!.prompt)).toContain('- d: do d (needs a, b, c)');
    expect(managerCall?.tools?.map((offered) => offered.name)).toEqual(['researcher', 'writer']);
  });

  it('follows an override, fixed or from the input', async () => {
    const forced = await runTeam(setup([wide], { override: 'sequential' }).team);
    expect(forced.decisions.at(-1)).toMatchObject({
      decision: 'sequential',
      reasons: ['override: sequential'],
    });
    expect(forced.decisions.at(-1)?.data).toMatchObject({ by: 'override' });
    // A wide plan run in sequence: three sinks, all outputs reported.
    expect(forced.output).toEqual({ a: 'researcher did a', b: 'writer did b', c: 'researcher did c' });

    const byInput = (input: unknown) => (String(input).startsWith('quick') ? 'single' : undefined);
    const quick = await runTeam(setup([wide], { override: byInput }).team, 'quick: summarize tides');
    expect(quick.decisions.at(-1)?.decision).toBe('single');
    expect(quick.output).toBe('researcher did whole');
    const normal = await runTeam(setup([wide], { override: byInput }).team, 'Write a report');
    expect(normal.decisions.at(-1)?.decision).toBe('concurrent');
  });

  it('uses a custom policy, and a policy choice outside the known patterns fails clearly', async () => {
    const seen: number[] = [];
    const policy = (features: ReturnType<typeof graphFeatures>) => {
      seen.push(features.taskCount);
      return { pattern: 'levels' as const, reasons: ['always levels'] };
    };
    const custom = await runTeam(setup([chain], { policy }).team);
    expect(seen).toEqual([3]);
    expect(custom.decisions.at(-1)).toMatchObject({ decision: 'levels', reasons: ['always levels'] });
    expect(custom.decisions.at(-1)?.data).toMatchObject({ by: 'custom policy' });
    expect(custom.output).toBe('researcher did c');

    const broken = await runTeam(setup([chain], { policy: () => 'magic' as never }).team);
    expect(broken.error?.code).toBe('CONFIG');
    expect(broken.error?.message).toContain(
      'adaptive("team"): the policy result must be one of single, sequential, concurrent, levels, supervisor, got "magic"',
    );
  });

  it('retries an invalid plan with its problems, then fails with INVALID_PLAN', async () => {
    const { team, model } = setup([cyclic, chain]);
    const repaired = await runTeam(team);
    expect(repaired.error).toBeUndefined();
    expect(repaired.output).toBe('researcher did c');
    const plannerCalls = model.calls.filter((call) => call.providerOptions?.baton?.agent === 'team-planner');
    expect(plannerCalls).toHaveLength(2);
    expect(textOfPrompt(plannerCalls[1]!.prompt)).toContain(
      'That plan is invalid: the dependencies form a cycle (each task depends on the next): a -> c -> b -> a.',
    );
    expect(repaired.decisions[0]).toMatchObject({ decision: 'plan rejected', data: { attempt: 1 } });

    const stubborn = setup([cyclic], { maxPlanAttempts: 2 });
    const failed = await runTeam(stubborn.team);
    expect(failed.error?.code).toBe('INVALID_PLAN');
    expect(failed.error?.fault).toBe('model');
    expect(failed.error?.message).toBe(
      'adaptive("team"): the planner "team-planner" gave no valid task graph in 2 attempts; last problems: the dependencies form a cycle (each task depends on the next): a -> c -> b -> a.',
    );
    expect(stubborn.model.calls).toHaveLength(2);
  });

  it('gives tasks to the agent the planner named, and non-agent workers a TaskInput', async () => {
    const named = await runTeam(
      setup([
        planJson([
          { id: 'x', agent: 'writer' },
          { id: 'y', agent: 'writer' },
        ]),
      ]).team,
    );
    expect(named.output).toEqual({ x: 'writer did x', y: 'writer did y' });

    const inputs: TaskInput[] = [];
    const model = scriptedModel([{ text: chain }]);
    const team = adaptive({
      name: 'factory-team',
      planner: agent({ name: 'boss', instructions: 'Plan.', model }),
      agents: (task) =>
        workflow({ name: `worker-${task.id}` }, async (_ctx, input: TaskInput) => {
          inputs.push(input);
          return `${task.id}(${Object.values(input.dependencies).join(',')})`;
        }),
    });
    const result = await runTeam(team as never, 'goal');
    expect(result.output).toBe('c(b(a()))');
    expect(inputs[1]).toEqual({
      goal: 'goal',
      task: { id: 'b', description: 'do b', dependsOn: ['a'] },
      dependencies: { a: 'a()' },
    });
  });

  it('records the plan as a ledger and announces start and end', async () => {
    const result = await runTeam(setup([chain]).team);
    const ledger = result.events.find((event) => event.type === 'ledger-update');
    expect(ledger).toMatchObject({ ledger: 'plan', round: 1, pattern: 'adaptive' });
    expect((ledger as { data: TaskGraph }).data.tasks.map((task) => task.id)).toEqual(['a', 'b', 'c']);
    const ends = result.events.filter(
      (event) => event.type === 'pattern-end' && event.pattern === 'adaptive',
    );
    expect(ends).toMatchObject([{ outcome: 'ran as sequential' }]);
  });

  it('rejects bad definitions with errors naming the field', () => {
    const model = scriptedModel([]);
    const solo = agent({ name: 'solo', instructions: 'x', model });
    expect(() => adaptive({ name: 't', planner: model, agents: [] })).toThrow(
      /agents must be a non-empty array/,
    );
    expect(() => adaptive({ name: 't', planner: model, agents: [solo, solo] })).toThrow(
      /two agents named "solo"/,
    );
    expect(() => adaptive({ name: 't', planner: '', agents: [solo] })).toThrow(/planner is required/);
    expect(() => adaptive({ name: 't', planner: model, agents: [solo], override: 'magic' as never })).toThrow(
      /override must be one of single, sequential/,
    );
    expect(() => adaptive({ name: 't', planner: model, agents: [solo], maxPlanAttempts: 0 })).toThrow(
      /maxPlanAttempts must be an integer >= 1/,
    );
    expect(() =>
      adaptive({ name: 't', planner: workflow({ name: 'w' }, async () => 1) as never, agents: [solo] }),
    ).toThrow(/planner must be an agent or a model, not a workflow/);
  });
});

describe('task graphs', () => {
  const graph = (tasks: PlanTask[]): TaskGraph => {
    const parsed = parseTaskGraph(planJson(tasks));
    if (!parsed.ok) throw new Error(parsed.problems.join('; '));
    return parsed.graph;
  };

  it('computes width, depth, coupling and levels', () => {
    expect(graphFeatures(graph([{ id: 'solo' }]))).toEqual({
      taskCount: 1,
      width: 1,
      depth: 1,
      edges: 0,
      coupling: 0,
      levels: [['solo']],
    });
    const diamond = graph([
      { id: 'a' },
      { id: 'b', dependsOn: ['a'] },
      { id: 'c', dependsOn: ['a'] },
      { id: 'd', dependsOn: ['b', 'c'] },
    ]);
    expect(graphFeatures(diamond)).toEqual({
      taskCount: 4,
      width: 2,
      depth: 3,
      edges: 4,
      coupling: 0.667,
      levels: [['a'], ['b', 'c'], ['d']],
    });
    const fiveChain = graph(
      ['a', 'b', 'c', 'd', 'e'].map((id, index, ids) => ({
        id,
        dependsOn: index === 0 ? [] : [ids[index - 1]!],
      })),
    );
    expect(graphFeatures(fiveChain)).toMatchObject({ depth: 5, width: 1, coupling: 0.4 });
    // A task listed before its dependency still lands on the right level.
    expect(graphLevels(graph([{ id: 'late', dependsOn: ['early'] }, { id: 'early' }]))).toEqual([
      ['early'],
      ['late'],
    ]);
  });

  it('applies the default policy rule', () => {
    const choose = (tasks: PlanTask[]) => defaultAdaptivePolicy(graphFeatures(graph(tasks))).pattern;
    expect(choose([{ id: 'a' }])).toBe('single');
    expect(choose([{ id: 'a' }, { id: 'b', dependsOn: ['a'] }])).toBe('sequential');
    expect(choose([{ id: 'a' }, { id: 'b' }])).toBe('concurrent');
    expect(choose(JSON.parse(mixed).tasks)).toBe('levels');
    expect(choose(JSON.parse(dense).tasks)).toBe('supervisor');
  });

  it('parses plans in fences or prose, with lenient dependsOn', () => {
    const fenced = parseTaskGraph(
      'Here is my plan:\n```json\n{"tasks":[{"id":"a","description":"A"},{"id":"b","description":"B","dependsOn":"a"}]}\n```\nDone.',
    );
    expect(fenced).toEqual({
      ok: true,
      graph: {
        tasks: [
          { id: 'a', description: 'A', dependsOn: [] },
          { id: 'b', description: 'B', dependsOn: ['a'] },
        ],
      },
    });
    const prose = parseTaskGraph(
      'Sure! {"tasks":[{"id":1,"description":"one {braces} \\"quoted\\""}]} Hope it helps.',
    );
    expect(prose.ok && prose.graph.tasks[0]).toEqual({
      id: '1',
      description: 'one {braces} "quoted"',
      dependsOn: [],
    });
  });

  it('refuses task ids that would reach a prototype (outputs are kept by task id)', () => {
    expect(
      parseTaskGraph(
        '{"tasks":[{"id":"__proto__","description":"A"},{"id":"constructor","description":"B"},{"id":"c","description":"C"}]}',
      ),
    ).toEqual({
      ok: false,
      problems: [
        'tasks[0]: the id "__proto__" is not allowed (__proto__, constructor and prototype are refused); rename it',
        'tasks[1]: the id "constructor" is not allowed (__proto__, constructor and prototype are refused); rename it',
      ],
    });
  });

  it('reports every problem of an invalid plan', () => {
    expect(parseTaskGraph('no plan here')).toEqual({
      ok: false,
      problems: ['the answer holds no JSON object'],
    });
    expect(parseTaskGraph('{"steps":[]}')).toEqual({
      ok: false,
      problems: ['the JSON has no "tasks" array'],
    });
    expect(parseTaskGraph({ tasks: [] })).toEqual({
      ok: false,
      problems: ['"tasks" is empty; a plan needs at least one task'],
    });
    expect(parseTaskGraph(planJson([{ id: 'a' }, { id: 'b' }, { id: 'c' }]), { maxTasks: 2 })).toEqual({
      ok: false,
      problems: ['the plan has 3 tasks; at most 2 are allowed'],
    });
    const problems = parseTaskGraph(
      {
        tasks: [
          { id: 'a', description: 'A', dependsOn: ['a'] },
          { id: 'a', description: 'again' },
          { id: 'b', description: '', dependsOn: ['ghost'], agent: 'nobody' },
          { description: 'no id' },
        ],
      },
      { agents: ['writer'] },
    );
    expect(problems).toEqual({
      ok: false,
      problems: [
        'task id "a" is used twice',
        'task "b" has no string "description"',
        'task "b" names agent "nobody", which is not in the pool (writer)',
        'tasks[3] has no string "id"',
        'task "a" depends on itself',
        'task "b" depends on "ghost", which is not a task id',
      ],
    });
  });
});

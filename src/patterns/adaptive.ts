/** adaptive(): a planner splits the task into a dependency graph; a policy picks the pattern that fits its shape, which then runs it. */

import { type Agent, agent } from '../agents/agent.js';
import { runAgent } from '../agents/agent-loop.js';
import type { AgentRunResult } from '../agents/run-agent.js';
import { type AgentInput, userMessage } from '../context/messages.js';
import { ConfigError, ModelBehaviorError } from '../core/errors.js';
import { isInterruption } from '../core/interruption.js';
import { checkOptionNames, optionNames } from '../core/option-names.js';
import type { RunContext } from '../core/run-context.js';
import { type AnyRunnable, assertName, type Runnable } from '../core/runnable.js';
import type { ModelSpec } from '../models/resolve-model.js';
import { concurrent, type UnitResult } from './concurrent.js';
import { sequential } from './sequential.js';
import {
  announceEnd,
  announceStart,
  checkCount,
  checkRunnable,
  recordDecision,
  recordLedger,
  textOf,
} from './shared.js';
import { supervisor } from './supervisor.js';
import {
  type GraphFeatures,
  type GraphTask,
  graphFeatures,
  parseTaskGraph,
  type TaskGraph,
  topologicalOrder,
} from './task-graph.js';

/**
 * How the planned tasks run: `single` (one worker does the whole task), `sequential` (tasks
 * one after another in dependency order), `concurrent` (all at once), `levels` (the graph's
 * levels one after another, the tasks of a level at once) or `supervisor` (a manager agent
 * delegates the tasks to the workers and writes the answer).
 */
export type PatternChoice = 'single' | 'sequential' | 'concurrent' | 'levels' | 'supervisor';

const choices: readonly PatternChoice[] = ['single', 'sequential', 'concurrent', 'levels', 'supervisor'];

/** A policy's choice with its reasons (recorded in the journal and the `pattern-decision` event). */
export interface PolicyDecision {
  pattern: PatternChoice;
  reasons: string[];
}

/** Picks a pattern from a graph's features; must be pure (the recorded choice is what replays use). */
export type AdaptivePolicy = (features: GraphFeatures, graph: TaskGraph) => PatternChoice | PolicyDecision;

/** Options of `adaptive()`. */
export interface AdaptiveOptions {
  name: string;
  version?: string;
  /** The agent that decomposes the task, or a model for the built-in planner agent (`<name>-planner`). */
  planner: Agent<unknown> | ModelSpec;
  /**
   * The workers: a pool of agents (the planner assigns each task one by name; a task without
   * one gets `agents[index % agents.length]` by plan position), or a factory making the
   * runnable for a task (must be pure: it runs again on replay).
   */
  agents: readonly Agent<unknown>[] | ((task: GraphTask) => AnyRunnable);
  /** Replaces `defaultAdaptivePolicy`. */
  policy?: AdaptivePolicy;
  /** Forces a pattern, or decides from the input (returning `undefined` leaves it to the policy). */
  override?: PatternChoice | ((input: unknown) => PatternChoice | undefined);
  /** Planner answers tried before the run fails with `INVALID_PLAN`. Default 3. */
  maxPlanAttempts?: number;
  /** Most tasks a plan may have. Default 8. */
  maxTasks?: number;
  /** The manager when the choice is `supervisor`. Default: an agent `<name>-manager` on the planner's model. */
  manager?: Agent<unknown>;
}

/** What a non-agent worker receives for its task (agents receive the same as text). */
export interface TaskInput {
  /** The run's input: the overall goal. */
  goal: unknown;
  task: GraphTask;
  /** Outputs of the tasks this one depends on, by task id. */
  dependencies: Record<string, unknown>;
}

/** Mixed graphs with at least this coupling go to a supervisor; sparser ones run by levels. */
const supervisorCoupling = 0.75;

/**
 * The default rule, in order: 1 task -> `single`; a chain (depth equals task count) ->
 * `sequential`; depth 1 with several tasks (all independent) -> `concurrent`; a mixed graph
 * with coupling >= 0.75 (most possible dependencies exist, so tasks need many of each other's
 * results) -> `supervisor`; any other mixed graph -> `levels`.
 *
 * @example
 * ```ts
 * const team = adaptive({
 *   name: 'team', planner, agents,
 *   policy: (features, graph) => (features.taskCount > 6 ? 'supervisor' : defaultAdaptivePolicy(features, graph)),
 * });
 * ```
 */
export function defaultAdaptivePolicy(features: GraphFeatures, _graph?: TaskGraph): PolicyDecision {
  const { taskCount, depth, width, coupling } = features;
  const shape = `${taskCount} tasks, depth ${depth}, width ${width}, coupling ${coupling}`;
  if (taskCount === 1) return { pattern: 'single', reasons: ['one task: a single worker does it'] };
  if (depth === taskCount)
    return { pattern: 'sequential', reasons: [shape, 'a chain: every task needs the previous one'] };
  if (depth === 1)
    return { pattern: 'concurrent', reasons: [shape, 'independent tasks: they can all run at once'] };
  if (coupling >= supervisorCoupling)
    return {
      pattern: 'supervisor',
      reasons: [shape, `mixed and tightly coupled (>= ${supervisorCoupling}): a manager coordinates`],
    };
  return {
    pattern: 'levels',
    reasons: [shape, 'mixed: levels run in order, the tasks of each level at once'],
  };
}

const plannerInstructions =
  'You are a planner. You split a task into a small graph of subtasks that workers can do, and reply with JSON only.';
const managerInstructions =
  'You coordinate workers. Follow the plan you are given: delegate each task to a suitable worker, passing it ' +
  'the results of the tasks it depends on, then write the final answer from their results.';

const adaptiveOptionNames = optionNames<AdaptiveOptions>(
  {
    name: true,
    version: true,
    planner: true,
    agents: true,
    policy: true,
    override: true,
    maxPlanAttempts: true,
    maxTasks: true,
    manager: true,
  },
  { members: 'agents' },
);

/**
 * A self-organizing team. The planner decomposes the input into a task graph
 * (`{ tasks: [{ id, description, dependsOn, agent? }] }`, parsed robustly, validated and
 * retried with the problems when invalid); the graph's features (width, depth, coupling,
 * task count) go to the policy, and the choice and its reasons are recorded with
 * `recordDecision`. The chosen pattern then runs the tasks, each worker receiving its task,
 * the goal and the outputs of its dependencies.
 *
 * The output: for `sequential`, `concurrent` and `levels`, the output of the task no other
 * task depends on, or an object keyed by task id when there are several such tasks; for
 * `single` and `supervisor`, the worker's or manager's answer.
 *
 * @example
 * ```ts
 * const team = adaptive({
 *   name: 'research-team',
 *   planner: 'openai:gpt-4o-mini',
 *   agents: [researcher, analyst, writer],
 * });
 * const report = await (await runtime.start(team, 'Compare heat pumps and gas boilers for a Berlin flat')).result();
 * ```
 */
export function adaptive<OUTPUT = unknown>(options: AdaptiveOptions): Runnable<unknown, OUTPUT> {
  assertName('pattern', options?.name);
  checkOptionNames(`adaptive("${options.name}")`, options, adaptiveOptionNames);
  const where = `adaptive("${options.name}")`;
  const planner = plannerAgent(where, options);
  const pool = typeof options.agents === 'function' ? undefined : checkPool(where, options.agents);
  const factory = typeof options.agents === 'function' ? options.agents : undefined;
  if (options.policy !== undefined && typeof options.policy !== 'function')
    throw new ConfigError(`${where}: policy must be a function (features, graph) => choice.`);
  if (options.override !== undefined && typeof options.override !== 'function')
    checkChoice(where, 'override', options.override);
  const maxPlanAttempts = checkCount(where, 'maxPlanAttempts', options.maxPlanAttempts, 3);
  const maxTasks = checkCount(where, 'maxTasks', options.maxTasks, 8);
  if (options.manager !== undefined && options.manager?.kind !== 'agent')
    throw new ConfigError(`${where}: manager must be an agent.`);
  const manager =
    options.manager ??
    agent({ name: `${options.name}-manager`, instructions: managerInstructions, model: planner.model });
  const poolNames = pool?.map((member) => member.name);
  const members = [planner.name, ...(poolNames ?? ['(worker factory)'])];

  const workerFor = (task: GraphTask, index: number): AnyRunnable => {
    if (factory !== undefined) return checkRunnable(where, `the worker for task "${task.id}"`, factory(task));
    const named = pool!.find((member) => member.name === task.agent);
    return named ?? pool![index % pool!.length]!;
  };

  async function plan(ctx: RunContext, input: unknown): Promise<{ graph: TaskGraph; attempts: number }> {
    const turnCounter = new Map<string, number>();
    let request: AgentInput = planningPrompt(input, pool, maxTasks);
    let problems: string[] = [];
    for (let attempt = 1; attempt <= maxPlanAttempts; attempt++) {
      const result: AgentRunResult<unknown> = await runAgent(ctx, planner, request, { turnCounter });
      const answer =
        typeof result.output === 'object' && result.output !== null ? result.output : result.text;
      const parsed = parseTaskGraph(answer, {
        maxTasks,
        ...(poolNames === undefined ? {} : { agents: poolNames }),
      });
      if (parsed.ok) return { graph: parsed.graph, attempts: attempt };
      problems = parsed.problems;
      if (ctx.observed)
        ctx.emitEvent({
          type: 'pattern-decision',
          scope: ctx.scope,
          pattern: 'adaptive',
          name: options.name,
          decision: 'plan rejected',
          reasons: problems,
          data: { attempt },
        });
      request = {
        messages: [
          ...result.messages,
          userMessage(
            `That plan is invalid: ${problems.join('; ')}. Reply with only the corrected JSON plan.`,
          ),
        ],
      };
    }
    throw new ModelBehaviorError(
      `${where}: the planner "${planner.name}" gave no valid task graph in ${maxPlanAttempts} attempts; last problems: ${problems.join('; ')}.`,
      { agent: planner.name, code: 'INVALID_PLAN', runId: ctx.runId },
    );
  }

  function propose(
    input: unknown,
    features: GraphFeatures,
    graph: TaskGraph,
  ): PolicyDecision & { by: string } {
    const forced = typeof options.override === 'function' ? options.override(input) : options.override;
    if (forced !== undefined) {
      checkChoice(where, 'override', forced);
      return { pattern: forced, reasons: [`override: ${forced}`], by: 'override' };
    }
    const policy = options.policy ?? defaultAdaptivePolicy;
    const chosen = policy(features, graph);
    const decision = typeof chosen === 'string' ? { pattern: chosen, reasons: [] } : chosen;
    checkChoice(where, 'the policy result', decision?.pattern);
    return {
      pattern: decision.pattern,
      reasons: [...(decision.reasons ?? [])],
      by: options.policy === undefined ? 'default policy' : 'custom policy',
    };
  }

  /** The runnable for a choice, its input, and how its result becomes the output. */
  function build(
    choice: PatternChoice,
    graph: TaskGraph,
    input: unknown,
  ): { runnable: AnyRunnable; input: unknown; output: (result: unknown) => unknown } {
    const ordered = topologicalOrder(graph);
    const positions = new Map(graph.tasks.map((task, index) => [task.id, index]));
    const unit = (task: GraphTask) => taskUnit(task, workerFor(task, positions.get(task.id)!), input);
    const name = `${options.name}.${choice}`;
    const fromSinks = (result: unknown) => sinkOutput(graph, result as Record<string, unknown>);
    switch (choice) {
      case 'single': {
        // One task: its worker does it. Several (an override): the first task's worker does them all.
        const only = graph.tasks.length === 1 ? graph.tasks[0]! : undefined;
        const task: GraphTask = only ?? {
          id: 'whole',
          description: `Do the whole task yourself, following this plan:\n${planText(graph)}`,
          dependsOn: [],
        };
        const worker = workerFor(
          only ?? ordered[0]!,
          only === undefined ? positions.get(ordered[0]!.id)! : 0,
        );
        return {
          runnable: taskUnit(task, worker, input),
          input: {},
          output: (result) => (result as Record<string, unknown>)[task.id],
        };
      }
      case 'sequential':
        return { runnable: sequential({ name, stages: ordered.map(unit) }), input: {}, output: fromSinks };
      case 'concurrent':
        return {
          runnable: concurrent({ name, units: ordered.map(unit), aggregate: merge }),
          input: {},
          output: fromSinks,
        };
      case 'levels': {
        const byId = new Map(graph.tasks.map((task) => [task.id, task]));
        const levels = graphFeatures(graph).levels.map((level, index) =>
          level.length === 1
            ? unit(byId.get(level[0]!)!)
            : concurrent({
                name: `${name}-${index + 1}`,
                units: level.map((id) => unit(byId.get(id)!)),
                aggregate: merge,
              }),
        );
        return { runnable: sequential({ name, stages: levels }), input: {}, output: fromSinks };
      }
      case 'supervisor': {
        const workers =
          pool ??
          ordered.map((task, index) => ({
            run: workerFor(task, positions.get(task.id)!),
            description: task.description,
            name: `task_${index + 1}_${task.id.replace(/[^a-zA-Z0-9_-]/g, '_')}`.slice(0, 64),
          }));
        return {
          runnable: supervisor({ name, manager, workers }),
          input: supervisorInput(input, graph),
          output: (result) => result,
        };
      }
    }
  }

  return {
    kind: 'pattern',
    name: options.name,
    version: options.version ?? '1',
    async execute(ctx: RunContext, input: unknown): Promise<OUTPUT> {
      announceStart(ctx, 'adaptive', options.name, members);
      try {
        const { graph, attempts } = await plan(ctx, input);
        await recordLedger(ctx, {
          pattern: 'adaptive',
          name: options.name,
          ledger: 'plan',
          round: attempts,
          data: graph,
        });
        const features = graphFeatures(graph);
        const proposal = propose(input, features, graph);
        const recorded = await recordDecision(ctx, {
          pattern: 'adaptive',
          name: options.name,
          decision: proposal.pattern,
          reasons: proposal.reasons,
          data: { by: proposal.by, features },
        });
        const choice = recorded.decision as PatternChoice;
        const built = build(choice, graph, input);
        const result = await ctx.run(built.runnable, built.input);
        announceEnd(ctx, 'adaptive', options.name, `ran as ${choice}`);
        return built.output(result) as OUTPUT;
      } catch (error) {
        if (!isInterruption(error, ctx)) announceEnd(ctx, 'adaptive', options.name, 'failed');
        throw error;
      }
    },
  };
}

/** A task as a runnable: takes the outputs so far (by task id) and returns them with its own added. */
function taskUnit(
  task: GraphTask,
  worker: AnyRunnable,
  goal: unknown,
): Runnable<Record<string, unknown>, Record<string, unknown>> {
  return {
    kind: 'workflow',
    name: `task:${task.id}`,
    version: '1',
    async execute(ctx, outputs) {
      const dependencies: Record<string, unknown> = {};
      for (const id of task.dependsOn) dependencies[id] = outputs[id];
      const input: TaskInput | string =
        worker.kind === 'agent' ? taskPrompt(goal, task, dependencies) : { goal, task, dependencies };
      const output: unknown = await worker.execute(ctx, input);
      return { ...outputs, [task.id]: output };
    },
  };
}

/** Merges the outputs-so-far each concurrent unit returned. */
function merge(results: readonly UnitResult[]): Record<string, unknown> {
  return Object.assign({}, ...results.map((result) => result.output as Record<string, unknown>));
}

function sinkOutput(graph: TaskGraph, outputs: Record<string, unknown>): unknown {
  const needed = new Set(graph.tasks.flatMap((task) => task.dependsOn));
  const sinks = graph.tasks.filter((task) => !needed.has(task.id));
  if (sinks.length === 1) return outputs[sinks[0]!.id];
  return Object.fromEntries(sinks.map((task) => [task.id, outputs[task.id]]));
}

function taskPrompt(goal: unknown, task: GraphTask, dependencies: Record<string, unknown>): string {
  const parts = [`Overall goal:\n${textOf(goal)}`, `Your task (${task.id}): ${task.description}`];
  const done = Object.entries(dependencies);
  if (done.length > 0)
    parts.push(
      `Results of the tasks it builds on:\n\n${done.map(([id, output]) => `## ${id}\n${textOf(output)}`).join('\n\n')}`,
    );
  return parts.join('\n\n');
}

function planText(graph: TaskGraph): string {
  return graph.tasks
    .map(
      (task) =>
        `- ${task.id}: ${task.description}${task.dependsOn.length > 0 ? ` (needs ${task.dependsOn.join(', ')})` : ''}${task.agent === undefined ? '' : ` [${task.agent}]`}`,
    )
    .join('\n');
}

function supervisorInput(goal: unknown, graph: TaskGraph): string {
  return `${textOf(goal)}\n\nPlan (delegate each task, in an order that respects what it needs):\n${planText(graph)}`;
}

function planningPrompt(
  input: unknown,
  pool: readonly Agent<unknown>[] | undefined,
  maxTasks: number,
): string {
  const agents =
    pool === undefined
      ? ''
      : `\n\nWorkers (name: what it does); give each task the best "agent":\n${pool.map((member) => `- ${member.name}: ${member.description}`).join('\n')}`;
  return (
    `Plan this task as a small dependency graph of subtasks.\n\nTask:\n${textOf(input)}${agents}\n\n` +
    'Reply with only JSON: {"tasks":[{"id":"short-id","description":"what to do","dependsOn":["ids of tasks whose results it needs"]' +
    `${pool === undefined ? '' : ',"agent":"worker name"'}}]}\n` +
    `Rules: 1 to ${maxTasks} tasks; unique ids; dependsOn lists only ids of this plan; no cycles. ` +
    'Use as few tasks as the work needs: independent parts as tasks without dependencies, steps that need earlier results with dependsOn.'
  );
}

function plannerAgent(where: string, options: AdaptiveOptions): Agent<unknown> {
  const planner = options.planner as Agent<unknown> | ModelSpec | undefined;
  if (typeof planner === 'object' && planner !== null && (planner as { kind?: unknown }).kind === 'agent')
    return planner as Agent<unknown>;
  if (planner === undefined || planner === null || planner === '')
    throw new ConfigError(
      `${where}: planner is required: an agent, or a model ("provider:model" or an AI SDK model).`,
    );
  if (typeof planner === 'object' && (planner as { kind?: unknown }).kind !== undefined)
    throw new ConfigError(
      `${where}: planner must be an agent or a model, not a ${String((planner as { kind: unknown }).kind)}.`,
    );
  return agent({
    name: `${options.name}-planner`,
    instructions: plannerInstructions,
    model: planner as ModelSpec,
  });
}

function checkPool(where: string, agents: unknown): Agent<unknown>[] {
  if (!Array.isArray(agents) || agents.length === 0)
    throw new ConfigError(
      `${where}: agents must be a non-empty array of agents or a function (task) => runnable.`,
    );
  const seen = new Set<string>();
  return agents.map((member: unknown, index) => {
    if ((member as { kind?: unknown } | null)?.kind !== 'agent')
      throw new ConfigError(`${where}: agents[${index}] is not an agent.`);
    const checked = member as Agent<unknown>;
    if (seen.has(checked.name))
      throw new ConfigError(`${where}: agents has two agents named "${checked.name}"; names must be unique.`);
    seen.add(checked.name);
    return checked;
  });
}

function checkChoice(where: string, field: string, value: unknown): asserts value is PatternChoice {
  if (!choices.includes(value as PatternChoice))
    throw new ConfigError(
      `${where}: ${field} must be one of ${choices.join(', ')}, got ${JSON.stringify(value) ?? String(value)}.`,
    );
}

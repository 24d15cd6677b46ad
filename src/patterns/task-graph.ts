/** Task graphs a planner proposes: robust parsing, validation (ids, dependencies, cycles) and shape features. */

import { isForbiddenKey } from '../core/forbidden-keys.js';
import { balancedEnd } from './shared.js';

/** One task of a plan. */
export interface GraphTask {
  /** Unique within the graph. */
  id: string;
  description: string;
  /** Ids of the tasks whose results this one needs. */
  dependsOn: string[];
  /** The pool agent that should do it, when the planner named one. */
  agent?: string;
}

/** A plan: tasks and their dependencies, a directed acyclic graph. */
export interface TaskGraph {
  tasks: GraphTask[];
}

/**
 * The shape of a task graph, as the adaptive policy reads it.
 *
 * - `taskCount`: number of tasks.
 * - `depth`: tasks on the longest dependency chain (the critical path), so 1 when no task
 *   depends on another and `taskCount` for a chain.
 * - `width`: most tasks on one level, where a task's level is one more than the highest level
 *   of its dependencies (roots are level 0). It approximates the largest set of tasks that can
 *   run at once (the maximum antichain) from below.
 * - `edges`: dependency edges.
 * - `coupling`: `edges` divided by the most edges a graph of `taskCount` tasks can have without
 *   a cycle, `n (n - 1) / 2`; 0 for independent tasks (or a single one), 1 when every task
 *   depends on every earlier one. A chain of n tasks has coupling `2 / n`.
 * - `levels`: task ids per level, in plan order within a level.
 */
export interface GraphFeatures {
  taskCount: number;
  width: number;
  depth: number;
  edges: number;
  coupling: number;
  levels: string[][];
}

/** What `parseTaskGraph` returns: the graph, or every problem found (for a repair prompt). */
export type ParsedTaskGraph = { ok: true; graph: TaskGraph } | { ok: false; problems: string[] };

/** Options of `parseTaskGraph`. */
export interface ParseTaskGraphOptions {
  /** Agent names a task may name; a task naming another is a problem. Absent: any name. */
  agents?: readonly string[];
  /** Most tasks allowed. Default 12. */
  maxTasks?: number;
}

/**
 * Parses a planner's answer into a task graph and validates it. Accepts the JSON object, or
 * text holding it: bare, in a ```json fence, or surrounded by prose (the first balanced
 * `{...}` that parses is used). `dependsOn` may be missing (no dependencies) or a single
 * string. Problems reported: no JSON, no `tasks` array, an empty plan, too many tasks, a task
 * without a string `id` or `description`, duplicate ids, unknown or self dependencies, unknown
 * agents, and cycles (naming the tasks on one).
 *
 * @example
 * ```ts
 * const parsed = parseTaskGraph('{"tasks":[{"id":"a","description":"Draft"},{"id":"b","description":"Review","dependsOn":["a"]}]}');
 * if (parsed.ok) console.log(graphFeatures(parsed.graph).depth); // 2
 * else console.log(parsed.problems);
 * ```
 */
export function parseTaskGraph(answer: unknown, options: ParseTaskGraphOptions = {}): ParsedTaskGraph {
  const maxTasks = options.maxTasks ?? 12;
  const value = typeof answer === 'string' ? extractJson(answer) : answer;
  if (value === undefined) return fail('the answer holds no JSON object');
  const rawTasks = Array.isArray(value) ? value : (value as { tasks?: unknown } | null)?.tasks;
  if (!Array.isArray(rawTasks)) return fail('the JSON has no "tasks" array');
  if (rawTasks.length === 0) return fail('"tasks" is empty; a plan needs at least one task');
  if (rawTasks.length > maxTasks)
    return fail(`the plan has ${rawTasks.length} tasks; at most ${maxTasks} are allowed`);

  const problems: string[] = [];
  const tasks: GraphTask[] = [];
  const ids = new Set<string>();
  for (const [index, raw] of rawTasks.entries()) {
    const task = raw as Record<string, unknown> | null;
    const where = `tasks[${index}]`;
    if (typeof task !== 'object' || task === null) {
      problems.push(`${where} is not an object`);
      continue;
    }
    const id = typeof task.id === 'number' ? String(task.id) : task.id;
    if (typeof id !== 'string' || id.trim() === '') {
      problems.push(`${where} has no string "id"`);
      continue;
    }
    if (isForbiddenKey(id)) {
      // Outputs are kept in objects keyed by task id, so such an id would reach a prototype.
      problems.push(
        `${where}: the id "${id}" is not allowed (__proto__, constructor and prototype are refused); rename it`,
      );
      continue;
    }
    if (ids.has(id)) problems.push(`task id "${id}" is used twice`);
    ids.add(id);
    const description = task.description ?? task.task;
    if (typeof description !== 'string' || description.trim() === '')
      problems.push(`task "${id}" has no string "description"`);
    const dependsOn = normalizeDependencies(task.dependsOn ?? task.depends_on ?? task.dependencies);
    if (dependsOn === undefined) {
      problems.push(`task "${id}": "dependsOn" must be an array of task ids`);
      continue;
    }
    const graphTask: GraphTask = { id, description: String(description ?? ''), dependsOn };
    if (task.agent !== undefined && task.agent !== null && task.agent !== '') {
      if (typeof task.agent !== 'string') problems.push(`task "${id}": "agent" must be a string`);
      else if (options.agents !== undefined && !options.agents.includes(task.agent))
        problems.push(
          `task "${id}" names agent "${task.agent}", which is not in the pool (${options.agents.join(', ')})`,
        );
      else graphTask.agent = task.agent;
    }
    tasks.push(graphTask);
  }
  for (const task of tasks) {
    for (const dependency of task.dependsOn) {
      if (dependency === task.id) problems.push(`task "${task.id}" depends on itself`);
      else if (!ids.has(dependency))
        problems.push(`task "${task.id}" depends on "${dependency}", which is not a task id`);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  const cycle = findCycle(tasks);
  if (cycle !== undefined)
    return fail(`the dependencies form a cycle (each task depends on the next): ${cycle.join(' -> ')}`);
  return { ok: true, graph: { tasks } };
}

/**
 * The features of a valid graph (see `GraphFeatures` for each definition).
 *
 * @example
 * ```ts
 * graphFeatures({ tasks: [
 *   { id: 'a', description: 'A', dependsOn: [] },
 *   { id: 'b', description: 'B', dependsOn: [] },
 *   { id: 'c', description: 'C', dependsOn: ['a', 'b'] },
 * ] }); // { taskCount: 3, width: 2, depth: 2, edges: 2, coupling: 0.667, levels: [['a', 'b'], ['c']] }
 * ```
 */
export function graphFeatures(graph: TaskGraph): GraphFeatures {
  const levels = graphLevels(graph);
  const taskCount = graph.tasks.length;
  const edges = graph.tasks.reduce((sum, task) => sum + new Set(task.dependsOn).size, 0);
  const possible = (taskCount * (taskCount - 1)) / 2;
  return {
    taskCount,
    width: Math.max(...levels.map((level) => level.length)),
    depth: levels.length,
    edges,
    coupling: possible === 0 ? 0 : Math.round((edges / possible) * 1000) / 1000,
    levels,
  };
}

/**
 * Task ids by level: level 0 holds tasks without dependencies, level k those whose deepest
 * dependency is on level k - 1. Within a level, tasks keep their plan order. The graph must be
 * acyclic (as `parseTaskGraph` guarantees).
 *
 * @example
 * ```ts
 * graphLevels(graph); // [['research', 'outline'], ['draft'], ['review']]
 * ```
 */
export function graphLevels(graph: TaskGraph): string[][] {
  const byId = new Map(graph.tasks.map((task) => [task.id, task]));
  const level = new Map<string, number>();
  const levelOf = (id: string, visiting: Set<string>): number => {
    const known = level.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) throw new Error(`graphLevels: the graph has a cycle through "${id}".`);
    visiting.add(id);
    const task = byId.get(id);
    let value = 0;
    for (const dependency of task?.dependsOn ?? [])
      value = Math.max(value, levelOf(dependency, visiting) + 1);
    visiting.delete(id);
    level.set(id, value);
    return value;
  };
  const levels: string[][] = [];
  for (const task of graph.tasks) {
    const value = levelOf(task.id, new Set());
    while (levels.length <= value) levels.push([]);
  }
  for (const task of graph.tasks) levels[level.get(task.id)!]!.push(task.id);
  return levels;
}

/**
 * The tasks in an order where every task comes after its dependencies: level by level, plan
 * order within a level.
 *
 * @example
 * ```ts
 * topologicalOrder(graph).map((task) => task.id); // ['research', 'outline', 'draft', 'review']
 * ```
 */
export function topologicalOrder(graph: TaskGraph): GraphTask[] {
  const byId = new Map(graph.tasks.map((task) => [task.id, task]));
  return graphLevels(graph).flatMap((level) => level.map((id) => byId.get(id)!));
}

function fail(problem: string): ParsedTaskGraph {
  return { ok: false, problems: [problem] };
}

function normalizeDependencies(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return [];
  if (typeof value === 'string') return value === '' ? [] : [value];
  if (!Array.isArray(value)) return undefined;
  const dependencies: string[] = [];
  for (const item of value) {
    if (typeof item === 'number') dependencies.push(String(item));
    else if (typeof item === 'string') dependencies.push(item);
    else return undefined;
  }
  return [...new Set(dependencies)];
}

/** The first JSON object (or array) in a text: the whole text, a fenced block, or a balanced `{...}`. */
function extractJson(text: string): unknown {
  const candidates: string[] = [text.trim()];
  for (const match of text.matchAll(/```(?:json)?\s*([\s\S]*?)```/g)) candidates.push(match[1]!.trim());
  for (const candidate of candidates) {
    const parsed = tryParse(candidate);
    if (parsed !== undefined && typeof parsed === 'object') return parsed;
  }
  for (let start = text.indexOf('{'); start !== -1; start = text.indexOf('{', start + 1)) {
    const end = balancedEnd(text, start);
    if (end === -1) continue;
    const parsed = tryParse(text.slice(start, end + 1));
    if (parsed !== undefined && typeof parsed === 'object') return parsed;
  }
  return undefined;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** A cycle as task ids (first id repeated at the end), or `undefined` when the graph is acyclic. */
function findCycle(tasks: readonly GraphTask[]): string[] | undefined {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === 'done') return undefined;
    if (state.get(id) === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dependency of byId.get(id)?.dependsOn ?? []) {
      const cycle = visit(dependency);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const task of tasks) {
    const cycle = visit(task.id);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

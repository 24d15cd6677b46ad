/** What a team file refers to besides its own names: models written inline, agents patterns create, module exports. */

import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import { definitionsOf, isModelString } from './team-names.js';
import type { DataPath } from './yaml-source.js';

/** "provider:model" strings used as a selector, manager, planner or summarizer (they need keys like agents' models). */
export function inlineModels(team: TeamFile): { path: DataPath; model: string }[] {
  const found: { path: DataPath; model: string }[] = [];
  for (const { definition, path } of definitionsOf(team)) {
    const add = (value: string | undefined, ...field: DataPath) => {
      if (value !== undefined && isModelString(value))
        found.push({ path: [...path, ...field], model: value });
    };
    if (definition.pattern === 'magentic') add(definition.manager, 'manager');
    if (definition.pattern === 'adaptive') add(definition.planner, 'planner');
    if (definition.pattern === 'groupChat' && typeof definition.select === 'object')
      add(definition.select.selector, 'select', 'selector');
  }
  for (const [index, agent] of team.agents.entries()) {
    const model = agent.context?.compaction?.model;
    if (model !== undefined) found.push({ path: ['agents', index, 'context', 'compaction', 'model'], model });
  }
  return found;
}

/**
 * Names of the agents patterns make themselves (a group chat's `<chat>-selector`, magentic's
 * `manager`, adaptive's `<team>-planner` and `<team>-manager`) and of the summarizers of
 * agents with `history: compact` (`<agent>/compaction`), which an offline script may give
 * turns to.
 */
export function internalAgents(team: TeamFile): string[] {
  const names: string[] = [];
  for (const { definition } of definitionsOf(team)) {
    const model = (value: string | undefined) => value !== undefined && isModelString(value);
    if (
      definition.pattern === 'groupChat' &&
      typeof definition.select === 'object' &&
      model(definition.select.selector)
    )
      names.push(`${definition.name}-selector`);
    if (definition.pattern === 'magentic' && model(definition.manager)) names.push('manager');
    if (definition.pattern === 'adaptive') {
      if (model(definition.planner)) names.push(`${definition.name}-planner`);
      if (definition.manager === undefined) names.push(`${definition.name}-manager`);
    }
  }
  // The summarizer of history: compact calls the model as "<agent>/compaction".
  for (const agent of team.agents)
    if (agent.context?.history === 'compact') names.push(`${agent.name}/compaction`);
  return names;
}

/** The "./file.ts#export" references of the file (adaptive policy, evolving score and taskType, approval rules). */
export function moduleReferences(team: TeamFile): { path: DataPath; reference: string }[] {
  const found: { path: DataPath; reference: string }[] = [];
  for (const { definition, path } of definitionsOf(team)) {
    const add = (value: unknown, field: string) => {
      if (typeof value === 'string' && value.includes('#'))
        found.push({ path: [...path, field], reference: value });
    };
    if (definition.pattern === 'adaptive') add(definition.policy, 'policy');
    if (definition.pattern === 'evolving') {
      add(definition.score, 'score');
      add(definition.taskType, 'taskType');
    }
  }
  for (const [index, agent] of team.agents.entries()) {
    for (const [tool, rule] of Object.entries(agent.approvals ?? {})) {
      const path: DataPath = ['agents', index, 'approvals', tool];
      if (typeof rule === 'string') {
        if (rule.includes('#')) found.push({ path, reference: rule });
      } else if (rule.when?.includes('#')) found.push({ path: [...path, 'when'], reference: rule.when });
    }
  }
  return found;
}

/** Names a field refers to as members, per definition (for the cycle check). */
export function memberReferences(definition: TeamDefinition): { path: DataPath; name: string }[] {
  const found: { path: DataPath; name: string }[] = [];
  const one = (key: string, name: string | undefined) => {
    if (name !== undefined) found.push({ path: [key], name });
  };
  const list = (key: string, names: readonly string[] | undefined) => {
    for (const [index, name] of (names ?? []).entries()) found.push({ path: [key, index], name });
  };
  list('stages', definition.stages);
  list('units', definition.units);
  if (typeof definition.aggregate === 'string') one('aggregate', definition.aggregate);
  one('onLowConsistency', definition.onLowConsistency);
  list('workers', definition.workers);
  list('members', definition.members);
  one('maker', definition.maker);
  one('checker', definition.checker);
  one('generator', definition.generator);
  one('evaluator', definition.evaluator);
  for (const [index, subscriber] of (definition.subscribers ?? []).entries())
    found.push({ path: ['subscribers', index, 'member'], name: subscriber.member });
  list('candidates', definition.candidates);
  return found;
}

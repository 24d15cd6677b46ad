/** What a team file refers to besides its own names: models written inline, agents patterns create, module exports. */

import { patternRegistry, teamPatterns } from './patterns/index.js';
import type { FieldReference } from './patterns/pattern-module.js';
import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import { definitionsOf } from './team-names.js';
import type { DataPath } from './yaml-source.js';

/** "provider:model" strings used as a selector, manager, planner or summarizer (they need keys like agents' models). */
export function inlineModels(team: TeamFile): { path: DataPath; model: string }[] {
  const found: { path: DataPath; model: string }[] = [];
  for (const { definition, path } of definitionsOf(team)) {
    for (const inline of patternRegistry[definition.pattern].inlineModels?.(definition) ?? [])
      found.push({ path: [...path, ...inline.path], model: inline.model });
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
  for (const { definition } of definitionsOf(team))
    names.push(...(patternRegistry[definition.pattern].internalAgents?.(definition) ?? []));
  // The summarizer of history: compact calls the model as "<agent>/compaction".
  for (const agent of team.agents)
    if (agent.context?.history === 'compact') names.push(`${agent.name}/compaction`);
  return names;
}

/** The "./file.ts#export" references of the file (adaptive policy, evolving score and taskType, approval rules). */
export function moduleReferences(team: TeamFile): { path: DataPath; reference: string }[] {
  const found: { path: DataPath; reference: string }[] = [];
  for (const { definition, path } of definitionsOf(team)) {
    for (const reference of patternRegistry[definition.pattern].moduleReferences?.(definition) ?? [])
      found.push({ path: [...path, ...reference.path], reference: reference.reference });
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

/**
 * Names a definition's fields refer to as members (for the cycle check). Every pattern's
 * fields are read, not only the team's own pattern's: a field set on the wrong pattern is
 * reported, and a cycle through it too. A field two patterns share is read once.
 */
export function memberReferences(definition: TeamDefinition): FieldReference[] {
  const found: FieldReference[] = [];
  const read = new Set<string>();
  for (const pattern of teamPatterns) {
    const references = patternRegistry[pattern].memberReferences?.(definition) ?? [];
    const fresh = references.filter((reference) => !read.has(reference.path[0] as string));
    for (const reference of fresh) found.push(reference);
    for (const reference of fresh) read.add(reference.path[0] as string);
  }
  return found;
}

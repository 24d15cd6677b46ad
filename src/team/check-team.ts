/** Checks a schema-valid team file for what a schema cannot see: names, references, pattern fields and team cycles. */

import { checkPattern } from './check-pattern.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamFile } from './team-file-schema.js';
import { definitionsOf, TeamNames } from './team-names.js';
import { memberReferences } from './team-references.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/**
 * Problems with names (duplicates across agents, teams and humans), references (handoffs,
 * members of every pattern, human fallbacks), fields that a pattern does not use or needs,
 * and nested teams that contain themselves.
 */
export function checkTeam(source: YamlSource, team: TeamFile): TeamFileProblem[] {
  const names = new TeamNames(source, team);
  const problems: TeamFileProblem[] = [];

  for (const [index, agent] of team.agents.entries()) {
    for (const [position, handoff] of (agent.handoffs ?? []).entries()) {
      const isName = typeof handoff === 'string';
      const path: DataPath = isName
        ? ['agents', index, 'handoffs', position]
        : ['agents', index, 'handoffs', position, 'agent'];
      const target = isName ? handoff : handoff.agent;
      if (target === agent.name) {
        problems.push(
          source.problem(path, `agent "${agent.name}" cannot hand off to itself; remove this entry.`),
        );
      } else {
        names.reference(path, target, ['agent'], 'a handoff target');
      }
    }
  }

  for (const [index, person] of (team.humans ?? []).entries()) {
    if (person.fallback === undefined) continue;
    if (person.timeout === undefined)
      problems.push(
        source.keyProblem(
          ['humans', index],
          'fallback',
          'a fallback needs timeout: (how long to wait before the fallback answers), e.g. timeout: 2h.',
        ),
      );
    if (typeof person.fallback === 'object') {
      names.reference(
        ['humans', index, 'fallback', 'agent'],
        person.fallback.agent,
        ['agent', 'team', 'human'],
        'fallback.agent',
      );
      if (person.fallback.agent === person.name)
        problems.push(
          source.problem(['humans', index, 'fallback', 'agent'], 'a human cannot be their own fallback.'),
        );
    }
  }

  for (const located of definitionsOf(team)) problems.push(...checkPattern(source, team, located, names));
  problems.push(...checkCycles(source, team));
  return [...names.problems, ...problems];
}

/**
 * Teams (and humans, through their fallback) that contain themselves, directly or through
 * other teams. Each cycle is reported once, at the reference that closes it.
 */
function checkCycles(source: YamlSource, team: TeamFile): TeamFileProblem[] {
  const edges = new Map<string, { path: DataPath; target: string }[]>();
  for (const [index, nested] of (team.teams ?? []).entries()) {
    edges.set(
      nested.name,
      memberReferences(nested).map((reference) => ({
        path: ['teams', index, ...reference.path],
        target: reference.name,
      })),
    );
  }
  for (const [index, person] of (team.humans ?? []).entries()) {
    if (typeof person.fallback === 'object')
      edges.set(person.name, [
        { path: ['humans', index, 'fallback', 'agent'], target: person.fallback.agent },
      ]);
  }
  const problems: TeamFileProblem[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): void => {
    state.set(name, 'visiting');
    stack.push(name);
    for (const { path, target } of edges.get(name) ?? []) {
      if (!edges.has(target)) continue;
      if (state.get(target) === 'visiting') {
        const cycle = [...stack.slice(stack.indexOf(target)), target];
        problems.push(
          source.problem(
            path,
            cycle.length === 2
              ? `team "${target}" refers to itself; a team cannot be its own member.`
              : `teams refer to each other in a cycle: ${cycle.join(' -> ')}; a team cannot contain itself, directly or through other teams. Remove one of these references.`,
          ),
        );
      } else if (state.get(target) === undefined) visit(target);
    }
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of edges.keys()) if (state.get(name) === undefined) visit(name);
  return problems;
}

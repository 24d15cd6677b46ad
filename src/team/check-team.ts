/** Checks a schema-valid team file for what a schema cannot see: names, references and pattern fields. */

import { didYouMean } from './suggest.js';
import type { TeamFileProblem } from './team-file-error.js';
import { patternFields, type TeamFile, teamPatterns } from './team-file-schema.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/**
 * Problems with agent names (duplicates), agent references (handoffs, entry, stages, units,
 * aggregate) and fields that the chosen pattern does not use.
 */
export function checkTeam(source: YamlSource, team: TeamFile): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const names = team.agents.map((agent) => agent.name);
  const firstIndex = new Map<string, number>();
  for (const [index, name] of names.entries()) {
    const earlier = firstIndex.get(name);
    if (earlier === undefined) firstIndex.set(name, index);
    else
      problems.push(
        source.problem(
          ['agents', index, 'name'],
          `duplicate agent name "${name}" (agents[${earlier}] has it too); agent names must be unique.`,
        ),
      );
  }
  const known = [...firstIndex.keys()];

  const reference = (path: DataPath, name: string, allowCollect = false): void => {
    if (firstIndex.has(name) || (allowCollect && name === 'collect')) return;
    const options = allowCollect ? [...known, 'collect'] : known;
    problems.push(
      source.problem(
        path,
        `unknown agent "${name}" (known: ${options.join(', ')}).${didYouMean(name, options)}`,
      ),
    );
  };

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
        reference(path, target);
      }
    }
  }

  const used = new Set(patternFields[team.pattern]);
  for (const pattern of teamPatterns) {
    for (const field of patternFields[pattern]) {
      if (used.has(field) || team[field as keyof TeamFile] === undefined) continue;
      const users = teamPatterns.filter((candidate) => patternFields[candidate].includes(field));
      problems.push(
        source.keyProblem(
          [],
          field,
          `"${field}" is used by pattern ${users.join(' and ')}, but this team uses pattern ${team.pattern}; remove it or change the pattern.`,
        ),
      );
    }
  }

  if (team.entry !== undefined) reference(['entry'], team.entry);
  switch (team.pattern) {
    case 'handoff':
      if (team.agents.length < 2) {
        problems.push(
          source.problem(
            ['agents'],
            'pattern handoff needs at least two agents: the entry agent and someone to hand off to (or use pattern: agent).',
          ),
        );
      }
      break;
    case 'sequential':
      if (team.stages === undefined) {
        problems.push(
          source.keyProblem(
            [],
            'pattern',
            'pattern sequential needs stages: a list of agent names in order.',
          ),
        );
      }
      for (const [index, stage] of (team.stages ?? []).entries()) reference(['stages', index], stage);
      break;
    case 'concurrent': {
      if (team.units === undefined) {
        problems.push(
          source.keyProblem(
            [],
            'pattern',
            'pattern concurrent needs units: a list of agent names to run at once.',
          ),
        );
      }
      for (const [index, unit] of (team.units ?? []).entries()) reference(['units', index], unit);
      if (team.aggregate !== undefined) reference(['aggregate'], team.aggregate, true);
      const count = team.units?.length ?? 0;
      if (typeof team.require === 'number' && count > 0 && team.require > count) {
        problems.push(
          source.problem(
            ['require'],
            `require is ${team.require} but there are only ${count} units; use 1 to ${count}.`,
          ),
        );
      }
      break;
    }
    default:
      break;
  }
  return problems;
}

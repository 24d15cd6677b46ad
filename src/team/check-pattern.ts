/** Checks the pattern part of one team (the file or a nested team): fields, required fields, then the pattern's own checks. */

import type { z } from 'zod';
import { patternFields, patternRegistry, teamPatterns } from './patterns/index.js';
import type { PatternCheck } from './patterns/pattern-module.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamDefinition, TeamFile } from './team-file-schema.js';
import type { LocatedDefinition, TeamNames } from './team-names.js';
import { andList, anyMember } from './team-words.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/** Problems with the pattern fields of one team. References are checked through `names`. */
export function checkPattern(
  source: YamlSource,
  file: TeamFile,
  located: LocatedDefinition,
  names: TeamNames,
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const { definition: team, path: prefix, nested } = located;
  const module = patternRegistry[team.pattern];
  const at = (...path: DataPath): DataPath => [...prefix, ...path];

  const used = new Set(patternFields[team.pattern]);
  for (const pattern of teamPatterns) {
    for (const key of patternFields[pattern]) {
      if (used.has(key) || team[key as keyof TeamDefinition] === undefined) continue;
      const users = teamPatterns.filter((candidate) => patternFields[candidate].includes(key));
      problems.push(
        source.keyProblem(
          prefix,
          key,
          `"${key}" is used by pattern ${andList(users)}, but this team uses pattern ${team.pattern}; remove it or change the pattern.`,
        ),
      );
      used.add(key);
    }
  }
  // Each hint is a string: the modules' types leave out the undefined an optional key could hold.
  const required = [
    ...Object.entries(module.required ?? {}),
    ...(nested ? Object.entries(module.requiredWhenNested ?? {}) : []),
  ] as [string, string][];
  for (const [key, hint] of required) {
    if (team[key as keyof TeamDefinition] !== undefined) continue;
    problems.push(source.keyProblem(prefix, 'pattern', `pattern ${team.pattern} needs ${key}: ${hint}`));
  }

  // Whatever the pattern, entry names an agent (on another pattern it is reported above as well).
  if (team.entry !== undefined) names.reference(at('entry'), team.entry, ['agent'], 'entry');
  const context: PatternCheck<z.ZodRawShape> = {
    team,
    nested,
    agents: file.agents,
    source,
    at,
    problem: (path, message) => problems.push(source.problem(at(...path), message)),
    keyProblem: (path, key, message) => problems.push(source.keyProblem(at(...path), key, message)),
    report: (found) => problems.push(...found),
    reference: (path, name, allowed, label, extras) => {
      names.reference(at(...path), name, allowed, label, extras);
    },
    references: (key, list, allowed = anyMember) => {
      const seen = new Set<string>();
      for (const [index, name] of (list ?? []).entries()) {
        if (seen.has(name))
          problems.push(
            source.problem(at(key, index), `"${name}" is listed twice in ${key}; list each member once.`),
          );
        seen.add(name);
        names.reference(at(key, index), name, allowed, key);
      }
    },
    kindOf: (name) => names.kindOf(name),
  };
  module.check?.(context);
  return problems;
}

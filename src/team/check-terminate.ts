/** Checks a groupChat `terminate` condition: exactly one kind per mapping, and members it names. */

import type { TeamFileProblem } from './team-file-error.js';
import { andList, nameList } from './team-names.js';
import { type TerminateCondition, terminateKinds } from './team-schema-parts.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/**
 * Problems of a condition mapping (and the conditions inside its anyOf/allOf): none or
 * several kinds set, `from`/`keyword` without their kind, a member that is not in the chat.
 */
export function checkTerminate(
  source: YamlSource,
  path: DataPath,
  condition: TerminateCondition,
  members: ReadonlySet<string>,
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const memberOf = (at: DataPath, name: string, field: string): void => {
    if (!members.has(name))
      problems.push(
        source.problem(
          at,
          () =>
            `${field} must be a member of this group chat; "${name}" is not (members: ${nameList(members)}).`,
        ),
      );
  };
  const kinds = terminateKinds.filter((kind) => condition[kind] !== undefined);
  const options = terminateKinds.join(', ');
  if (kinds.length === 0) {
    problems.push(
      source.problem(
        path,
        `a condition needs one of ${options}${condition.from !== undefined ? ' (from goes with mention)' : condition.keyword !== undefined ? ' (keyword goes with approvedBy)' : ''}; for example { mention: APPROVED, from: critic }.`,
      ),
    );
    return problems;
  }
  if (kinds.length > 1) {
    problems.push(
      source.keyProblem(
        path,
        kinds[1] as string,
        `a condition has one kind, but this one sets ${andList(kinds)}; combine them with anyOf: [{ ${kinds[0]}: ... }, { ${kinds[1]}: ... }] (stop when either holds) or allOf: [...] (when both hold).`,
      ),
    );
    return problems;
  }
  const kind = kinds[0] as (typeof terminateKinds)[number];
  if (condition.from !== undefined && kind !== 'mention')
    problems.push(
      source.keyProblem(
        path,
        'from',
        'from goes with mention (who must say the text); remove it or add mention:.',
      ),
    );
  if (condition.keyword !== undefined && kind !== 'approvedBy')
    problems.push(
      source.keyProblem(path, 'keyword', 'keyword goes with approvedBy; remove it or add approvedBy:.'),
    );
  if (condition.from !== undefined && kind === 'mention') memberOf([...path, 'from'], condition.from, 'from');
  if (kind === 'approvedBy') memberOf([...path, 'approvedBy'], condition.approvedBy as string, 'approvedBy');
  for (const list of ['anyOf', 'allOf'] as const) {
    for (const [index, inner] of (condition[list] ?? []).entries())
      problems.push(...checkTerminate(source, [...path, list, index], inner, members));
  }
  return problems;
}

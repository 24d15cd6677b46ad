/** TeamFileError: a team file problem with the file, line and column, the field path, and how to fix it. */

import { ConfigError } from '../index.js';

/**
 * One problem found in a team file.
 *
 * @example
 * ```ts
 * for (const problem of error.problems) console.log(problem.line, problem.path, problem.message);
 * ```
 */
export interface TeamFileProblem {
  /** The file as shown to the user (relative to the working directory when inside it). */
  file: string;
  /** 1-based line, when the problem has a position in the file. */
  line: number | undefined;
  /** 1-based column, when the problem has a position in the file. */
  column: number | undefined;
  /** The field path, such as `agents[1].handoffs[0]` (empty for the whole file). */
  path: string;
  /** What is wrong and how to fix it. */
  message: string;
}

/**
 * Formats a problem as `file:line:column: path: message`.
 *
 * @example
 * ```ts
 * formatProblem({ file: 'team.yaml', line: 3, column: 8, path: 'entry', message: 'unknown agent "x".' });
 * // 'team.yaml:3:8: entry: unknown agent "x".'
 * ```
 */
export function formatProblem(problem: TeamFileProblem): string {
  const where =
    problem.line === undefined ? problem.file : `${problem.file}:${problem.line}:${problem.column ?? 1}`;
  return problem.path === ''
    ? `${where}: ${problem.message}`
    : `${where}: ${problem.path}: ${problem.message}`;
}

/** Problems the message of a {@link TeamFileError} spells out; `problems` has them all. */
const shownProblems = 50;

/**
 * A team file is invalid: bad YAML, a schema violation, an unknown agent or tool, a missing
 * model. `file`, `line` and `column` locate the first problem; `problems` lists them all (the
 * message spells out the first 50).
 * The message reads `team.yaml:12:5: agents[1].handoffs[0]: unknown agent "biling" ...`.
 *
 * @example
 * ```ts
 * try {
 *   await loadTeamFile('team.yaml');
 * } catch (error) {
 *   if (error instanceof TeamFileError) console.error(`${error.file}:${error.line}`, error.message);
 * }
 * ```
 */
export class TeamFileError extends ConfigError {
  readonly file: string;
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** The field path of the first problem. */
  readonly path: string;
  readonly problems: readonly TeamFileProblem[];

  constructor(problems: readonly TeamFileProblem[], options: { cause?: unknown } = {}) {
    const [first, ...rest] = problems;
    if (first === undefined) throw new TypeError('TeamFileError needs at least one problem.');
    const shown = rest.slice(0, shownProblems - 1);
    const hidden = rest.length - shown.length;
    const more =
      rest.length === 0
        ? ''
        : `\n${rest.length} more problem${rest.length === 1 ? '' : 's'}:\n${shown.map((problem) => `  ${formatProblem(problem)}`).join('\n')}${hidden === 0 ? '' : `\n  ... and ${hidden} more problems; error.problems lists them all.`}`;
    super(`${formatProblem(first)}${more}`, { code: 'TEAM_FILE_INVALID', cause: options.cause });
    this.name = 'TeamFileError';
    this.file = first.file;
    this.line = first.line;
    this.column = first.column;
    this.path = first.path;
    this.problems = problems;
  }
}

/** Problems in file order (line, then column); problems without a position last. */
export function sortProblems(problems: readonly TeamFileProblem[]): TeamFileProblem[] {
  return [...problems].sort(
    (a, b) =>
      (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) ||
      (a.column ?? 0) - (b.column ?? 0),
  );
}

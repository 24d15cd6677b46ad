/** Pattern evolving: a policy learns from scored outcomes which candidate team to run for each type of task. */

import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { evolving, type OutcomeInfo } from '../../patterns/evolving.js';
import { textOf } from '../../patterns/shared.js';
import { compact } from '../build-parts.js';
import { memberList, moduleExport, wholeNumber } from '../team-schema-parts.js';
import { nameList } from '../team-words.js';
import type { DataPath } from '../yaml-source.js';
import { asTeamRunnable, definePattern, listReferences } from './pattern-module.js';

/** success, or a module export. */
const scorePattern = /^(success|[^#]+\.(ts|mts|cts|js|mjs|cjs)#[A-Za-z_$][\w$]*)$/;

const scoreSchema = z
  .union(
    [
      z.string().regex(scorePattern, {
        error: 'expected success, { contains: text } or a module export "./score.ts#score"',
      }),
      z
        .strictObject({
          contains: z.string().min(1).describe('The output scores 1 when its text contains this, else 0.'),
        })
        .describe('Scores 1 when the output contains the text.'),
    ],
    { error: 'expected success, { contains: text } or a module export "./score.ts#score"' },
  )
  .optional()
  .describe(
    'evolving: how a run is scored: success (1 when the candidate completes), { contains: text }, or "./score.ts#score" (a function (output, info) => number).',
  );

/** The evolving pattern of team files. */
export const evolvingPattern = definePattern({
  kind: 'evolving',
  fields: {
    candidates: memberList('candidates')
      .optional()
      .describe('evolving: the teams (or agents) the policy chooses between.'),
    score: scoreSchema,
    costPenalty: z
      .number({ error: 'expected a number >= 0' })
      .min(0)
      .optional()
      .describe('evolving: reward = score - costPenalty * cost in USD. Default 0.'),
    exploration: z
      .number({ error: 'expected a number from 0 to 0.5' })
      .min(0)
      .max(0.5)
      .optional()
      .describe('evolving: the chance (0 to 0.5) of trying a candidate other than the best. Default 0.1.'),
    minTrials: wholeNumber()
      .min(0)
      .optional()
      .describe('evolving: runs each candidate gets per task type before the policy exploits. Default 1.'),
    exclude: z
      .array(z.string(), { error: 'expected a list of candidate names' })
      .optional()
      .describe('evolving: candidates never chosen ("name" or "name@version").'),
    failureScore: z
      .number({ error: 'expected a number' })
      .optional()
      .describe('evolving: the score recorded when the candidate fails. Default 0.'),
    taskType: moduleExport
      .optional()
      .describe(
        'evolving: "./task-type.ts#taskType", a function (input) => string grouping inputs. Default: one type.',
      ),
  },
  required: { candidates: 'a list of the teams (or agents) to choose between.' },
  check({ team, problem, references }) {
    references('candidates', team.candidates);
    const candidates = team.candidates ?? [];
    const candidateNames = new Set(candidates);
    const excluded = new Set(team.exclude);
    for (const [index, entry] of (team.exclude ?? []).entries()) {
      const candidate = entry.split('@')[0] as string;
      if (!candidateNames.has(candidate))
        problem(
          ['exclude', index],
          () =>
            `"${entry}" is not a candidate (candidates: ${nameList(candidates)}); exclude names candidates, optionally with @version.`,
        );
    }
    if (
      candidates.length > 0 &&
      excluded.size > 0 &&
      candidates.every((candidate) => excluded.has(candidate))
    )
      problem(['exclude'], 'exclude leaves no candidate to choose; remove one entry.');
  },
  build({ definition, version, members, store, moduleExport: exported }) {
    if (store === undefined)
      throw new ConfigError(
        'pattern evolving keeps the outcomes it learns from in a store: pass the runtime’s store, loadTeamFile(path, { store }).',
      );
    return asTeamRunnable(
      evolving({
        name: definition.name,
        version,
        candidates: members(definition.candidates),
        store,
        score: scoreOf(definition.score ?? 'success', exported),
        ...compact({
          costPenalty: definition.costPenalty,
          exploration: definition.exploration,
          minTrials: definition.minTrials,
          exclude: definition.exclude,
          failureScore: definition.failureScore,
          taskType:
            definition.taskType === undefined
              ? undefined
              : (exported(definition.taskType) as (input: unknown) => string),
        }),
      }),
    );
  },
  memberReferences: (definition) => listReferences('candidates', definition.candidates),
  moduleReferences(definition) {
    const found: { path: DataPath; reference: string }[] = [];
    if (typeof definition.score === 'string' && definition.score.includes('#'))
      found.push({ path: ['score'], reference: definition.score });
    if (definition.taskType?.includes('#'))
      found.push({ path: ['taskType'], reference: definition.taskType });
    return found;
  },
});

/** The score function of an evolving team: success, { contains }, or a module export. */
function scoreOf(
  score: NonNullable<z.output<typeof scoreSchema>>,
  moduleExport: (reference: string) => unknown,
): (output: unknown, info: OutcomeInfo) => number | Promise<number> {
  if (score === 'success') return () => 1;
  if (typeof score === 'object') return (output) => (textOf(output).includes(score.contains) ? 1 : 0);
  return moduleExport(score) as (output: unknown, info: OutcomeInfo) => number | Promise<number>;
}

/** `baton eval <dataset> <file>`: run every case of a dataset as a durable run, score it, compare with the previous eval. */

import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import type { EvalDataset } from '../../evals/dataset.js';
import type { CaseResult, EvalReport } from '../../evals/run-eval.js';
import { importModule, moduleExtensions } from '../../team/index.js';
import { type CliContext, type Command, UsageError } from '../command.js';
import { alignedTable, formatCost, formatDuration, formatTime } from '../format.js';
import { loadSource } from '../load-source.js';
import type { Style } from '../output.js';
import { command, openSession } from '../session.js';
import { modelOption, sourceOptions } from './run.js';

/** The `eval` command. */
export const evalCommand: Command = {
  name: 'eval',
  summary: 'Score a team or workflow on a dataset and compare with the previous eval',
  usage: '<dataset> <file>',
  description:
    'Runs every case of the dataset as its own durable run of the team file or module, scores it,\n' +
    'stores the results in the store (record stream eval:<target>), prints a table, and compares\n' +
    'with the previous eval of the same target and dataset. Exit 1 when the pass rate, the mean\n' +
    'score or a scorer fell by more than --threshold (a regression), or when cases could not be\n' +
    'scored; 0 otherwise.\n' +
    '\n' +
    'A dataset is a .jsonl file (one case per line: {"id", "input", "expected", "contains",\n' +
    '"toolCalls", "schema", "rubric", "maxCostUsd", "maxLatencyMs", "maxTokens"}; each field\n' +
    'picks a built-in scorer), a .json list of cases, or a module exporting dataset() with scorers\n' +
    'of its own (docs/evals.md). An eval that was interrupted resumes when run again with the same\n' +
    'arguments: scored cases are kept and case runs continue from their journals.',
  arguments: [
    {
      name: 'dataset',
      description: 'a .jsonl or .json file of cases, or a module exporting dataset()',
      required: true,
    },
    { name: 'file', description: 'the team file or module under test', required: true },
  ],
  options: {
    concurrency: { type: 'string', value: '<n>', description: 'cases run at once (default 4)' },
    threshold: {
      type: 'string',
      value: '<fraction>',
      description: 'a drop beyond this (0 to 1) is a regression (default 0.05: 5 points)',
    },
    judge: {
      type: 'string',
      value: '<provider:model>',
      description: 'the model that scores cases with a rubric (else the dataset module’s judge)',
    },
    export: { type: 'string', value: '<name>', description: 'the export of the module under test to run' },
    'dataset-export': {
      type: 'string',
      value: '<name>',
      description: 'the export of a dataset module (default its default export)',
    },
    model: {
      type: 'string',
      value: '<provider:model>',
      description: 'team files: use this model for every agent (else BATON_MODEL, the file, or offline)',
    },
    offline: { type: 'boolean', description: 'team files: run on the offline script' },
    new: { type: 'boolean', description: 'start a new eval even if one of these cases was interrupted' },
    force: {
      type: 'boolean',
      description: 'take over case runs another process holds (an interrupted eval) without waiting',
    },
    policy: {
      type: 'string',
      value: '<name>',
      description: 'also record each case’s score as an outcome of this evolving policy',
    },
    json: { type: 'boolean', description: 'print the report as JSON' },
  },
  examples: [
    'baton eval examples/customer-support/evals.jsonl examples/customer-support/team.yaml',
    'baton eval evals/refunds.ts flows/support.ts --concurrency 8 --judge openai:gpt-4o-mini',
    'baton eval evals.jsonl team.yaml --threshold 0.02 --json',
  ],
  async run({ positionals, values }, context) {
    const [datasetFile, file, extra] = positionals;
    if (datasetFile === undefined || file === undefined)
      throw new UsageError('missing arguments: baton eval <dataset> <file>.', 'eval');
    if (extra !== undefined)
      throw new UsageError(`eval takes a dataset and a file; got also "${extra}".`, 'eval');
    const concurrency = integerOption(values.concurrency, 'concurrency', 4, 1, 256);
    const threshold = fractionOption(values.threshold, 'threshold', 0.05);
    const model = modelOption(file, values, 'eval');
    const { loadDatasetFile, runEval, EvalIncompleteError } = await import('../../evals/index.js');
    const data = await loadDataset(
      datasetFile,
      values['dataset-export'] as string | undefined,
      context,
      loadDatasetFile,
    );
    const session = await openSession(context);
    try {
      const loaded = await loadSource(file, sourceOptions(values, context, session.store, model));
      const live = values.json !== true;
      if (live && loaded.notice !== undefined)
        context.stdout.write(`${context.style.yellow(loaded.notice)}\n\n`);
      const say = (text: string) => {
        if (live) context.stdout.write(`${text}\n`);
      };
      say(
        `Eval of ${context.style.bold(loaded.runnable.name)} on ${context.style.bold(data.name)}: ${data.cases.length} case${data.cases.length === 1 ? '' : 's'}, ${concurrency} at a time`,
      );
      let report: EvalReport;
      try {
        report = await runEval({
          runtime: session.runtime,
          target: loaded.runnable,
          dataset: data,
          concurrency,
          threshold,
          source: loaded.source,
          ...(values.judge === undefined ? {} : { judge: values.judge as string }),
          ...(values.new === true ? { resume: false } : {}),
          ...(values.force === true ? { force: true } : {}),
          ...(values.policy === undefined ? {} : { policy: { name: values.policy as string } }),
          onCase: (result, progress) =>
            say(
              `  ${context.style.dim(`[${progress.done}/${progress.total}]`)} ${caseLine(result, context.style)}`,
            ),
          onWait: (runId, until) =>
            say(
              `  ${context.style.yellow('waiting')} for ${runId}: another process holds it until ${formatTime(until)} (--force takes it now)`,
            ),
        });
      } catch (error) {
        if (error instanceof EvalIncompleteError) {
          context.stderr.write(
            `${error.message}\n  ${command(context, 'eval …')} with the same arguments continues it.\n`,
          );
          return 1;
        }
        throw error;
      }
      if (values.json === true) context.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      else context.stdout.write(reportText(report, context.style));
      return report.comparison?.regressed === true ? 1 : 0;
    } finally {
      await session.close();
    }
  },
};

/** The dataset named on the command line: a .jsonl/.json file, or a module's dataset() export. */
async function loadDataset(
  file: string,
  exportName: string | undefined,
  context: CliContext,
  loadDatasetFile: (path: string, shown?: string) => Promise<EvalDataset>,
): Promise<EvalDataset> {
  const path = resolve(context.cwd, file);
  if (!existsSync(path)) throw new ConfigError(`Dataset not found: ${file} (looked for ${path}).`);
  if (!moduleExtensions.includes(extname(path).toLowerCase())) {
    if (exportName !== undefined)
      throw new UsageError('--dataset-export applies to dataset modules.', 'eval');
    return loadDatasetFile(path, file);
  }
  let module: Record<string, unknown>;
  try {
    module = await importModule(path);
  } catch (error) {
    throw new ConfigError(`Could not load ${file}: ${(error as Error)?.message ?? String(error)}`, {
      cause: error,
    });
  }
  const isDataset = (value: unknown): value is EvalDataset =>
    (value as EvalDataset | null)?.kind === 'dataset';
  const name = exportName ?? 'default';
  if (isDataset(module[name])) return module[name];
  const found = Object.keys(module).filter((key) => isDataset(module[key]));
  throw new ConfigError(
    exportName === undefined && found.length > 0
      ? `${file} has no default export that is a dataset(); pick one with --dataset-export: ${found.join(', ')}.`
      : `${file}: the export "${name}" is not a dataset() (datasets exported: ${found.join(', ') || 'none'}).`,
  );
}

function integerOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < min || number > max)
    throw new UsageError(
      `--${name} must be an integer from ${min} to ${max}; got "${String(value)}".`,
      'eval',
    );
  return number;
}

function fractionOption(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (value === '' || !Number.isFinite(number) || number < 0 || number > 1)
    throw new UsageError(
      `--${name} must be a number from 0 to 1 (0.05 is 5 points); got "${String(value)}".`,
      'eval',
    );
  return number;
}

const percent = (rate: number): string => `${(rate * 100).toFixed(1)}%`;
const signed = (delta: number): string => `${delta >= 0 ? '+' : '−'}${(Math.abs(delta) * 100).toFixed(1)}`;

/** The first failing scorer's reason (or the first reason when all pass). */
function caseReason(result: CaseResult): string {
  const scores = Object.entries(result.scores);
  const failing = scores.find(([, score]) => !score.pass);
  const [name, score] = failing ?? scores[0] ?? ['', undefined];
  return score === undefined ? '' : `${name}: ${score.reason}`;
}

function caseLine(result: CaseResult, style: Style): string {
  const verdict = result.pass ? style.green('pass') : style.red('fail');
  return `${verdict} ${result.id} (${result.score.toFixed(2)}) ${style.dim(caseReason(result))}`;
}

/** The report as text: the cases, the totals, and the comparison with the previous eval. */
export function reportText(report: EvalReport, style: Style): string {
  const regressed = new Set(report.comparison?.regressedCases.map((change) => change.id));
  const improved = new Set(report.comparison?.improvedCases.map((change) => change.id));
  const rows = report.cases.map((result) => [
    result.id,
    result.pass ? style.green('pass') : style.red('fail'),
    result.score.toFixed(2),
    regressed.has(result.id) ? style.red('worse') : improved.has(result.id) ? style.green('better') : '',
    result.status,
    formatDuration(result.durationMs),
    formatCost(result.costUsd),
    result.runId,
    caseReason(result).slice(0, 80),
  ]);
  const { summary } = report;
  const lines = [
    '',
    alignedTable(
      ['CASE', 'PASS', 'SCORE', 'CHANGE', 'STATUS', 'TIME', 'COST', 'RUN', 'REASON'],
      rows,
      new Set([2, 5, 6]),
      style,
    ),
    '',
    style.bold(
      `${summary.passed} of ${summary.cases} cases passed (${percent(summary.passRate)}), mean score ${summary.meanScore.toFixed(3)}`,
    ),
  ];
  for (const [name, scorer] of Object.entries(summary.scorers))
    lines.push(
      `  ${style.dim(name.padEnd(10))}mean ${scorer.mean.toFixed(3)}, ${percent(scorer.passRate)} pass (${scorer.cases} cases)`,
    );
  lines.push(
    `  ${style.dim('runs'.padEnd(10))}${summary.cases - summary.runsNotCompleted} completed, p50 ${formatDuration(summary.latencyP50Ms)}, p95 ${formatDuration(summary.latencyP95Ms)}, ${formatCost(summary.costUsd)}${summary.judgeCostUsd > 0 ? ` (+ ${formatCost(summary.judgeCostUsd)} judging)` : ''}`,
  );
  if (report.resumedCases > 0)
    lines.push(
      `  ${style.dim('resumed'.padEnd(10))}${report.resumedCases} cases were scored before an interruption`,
    );
  lines.push(`  ${style.dim('eval'.padEnd(10))}${report.evalId}`);
  const comparison = report.comparison;
  if (comparison === undefined)
    lines.push('', 'No previous eval of this target and dataset to compare with.');
  else {
    lines.push(
      '',
      `Against ${comparison.previousEvalId} (${formatTime(comparison.previousEndedAt)}), over ${comparison.shared} shared cases: pass rate ${percent(comparison.passRate.previous)} → ${percent(comparison.passRate.current)} (${signed(comparison.passRate.delta)}), mean score ${comparison.meanScore.previous.toFixed(3)} → ${comparison.meanScore.current.toFixed(3)} (${signed(comparison.meanScore.delta)})`,
    );
    if (comparison.regressed)
      lines.push(
        style.red(
          `Regression beyond the threshold (${(comparison.threshold * 100).toFixed(1)} points): ${comparison.reasons.join('; ')}.`,
        ),
      );
    else
      lines.push(
        style.green(
          `No regression beyond the threshold (${(comparison.threshold * 100).toFixed(1)} points).`,
        ),
      );
  }
  return `${lines.join('\n')}\n`;
}

/** Datasets of eval cases: written in code with `dataset()`, or as JSONL (one case per line) and JSON files. */

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { findForbiddenKey, forbiddenKeyMessage } from '../core/forbidden-keys.js';
import { jsonProblem } from '../core/json-value.js';
import { didYouMean } from '../core/suggest.js';
import { canonicalJson } from '../governance/canonical-json.js';
import type { ModelSpec } from '../models/resolve-model.js';
import {
  checkExpectedCalls,
  contains,
  exactMatch,
  matchesSchema,
  maxCost,
  maxLatency,
  maxTokens,
  toolCalls,
} from './builtin-scorers.js';
import { judge } from './judge.js';
import type { EvalCase, Scorer } from './scorer.js';

/** A named list of cases, with scorers applied to every case and a judge model for rubrics. */
export interface EvalDataset {
  readonly kind: 'dataset';
  readonly name: string;
  readonly cases: readonly EvalCase[];
  /** Scored on every case, besides the built-ins its fields choose. */
  readonly scorers: readonly Scorer[];
  /** The model that scores cases with a `rubric`. */
  readonly judge: ModelSpec | undefined;
}

/** What `dataset()` takes: cases may leave out `id` (they get `case-1`, `case-2`, …). */
export interface DatasetOptions {
  name: string;
  cases: ReadonlyArray<Omit<EvalCase, 'id'> & { id?: string }>;
  scorers?: readonly Scorer[];
  judge?: ModelSpec;
}

const caseFields = [
  'id',
  'input',
  'expected',
  'contains',
  'toolCalls',
  'schema',
  'rubric',
  'maxCostUsd',
  'maxLatencyMs',
  'maxTokens',
  'taskType',
  'metadata',
];

/** Names and case ids: a case's run id is `<evalId>:<caseId>`, so ids stay within run-id characters and length. */
const datasetNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,119}$/;

/**
 * A dataset in code. Every case is checked now: unknown fields, duplicate ids, values JSON cannot
 * store, `__proto__` keys, and cases with nothing to score are errors naming the case.
 *
 * @example
 * ```ts
 * export default dataset({
 *   name: 'refunds',
 *   cases: [
 *     { input: 'I was charged twice for A-1001', contains: 'refund', toolCalls: [{ name: 'lookupOrder' }] },
 *     { input: 'Where is my parcel?', rubric: 'Asks for the order number politely.' },
 *   ],
 *   judge: 'openai:gpt-4o-mini',
 * });
 * ```
 */
export function dataset(options: DatasetOptions): EvalDataset {
  const where = `dataset(${JSON.stringify(options?.name)})`;
  if (typeof options?.name !== 'string' || !datasetNamePattern.test(options.name))
    throw new ConfigError(
      `${where}: name is letters, digits and _ . : - (starting with a letter or digit).`,
      {
        code: 'INVALID_OPTION',
      },
    );
  if (!Array.isArray(options.cases) || options.cases.length === 0)
    throw new ConfigError(`${where}: cases must be a non-empty list.`, { code: 'INVALID_OPTION' });
  const scorers = options.scorers ?? [];
  if (!Array.isArray(scorers) || scorers.some((scorer) => scorer?.kind !== 'scorer'))
    throw new ConfigError(
      `${where}: scorers must be a list of scorers (scorer(), exactMatch(), judge(), …).`,
      {
        code: 'INVALID_OPTION',
      },
    );
  const cases = options.cases.map((raw, index) =>
    checkCase(raw, `${where}, case ${index + 1}`, `case-${index + 1}`),
  );
  const built: EvalDataset = {
    kind: 'dataset',
    name: options.name,
    cases,
    scorers,
    judge: options.judge,
  };
  checkDataset(built, where);
  return built;
}

/** Checks one case's fields; `where` names it in errors. */
function checkCase(raw: unknown, where: string, defaultId: string): EvalCase {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError(`${where}: a case is an object with at least "input".`, { code: 'INVALID_OPTION' });
  const forbidden = findForbiddenKey(raw);
  if (forbidden !== undefined)
    throw new ConfigError(`${where}: ${forbiddenKeyMessage(forbidden)}.`, { code: 'FORBIDDEN_KEY' });
  const value = raw as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (!caseFields.includes(key))
      throw new ConfigError(`${where}: unknown field "${key}".${didYouMean(key, caseFields)}`, {
        code: 'INVALID_OPTION',
      });
  }
  if (!('input' in value) || value.input === undefined)
    throw new ConfigError(`${where}: "input" is required.`, { code: 'INVALID_OPTION' });
  const problem = jsonProblem(value, 'the case');
  if (problem !== undefined) throw new ConfigError(`${where}: ${problem}`, { code: 'INVALID_OPTION' });
  const id = value.id ?? defaultId;
  if (typeof id !== 'string' || !datasetNamePattern.test(id))
    throw new ConfigError(
      `${where}: "id" is letters, digits and _ . : - (starting with a letter or digit).`,
      {
        code: 'INVALID_OPTION',
      },
    );
  const text = (key: string) => {
    if (value[key] !== undefined && (typeof value[key] !== 'string' || value[key] === ''))
      throw new ConfigError(`${where}: "${key}" must be non-empty text.`, { code: 'INVALID_OPTION' });
  };
  const limit = (key: string) => {
    const number = value[key];
    if (number !== undefined && (typeof number !== 'number' || !Number.isFinite(number) || number < 0))
      throw new ConfigError(`${where}: "${key}" must be a number ≥ 0.`, { code: 'INVALID_OPTION' });
  };
  text('rubric');
  text('taskType');
  for (const key of ['maxCostUsd', 'maxLatencyMs', 'maxTokens']) limit(key);
  if (value.contains !== undefined) {
    const list = typeof value.contains === 'string' ? [value.contains] : value.contains;
    if (
      !Array.isArray(list) ||
      list.length === 0 ||
      list.some((item) => typeof item !== 'string' || item === '')
    )
      throw new ConfigError(`${where}: "contains" must be text or a non-empty list of texts.`, {
        code: 'INVALID_OPTION',
      });
  }
  if (value.toolCalls !== undefined) checkExpectedCalls(value.toolCalls, `${where}: toolCalls`);
  if (
    value.schema !== undefined &&
    (typeof value.schema !== 'object' || value.schema === null || Array.isArray(value.schema))
  )
    throw new ConfigError(`${where}: "schema" must be a JSON Schema object.`, { code: 'INVALID_OPTION' });
  if (
    value.metadata !== undefined &&
    (typeof value.metadata !== 'object' || value.metadata === null || Array.isArray(value.metadata))
  )
    throw new ConfigError(`${where}: "metadata" must be an object.`, { code: 'INVALID_OPTION' });
  return { ...value, id } as EvalCase;
}

/** Duplicate ids, cases with nothing to score, and rubrics without a judge. */
function checkDataset(built: EvalDataset, where: string): void {
  const seen = new Set<string>();
  for (const evalCase of built.cases) {
    if (seen.has(evalCase.id))
      throw new ConfigError(`${where}: two cases have the id "${evalCase.id}"; ids must be unique.`, {
        code: 'INVALID_OPTION',
      });
    seen.add(evalCase.id);
    if (built.scorers.length === 0 && builtinsFor(evalCase, undefined, true).length === 0)
      throw new ConfigError(
        `${where}: case "${evalCase.id}" has nothing to score: give it expected, contains, toolCalls, schema, rubric or a max… limit, or give the dataset scorers.`,
        { code: 'INVALID_OPTION' },
      );
  }
}

/**
 * The scorers of one case: the built-ins its fields choose (`expected` → `exactMatch()`,
 * `contains` → `contains()`, `toolCalls` → `toolCalls()`, `schema` → `matchesSchema()`,
 * `rubric` → `judge()` with the dataset's judge model or `judgeModel`, `maxCostUsd`,
 * `maxLatencyMs`, `maxTokens` → the limits), then the dataset's own scorers.
 */
export function scorersForCase(evalCase: EvalCase, data: EvalDataset, judgeModel?: ModelSpec): Scorer[] {
  return [...builtinsFor(evalCase, judgeModel ?? data.judge, false), ...data.scorers];
}

function builtinsFor(evalCase: EvalCase, judgeModel: ModelSpec | undefined, counting: boolean): Scorer[] {
  const chosen: Scorer[] = [];
  if (evalCase.expected !== undefined) chosen.push(exactMatch());
  if (evalCase.contains !== undefined) chosen.push(contains());
  if (evalCase.toolCalls !== undefined) chosen.push(toolCalls());
  if (evalCase.schema !== undefined) chosen.push(matchesSchema());
  if (evalCase.rubric !== undefined) {
    if (judgeModel !== undefined) chosen.push(judge({ model: judgeModel }));
    else if (counting) chosen.push(exactMatch({ name: 'judge' }));
    else
      throw new ConfigError(
        `case "${evalCase.id}" has a rubric but no judge model: give the dataset a judge, or pass --judge <provider:model> to baton eval.`,
        { code: 'INVALID_OPTION' },
      );
  }
  if (evalCase.maxCostUsd !== undefined) chosen.push(maxCost(evalCase.maxCostUsd));
  if (evalCase.maxLatencyMs !== undefined) chosen.push(maxLatency(evalCase.maxLatencyMs));
  if (evalCase.maxTokens !== undefined) chosen.push(maxTokens(evalCase.maxTokens));
  return chosen;
}

/**
 * Cases from JSONL text: one JSON object per line (blank lines and lines starting with `//` are
 * skipped). An error names the file and line. Ids default to `line-<n>`.
 */
export function parseJsonl(text: string, file: string): EvalCase[] {
  const cases: EvalCase[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('//')) return;
    const where = `${file}:${index + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      throw new ConfigError(`${where}: not JSON (${(error as Error).message}).`, { code: 'INVALID_OPTION' });
    }
    cases.push(checkCase(value, where, `line-${index + 1}`));
  });
  return cases;
}

/**
 * A dataset from a `.jsonl` file (one case per line) or a `.json` file (a list of cases, or
 * `{ "name", "cases" }`). Its name is the file's base name unless the JSON names it.
 */
export async function loadDatasetFile(path: string, shownPath = path): Promise<EvalDataset> {
  const extension = extname(path).toLowerCase();
  if (extension !== '.jsonl' && extension !== '.json')
    throw new ConfigError(
      `Cannot read the dataset ${shownPath}: expected .jsonl or .json (or a module exporting dataset()).`,
      { code: 'INVALID_OPTION' },
    );
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read the dataset ${shownPath}: ${(error as Error).message}`, {
      code: 'INVALID_OPTION',
    });
  }
  const fallbackName = basename(path, extname(path)).replace(/[^A-Za-z0-9_.:-]/g, '-');
  if (extension === '.jsonl') {
    const cases = parseJsonl(text, shownPath);
    if (cases.length === 0)
      throw new ConfigError(`${shownPath}: no cases (one JSON object per line).`, { code: 'INVALID_OPTION' });
    const built: EvalDataset = { kind: 'dataset', name: fallbackName, cases, scorers: [], judge: undefined };
    checkDataset(built, shownPath);
    return built;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${shownPath}: not JSON (${(error as Error).message}).`, {
      code: 'INVALID_OPTION',
    });
  }
  const forbidden = findForbiddenKey(value);
  if (forbidden !== undefined)
    throw new ConfigError(`${shownPath}: ${forbiddenKeyMessage(forbidden)}.`, { code: 'FORBIDDEN_KEY' });
  const named = !Array.isArray(value) && typeof value === 'object' && value !== null;
  const list = named ? (value as { cases?: unknown }).cases : value;
  const name = named ? ((value as { name?: unknown }).name ?? fallbackName) : fallbackName;
  if (!Array.isArray(list))
    throw new ConfigError(`${shownPath}: expected a list of cases or { "name", "cases": [...] }.`, {
      code: 'INVALID_OPTION',
    });
  return dataset({ name: String(name), cases: list as DatasetOptions['cases'] });
}

/** Whether a value is a dataset built by `dataset()` or `loadDatasetFile()`. */
export function isDataset(value: unknown): value is EvalDataset {
  return typeof value === 'object' && value !== null && (value as EvalDataset).kind === 'dataset';
}

/** A hash of a dataset's cases (not its scorers): an interrupted eval resumes only on the same cases. */
export function datasetHash(data: EvalDataset): string {
  return createHash('sha256').update(canonicalJson(data.cases)).digest('hex').slice(0, 16);
}

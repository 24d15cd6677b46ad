/** Turns zod issues about a team file into located, actionable problems ("unknown key … (allowed: …)"). */

import type { z } from 'zod';
import { didYouMean } from '../core/suggest.js';
import type { TeamFileProblem } from './team-file-error.js';
import { type DataPath, valueAt, type YamlSource } from './yaml-source.js';

/** The parts of a zod schema this module reads to name allowed keys and field descriptions. */
interface SchemaNode {
  description?: string | undefined;
  def: {
    type: string;
    shape?: Record<string, SchemaNode>;
    element?: SchemaNode;
    valueType?: SchemaNode;
    innerType?: SchemaNode;
    options?: SchemaNode[];
  };
}

type Issue = z.core.$ZodIssue;

/**
 * Problems for every zod issue, each located at the offending node (or key) of the YAML file.
 * `schema` is the schema that produced the issues; it supplies allowed keys and descriptions.
 */
export function schemaProblems(
  source: YamlSource,
  schema: z.ZodType,
  issues: readonly Issue[],
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const root = schema as unknown as SchemaNode;
  const visit = (issue: Issue, prefix: DataPath): void => {
    const path: DataPath = [
      ...prefix,
      ...issue.path.map((segment) => (typeof segment === 'number' ? segment : String(segment))),
    ];
    const value = valueAt(source.data, path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = Object.keys(shapeAt(root, path, source.data) ?? {}).filter(
          (key) => key !== '$schema',
        );
        for (const key of issue.keys) {
          problems.push(
            source.keyProblem(
              path,
              key,
              `unknown key "${key}"${allowed.length > 0 ? ` (allowed: ${allowed.join(', ')})` : ''}.${didYouMean(key, allowed)}`,
            ),
          );
        }
        return;
      }
      case 'invalid_union': {
        const matched = issue.errors.find(
          (branch) => !branch.some((inner) => inner.code === 'invalid_type' && inner.path.length === 0),
        );
        if (matched !== undefined) {
          for (const inner of matched) visit(inner, path);
          return;
        }
        problems.push(
          source.problem(path, `${customMessage(issue) ?? 'unexpected value'}; got ${describe(value)}.`),
        );
        return;
      }
      case 'invalid_type': {
        const key = path.at(-1);
        const parentPath = path.slice(0, -1);
        const parent = valueAt(source.data, parentPath);
        if (value === undefined && typeof key === 'string' && isRecord(parent) && !(key in parent)) {
          const field = shapeAt(root, parentPath, source.data)?.[key];
          const hint = field?.description === undefined ? '' : ` (${field.description.replace(/\.$/, '')})`;
          problems.push(
            source.problem(
              parentPath,
              `missing required field "${key}"${hint}. Add ${key}: to this mapping.`,
            ),
          );
          return;
        }
        const expected = customMessage(issue) ?? `expected ${withArticle(issue.expected)}`;
        problems.push(source.problem(path, `${expected}; got ${describe(value)}.`));
        return;
      }
      case 'invalid_value': {
        const allowed = issue.values.map((option) => String(option));
        const noun = path.at(-1) === 'pattern' ? 'pattern' : 'value';
        problems.push(
          source.problem(
            path,
            `unknown ${noun} ${describe(value)} (known: ${allowed.join(', ')}).${typeof value === 'string' ? didYouMean(value, allowed) : ''}`,
          ),
        );
        return;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
        const message =
          issue.origin === 'number' || issue.origin === 'int'
            ? `must be ${issue.code === 'too_small' ? 'at least' : 'at most'} ${String(bound)}; got ${describe(value)}.`
            : `${customMessage(issue) ?? issue.message}.`;
        problems.push(source.problem(path, message));
        return;
      }
      default:
        problems.push(
          source.problem(path, `${customMessage(issue) ?? issue.message}; got ${describe(value)}.`),
        );
    }
  };
  for (const issue of issues) visit(issue, []);
  return problems;
}

/** The message a schema set with `{ error }`, or undefined when zod used its generic wording. */
function customMessage(issue: Issue): string | undefined {
  return /^(Invalid input|Invalid option|Too small|Too big|Invalid string)/.test(issue.message)
    ? undefined
    : issue.message;
}

/** The object shape (field name to schema) that applies at `path`. */
function shapeAt(root: SchemaNode, path: DataPath, data: unknown): Record<string, SchemaNode> | undefined {
  let node: SchemaNode | undefined = unwrap(root, data);
  for (let index = 0; index < path.length && node !== undefined; index++) {
    const segment = path[index];
    const child: SchemaNode | undefined =
      node.def.type === 'object' && typeof segment === 'string'
        ? node.def.shape?.[segment]
        : node.def.type === 'array' || node.def.type === 'record'
          ? (node.def.element ?? node.def.valueType ?? undefined)
          : undefined;
    node = child === undefined ? undefined : unwrap(child, valueAt(data, path.slice(0, index + 1)));
  }
  return node?.def.type === 'object' ? node.def.shape : undefined;
}

function unwrap(node: SchemaNode, value: unknown): SchemaNode {
  let current = node;
  for (;;) {
    if (current.def.innerType !== undefined) current = current.def.innerType;
    else if (current.def.type === 'union' && current.def.options !== undefined) {
      const wanted = isRecord(value) ? 'object' : undefined;
      const option = current.def.options.find((candidate) => candidate.def.type === wanted);
      if (option === undefined) return current;
      current = option;
    } else return current;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function withArticle(expected: string): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    int: 'a whole number',
    boolean: 'true or false',
    record: 'a mapping',
  };
  return names[expected] ?? expected;
}

/** A short description of a YAML value for messages: `a number (42)`, `a list`, `"text"`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null (an empty value)';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  return 'a mapping';
}

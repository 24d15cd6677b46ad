/** JSON Schemas written in a team file (agent outputs, handoff payloads): checked for typos, then converted to zod. */

import { type ZodType, z } from 'zod';
import { didYouMean } from '../core/suggest.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { DataPath, YamlSource } from './yaml-source.js';

const types = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'null'];

const keywords = [
  '$schema',
  '$id',
  '$ref',
  '$defs',
  '$comment',
  'definitions',
  'type',
  'title',
  'description',
  'default',
  'examples',
  'enum',
  'const',
  'properties',
  'required',
  'additionalProperties',
  'patternProperties',
  'propertyNames',
  'minProperties',
  'maxProperties',
  'items',
  'prefixItems',
  'contains',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'anyOf',
  'oneOf',
  'allOf',
  'not',
  'if',
  'then',
  'else',
  'nullable',
  'readOnly',
  'writeOnly',
  'deprecated',
];

/**
 * Checks a JSON Schema from the file and converts it with zod's `z.fromJSONSchema`.
 * Returns the zod schema, or problems located in the file (unknown keywords, bad types,
 * `required` naming a missing property, a payload that is not an object schema).
 */
export function jsonSchemaToZod(
  source: YamlSource,
  path: DataPath,
  schema: Record<string, unknown>,
  options: { objectOnly?: boolean } = {},
): ZodType | TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  checkNode(source, path, schema, problems);
  if (options.objectOnly === true && schema.type !== 'object') {
    problems.push(
      source.problem(
        path,
        'a handoff payload must be an object schema: type: object with properties (model APIs pass tool arguments as an object).',
      ),
    );
  }
  if (problems.length > 0) return problems;
  try {
    return z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]) as ZodType;
  } catch (error) {
    return [source.problem(path, `zod cannot use this JSON Schema: ${(error as Error).message}.`)];
  }
}

function checkNode(source: YamlSource, path: DataPath, node: unknown, problems: TeamFileProblem[]): void {
  if (typeof node === 'boolean') return;
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    problems.push(source.problem(path, 'expected a JSON Schema (a mapping such as { type: string }).'));
    return;
  }
  const schema = node as Record<string, unknown>;
  for (const key of Object.keys(schema)) {
    if (!keywords.includes(key)) {
      problems.push(
        source.keyProblem(path, key, `unknown JSON Schema keyword "${key}".${didYouMean(key, keywords)}`),
      );
    }
  }
  const typeList = Array.isArray(schema.type) ? schema.type : schema.type === undefined ? [] : [schema.type];
  for (const type of typeList) {
    if (typeof type !== 'string' || !types.includes(type)) {
      problems.push(
        source.problem(
          [...path, 'type'],
          `unknown type ${JSON.stringify(type)} (known: ${types.join(', ')}).${typeof type === 'string' ? didYouMean(type, types) : ''}`,
        ),
      );
    }
  }
  if (
    typeList.length === 0 &&
    !['enum', 'const', 'anyOf', 'oneOf', 'allOf', '$ref', 'not'].some((key) => key in schema)
  ) {
    problems.push(
      source.problem(
        path,
        `this schema has no type, so it accepts anything: add type: (${types.join(', ')}) or enum:.`,
      ),
    );
  }
  const properties = schema.properties;
  if (properties !== undefined) {
    if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) {
      problems.push(
        source.problem([...path, 'properties'], 'properties must be a mapping from name to schema.'),
      );
    } else {
      for (const [name, property] of Object.entries(properties)) {
        checkNode(source, [...path, 'properties', name], property, problems);
      }
    }
  }
  if (schema.required !== undefined) {
    const names = Object.keys((properties as Record<string, unknown> | undefined) ?? {});
    if (!Array.isArray(schema.required)) {
      problems.push(source.problem([...path, 'required'], 'required must be a list of property names.'));
    } else {
      for (const [index, name] of schema.required.entries()) {
        if (typeof name !== 'string' || !names.includes(name)) {
          problems.push(
            source.problem(
              [...path, 'required', index],
              `required names ${JSON.stringify(name)}, which is not in properties (${names.join(', ') || 'none'}).${typeof name === 'string' ? didYouMean(name, names) : ''}`,
            ),
          );
        }
      }
    }
  }
  if (schema.items !== undefined) checkNode(source, [...path, 'items'], schema.items, problems);
  for (const combinator of ['anyOf', 'oneOf', 'allOf'] as const) {
    const options = schema[combinator];
    if (Array.isArray(options)) {
      for (const [index, option] of options.entries())
        checkNode(source, [...path, combinator, index], option, problems);
    }
  }
}

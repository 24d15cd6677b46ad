/** responseFormat(): what an agent with an `output` schema asks the model for (JSON, with the schema). */

import type { JSONSchema7, LanguageModelV3CallOptions } from '@ai-sdk/provider';
import { toJsonSchema } from '../tools/tool.js';
import type { Agent } from './agent.js';

/**
 * The call option `responseFormat` of an agent: `undefined` without an `output` schema, else
 * `{ type: 'json', name, schema }`. Providers that take a schema get it on the wire
 * (OpenAI-compatible `response_format: json_schema`, OpenAI, Ollama, ...) and constrain the
 * answer to it; the rest get JSON mode, and the agent's repair turns catch what does not match.
 * Objects in the schema are closed (`additionalProperties: false`) unless the schema says
 * otherwise, as OpenAI's strict structured outputs require. Computed once per agent.
 *
 * @example
 * ```ts
 * responseFormat(agent({ name: 'triage', instructions: '...', model, output: z.object({ urgent: z.boolean() }) }));
 * // { type: 'json', name: 'triage_output', schema: { type: 'object', properties: { urgent: ... }, required: ['urgent'], additionalProperties: false } }
 * ```
 */
export function responseFormat(agent: Agent<unknown>): LanguageModelV3CallOptions['responseFormat'] {
  if (agent.output === undefined) return undefined;
  return {
    type: 'json',
    name: `${agent.name}_output`,
    schema: closeObjects(toJsonSchema(agent.output, `agent("${agent.name}") output`)),
  };
}

/** A copy of a JSON Schema whose object nodes without `additionalProperties` get `false`. */
function closeObjects(schema: JSONSchema7): JSONSchema7 {
  const copy: Record<string, unknown> = { ...schema };
  for (const key of ['properties', '$defs', 'definitions'])
    if (isRecord(copy[key])) copy[key] = mapValues(copy[key], closeObjects);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems'])
    if (Array.isArray(copy[key])) copy[key] = (copy[key] as JSONSchema7[]).map(closeObjects);
  if (isRecord(copy.items)) copy.items = closeObjects(copy.items);
  if (isRecord(copy.additionalProperties))
    copy.additionalProperties = closeObjects(copy.additionalProperties);
  if (copy.type === 'object' && !('additionalProperties' in copy)) copy.additionalProperties = false;
  return copy as JSONSchema7;
}

function isRecord(value: unknown): value is Record<string, JSONSchema7> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function mapValues(
  record: Record<string, JSONSchema7>,
  map: (value: JSONSchema7) => JSONSchema7,
): Record<string, JSONSchema7> {
  return Object.fromEntries(Object.entries(record).map(([key, value]) => [key, map(value)]));
}

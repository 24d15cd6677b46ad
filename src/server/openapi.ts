/** The OpenAPI 3.1 document of the HTTP API, generated from the routes' zod schemas (z.toJSONSchema). */

import { type ZodType, z } from 'zod';
import type { ApiKeyScope } from './api-keys.js';
import { errorSchema } from './schemas.js';

/** What the OpenAPI document says of one route; the server validates requests with the same schemas. */
export interface RouteDoc {
  method: 'get' | 'post';
  /** Hono path syntax (`/v1/runs/:id`). */
  path: string;
  operationId: string;
  summary: string;
  /** The scope a key needs; `public` needs no key. */
  scope: ApiKeyScope | 'public';
  params?: ZodType;
  query?: ZodType;
  body?: ZodType;
  /** Extra request headers. */
  headers?: ReadonlyArray<{ name: string; description: string; required: boolean }>;
  responses: Readonly<Record<number, { description: string; schema?: ZodType; contentType?: string }>>;
}

/**
 * The OpenAPI 3.1 document of `routes`: paths with their parameters (path and query), request
 * bodies and responses as JSON Schema 2020-12, bearer auth with each route's scope in
 * `x-baton-scope`.
 *
 * @example
 * ```ts
 * const document = openApiDocument(routes, { title: 'Baton', version: '0.1.0' });
 * ```
 */
export function openApiDocument(
  routes: readonly RouteDoc[],
  info: { title: string; version: string },
): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const parameters = [
      ...parametersOf(route.params, 'path'),
      ...parametersOf(route.query, 'query'),
      ...(route.headers ?? []).map((header) => ({
        name: header.name,
        in: 'header',
        required: header.required,
        description: header.description,
        schema: { type: 'string' },
      })),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(route.responses)) {
      const contentType = response.contentType ?? 'application/json';
      responses[status] = {
        description: response.description,
        content: {
          [contentType]: { schema: response.schema === undefined ? {} : jsonSchema(response.schema) },
        },
      };
    }
    responses.default = {
      description: 'An error: { error: { code, message, issues? } }',
      content: { 'application/json': { schema: jsonSchema(errorSchema) } },
    };
    const operations = paths[path] ?? {};
    paths[path] = operations;
    operations[route.method] = {
      operationId: route.operationId,
      summary: route.summary,
      ...(parameters.length === 0 ? {} : { parameters }),
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: jsonSchema(route.body) } },
            },
          }),
      responses,
      security: route.scope === 'public' ? [] : [{ bearer: [] }],
      'x-baton-scope': route.scope,
    };
  }
  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API key from baton keys create (bk_…)' },
      },
    },
  };
}

function jsonSchema(schema: ZodType): Record<string, unknown> {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'any',
  }) as Record<string, unknown>;
  return rest;
}

function parametersOf(schema: ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined) return [];
  const json = jsonSchema(schema) as { properties?: Record<string, unknown>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: where,
    required: where === 'path' || (json.required ?? []).includes(name),
    schema: property,
  }));
}

/** The capabilities an MCP tool declares, read from the tool annotations its server sends. */

import type { Capability } from '../../tools/tool-policy.js';

/**
 * The behaviour hints an MCP server may send with a tool (`tools/list`, `annotations`). They are
 * hints from the server, not guarantees; an absent hint takes the MCP specification's default.
 *
 * @example
 * ```ts
 * const hints: McpToolAnnotations = { readOnlyHint: true, openWorldHint: false };
 * ```
 */
export interface McpToolAnnotations {
  /** The tool changes nothing (default false). */
  readOnlyHint?: boolean | undefined;
  /** A tool that changes things may destroy or overwrite them (default true). */
  destructiveHint?: boolean | undefined;
  /** Calling it again with the same arguments has no further effect (default false). */
  idempotentHint?: boolean | undefined;
  /** The tool reaches outside systems, such as the web (default true). */
  openWorldHint?: boolean | undefined;
}

/**
 * The capabilities Baton gives an MCP tool, from its annotations, so an agent's
 * `permissions.capabilities` can govern it. Missing hints take the MCP defaults, so a tool
 * without annotations needs `write` and `network`, the most a tool can need short of `spend`:
 *
 * | hint | capability |
 * | --- | --- |
 * | `readOnlyHint: true` | `read` |
 * | `readOnlyHint` false or absent (whatever `destructiveHint` says) | `write` |
 * | `openWorldHint` true or absent | `network` |
 * | `idempotentHint` | none (it makes the tool `idempotent`, so transient failures are retried) |
 *
 * `spend` is never inferred; declare it with `mcpTools(server, { capabilities })`.
 *
 * @example
 * ```ts
 * mcpCapabilities({ readOnlyHint: true, openWorldHint: false }); // ['read']
 * mcpCapabilities(undefined); // ['write', 'network']
 * ```
 */
export function mcpCapabilities(annotations: McpToolAnnotations | undefined): readonly Capability[] {
  const capabilities: Capability[] = [annotations?.readOnlyHint === true ? 'read' : 'write'];
  if (annotations?.openWorldHint !== false) capabilities.push('network');
  return Object.freeze(capabilities);
}

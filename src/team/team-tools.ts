/** The tools module of a team file: import it and collect the tool() definitions it exports. */

import type { AnyTool } from '../index.js';

/**
 * The tools among a module's exports, by tool name (not export name). Named exports that are
 * tools count, and so does a default export that is a tool or a list of tools.
 *
 * @example
 * ```ts
 * const tools = collectTools(await importModule('/app/tools.ts'));
 * tools.get('lookup_order');
 * ```
 */
export function collectTools(module: Record<string, unknown>): {
  tools: Map<string, AnyTool>;
  clashes: string[];
} {
  const tools = new Map<string, AnyTool>();
  const clashes: string[] = [];
  const add = (value: unknown): void => {
    if (!isTool(value)) return;
    const existing = tools.get(value.name);
    if (existing !== undefined && existing !== value) clashes.push(value.name);
    tools.set(value.name, value);
  };
  for (const [name, value] of Object.entries(module)) {
    if (name === 'default' && Array.isArray(value)) for (const item of value) add(item);
    else add(value);
  }
  return { tools, clashes };
}

function isTool(value: unknown): value is AnyTool {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { kind?: unknown }).kind === 'tool' &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { execute?: unknown }).execute === 'function'
  );
}

/** Permissions: each agent's allow-list of tools and capabilities, checked before every tool call. */

import { ConfigError } from '../core/errors.js';
import { type Capability, capabilityNames, checkCapabilities } from '../tools/tool-policy.js';

export { type Capability, capabilityNames, checkCapabilities };

/**
 * An agent's explicit allow-list (`agent({ permissions })`). A tool call is allowed only when
 * the tool is in `tools` (if given) and, if `capabilities` is given, the tool declares its
 * capabilities and every one of them is in `capabilities` (a tool that declares none is denied). Anything else is denied before it runs, journaled as a
 * `denied:<tool>` step, audited, and returned to the model as the tool's error.
 *
 * @example
 * ```ts
 * const reader = agent({ name: 'reader', model, instructions: 'Summarize pages.',
 *   tools: [fetchPage, deleteAccount],
 *   permissions: { tools: ['fetch_page'], capabilities: ['read', 'network'] } });
 * ```
 */
export interface Permissions {
  /** Names of the tools this agent may call (its own, extra tools from patterns, MCP tools). Omitted: any. */
  tools?: readonly string[];
  /**
   * Capabilities this agent is granted. Omitted: any. With a list, a tool is allowed only when it
   * declares its capabilities (`tool({ capabilities })`, `[]` for none) and all of them are granted:
   * a tool that declares nothing is denied.
   */
  capabilities?: readonly Capability[];
}

/** What `permissionDenial` needs of a tool. */
interface CheckedTool {
  readonly name: string;
  readonly capabilities?: readonly Capability[] | undefined;
}

/**
 * Checks an agent's `permissions` option when it is defined and returns a frozen copy.
 *
 * @example
 * ```ts
 * checkPermissions('agent("reader")', { tools: ['fetch_page'], capabilities: ['read'] });
 * ```
 */
export function checkPermissions(where: string, value: unknown): Readonly<Permissions> | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(
      `${where}: permissions must be an object like { tools: ['search'], capabilities: ['read'] }.`,
    );
  const { tools, capabilities, ...rest } = value as Permissions & Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    throw new ConfigError(`${where}: permissions.${unknown} is not an option; use tools and capabilities.`);
  const permissions: Permissions = {};
  if (tools !== undefined) {
    if (!Array.isArray(tools) || tools.some((name) => typeof name !== 'string' || name === ''))
      throw new ConfigError(`${where}: permissions.tools must be an array of tool names.`);
    permissions.tools = Object.freeze([...tools]);
  }
  const granted = checkCapabilities(where, 'permissions.capabilities', capabilities);
  if (granted !== undefined) permissions.capabilities = granted;
  return Object.freeze(permissions);
}

/**
 * Why `agent` may not call `tool`, or `undefined` when the call is allowed. The text goes
 * to the model as the tool's error, so it says what happened and what to do instead.
 *
 * @example
 * ```ts
 * permissionDenial({ name: 'reader', permissions: { tools: ['fetch_page'] } }, deleteAccount);
 * // 'Permission denied: agent "reader" may not call "delete_account" ...'
 * ```
 */
export function permissionDenial(
  agent: { readonly name: string; readonly permissions?: Readonly<Permissions> | undefined },
  tool: CheckedTool,
): string | undefined {
  const permissions = agent.permissions;
  if (permissions === undefined) return undefined;
  const advice =
    'The call was not run. Do not try again or work around it; continue without it, or tell the user a person with the right permissions must do it.';
  if (permissions.tools !== undefined && !permissions.tools.includes(tool.name)) {
    return `Permission denied: agent "${agent.name}" may not call "${tool.name}" (it is not in the agent's tool allow-list: ${permissions.tools.join(', ') || 'none'}). ${advice}`;
  }
  if (permissions.capabilities !== undefined && tool.capabilities === undefined) {
    // Deny by default: a tool that says nothing about what it does is not let through an allow-list.
    return `Permission denied: agent "${agent.name}" may not call "${tool.name}": the tool declares no capabilities, and the agent may only use tools that declare capabilities within ${permissions.capabilities.join(', ') || 'none'}. Whoever defines the tool must declare what it does with tool({ capabilities: [...] }) (read, write, network, spend; [] for none); an MCP tool gets them from its server's annotations. ${advice}`;
  }
  if (permissions.capabilities !== undefined && tool.capabilities !== undefined) {
    const missing = tool.capabilities.filter((needed) => !permissions.capabilities?.includes(needed));
    if (missing.length > 0)
      return `Permission denied: agent "${agent.name}" may not call "${tool.name}": it needs the capabilit${missing.length === 1 ? 'y' : 'ies'} ${missing.join(', ')}, and the agent is granted only ${permissions.capabilities.join(', ') || 'none'}. ${advice}`;
  }
  return undefined;
}

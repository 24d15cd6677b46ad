/** Checks the tool names an agent's approvals, memory and toolRouting refer to, once the tools module is loaded. */

import { didYouMean } from '../core/suggest.js';
import type { AnyTool } from '../index.js';
import { memoryToolNames } from './build-agent-options.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamFile } from './team-file-schema.js';
import type { YamlSource } from './yaml-source.js';

/**
 * Problems with names in `approvals` (unknown tools), `memory` (its tools clash with the
 * agent's), `toolRouting` (`alwaysOffer` naming a tool the agent lacks, a search tool name that
 * clashes) and `context.compaction` without `history: compact`, each at its line and column.
 */
export function checkAgentOptions(
  source: YamlSource,
  team: TeamFile,
  tools: ReadonlyMap<string, AnyTool>,
  /** The tools of each MCP server, which an agent's `mcp:` list gives it. */
  serverTools: ReadonlyMap<string, readonly AnyTool[]> = new Map(),
): TeamFileProblem[] {
  const problems: TeamFileProblem[] = [];
  const members = new Set(
    [...team.agents, ...(team.teams ?? []), ...(team.humans ?? [])].map(({ name }) => name),
  );
  for (const [index, agent] of team.agents.entries()) {
    const path = ['agents', index];
    const own = [
      ...new Set([
        ...(agent.tools ?? []),
        ...(agent.mcp ?? []).flatMap((server) => (serverTools.get(server) ?? []).map((tool) => tool.name)),
      ]),
    ];
    const memory = agent.memory !== undefined && agent.memory !== false;
    if (memory) {
      for (const name of memoryToolNames) {
        if (own.includes(name))
          problems.push(
            source.keyProblem(
              path,
              'memory',
              `memory gives the agent a tool named "${name}", and its tools already list one; rename that tool or drop memory.`,
            ),
          );
      }
      own.push(...memoryToolNames);
    }
    const routing = typeof agent.toolRouting === 'object' ? agent.toolRouting : undefined;
    const searchName =
      agent.toolRouting === undefined || agent.toolRouting === false
        ? undefined
        : (routing?.searchToolName ?? 'search_tools');
    if (searchName !== undefined && own.includes(searchName))
      problems.push(
        routing?.searchToolName === undefined
          ? source.keyProblem(
              path,
              'toolRouting',
              `the agent has a tool named "${searchName}", the name tool routing gives its search tool; set toolRouting.searchToolName.`,
            )
          : source.problem(
              [...path, 'toolRouting', 'searchToolName'],
              `the agent already has a tool named "${searchName}"; choose another name for the search tool.`,
            ),
      );
    for (const [position, name] of (routing?.alwaysOffer ?? []).entries()) {
      if (own.includes(name)) continue;
      problems.push(
        source.problem(
          [...path, 'toolRouting', 'alwaysOffer', position],
          `"${name}" is not one of this agent's tools (${own.join(', ') || 'it has none'}); alwaysOffer names tools listed under tools.${didYouMean(name, own)}`,
        ),
      );
    }
    for (const name of Object.keys(agent.approvals ?? {})) {
      if (tools.has(name) || members.has(name) || own.includes(name) || name === searchName) continue;
      // Written when read: the suggestion searches every name.
      const allowable = () => [
        ...new Set([...tools.keys(), ...members, ...own, ...(searchName ? [searchName] : [])]),
      ];
      problems.push(
        source.keyProblem(
          [...path, 'approvals'],
          name,
          () =>
            `unknown tool "${name}" in approvals: not a tool of the tools module, a memory or search tool, nor a member.${didYouMean(name, allowable())}`,
        ),
      );
    }
    if (agent.context?.compaction !== undefined && agent.context.history !== 'compact')
      problems.push(
        source.keyProblem(
          [...path, 'context'],
          'compaction',
          `compaction applies only with history: compact (this agent has history: ${agent.context.history ?? 'full'}); set history: compact or remove compaction.`,
        ),
      );
  }
  return problems;
}

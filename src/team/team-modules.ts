/** The modules a team file names: its tools module and "./file.ts#export" references. */

import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { didYouMean } from '../core/suggest.js';
import type { AnyTool } from '../index.js';
import { allowModulesVariable, isInsideFolders } from './allowed-folders.js';
import { importModule, moduleExtensions } from './import-module.js';
import { sortProblems, TeamFileError, type TeamFileProblem } from './team-file-error.js';
import type { TeamFile } from './team-file-schema.js';
import type { TeamMcp } from './team-mcp.js';
import { moduleReferences } from './team-references.js';
import { collectTools } from './team-tools.js';
import type { YamlSource } from './yaml-source.js';

/** Imports the tools module and checks every tool name the agents use. */
export async function loadTools(
  source: YamlSource,
  team: TeamFile,
  here: string,
  display: (target: string) => string,
  allowed: readonly string[] = [here],
  mcp?: TeamMcp,
): Promise<{ tools: Map<string, AnyTool>; toolsModule: Record<string, unknown> | undefined }> {
  let tools = new Map<string, AnyTool>();
  let toolsModule: Record<string, unknown> | undefined;
  const problems: TeamFileProblem[] = [];
  if (team.tools !== undefined) {
    const modulePath = resolve(here, team.tools);
    if (!isInsideFolders(modulePath, allowed))
      throw new TeamFileError([
        source.problem(['tools'], outsideMessage(team.tools, modulePath, allowed, display)),
      ]);
    if (!moduleExtensions.includes(extname(modulePath))) {
      throw new TeamFileError([
        source.problem(
          ['tools'],
          `the tools module must be a .ts or .js file (${moduleExtensions.join(', ')}).`,
        ),
      ]);
    }
    if (!existsSync(modulePath)) {
      throw new TeamFileError([
        source.problem(['tools'], `tools module not found: ${team.tools} (looked for ${modulePath}).`),
      ]);
    }
    try {
      toolsModule = await importModule(modulePath);
    } catch (error) {
      throw new TeamFileError(
        [
          source.problem(
            ['tools'],
            `could not load the tools module ${display(modulePath)}: ${(error as Error)?.message ?? String(error)}`,
          ),
        ],
        { cause: error },
      );
    }
    const collected = collectTools(toolsModule);
    tools = collected.tools;
    for (const name of collected.clashes) {
      problems.push(
        source.problem(['tools'], `${team.tools} exports two different tools named "${name}"; rename one.`),
      );
    }
  }
  // MCP servers' tools join the module's, under names of their own.
  for (const [name, tool] of mcp?.tools ?? []) {
    const owner = mcp?.owners.get(name) as string;
    if (tools.has(name)) {
      const index = (team.mcp ?? []).findIndex((server) => server.name === owner);
      problems.push(
        source.problem(
          ['mcp', index],
          `MCP server "${owner}" offers a tool named "${name}", and ${team.tools} exports one too; set prefix: on the server (e.g. prefix: ${owner}_).`,
        ),
      );
      continue;
    }
    tools.set(name, tool);
  }
  const moduleTools = [...tools.keys()].filter((name) => !mcp?.owners.has(name));
  const known = [...tools.keys()];
  const offers =
    mcp === undefined || mcp.servers.size === 0
      ? ''
      : `${[...mcp.serverTools].map(([server, list]) => `MCP server ${server} offers: ${list.map((tool) => tool.name).join(', ') || 'none'}`).join('; ')}`;
  const sources = [
    ...(team.tools === undefined
      ? []
      : [
          moduleTools.length === 0
            ? `${team.tools} exports no tool() definitions`
            : `${team.tools} exports: ${moduleTools.join(', ')}`,
        ]),
    ...(offers === '' ? [] : [offers]),
  ];
  const exported = sources.length === 0 ? '' : ` (${sources.join('; ')})`;
  for (const [index, agent] of team.agents.entries()) {
    for (const [position, name] of (agent.tools ?? []).entries()) {
      if (tools.has(name)) continue;
      problems.push(
        source.problem(
          ['agents', index, 'tools', position],
          sources.length === 0
            ? `unknown tool "${name}": this team has no tools module; add tools: ./tools.ts at the top level, a module that exports tool() definitions (or an MCP server under mcp:).`
            : `unknown tool "${name}"${exported}.${didYouMean(name, known)}`,
        ),
      );
    }
  }
  // Pattern tools (a supervisor's workers, ...) are named after members, so members count too.
  const members = new Set(
    [...team.agents, ...(team.teams ?? []), ...(team.humans ?? [])].map(({ name }) => name),
  );
  for (const [index, agent] of team.agents.entries()) {
    for (const [position, name] of (agent.permissions?.tools ?? []).entries()) {
      if (tools.has(name) || members.has(name)) continue;
      // Written when read: the suggestion searches every name.
      problems.push(
        source.problem(
          ['agents', index, 'permissions', 'tools', position],
          () =>
            `unknown tool "${name}" in permissions: not a tool of the tools module or an MCP server, nor a member${exported}.${didYouMean(name, [...known, ...members])}`,
        ),
      );
    }
  }
  if (problems.length > 0) throw new TeamFileError(sortProblems(problems));
  return { tools, toolsModule };
}

/** Imports the modules of "./file.ts#export" references; each export must be a function. */
export async function loadExports(
  source: YamlSource,
  team: TeamFile,
  here: string,
  display: (target: string) => string,
  allowed: readonly string[] = [here],
): Promise<Map<string, unknown>> {
  const exports = new Map<string, unknown>();
  const modules = new Map<string, Record<string, unknown>>();
  const problems: TeamFileProblem[] = [];
  for (const { path, reference } of moduleReferences(team)) {
    const hash = reference.lastIndexOf('#');
    const relativePath = reference.slice(0, hash);
    const name = reference.slice(hash + 1);
    const modulePath = resolve(here, relativePath);
    let module = modules.get(modulePath);
    if (module === undefined) {
      if (!isInsideFolders(modulePath, allowed)) {
        problems.push(source.problem(path, outsideMessage(relativePath, modulePath, allowed, display)));
        continue;
      }
      if (!existsSync(modulePath)) {
        problems.push(source.problem(path, `module not found: ${relativePath} (looked for ${modulePath}).`));
        continue;
      }
      try {
        module = await importModule(modulePath);
      } catch (error) {
        problems.push(
          source.problem(
            path,
            `could not load the module ${display(modulePath)}: ${(error as Error)?.message ?? String(error)}`,
          ),
        );
        continue;
      }
      modules.set(modulePath, module);
    }
    const value = module[name];
    if (typeof value !== 'function') {
      const functions = Object.keys(module).filter((key) => typeof module[key] === 'function');
      problems.push(
        source.problem(
          path,
          value === undefined
            ? `${relativePath} has no export "${name}" (functions it exports: ${functions.join(', ') || 'none'}).${didYouMean(name, functions)}`
            : `export "${name}" of ${relativePath} is not a function.`,
        ),
      );
      continue;
    }
    exports.set(reference, value);
  }
  if (problems.length > 0) throw new TeamFileError(sortProblems(problems));
  return exports;
}

/** Why a module path was refused, and the two ways to allow it. */
function outsideMessage(
  written: string,
  modulePath: string,
  allowed: readonly string[],
  display: (target: string) => string,
): string {
  const [teamFolder, ...extra] = allowed;
  const folders = extra.length === 0 ? '' : ` or the allowed folders (${extra.map(display).join(', ')})`;
  return `refused to load ${written}: it resolves to ${modulePath}, outside the team's folder (${teamFolder})${folders}. A team file loads code only from its own folder; move the module there, or allow its folder explicitly with loadTeamFile(file, { allowModulesFrom: ['<folder>'] }) or ${allowModulesVariable}=<folder> for the baton CLI.`;
}

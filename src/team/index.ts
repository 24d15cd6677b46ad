/** Declarative team files: load a YAML team definition into a runnable agent or pattern. */

export { parseDuration } from '../core/duration.js';
export { closestName, didYouMean } from '../core/suggest.js';
export { allowedFoldersFromEnv, allowModulesVariable, isInsideFolders } from './allowed-folders.js';
export { importModule, moduleExtensions } from './import-module.js';
export { type LoadedTeam, type LoadTeamFileOptions, loadTeamFile } from './load-team-file.js';
export type { TerminateCondition } from './patterns/group-chat-terminate.js';
export { formatProblem, TeamFileError, type TeamFileProblem } from './team-file-error.js';
export {
  type TeamDefinition,
  type TeamFile,
  type TeamFileAgent,
  type TeamFileHandoff,
  type TeamFileHuman,
  type TeamFileNestedTeam,
  type TeamPattern,
  teamFileSchema,
  teamPatterns,
} from './team-file-schema.js';
export { formatTeamJsonSchema, teamJsonSchema } from './team-json-schema.js';
export { allowMcpCommandsVariable } from './team-mcp.js';
export type { TeamFileMcpServer } from './team-mcp-schema.js';
export type { TeamModelOption } from './team-models.js';

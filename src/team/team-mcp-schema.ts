/** The `mcp:` section of a team file: MCP servers (stdio commands or Streamable HTTP URLs) whose tools the agents use. */

import { z } from 'zod';
import { definitionName, durationSchema } from './team-schema-parts.js';

const stringMap = (what: string) =>
  z.record(z.string(), z.string({ error: `expected a string (${what} values are text; quote numbers)` }), {
    error: `expected a mapping of ${what}`,
  });

const toolNames = z.array(z.string({ error: 'expected a tool name (a string)' }), {
  error: "expected a list of the server's tool names",
});

/** One MCP server of a team file. Exactly one of `command` (stdio) and `url` (Streamable HTTP); checked after the schema. */
export const teamMcpServerSchema = z
  .strictObject(
    {
      name: definitionName.describe(
        'Unique name of the server; agents list it under mcp:, and messages name it.',
      ),
      command: z
        .string({ error: 'expected the command that starts the server (a string)' })
        .min(1, { error: 'expected a command, got an empty string' })
        .optional()
        .describe(
          'Starts the server over stdio (e.g. npx). Runs only when allowed: BATON_ALLOW_MCP_COMMANDS=1, or loadTeamFile(file, { allowMcpCommands: true }).',
        ),
      args: z
        .array(z.string({ error: 'expected an argument (a string; quote numbers)' }), {
          error: 'expected a list of arguments',
        })
        .optional()
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the team file's own ${VAR} syntax
        .describe('Arguments of the command; ${VAR} is replaced by the environment variable.'),
      env: stringMap('environment variables')
        .optional()
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the team file's own ${VAR} syntax
        .describe('Environment of the server (over PATH, HOME, ...); ${VAR} is replaced by the variable.'),
      cwd: z
        .string({ error: 'expected a folder (a string)' })
        .optional()
        .describe("The server's working folder, relative to the team file. Default: the team file's folder."),
      url: z
        .string({ error: 'expected the URL of a Streamable HTTP endpoint (a string)' })
        .optional()
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the team file's own ${VAR} syntax
        .describe('A running server over Streamable HTTP (usually ending in /mcp); ${VAR} is replaced.'),
      headers: stringMap('HTTP headers')
        .optional()
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the team file's own ${VAR} syntax
        .describe('HTTP headers sent with every request (Authorization: "Bearer ${TOKEN}").'),
      prefix: z
        .string({ error: 'expected a prefix (a string)' })
        .regex(/^[a-zA-Z0-9_-]{0,32}$/, { error: "use up to 32 letters, digits, '_' or '-'" })
        .optional()
        .describe('Prepended to every tool name (gh_ + create_issue), to keep servers apart.'),
      include: toolNames.optional().describe("Keep only these of the server's tools."),
      exclude: toolNames.optional().describe("Drop these of the server's tools."),
      resources: z
        .boolean({ error: 'expected true or false' })
        .optional()
        .describe(
          "Also offer the server's resources as the tools <prefix>list_resources and <prefix>read_resource.",
        ),
      timeout: durationSchema
        .optional()
        .describe('Timeout of each request ("30s", "2m" or ms). Default 60 s.'),
    },
    { error: 'expected an MCP server: a mapping with name and command (stdio) or url (Streamable HTTP)' },
  )
  .describe('An MCP server whose tools the agents can use.');

/**
 * One MCP server of a team file after validation.
 *
 * @example
 * ```ts
 * const files: TeamFileMcpServer = { name: 'files', command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.'] };
 * ```
 */
export type TeamFileMcpServer = z.infer<typeof teamMcpServerSchema>;
